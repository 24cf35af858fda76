"""The problem catalogue: every file loads, its numbers add up, and its hidden facts stay hidden."""

from __future__ import annotations

import math
import re
from itertools import combinations
from pathlib import Path

import pytest
import yaml

from app.errors import KnowledgeError
from app.problems import Problem, evaluate_formula, formula_matches, load_problem_file, load_problems
from app.settings import REPO_ROOT

PROBLEMS_DIR = REPO_ROOT / "knowledge" / "problems"

CANONICAL_IDS = {
    "url-shortener",
    "rate-limiter",
    "key-value-store",
    "unique-id-generator",
    "web-crawler",
    "notification-system",
    "news-feed",
    "chat-system",
    "search-autocomplete",
    "youtube",
    "google-drive",
    "consistent-hashing",
}

PROBLEMS: dict[str, Problem] = load_problems(PROBLEMS_DIR)
ALL = sorted(PROBLEMS.values(), key=lambda p: p.id)


def by_id(param: Problem) -> str:
    """Name parametrised cases after the problem id."""
    return param.id


def number_words(text: str) -> set[str]:
    """Numbers written in text, commas dropped: '100,000 chars and 5 GB' -> {'100000', '5'}."""
    return {m.replace(",", "") for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def test_all_canonical_problems_present() -> None:
    missing = CANONICAL_IDS - PROBLEMS.keys()
    assert not missing, f"missing problem files: {sorted(missing)}"


@pytest.mark.parametrize("problem", ALL, ids=by_id)
def test_formulas_reproduce_values(problem: Problem) -> None:
    names = problem.number_values()
    for number in problem.numbers:
        assert number.formula, f"{problem.id}.{number.id} has no formula"
        got = evaluate_formula(number.formula, names)
        assert formula_matches(number, names), (
            f"{problem.id}.{number.id}: {number.formula} = {got}, not {number.value}"
        )


@pytest.mark.parametrize("problem", ALL, ids=by_id)
def test_formulas_only_use_facts_and_earlier_numbers(problem: Problem) -> None:
    known: dict[str, float] = {}
    for fact in problem.hidden_facts:
        known.update(fact.values)
    for number in problem.numbers:
        assert number.formula
        evaluate_formula(number.formula, known)  # KeyError names a later or unknown id
        known[number.id] = number.value


@pytest.mark.parametrize(
    ("problem_id", "number_id", "expected"),
    [
        ("url-shortener", "write_qps", 1160),
        ("url-shortener", "read_qps", 11600),
        ("url-shortener", "storage_tb", 36.5),
        ("search-autocomplete", "qps", 24000),
        ("search-autocomplete", "peak_qps", 48000),
        ("web-crawler", "pages_per_second", 400),
        ("web-crawler", "storage_5y_pb", 30),
        ("notification-system", "notifications_per_second", 185),
        ("youtube", "daily_upload_tb", 150),
        ("google-drive", "upload_qps", 240),
        ("chat-system", "messages_per_second", 23000),
    ],
)
def test_anchor_numbers(problem_id: str, number_id: str, expected: float) -> None:
    problem = PROBLEMS[problem_id]
    number = next((n for n in problem.numbers if n.id == number_id), None)
    assert number is not None, f"{problem_id} has no number {number_id}"
    assert math.isclose(number.value, expected, rel_tol=0.05), f"{problem_id}.{number_id} = {number.value}"


@pytest.mark.parametrize("problem", ALL, ids=by_id)
def test_no_two_facts_share_a_cue(problem: Problem) -> None:
    owner: dict[str, str] = {}
    for fact in problem.hidden_facts:
        for cue in fact.asked_by:
            assert cue not in owner or owner[cue] == fact.id, (
                f"{problem.id}: cue {cue!r} belongs to both {owner[cue]} and {fact.id}"
            )
            owner[cue] = fact.id


def contains_cue(text: str, cue: str) -> bool:
    """True when cue occurs in text as whole words, allowing a plural or -ed/-ing ending."""
    return re.search(rf"(?<![a-z0-9]){re.escape(cue)}(?:s|es|d|ed|ing)?(?![a-z0-9])", text) is not None


@pytest.mark.parametrize("problem", ALL, ids=by_id)
def test_no_cue_is_contained_in_another_facts_cue(problem: Problem) -> None:
    # Cues match on word boundaries, so 'keep' inside another fact's 'keep alive' would fire both facts.
    for a, b in combinations(problem.hidden_facts, 2):
        for cue_a in a.asked_by:
            for cue_b in b.asked_by:
                assert not contains_cue(cue_b, cue_a) and not contains_cue(cue_a, cue_b), (
                    f"{problem.id}: cue {cue_a!r} ({a.id}) overlaps {cue_b!r} ({b.id})"
                )


def test_contains_cue_uses_word_boundaries() -> None:
    assert contains_cue("how many users", "how many")
    assert contains_cue("keeps", "keep")
    assert not contains_cue("collaboration", "ratio")


@pytest.mark.parametrize("problem", ALL, ids=by_id)
def test_prompt_reveals_no_fact_numbers(problem: Problem) -> None:
    in_prompt = number_words(problem.prompt)
    for fact in problem.hidden_facts:
        stated = number_words(fact.fact) | {f"{v:g}" for v in fact.values.values()}
        leaked = in_prompt & stated
        assert not leaked, f"{problem.id}: prompt reveals {sorted(leaked)} from fact {fact.id}"


@pytest.mark.parametrize("problem", ALL, ids=by_id)
def test_catalogue_shape(problem: Problem) -> None:
    assert 6 <= len(problem.hidden_facts) <= 10 or problem.id == "consistent-hashing"
    assert 4 <= len(problem.deep_dives) <= 7
    assert 6 <= len(problem.components) <= 10
    assert 4 <= len(problem.wrap_up) <= 6
    assert 4 <= len(problem.pitfalls) <= 6
    assert 250 <= len(problem.reference_design.split()) <= 500
    assert "\n" not in problem.prompt.strip()
    assert any(f.key for f in problem.hidden_facts)
    for fact in problem.hidden_facts:
        assert all(c == c.lower() and c.strip() == c and c for c in fact.asked_by), f"{problem.id}.{fact.id}"
    for topic in problem.deep_dives:
        assert 2 <= len(topic.probes) <= 4, f"{problem.id}.{topic.id}"
        assert topic.notes_query.strip()


def test_loader_rejects_a_broken_file_by_field(tmp_path: Path) -> None:
    data = yaml.safe_load((PROBLEMS_DIR / "url-shortener.yaml").read_text(encoding="utf-8"))
    data["hidden_facts"][0]["asked_by"] = []
    bad = tmp_path / "url-shortener.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_problem_file(bad)
    assert "url-shortener.yaml" in str(info.value)
    assert "hidden_facts.0.asked_by" in str(info.value)
    with pytest.raises(KnowledgeError):
        load_problems(tmp_path)


def test_loader_rejects_bad_yaml_and_mismatched_id(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"cannot read problem file broken\.yaml"):
        load_problem_file(broken)
    renamed = tmp_path / "tiny-url.yaml"
    renamed.write_text((PROBLEMS_DIR / "url-shortener.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="make the id match the file name"):
        load_problem_file(renamed)
