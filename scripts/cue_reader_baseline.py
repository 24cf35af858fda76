"""Fact precision/recall/leaks of the old cue-word matcher (before the Reading) on evals/reader.

    git worktree add /tmp/sdmock-cues bf06020
    .venv/bin/python scripts/cue_reader_baseline.py /tmp/sdmock-cues

Reads the labelled messages of this checkout with `match_facts` and the problem files of the old one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

old = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(old))
from app.interview.classify import match_facts  # noqa: E402  (the old checkout's module)
from app.problems import load_problems  # noqa: E402

problems = load_problems(old / "knowledge" / "problems")
here = Path(__file__).resolve().parents[1]
totals: dict[str, list[int]] = {"tune": [0, 0, 0, 0, 0], "heldout": [0, 0, 0, 0, 0]}
for path in sorted((here / "evals" / "reader").glob("*.yaml")):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    problem = problems[data["problem"]]
    for m in data["messages"]:
        got, want = set(match_facts(m["text"], problem)), set(m.get("facts") or [])
        t = totals[m["split"]]
        t[0] += len(got & want)
        t[1] += len(got - want)
        t[2] += len(want - got)
        if not want:
            t[3] += 1
            t[4] += bool(got)
for split, (tp, fp, fn, nothing, leaks) in totals.items():
    print(
        f"{split}: fact precision {tp / max(tp + fp, 1):.3f}, recall {tp / max(tp + fn, 1):.3f}, "
        f"leak rate {leaks / max(nothing, 1):.3f}"
    )
