"""Grading benchmark: speed of the evidence-only grader and of the concurrent LLM judge, plus the
evidence-only grader's agreement with the labelled eval cases.

Targets: heuristic grading of a 30-turn transcript < 1 s; LLM grading of six dimensions with a fake
model that sleeps 0.5 s per call takes about one call (0.5 s), not six (3 s); every clear strong/weak
pair of eval cases ordered correctly.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.evals.metrics import quadratic_weighted_kappa, spearman
from benchmarks import write_results

DELAY_S = 0.5
DIMS = ("scoping", "estimation", "high_level_design", "deep_dive", "wrap_up", "communication")

CANDIDATE = [
    "I'll start with scope. Given a long URL we return a short one, and the short one redirects. "
    "Do we need custom aliases, editing or deleting links, or analytics?",
    "Then aliases and analytics are out of scope. How many new short URLs per day, and what's the ratio of "
    "reads to writes?",
    "How long do we keep a mapping, and how short should the code be? Any restriction on the characters?",
    "I'll assume redirects under 50 ms at p99 and availability over strict consistency. Is that acceptable?",
    "Numbers then. 100 million a day is about 1,160 writes per second. Reads are ten times that, about 11,"
    "600 "
    "reads per second. Over 10 years that is 365 billion records, around 36.5 TB. 62 to the 7th is about 3.5 "
    "trillion, so 7 characters is enough. So reads dominate, which means a cache in front pays off.",
    "API: POST /api/v1/shorten returns shortUrl, and GET /{code} answers with a redirect. Data model: one "
    "table, code as the primary key, long_url, created_at.",
    "Components: a load balancer, stateless web servers, an id generator, a key-value store and a cache. "
    "Does that match what you want?",
    "Shorten: the request hits the load balancer, a web server takes the next id, base62-encodes it, writes "
    "it "
    "to the store and returns the short URL. Redirect: on a miss we read the store and fill the cache.",
    "301 versus 302 is a real choice. I'd return 302 because every click then reaches us and analytics stay "
    "possible, at the cost of more load.",
    "Two options: hash the URL with MD5 and resolve collisions, or base62-encode a unique id from a counter. "
    "I'll go with the counter because there are no collisions by construction.",
    "If the counter fails, servers keep issuing from leased blocks; the store has three replicas per "
    "partition.",
    "The cache holds the hottest 20 percent of a day's lookups, roughly 20 GB, with LRU eviction.",
    "We partition by code with consistent hashing, since lookups are always by exact code.",
    "I'd rate-limit the shorten endpoint per API key to stop abuse and spam.",
    "Recap: base62 codes from leased ids, a partitioned key-value store, a cache in front. The bottleneck "
    "is a "
    "hot key on one cache shard. Monitoring: redirect p99, cache hit ratio and 5xx rates, with alerts. Next "
    "scale step at 10x: multiple regions, each owning a slice of the id space.",
]


def thirty_turns() -> Any:
    """A 30-turn url-shortener transcript (15 interviewer, 15 candidate turns)."""
    from app.transcripts import Transcript, Turn

    turns: list[Turn] = []
    for i, text in enumerate(CANDIDATE):
        turns.append(Turn(role="interviewer", content="Design a URL shortener." if i == 0 else "Go on."))
        turns.append(Turn(role="candidate", content=text))
    return Transcript(problem="url-shortener", level="senior", turns=turns)


def judge_reply(messages: list[dict[str, str]]) -> str:
    del messages
    quote = "301 versus 302 is a real choice."
    return json.dumps(
        {"evidence": [{"turn": 17, "quote": quote, "comment": "c"}], "reasoning": "r", "score": 3}
    )


def speed() -> dict[str, Any]:
    from app.grading.grader import grade_transcript
    from app.llm.fake import FakeModel
    from app.problems import get_problem

    transcript = thirty_turns()
    problem = get_problem("url-shortener")
    start = time.perf_counter()
    grade_transcript(transcript, problem, "senior")
    cold = time.perf_counter() - start
    warm = []
    for _ in range(5):
        start = time.perf_counter()
        grade_transcript(transcript, problem, "senior")
        warm.append(time.perf_counter() - start)
    llm = []
    for _ in range(3):
        model = FakeModel([judge_reply] * 6, delay_s=DELAY_S)
        start = time.perf_counter()
        report = grade_transcript(transcript, problem, "senior", model=model)
        llm.append(time.perf_counter() - start)
        assert len(model.requests) == 6 and not report.failed
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.json"
        path.write_text(transcript.model_dump_json(), encoding="utf-8")
        exe = Path(sys.executable).with_name("sdmock")
        start = time.perf_counter()
        subprocess.run(
            [str(exe), "grade", str(path), "--json", "--no-notes"], check=True, capture_output=True
        )
        cli = time.perf_counter() - start
    return {
        "turns": len(transcript.turns),
        "heuristic_cold_s": cold,
        "heuristic_warm_median_s": statistics.median(warm),
        "llm_wall_median_s": statistics.median(llm),
        "llm_one_call_s": DELAY_S,
        "llm_sequential_s": 6 * DELAY_S,
        "cli_end_to_end_s": cli,
    }


def quality() -> dict[str, Any]:
    import yaml

    from app.grading.grader import grade_transcript
    from app.problems import load_problems
    from app.settings import REPO_ROOT
    from app.transcripts import Transcript

    problems = load_problems()
    cases = []
    for path in sorted((REPO_ROOT / "evals" / "cases").glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(case, dict) and case.get("problem") in problems:
            report = grade_transcript(
                Transcript(turns=case["turns"]), problems[case["problem"]], case["level"]
            )
            cases.append((case, report))
    if not cases:
        return {"cases": 0}
    pairs = wrong = 0
    for (a, ra), (b, rb) in itertools.permutations(cases, 2):
        la = sum(a["labels"][d]["score"] for d in DIMS) / 6
        lb = sum(b["labels"][d]["score"] for d in DIMS) / 6
        if (a["problem"] == b["problem"] or a["level"] == b["level"]) and la - lb >= 1.5:
            pairs += 1
            wrong += not (ra.overall or 0) > (rb.overall or 0)
    per_dim: dict[str, dict[str, float]] = {}
    for i, d in enumerate(DIMS):
        labels = [c["labels"][d]["score"] for c, _ in cases]
        got = [r.dimensions[i].score or 1 for _, r in cases]
        per_dim[d] = {
            "exact": sum(x == y for x, y in zip(labels, got, strict=True)) / len(cases),
            "within_1": sum(abs(x - y) <= 1 for x, y in zip(labels, got, strict=True)) / len(cases),
            "qwk": quadratic_weighted_kappa(labels, got) or 0.0,
        }
    label_means = [sum(c["labels"][d]["score"] for d in DIMS) / 6 for c, _ in cases]
    overall = [r.overall or 0.0 for _, r in cases]
    injected = [(c, r) for c, r in cases if c.get("base")]
    by_id = {c["id"]: r for c, r in cases}
    gains = [
        max(
            (v.score or 0) - (b.score or 0)
            for v, b in zip(r.dimensions, by_id[c["base"]].dimensions, strict=True)
        )
        for c, r in injected
        if c["base"] in by_id
    ]
    return {
        "cases": len(cases),
        "pairs": pairs,
        "pairs_misordered": wrong,
        "per_dimension": per_dim,
        "overall_spearman": spearman(label_means, overall) or 0.0,
        "injected_variants": len(gains),
        "injected_max_gain": max(gains) if gains else 0,
    }


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    s = speed()
    q = quality()
    console = Console()
    table = Table(title=f"grading speed ({s['turns']}-turn transcript)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("heuristic grading, cold", f"{s['heuristic_cold_s'] * 1000:.0f} ms", "< 1000 ms")
    table.add_row(
        "heuristic grading, warm (median of 5)", f"{s['heuristic_warm_median_s'] * 1000:.0f} ms", "< 1000 ms"
    )
    table.add_row(
        "LLM grading, 6 dimensions, 0.5 s/call (median of 3)",
        f"{s['llm_wall_median_s']:.2f} s",
        f"~{s['llm_one_call_s']:.1f} s (sequential {s['llm_sequential_s']:.1f} s)",
    )
    table.add_row(
        "`sdmock grade --json --no-notes` end to end", f"{s['cli_end_to_end_s']:.2f} s", "startup incl."
    )
    console.print(table)
    if q.get("cases"):
        qt = Table(title=f"evidence-only grader vs labels ({q['cases']} eval cases)")
        qt.add_column("dimension")
        qt.add_column("exact", justify="right")
        qt.add_column("within 1", justify="right")
        qt.add_column("QWK", justify="right")
        for d, m in q["per_dimension"].items():
            qt.add_row(d, f"{m['exact']:.2f}", f"{m['within_1']:.2f}", f"{m['qwk']:.2f}")
        console.print(qt)
        console.print(
            f"clear strong/weak pairs: {q['pairs']}, misordered: {q['pairs_misordered']}; "
            f"overall Spearman vs label means: {q['overall_spearman']:.2f}; "
            f"injected variants: {q['injected_variants']}, "
            f"max per-dimension gain over base: {q['injected_max_gain']}"
        )
    path = write_results("grading", {"speed": s, "quality": q})
    console.print(f"results: {path}")


if __name__ == "__main__":
    main()
