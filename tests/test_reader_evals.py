"""Reader evals: the labelled messages are sound, and the offline reader does not regress on them."""

from __future__ import annotations

from collections import Counter

import pytest

from app.evals.reader import (
    GOALS,
    load_baseline,
    load_messages,
    regressions,
    run_reader_evals,
)
from app.interview.classify import _cue_pattern, _norm
from app.interview.reading import ACTS, offline_reader
from app.problems import load_problems


@pytest.fixture(scope="module")
def messages() -> list:
    return load_messages()


def test_the_set_covers_every_problem_and_act(messages: list) -> None:
    assert len(messages) >= 400
    assert {m.problem for m in messages} == set(load_problems())
    acts = Counter(a for m in messages for a in m.acts)
    assert set(acts) == set(ACTS), f"acts without a labelled message: {set(ACTS) - set(acts)}"
    splits = Counter(m.split for m in messages)
    assert splits["heldout"] >= 100 and splits["tune"] >= 200
    assert len({m.id for m in messages}) == len(messages)


def test_at_least_half_of_the_clarifying_questions_avoid_their_cue_words(messages: list) -> None:
    problems = load_problems()
    asking = [m for m in messages if m.facts]
    avoiding = 0
    for m in asking:
        text = _norm(m.text)
        cues = [c for f in m.facts for c in problems[m.problem].fact(f).asked_by]
        if not any(_cue_pattern(c).search(text) for c in cues if c.strip()):
            avoiding += 1
    assert avoiding / len(asking) >= 0.5, f"{avoiding} of {len(asking)} avoid every cue word"


@pytest.fixture(scope="module")
def offline_run() -> object:
    return run_reader_evals(offline_reader())


def test_offline_reader_does_not_regress(offline_run: object) -> None:
    baseline = load_baseline(offline_run.reader)  # type: ignore[attr-defined]
    assert baseline is not None, "no committed baseline: run `sdmock eval --reader --update-baseline`"
    assert regressions(offline_run, baseline) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", ["fact_precision", "leak_rate", "acts_macro_f1"])
def test_offline_reader_meets_the_goals_it_met_when_committed(offline_run: object, metric: str) -> None:
    op, goal = GOALS[metric]
    value = offline_run.metrics["all"][metric]  # type: ignore[attr-defined]
    assert value is not None
    assert value >= goal if op == ">=" else value <= goal, f"{metric} {value} vs goal {op} {goal}"


def test_recorded_model_reader_replays_offline_without_regressing() -> None:
    """The model reader's recorded replies (evals/reader-recordings) replay with no key and no network,
    and its metrics do not drop below the committed baseline for the same subset."""
    import json

    from app.evals.reader import BASELINE_DIR
    from app.evals.reader_model import eval_reader

    baselines = sorted(BASELINE_DIR.glob("reader-model-*.json"))
    assert baselines, "no recorded model-reader baseline: see evals/reader/README.md"
    for path in baselines:
        data = json.loads(path.read_text())
        spec = data["reader"].split(":", 1)[1]
        run = run_reader_evals(eval_reader(spec), data["pattern"])
        assert run.counts == data["counts"]
        assert regressions(run, data) == []
