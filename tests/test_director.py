"""The director without any model: unit tests and hypothesis properties of `next_move`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.interview.analysis import TurnAnalysis, TurnKind, classify_turn
from app.interview.director import (
    coverage,
    finish_interview,
    next_move,
    open_move,
    request_advance,
)
from app.interview.moves import Move, MoveKind
from app.interview.phases import Phase
from app.interview.state import InterviewState, PhaseBudget, default_budgets, new_state
from app.problems import Problem, get_problem, load_problems

URL = get_problem("url-shortener")


def turn(state: InterviewState, text: str, now: float, problem: Problem = URL) -> tuple[InterviewState, Move]:
    return next_move(state, classify_turn(text, problem, state), now, problem)


def fresh(problem: Problem = URL, minutes: float = 45.0) -> InterviewState:
    state, _ = open_move(new_state(problem.id, "senior", minutes), problem)
    return state


def test_default_budget_is_xus() -> None:
    b = default_budgets(45)
    assert (b[Phase.SCOPE].min, b[Phase.SCOPE].max) == (3, 10)
    assert (b[Phase.HIGH_LEVEL].min, b[Phase.HIGH_LEVEL].max) == (10, 15)
    assert (b[Phase.DEEP_DIVE].min, b[Phase.DEEP_DIVE].max) == (10, 25)
    assert (b[Phase.WRAP_UP].min, b[Phase.WRAP_UP].max) == (3, 5)
    assert default_budgets(90)[Phase.DEEP_DIVE].max == 50


def test_state_round_trips_through_json() -> None:
    s = fresh()
    s, _ = turn(s, "How many URLs per day?", 1)
    s, _ = turn(s, "That is 116,000 writes/s.", 2)
    again = InterviewState.model_validate_json(s.model_dump_json())
    assert again == s
    assert again.estimates_checked[0].number_id == "write_qps"


def test_answers_only_the_asked_fact() -> None:
    s, m = turn(fresh(), "How long do we keep the mappings?", 1)
    assert m.kind == MoveKind.ANSWER and m.fact_ids == ["retention"]
    assert m.facts == [URL.fact("retention").fact]
    assert s.released_fact_ids == ["retention"] == s.asked_fact_ids


def test_unknown_detail_gets_assume() -> None:
    s, m = turn(fresh(), "Do we need to support custom domains for enterprise customers?", 1)
    assert m.kind == MoveKind.ASSUME and not m.facts
    assert s.released_fact_ids == [] and s.assumptions_requested == 1


def test_all_numbers_gets_only_specific_asks() -> None:
    s, m = turn(fresh(), "Give me all the numbers and requirements at once.", 1)
    assert m.kind == MoveKind.ANSWER and m.facts == [] and m.question
    s, m = turn(s, "Give me all the numbers. How long do we keep them?", 2)
    assert m.fact_ids == ["retention"]
    assert s.released_fact_ids == ["retention"]


def test_design_in_scope_is_steered_back() -> None:
    s, m = turn(fresh(), "I'll hash the URL with MD5 and store it in MySQL behind a load balancer.", 1)
    assert m.kind == MoveKind.STEER_TO_SCOPE and s.phase == Phase.SCOPE
    assert s.design_jumps == 1
    assert m.notes_query


def test_skip_and_score_are_refused() -> None:
    s = fresh()
    for i, text in enumerate(
        ["Can we skip to the grading?", "What's my score?", "Just mark me as a strong hire."]
    ):
        s, m = turn(s, text, i + 1)
        assert m.kind == MoveKind.REFUSE_SKIP
        assert s.phase == Phase.SCOPE
    assert s.skip_attempts == 3


def test_move_on_needs_the_phase_minimum() -> None:
    s, m = turn(fresh(), "Let's move on to the next step.", 1)
    assert m.kind == MoveKind.REFUSE_SKIP and m.reason == "too_early" and s.phase == Phase.SCOPE
    s, m = turn(s, "Let's move on to the next step.", 4)
    assert m.kind == MoveKind.ADVANCE and m.phase_changed and s.phase == Phase.HIGH_LEVEL
    assert s.phase_started_at == 4


def test_advance_button_respects_minimum() -> None:
    s, m = request_advance(fresh(), 1, URL)
    assert m.kind == MoveKind.REFUSE_SKIP and s.phase == Phase.SCOPE
    s, m = request_advance(s, 3.5, URL)
    assert s.phase == Phase.HIGH_LEVEL


def test_time_budget_moves_on_after_max() -> None:
    s = fresh()
    s, m = turn(s, "How many URLs per day?", 10.5)  # a question past max is still answered
    assert m.kind == MoveKind.ANSWER and s.phase == Phase.SCOPE
    s, m = turn(s, "I'd put a cache in front of the database.", 11)
    assert m.kind == MoveKind.ADVANCE and m.reason == "time" and s.phase == Phase.HIGH_LEVEL


def test_time_hard_limit_beats_questions() -> None:
    s, m = turn(fresh(), "How many URLs per day?", 13)
    assert s.phase == Phase.HIGH_LEVEL and m.reason == "time" and not m.facts


def test_configurable_budget() -> None:
    budgets = default_budgets(45)
    budgets[Phase.SCOPE] = PhaseBudget(min=0, max=2)
    s, _ = open_move(new_state(URL.id, "senior", budgets=budgets), URL)
    s, _ = turn(s, "I think about it.", 2.5)
    assert s.phase == Phase.HIGH_LEVEL


def test_off_topic_and_empty_keep_the_place() -> None:
    s = fresh()
    s, _ = turn(s, "How many URLs per day?", 1)
    before = s.last_question
    s, m = turn(s, "Did you see the football last night?", 2)
    assert m.kind == MoveKind.STEER_BACK and s.phase == Phase.SCOPE and m.question != before
    s, m2 = turn(s, "", 3)
    assert m2.kind == MoveKind.STEER_BACK and m2.question != m.question and not m2.facts


def test_estimate_challenge_does_not_reveal_the_number() -> None:
    s, m = turn(fresh(), "So that's about 116,000 writes/s.", 1)
    assert m.kind == MoveKind.CHALLENGE_ESTIMATE
    assert m.expected == "~1,160 writes/s" and m.candidate_value
    assert m.question and "1,160" not in m.question and "1160" not in m.question
    s, m = turn(s, "Sorry: 100M / 86400 = ~1,160 writes/s.", 2)
    assert m.kind == MoveKind.ACK_ESTIMATE


def test_high_level_probes_vague_cache() -> None:
    s, _ = turn(fresh(), "Let's move on.", 4)
    s, m = turn(s, "Web servers read from a Redis cache in front of the database.", 5)
    assert m.kind == MoveKind.PROBE and m.topic == "caching" and m.notes_query


def test_deep_dive_picks_uncovered_topics_and_wrap_up_closes() -> None:
    s = fresh()
    s, _ = turn(s, "Let's move on.", 4)
    s, _ = turn(s, "Let's move on to the deep dive.", 15)
    assert s.phase == Phase.DEEP_DIVE and s.current_topic
    seen_topics = {s.current_topic}
    t = 16.0
    while s.phase == Phase.DEEP_DIVE:
        s, m = turn(s, "I would handle that with replication and careful capacity planning in each area.", t)
        if m.topic:
            seen_topics.add(m.topic)
        t += 1.5
    assert len(seen_topics) >= 3
    assert s.phase == Phase.WRAP_UP
    asked = []
    while s.phase == Phase.WRAP_UP:
        s, m = turn(s, "We'd watch latency and error rates and add capacity where it strains.", t)
        if m.question:
            asked.append(m.question)
        t += 1
    assert s.phase == Phase.DONE
    assert any("monitor" in q for q in asked)


def test_done_only_closes() -> None:
    s, m = finish_interview(fresh(), 5)
    assert s.phase == Phase.DONE and m.kind == MoveKind.CLOSE
    s, m = turn(s, "How many URLs per day?", 6)
    assert m.kind == MoveKind.CLOSE and s.released_fact_ids == []


def test_coverage_report() -> None:
    s, _ = turn(fresh(), "How many URLs per day and how long do we keep them?", 1)
    c = coverage(s, URL)
    assert c["key_facts_asked"] == ["volume", "retention"]
    assert c["phases_visited"] == ["scope"]


# ----------------------------------------------------------------------------------------------
# properties

_MESSAGES = st.one_of(
    st.sampled_from(
        [
            "",
            "hmm",
            "asdf qwrtp",
            "Can we skip to the grading?",
            "What is my score?",
            "Let's move on.",
            "Let's jump to the wrap-up.",
            "Give me all the numbers.",
            "Did you watch the game last night?",
            "How much time is left?",
            "That's about 116,000 writes/s.",
            "That's about 1,160 writes/s and 11,600 reads/s.",
            "Storage is roughly 36.5 TB.",
            "I'd use a cache, a load balancer and a database.",
            "Let me think about failure modes and monitoring.",
        ]
    ),
    st.builds(
        lambda w: f"What about the {w}?",
        st.sampled_from(["traffic", "retention", "ratio", "latency", "weather"]),
    ),
    st.text(max_size=40),
)


def _walk(
    problem: Problem, steps: list[tuple[str, float]]
) -> list[tuple[InterviewState, TurnAnalysis, Move]]:
    s = fresh(problem)
    now = 0.0
    out = []
    for text, dt in steps:
        now += dt
        a = classify_turn(text, problem, s)
        s, m = next_move(s, a, now, problem)
        out.append((s, a, m))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem_id=st.sampled_from(sorted(load_problems())),
    steps=st.lists(st.tuples(_MESSAGES, st.floats(min_value=0.0, max_value=6.0)), max_size=40),
)
def test_director_properties(problem_id: str, steps: list[tuple[str, float]]) -> None:
    problem = get_problem(problem_id)
    prev_phase = Phase.SCOPE
    prev_question: str | None = None
    asked_so_far: set[str] = set()
    for state, analysis, move in _walk(problem, steps):
        # phases only move forward, one step at a time
        assert state.phase.order - prev_phase.order in (0, 1)
        assert move.phase == state.phase
        assert move.phase_changed == (state.phase != prev_phase) or move.kind == MoveKind.CLOSE
        # skip/score attempts never move the phase, except when the clock forces it
        if analysis.kind == TurnKind.SKIP and state.phase != prev_phase:
            assert move.reason == "time"
        # every fact released was asked for in that very turn
        assert set(move.fact_ids) <= set(analysis.fact_ids)
        asked_so_far |= set(analysis.fact_ids)
        assert set(state.released_fact_ids) <= asked_so_far
        assert set(state.released_fact_ids) <= set(state.asked_fact_ids)
        # the same question is never asked twice in a row
        if move.question is not None:
            assert move.question != prev_question
            prev_question = move.question
        # the director never says the expected number out loud
        if move.expected and move.question:
            assert move.expected.lstrip("~").split()[0] not in move.question
        prev_phase = state.phase
    if steps:
        assert InterviewState.model_validate_json(state.model_dump_json()) == state


@pytest.mark.parametrize("problem_id", sorted(load_problems()))
def test_every_problem_can_be_walked_to_done(problem_id: str) -> None:
    problem = get_problem(problem_id)
    s = fresh(problem)
    t = 0.0
    for _ in range(80):
        t += 1.5
        s, _ = turn(
            s, "Here is how I would design that part, with the trade-offs explained in detail.", t, problem
        )
        if s.phase == Phase.DONE:
            break
    assert s.phase == Phase.DONE
    assert s.phases_visited() == list(Phase)
