"""Speed and quality benchmarks. Run them all with `python -m benchmarks` (or `make bench`).

Each `bench_*.py` module has a `main()` that prints a table and writes `benchmarks/results/NAME.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write one benchmark's results as JSON under `benchmarks/results/` (git-ignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
