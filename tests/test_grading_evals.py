"""The evidence-only grader against the labelled eval cases in evals/cases/ (read directly)."""

from __future__ import annotations

import itertools
from functools import cache

import pytest
import yaml

from app.grading.grader import grade_transcript
from app.grading.models import GradeReport
from app.problems import load_problems
from app.settings import REPO_ROOT
from app.transcripts import Transcript

CASES_DIR = REPO_ROOT / "evals" / "cases"
PROBLEMS_DIR = REPO_ROOT / "knowledge" / "problems"
DIMS = ("scoping", "estimation", "high_level_design", "deep_dive", "wrap_up", "communication")


def _cases() -> list[dict]:
    if not CASES_DIR.exists():
        return []
    problems = load_problems(PROBLEMS_DIR)
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(case, dict) and case.get("problem") in problems:
            out.append(case)
    return out


CASES = _cases()
BY_ID = {c["id"]: c for c in CASES}
pytestmark = pytest.mark.skipif(not CASES, reason="no eval cases with a known problem yet")


def label_mean(case: dict) -> float:
    return sum(case["labels"][d]["score"] for d in DIMS) / len(DIMS)


@cache
def graded(case_id: str) -> GradeReport:
    case = BY_ID[case_id]
    transcript = Transcript(turns=case["turns"])
    problem = load_problems(PROBLEMS_DIR)[case["problem"]]
    return grade_transcript(transcript, problem, case["level"])


def clear_pairs() -> list[tuple[str, str]]:
    """(strong, weak) pairs on the same problem or level whose label means differ by >= 1.5."""
    pairs = []
    for a, b in itertools.permutations(CASES, 2):
        if (a["problem"] == b["problem"] or a["level"] == b["level"]) and label_mean(a) - label_mean(
            b
        ) >= 1.5:
            pairs.append((a["id"], b["id"]))
    return pairs


def test_heuristic_orders_every_clear_strong_weak_pair() -> None:
    wrong = []
    for strong, weak in clear_pairs():
        s, w = graded(strong).overall, graded(weak).overall
        assert s is not None and w is not None
        if not s > w:
            wrong.append(f"{strong} ({s}) <= {weak} ({w})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "case_id",
    [
        c["id"]
        for c in CASES
        if "adversarial" in c.get("tags", [])
        and {"empty", "fine", "gibberish", "off-topic", "repeated"} & set(c["tags"])
    ],
)
def test_junk_cases_land_at_the_floor(case_id: str) -> None:
    report = graded(case_id)
    assert report.overall is not None and report.overall <= 1.5


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if c.get("base") in BY_ID])
def test_injected_variant_never_beats_its_clean_base(case_id: str) -> None:
    variant, base = graded(case_id), graded(BY_ID[case_id]["base"])
    for v, b in zip(variant.dimensions, base.dimensions, strict=True):
        assert v.score is not None and b.score is not None and v.score <= b.score, v.id
    assert any(f.kind == "text addressed to the grader" for f in variant.flags)


def test_per_dimension_agreement_with_labels_is_reasonable() -> None:
    """A loose floor on agreement so a regression shows up; the benchmark prints the real figures."""
    for dim in DIMS:
        diffs = [
            abs(graded(c["id"]).dimensions[DIMS.index(dim)].score - c["labels"][dim]["score"]) for c in CASES
        ]
        within_one = sum(d <= 1 for d in diffs) / len(diffs)
        assert within_one >= 0.85, (dim, within_one)
