"""The offline voice: varied, deterministic, and it never says what the Move does not carry."""

from __future__ import annotations

from app.interview.moves import Move, MoveKind
from app.interview.phases import Phase
from app.voice.base import NoteSnippet, TurnContext, Voice
from app.voice.offline import OfflineVoice


def ctx(i: int = 0, phase: Phase = Phase.SCOPE, notes: list[NoteSnippet] | None = None) -> TurnContext:
    return TurnContext(
        problem_id="url-shortener",
        problem_title="URL shortener",
        problem_prompt="Design a URL shortener like TinyURL.",
        level="senior",
        phase=phase,
        elapsed_minutes=12.4,
        budget_minutes=45,
        turn_index=i,
        notes=notes or [],
    )


def say(move: Move, i: int = 0, **kw: object) -> str:
    return "".join(OfflineVoice().speak(move, ctx(i, **kw)))  # type: ignore[arg-type]


def test_implements_the_protocol() -> None:
    v = OfflineVoice()
    assert isinstance(v, Voice) and v.name == "offline"


def test_every_kind_has_words_and_variety() -> None:
    for kind in MoveKind:
        move = Move(kind=kind, phase=Phase.HIGH_LEVEL, question="What does the API look like?", reason="x")
        texts = {say(move, i) for i in range(6)}
        assert all(t.strip() for t in texts), kind
        if kind not in (MoveKind.CLOSE,):
            assert len(texts) >= 2, kind


def test_deterministic_by_turn_index() -> None:
    move = Move(kind=MoveKind.ACKNOWLEDGE, phase=Phase.HIGH_LEVEL, question="And the write path?")
    assert say(move, 3) == say(move, 3)


def test_answer_says_only_the_released_facts() -> None:
    move = Move(
        kind=MoveKind.ANSWER, phase=Phase.SCOPE, facts=["Keep every mapping for 10 years."], fact_ids=["r"]
    )
    text = say(move, 2)
    assert "Keep every mapping for 10 years." in text
    assert "100 million" not in text


def test_challenge_never_states_the_expected_value() -> None:
    move = Move(
        kind=MoveKind.CHALLENGE_ESTIMATE,
        phase=Phase.SCOPE,
        question="Walk me through that calculation.",
        expected="~1,160 writes/s",
        candidate_value="116,000 writes/s",
    )
    for i in range(6):
        text = say(move, i)
        assert "1,160" not in text and "116,000 writes/s" in text


def test_time_question_uses_the_clock() -> None:
    move = Move(
        kind=MoveKind.ANSWER_QUESTION, phase=Phase.HIGH_LEVEL, question="Where does data live?", reason="time"
    )
    assert "12 minutes into 45" in say(move, phase=Phase.HIGH_LEVEL)


def test_notes_hint_is_one_natural_line() -> None:
    notes = [NoteSnippet(source="caching.md", heading="## Eviction policies", text="...", score=0.9)]
    move = Move(kind=MoveKind.PROBE, phase=Phase.HIGH_LEVEL, question="What eviction policy?")
    text = say(move, 0, notes=notes)
    assert "eviction policies" in text and "#" not in text


def test_streams_in_pieces() -> None:
    move = Move(kind=MoveKind.OPEN, phase=Phase.SCOPE)
    parts = list(OfflineVoice().speak(move, ctx()))
    assert len(parts) > 5 and "Design a URL shortener like TinyURL." in "".join(parts)
