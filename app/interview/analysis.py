"""The director's view of one candidate turn: a Reading folded with the interview state.

`analyse(reading, problem, state)` decides the turn's main kind for the director (what to respond
to first) and checks the estimates the reader tied to derived numbers. Everything about what the
message says comes from the Reading; nothing here reads the text again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from app.interview.classify import Estimate, EstimateCheck, check_estimate
from app.interview.phases import Phase
from app.interview.reading import Act, Reader, Reading, offline_reader

if TYPE_CHECKING:
    from app.interview.state import InterviewState
    from app.problems import Problem


class TurnKind(StrEnum):
    """What one candidate turn mainly is, for the director."""

    CLARIFYING = "clarifying"  # asks about requirements (matched facts or an unknown detail)
    DESIGN = "design"  # proposes components, flows, choices
    ESTIMATE = "estimate"  # states numbers the interviewer can check
    INTERVIEWER_QUESTION = "interviewer_question"  # a question to the interviewer: hint, opinion, time
    OFF_TOPIC = "off_topic"  # nothing to do with the interview
    EMPTY = "empty"  # empty, gibberish or a bare filler ("hmm")
    MOVE_ON = "move_on"  # asks to go to the next step
    SKIP = "skip"  # tries to jump ahead, end the interview, get a score, or addresses a grader


class TurnAnalysis(BaseModel):
    """Everything the director needs to know about one candidate turn."""

    text: str
    kind: TurnKind
    reading: Reading | None = Field(default=None, description="The Reading this analysis folds.")
    fact_ids: list[str] = Field(default_factory=list, description="Hidden facts asked for.")
    asks_all: bool = Field(default=False, description="Asked for all the numbers/requirements at once.")
    unknown_question: bool = Field(default=False, description="Asked about requirements no fact answers.")
    components: list[str] = Field(default_factory=list, description="Component ids named.")
    topics: list[str] = Field(default_factory=list, description="Deep-dive topic ids touched.")
    estimates: list[Estimate] = Field(default_factory=list, description="The candidate's own estimates.")
    checks: list[EstimateCheck] = Field(default_factory=list, description="Estimates matched to numbers.")
    wants_move_on: bool = False
    wants_skip: bool = False
    wants_score: bool = False
    target_phase_order: int | None = Field(default=None, description="Phase order a move-on names, if any.")
    is_design: bool = Field(default=False, description="Contains a design statement.")
    questions: list[str] = Field(default_factory=list, description="Question sentences in the turn.")
    words: int = 0
    question_topic: str = Field(
        default="process",
        description="For a question to the interviewer: hint, opinion, dont_know, time, focus.",
    )

    @property
    def acts(self) -> list[Act]:
        return list(self.reading.acts) if self.reading is not None else []


_SCORE_WORDS = ("score", "grade", "rating", "hire", "verdict", "pass", "mark", "feedback", "result")


def analyse(reading: Reading, problem: Problem, state: InterviewState | None = None) -> TurnAnalysis:
    """The director's view of a Reading in the current state.

    Priority when a turn does several things: empty > skip/score/grader-directed > move-on request >
    clarifying question > estimate > question to the interviewer > design > off-topic.
    """
    acts = set(reading.acts)
    current = state.phase.order if state is not None else 0
    target = Phase(reading.target_phase).order if reading.target_phase else None
    checks: list[EstimateCheck] = []
    numbers = {n.id: n for n in problem.numbers}
    for est in reading.estimates:
        if est.number in numbers:
            checks.append(check_estimate(est, numbers[est.number]))
    wants_skip = (
        Act.SKIP_OR_SCORE in acts
        or Act.ADDRESS_GRADER in acts
        or (Act.MOVE_ON in acts and target is not None and target > current + 1)
    )
    low = reading.text.lower()
    wants_score = Act.SKIP_OR_SCORE in acts and any(w in low for w in _SCORE_WORDS)
    wants_move_on = Act.MOVE_ON in acts and not wants_skip and (target is None or target > current)
    asked_interviewer = acts & {Act.ASK_HINT, Act.ASK_OPINION, Act.ASK_PROCESS, Act.DONT_KNOW}
    unknown = Act.CLARIFY in acts and not reading.facts and not reading.asks_all
    kind: TurnKind
    if acts == {Act.EMPTY}:
        kind = TurnKind.EMPTY
    elif wants_skip:
        kind = TurnKind.SKIP
    elif wants_move_on and not reading.facts and not checks:
        kind = TurnKind.MOVE_ON  # with estimates in it, the numbers are answered first
    elif reading.facts or reading.asks_all or (Act.CLARIFY in acts and not asked_interviewer):
        kind = TurnKind.CLARIFYING
    elif checks:
        kind = TurnKind.ESTIMATE
    elif asked_interviewer:
        kind = TurnKind.INTERVIEWER_QUESTION
    elif acts & {Act.DESIGN, Act.ASSUME, Act.ESTIMATE, Act.DISAGREE} or reading.components or reading.topics:
        kind = TurnKind.DESIGN
    elif Act.OFF_TOPIC in acts:
        kind = TurnKind.OFF_TOPIC
    else:
        kind = TurnKind.DESIGN
    if Act.ASK_HINT in acts:
        topic = "hint"
    elif Act.DONT_KNOW in acts:
        topic = "dont_know"
    elif Act.ASK_OPINION in acts:
        topic = "opinion"
    elif Act.ASK_PROCESS in acts:
        topic = "time" if any(w in low for w in ("time", "minute", "how long")) else "focus"
    else:
        topic = "process"
    return TurnAnalysis(
        text=reading.text,
        kind=kind,
        reading=reading,
        fact_ids=list(reading.facts),
        asks_all=reading.asks_all,
        unknown_question=unknown and kind == TurnKind.CLARIFYING,
        components=list(reading.components),
        topics=list(reading.topics),
        estimates=list(reading.estimates),
        checks=checks,
        wants_move_on=wants_move_on,
        wants_skip=wants_skip and not wants_score,
        wants_score=wants_score,
        target_phase_order=target,
        is_design=Act.DESIGN in acts,
        questions=list(reading.questions),
        words=reading.words,
        question_topic=topic,
    )


def classify_turn(
    text: str, problem: Problem, state: InterviewState | None = None, reader: Reader | None = None
) -> TurnAnalysis:
    """Read one candidate turn (offline reader unless given) and fold it into the director's view."""
    phase = state.phase if state is not None else Phase.SCOPE
    reading = (reader or offline_reader()).read(text, problem, phase)
    return analyse(reading, problem, state)
