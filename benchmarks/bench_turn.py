"""Per-turn overhead before the first model token, through the whole session path.

    .venv/bin/python -m benchmarks turn

One candidate turn = input checks, the Reading (offline reader, its clause cache emptied before each
turn, so nothing is reused from an earlier run of the same script), the director, notes retrieval (the
real index when one is built under the data folder, else the keyword retriever over the same notes),
the prompt, and the LLM voice up to its first delta with a zero-latency fake model. bench_llm measures
the voice alone. Target: p95 < 50 ms.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks import write_results

TARGET_P95_MS = 50.0
RUNS = 60


def _retriever() -> tuple[Any, str]:
    from app.evals.probes import NotesGrepRetriever
    from app.settings import default_settings

    try:
        from app.retrieval.search import get_retriever

        retriever = get_retriever(default_settings())
        retriever.search("warm up", k=2)
        return retriever, "index"
    except Exception:  # no index built: the keyword retriever over the same notes
        return NotesGrepRetriever(), "keyword"


def measure(runs: int = RUNS) -> dict[str, Any]:
    from app.cli.interview import read_candidate_file
    from app.interview.session import InterviewSession, SimulatedClock
    from app.llm.fake import FakeModel
    from app.problems import get_problem
    from app.settings import REPO_ROOT
    from app.voice.llm import LLMVoice
    from app.voice.offline import OfflineVoice

    problem = get_problem("url-shortener")
    messages = read_candidate_file(REPO_ROOT / "tests" / "data" / "candidates" / "good.txt")
    retriever, kind = _retriever()
    samples: list[float] = []
    while len(samples) < runs:
        model = FakeModel(["Okay. Tell me more about that."] * (len(messages) + 2))
        voice = LLMVoice(model, fallback=OfflineVoice(), turn_deadline_s=30)
        session = InterviewSession.start(
            problem, "senior", 45, voice=voice, retriever=retriever, clock=SimulatedClock(2.0)
        )
        for text in messages:
            if session.done or len(samples) >= runs:
                break
            cache = getattr(getattr(session.reader, "_embedder", None), "_cache", None)
            if cache is not None:
                cache.clear()  # the scripts repeat: read every message as new, as a candidate's would be
            t = time.perf_counter()
            stream = session.reply(text)
            next(stream)
            samples.append((time.perf_counter() - t) * 1000)
            for _ in stream:
                pass
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return {
        "retriever": kind,
        "samples": len(samples),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
        "target_p95_ms": TARGET_P95_MS,
        "ok": p95 < TARGET_P95_MS,
    }


def main() -> None:
    r = measure()
    print(
        f"Per-turn overhead before the first token (session path, fake model, {r['retriever']} retrieval, "
        f"{r['samples']} turns): p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms "
        f"(target p95 < {TARGET_P95_MS:.0f} ms) {'ok' if r['ok'] else 'MISSED'}"
    )
    print(f"results written to {write_results('turn', r)}")


if __name__ == "__main__":
    main()
