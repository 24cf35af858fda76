"""Concurrency benchmark: 50 simulated users at once in one app process, on one SQLite database.

    .venv/bin/python -m benchmarks.bench_concurrency                 # 50 sessions (~40 s)
    .venv/bin/python -m benchmarks.bench_concurrency --sessions 20   # the CI size (tests/test_concurrency.py)

Each user is a thread driving its own interview through app/ui/flow.py (start, 4 messages each answered
by the LLM voice, finish) with a unique marker in its messages; the fake model echoes every marker it
finds in its prompt. Targets: 0 cross-session leaks, 0 "database is locked" errors, 0 lost turns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import write_results


def run(sessions: int = 50) -> dict[str, Any]:
    """Run the sessions; return the checks and timings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_concurrency import EchoServer, check_sessions, run_sessions

    from app.ui import flow

    real_retriever = flow.build_retriever
    flow.build_retriever = lambda settings: None  # retrieval is not under test
    try:
        with tempfile.TemporaryDirectory() as tmp, EchoServer() as server:
            store, runs, elapsed = run_sessions(Path(tmp) / "data", server.base_url, sessions)
            result = check_sessions(store, runs)
            store.close()
            calls = len(server.requests)
    finally:
        flow.build_retriever = real_retriever
    seconds = sorted(r.seconds for r in runs)
    return {
        "sessions": sessions,
        "completed": sum(1 for x in runs if not x.errors),
        "leaks": len(result["leaks"]),
        "locked_errors": len(result["locked"]),
        "other_errors": len(result["errors"]) - len(result["locked"]),
        "lost_or_misanswered": len(result["lost"]),
        "fallback_replies": result["fallback_replies"],
        "model_calls": calls,
        "integrity": result["integrity"],
        "session_p50_s": round(statistics.median(seconds), 2),
        "session_max_s": round(seconds[-1], 2),
        "elapsed_s": round(elapsed, 1),
        "examples": (result["leaks"] + result["errors"] + result["lost"])[:5],
    }


def main(argv: list[str] | None = None) -> int:
    """Run, print a table, write benchmarks/results/concurrency.json; exit 1 when a target is missed."""
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50)
    args = parser.parse_args(argv if argv is not None else [])
    r = run(args.sessions)
    ok = (
        r["leaks"] == 0
        and r["locked_errors"] == 0
        and r["other_errors"] == 0
        and r["lost_or_misanswered"] == 0
        and r["integrity"] == "ok"
    )
    table = Table(title=f"Concurrency: {r['sessions']} sessions at once, one process, one SQLite database")
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("sessions completed", f"{r['completed']}/{r['sessions']}", "all")
    table.add_row("cross-session leaks", str(r["leaks"]), "0")
    table.add_row('"database is locked" errors surfaced', str(r["locked_errors"]), "0")
    table.add_row("other errors", str(r["other_errors"]), "0")
    table.add_row("sessions with lost or mis-answered turns", str(r["lost_or_misanswered"]), "0")
    table.add_row("replies that fell back to the offline voice", str(r["fallback_replies"]), "0")
    table.add_row("model calls", str(r["model_calls"]), f"{r['sessions'] * 6}")
    table.add_row("session time p50 / max", f"{r['session_p50_s']} / {r['session_max_s']} s", "")
    table.add_row("SQLite integrity check", r["integrity"], "ok")
    table.add_row("wall time", f"{r['elapsed_s']} s", "")
    Console().print(table)
    for example in r["examples"]:
        Console().print(example, markup=False)
    write_results("concurrency", {**r, "ok": ok})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
