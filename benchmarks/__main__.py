"""Run every `benchmarks/bench_*.py` module's `main()`, or only those named on the command line.

python -m benchmarks              # all except the opt-in ones
python -m benchmarks retrieval    # bench_retrieval only
python -m benchmarks scale_out    # an opt-in benchmark runs only when named

A module that sets `OPT_IN = "<why>"` (it needs extra servers or many minutes) is left out of the
plain run, which says so and names the command that runs it.

Ends with one summary table (benchmarks/summary.py) over every result file, with ratios to targets.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path


def discover() -> list[str]:
    """Module names of every benchmark, in a stable order."""
    return sorted(p.stem for p in Path(__file__).resolve().parent.glob("bench_*.py"))


def run(names: list[str]) -> int:
    """Run the named benchmarks; a failing one is reported and the rest still run."""
    wanted = discover()
    if names:
        wanted = [m for m in wanted if m in names or m.removeprefix("bench_") in names]
        if not wanted:
            print(f"no benchmark matches {names}; available: {', '.join(discover())}", file=sys.stderr)
            return 2
    else:
        for name in list(wanted):
            why = getattr(importlib.import_module(f"benchmarks.{name}"), "OPT_IN", None)
            if why:
                wanted.remove(name)
                short = name.removeprefix("bench_")
                print(f"skipping {name} ({why}); run it with: python -m benchmarks {short}")
    failed = []
    missed = []
    for name in wanted:
        module = importlib.import_module(f"benchmarks.{name}")
        argv = sys.argv
        sys.argv = [name]  # a benchmark's own argparse must not see this command's arguments
        try:
            code = module.main()
            if isinstance(code, int) and code != 0:
                missed.append(name)
        except (Exception, SystemExit):
            traceback.print_exc()
            failed.append(name)
        finally:
            sys.argv = argv
    from benchmarks import summary

    summary.main()
    if missed:
        print(f"goal missed: {', '.join(missed)}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
