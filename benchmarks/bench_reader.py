"""Offline reader cost: one Reading of a five-sentence candidate message, nothing cached.

    .venv/bin/python -m benchmarks reader

Messages are built from the sentences of the labelled reader-eval messages (evals/reader), five to a
message, for every problem; the reader's clause cache is emptied before each read, so every clause is
embedded as it would be for a new message (the problem's and the act bank's embeddings are built once,
at warm-up, as in a running app). Target: p95 <= 40 ms. The per-turn overhead through the whole session
path, reader included, is `python -m benchmarks turn`.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from benchmarks import write_results

TARGET_P95_MS = 40.0
MESSAGES = 150


def _messages(n: int) -> list[tuple[str, str]]:
    from app.evals.reader import load_messages
    from app.interview.classify import split_sentences

    by_problem: dict[str, list[str]] = {}
    for m in load_messages():
        by_problem.setdefault(m.problem, []).extend(s for s in split_sentences(m.text) if len(s.split()) >= 3)
    rng = random.Random(13)
    problems = sorted(by_problem)
    out = []
    for i in range(n):
        pid = problems[i % len(problems)]
        out.append((pid, " ".join(rng.sample(by_problem[pid], 5))))
    return out


def measure(n: int = MESSAGES) -> dict[str, Any]:
    from app.interview.offline_reader import OfflineReader
    from app.interview.phases import Phase
    from app.problems import load_problems

    problems = load_problems()
    reader = OfflineReader()
    t0 = time.perf_counter()
    for p in problems.values():
        reader.warm(p)
    warm_s = time.perf_counter() - t0
    samples: list[float] = []
    for pid, text in _messages(n):
        reader._embedder._cache.clear()
        t = time.perf_counter()
        reader.read(text, problems[pid], Phase.SCOPE)
        samples.append((time.perf_counter() - t) * 1000)
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return {
        "messages": len(samples),
        "sentences_per_message": 5,
        "warm_up_s": round(warm_s, 2),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
        "target_p95_ms": TARGET_P95_MS,
        "ok": p95 <= TARGET_P95_MS,
    }


def main() -> int:
    r = measure()
    print(
        f"Offline reader, {r['messages']} five-sentence messages, nothing cached: p50 {r['p50_ms']:.1f} ms, "
        f"p95 {r['p95_ms']:.1f} ms (target p95 <= {TARGET_P95_MS:.0f} ms) {'ok' if r['ok'] else 'MISSED'}; "
        f"warm-up of all 14 problems and the act bank {r['warm_up_s']:.1f} s"
    )
    print(f"results written to {write_results('reader', r)}")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    main()
