"""Interview benchmark: a full scripted interview with the offline voice, in process and through the CLI.

Targets: the good candidate's interview (tests/data/candidates/good.txt, walks all four phases to
done) simulated in process in under 1 s; `sdmock simulate --json` on it, start-up included, in
under 3 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import write_results

ROOT = Path(__file__).resolve().parent.parent
CANDIDATE = ROOT / "tests" / "data" / "candidates" / "good.txt"
IN_PROCESS_TARGET_S = 1.0
CLI_TARGET_S = 3.0


def bench_in_process(runs: int = 20) -> dict[str, Any]:
    """Time `simulate()` of the good candidate: the first (cold) run and the median of warm runs."""
    from app.cli.interview import read_candidate_file
    from app.interview.session import simulate
    from app.problems import get_problem

    problem = get_problem("url-shortener")
    messages = read_candidate_file(CANDIDATE)
    times = []
    session = None
    for _ in range(runs):
        t0 = time.perf_counter()
        session = simulate(problem, "senior", messages)
        times.append(time.perf_counter() - t0)
    assert session is not None
    return {
        "turns": len(session.transcript.turns),
        "final_phase": session.state.phase.value,
        "cold_s": times[0],
        "median_s": statistics.median(times[1:]) if runs > 1 else times[0],
        "max_s": max(times),
        "per_turn_ms": 1000 * statistics.median(times[1:] or times) / max(1, len(messages)),
    }


def bench_cli(runs: int = 3) -> dict[str, Any]:
    """Wall time of `sdmock simulate --json` as a fresh process, start-up included."""
    exe = Path(sys.executable).with_name("sdmock")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "app"]
    cmd += [
        "simulate",
        "--problem",
        "url-shortener",
        "--level",
        "senior",
        "--candidate",
        str(CANDIDATE),
        "--json",
    ]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"sdmock simulate failed: {proc.stderr.strip()}")
    return {"median_s": statistics.median(times), "max_s": max(times), "runs": runs}


def main() -> None:
    """Run both measurements, print a table, write benchmarks/results/interview.json."""
    from rich.console import Console
    from rich.table import Table

    inproc = bench_in_process()
    cli = bench_cli()
    table = Table(title="Interview (offline voice, good candidate, url-shortener)")
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("ok")
    ok_in = inproc["median_s"] < IN_PROCESS_TARGET_S and inproc["cold_s"] < IN_PROCESS_TARGET_S
    ok_cli = cli["max_s"] < CLI_TARGET_S
    table.add_row(
        "turns in transcript / final phase", f"{inproc['turns']} / {inproc['final_phase']}", "done", ""
    )
    table.add_row(
        "in-process simulate, cold", f"{inproc['cold_s'] * 1000:.0f} ms", "< 1000 ms", "✓" if ok_in else "✗"
    )
    table.add_row("in-process simulate, median warm", f"{inproc['median_s'] * 1000:.0f} ms", "< 1000 ms", "")
    table.add_row("per candidate turn", f"{inproc['per_turn_ms']:.1f} ms", "", "")
    table.add_row(
        f"`sdmock simulate --json`, median of {cli['runs']}",
        f"{cli['median_s']:.2f} s",
        "< 3 s",
        "✓" if ok_cli else "✗",
    )
    table.add_row("`sdmock simulate --json`, worst", f"{cli['max_s']:.2f} s", "< 3 s", "")
    Console().print(table)
    write_results("interview", {"in_process": inproc, "cli": cli, "ok": ok_in and ok_cli})


if __name__ == "__main__":
    main()
