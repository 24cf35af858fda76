"""Fault benchmark: 120 scripted interviews against a provider that fails ~20% of calls.

    .venv/bin/python -m benchmarks.bench_faults                  # 120 interviews, 3 at a time (~3-4 min)
    .venv/bin/python -m benchmarks.bench_faults --interviews 30  # the CI size (tests/test_faults.py)

Every interview goes through app/ui/flow.py (what the web pages call) with a real SQLite store, and the
LLM voice and LLM grader both on a fault-injecting OpenAI-compatible server on loopback (see
tests/fakes/chaos.py for the faults). Targets: every interview completes; 0 turns lost, duplicated or
reordered; 0 raw errors shown; 0 made-up grades; every turn within turn_deadline_s (3 s) + 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import write_results

DEADLINE_S = 3.0
MARGIN_S = 1.0


def run(interviews: int = 120, workers: int = 3, seed: int = 20240608) -> dict[str, Any]:
    """Run the interviews; return counts and timings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from fakes.chaos import (
        FaultPlan,
        run_fault_interviews,
    )

    from app.ui import flow
    from app.voice.llm import NOTICE_EMPTY, NOTICE_FAILED, NOTICE_RESTING, NOTICE_TIMEOUT

    real_retriever = flow.build_retriever
    flow.build_retriever = lambda settings: None  # retrieval is not under test
    plan = FaultPlan(seed=seed, rate=0.2)
    rng = random.Random(seed)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run = run_fault_interviews(
                Path(tmp) / "data",
                plan,
                interviews=interviews,
                workers=workers,
                rng=rng,
                deadline_s=DEADLINE_S,
                margin_s=MARGIN_S,
            )
        results, problems, integrity = run.results, run.problems, run.integrity
    finally:
        flow.build_retriever = real_retriever
    elapsed = time.monotonic() - started
    turn_s = sorted(t.seconds for r in results for t in r.turns)
    grade_s = sorted(r.grade_seconds for r in results)
    dims = [d for r in results for d in (r.report or {}).get("dimensions", [])]
    notices = (NOTICE_FAILED, NOTICE_TIMEOUT, NOTICE_RESTING, NOTICE_EMPTY)
    return {
        "interviews": interviews,
        "workers": workers,
        "completed": sum(1 for r in results if r.report is not None),
        "turns": len(turn_s),
        "candidate_turns_sent": sum(len(r.sent) for r in results),
        "calls": plan.calls,
        "drawn": dict(sorted(plan.drawn.items())),
        "fault_rate": round(1 - plan.drawn.get("ok", 0) / max(plan.calls, 1), 3),
        "fallback_turns": sum(1 for r in results for t in r.turns if any(n in t.text for n in notices)),
        "page_errors": sum(1 for r in results for t in r.turns if t.error),
        "dimensions_graded": sum(1 for d in dims if d["status"] == "graded"),
        "dimensions_failed": sum(1 for d in dims if d["status"] == "failed"),
        "interviews_with_problems": len(problems),
        "problems": {m: p[:5] for m, p in list(problems.items())[:10]},
        "turn_p50_s": round(statistics.median(turn_s), 3),
        "turn_p95_s": round(turn_s[int(0.95 * (len(turn_s) - 1))], 3),
        "turn_max_s": round(turn_s[-1], 3),
        "grade_p50_s": round(statistics.median(grade_s), 3),
        "grade_max_s": round(grade_s[-1], 3),
        "integrity": integrity,
        "elapsed_s": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run, print a table, write benchmarks/results/faults.json; exit 1 when a target is missed."""
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--interviews", type=int, default=120)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240608)
    args = parser.parse_args(argv if argv is not None else [])
    r = run(args.interviews, args.workers, args.seed)
    ok = (
        r["completed"] == r["interviews"]
        and r["interviews_with_problems"] == 0
        and r["turn_max_s"] <= DEADLINE_S + MARGIN_S
        and r["integrity"] == "ok"
    )
    table = Table(
        title=f"Faults: {r['interviews']} interviews, ~20% of model calls failing ({r['workers']} at a time)"
    )
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("interviews completed and graded", f"{r['completed']}/{r['interviews']}", "all")
    table.add_row(
        "interviews with a lost/duplicated/reordered turn, raw error or made-up grade",
        str(r["interviews_with_problems"]),
        "0",
    )
    table.add_row("model calls (fault rate)", f"{r['calls']} ({r['fault_rate']:.0%})", "~20%")
    table.add_row(
        "faults drawn", ", ".join(f"{k} {v}" for k, v in r["drawn"].items() if k != "ok"), "every kind"
    )
    table.add_row("turns (candidate messages sent)", f"{r['turns']} ({r['candidate_turns_sent']})", "")
    table.add_row("turns that fell back with a notice", str(r["fallback_turns"]), "")
    table.add_row("turns the page showed as failed", str(r["page_errors"]), "")
    table.add_row(
        "dimensions graded / failed (no score)", f"{r['dimensions_graded']} / {r['dimensions_failed']}", ""
    )
    table.add_row(
        "turn time p50 / p95 / max",
        f"{r['turn_p50_s']} / {r['turn_p95_s']} / {r['turn_max_s']} s",
        f"max <= {DEADLINE_S + MARGIN_S} s",
    )
    table.add_row("grading time p50 / max", f"{r['grade_p50_s']} / {r['grade_max_s']} s", "")
    table.add_row("SQLite integrity check", r["integrity"], "ok")
    table.add_row("wall time", f"{r['elapsed_s']} s", "")
    Console().print(table)
    for marker, found in r["problems"].items():
        Console().print(f"[red]{marker}[/]: {found}", markup=True)
    write_results("faults", {**r, "ok": ok})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
