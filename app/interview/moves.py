"""What the director decides each turn. The voice only words a Move; it never changes it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from app.interview.phases import Phase


class MoveKind(StrEnum):
    """The kinds of interviewer move."""

    OPEN = "open"  # first turn: the one-line prompt, invite clarifying questions
    ANSWER = "answer"  # answer a clarifying question with the released facts only
    ASSUME = "assume"  # detail not on the fact sheet: "make a reasonable assumption and state it"
    STEER_TO_SCOPE = "steer_to_scope"  # candidate designs during scope: clarify first
    PROBE = "probe"  # ask about something vague the candidate said
    CHALLENGE_ESTIMATE = "challenge_estimate"  # estimate off by >= tolerance
    ACK_ESTIMATE = "ack_estimate"  # estimate in the right range
    ADVANCE = "advance"  # the phase moved on: introduce the next step
    DEEP_DIVE = "deep_dive"  # ask about a topic not covered yet
    WRAP_UP = "wrap_up"  # bottlenecks, failures, monitoring, next scale step
    STEER_BACK = "steer_back"  # off-topic or empty turn: back to where we were
    REFUSE_SKIP = "refuse_skip"  # candidate tries to skip ahead or ask for a score
    ANSWER_QUESTION = "answer_question"  # a question to the interviewer about the process
    ACKNOWLEDGE = "acknowledge"  # a design statement that needs no probe: acknowledge, ask to go on
    CLOSE = "close"  # the interview is over


class Move(BaseModel):
    """The director's decision for one interviewer turn."""

    kind: MoveKind
    phase: Phase = Field(description="Phase the interviewer speaks in (after any transition).")
    phase_changed: bool = Field(False, description="True when this turn moved to a new phase.")
    facts: list[str] = Field(default_factory=list, description="Released fact texts (ANSWER only).")
    fact_ids: list[str] = Field(default_factory=list)
    question: str | None = Field(None, description="The question the interviewer asks, if any.")
    topic: str | None = Field(None, description="Deep-dive topic id or component being probed.")
    notes_query: str | None = Field(None, description="Query for study notes that support this move.")
    expected: str | None = Field(None, description="Expected value for an estimate, e.g. '~11,600 reads/s'.")
    candidate_value: str | None = Field(None, description="The candidate's estimate being checked.")
    reason: str = Field("", description="Why the director chose this move (kept in the event log).")
