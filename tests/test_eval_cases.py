"""Every committed eval case loads, and the set has the coverage the evals need."""

from __future__ import annotations

from collections import Counter

from app.evals.cases import canonical_pattern, clear_pairs, load_cases
from app.problems import load_problems
from app.settings import REPO_ROOT

CASES = REPO_ROOT / "evals" / "cases"


def test_cases_load_and_cover_problems_levels_and_adversaries() -> None:
    cases = load_cases(CASES)
    assert len(cases) >= 30
    assert len({c.problem for c in cases}) >= 8
    assert {c.level for c in cases} == {"mid", "senior", "staff"}
    tags = Counter(t for c in cases for t in c.tags)
    for needed in ("strong", "middling", "weak", "injection", "empty", "gibberish", "off-topic"):
        assert tags[needed] >= 1, f"no case tagged {needed}"


def test_cases_name_known_problems_and_valid_bases() -> None:
    cases = load_cases(CASES)
    known = set(load_problems())
    ids = {c.id for c in cases}
    for c in cases:
        assert c.problem in known, f"{c.id}: unknown problem {c.problem}"
        assert c.turns[0].role == "interviewer", f"{c.id}: must open with the interviewer"
        if c.base is not None:
            assert c.base in ids, f"{c.id}: base {c.base} does not exist"
            base = next(b for b in cases if b.id == c.base)
            assert {d: lab.score for d, lab in c.labels.items()} == {
                d: lab.score for d, lab in base.labels.items()
            }, f"{c.id}: an injected variant keeps its base's labels"


def test_there_are_clear_strong_weak_pairs() -> None:
    assert len(clear_pairs(load_cases(CASES))) >= 10


def test_case_pattern_takes_several_comma_separated_globs() -> None:
    both = [c.id for c in load_cases(CASES, "url-shortener-senior-*, news-feed-mid-weak*")]
    assert set(both) == {c.id for c in load_cases(CASES, "url-shortener-senior-*")} | {
        c.id for c in load_cases(CASES, "news-feed-mid-weak*")
    }
    assert "news-feed-mid-weak-inj-json-end" in both and "news-feed-senior-strong" not in both


def test_a_pattern_has_one_spelling_whatever_the_order_and_spaces() -> None:
    assert canonical_pattern("news-*, url-*") == canonical_pattern("url-*,news-*,url-*") == "news-*,url-*"
    assert canonical_pattern("") == canonical_pattern(" , ") == "*"
