"""The Reading of one candidate message: the one way the product reads what a candidate said.

A `Reading` says what the message does (`acts`, multi-label), which hidden facts it asks for, which
numbers the candidate produced by their own estimation (and which derived number each is an estimate
of), and which components, deep-dive topics and listed pitfalls it discusses. The director, the
grader, the probes and the evals all consume Readings; nothing else classifies a message.

Two readers sit behind the `Reader` protocol:

- `OfflineReader` (app/interview/offline_reader.py): semantic matching with the int8 MiniLM embedder
  against example questions per fact, exemplar banks per act and example statements per pitfall,
  plus the precise text rules (question detection, number and unit parsing). The default.
- `ModelReader` (app/interview/model_reader.py): one structured-output call per message, validated,
  with guardrails in code; the offline reader answers when the model fails or is late.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from app.interview.classify import Estimate

if TYPE_CHECKING:
    from app.interview.phases import Phase
    from app.problems import Problem


class Act(StrEnum):
    """What a candidate message does. A message may do several things at once."""

    CLARIFY = "clarify"  # asks about requirements, scope, scale, constraints
    ASSUME = "assume"  # states an assumption about requirements
    ESTIMATE = "estimate"  # states a number as the result of its own estimation
    DESIGN = "design"  # proposes or explains components, flows, APIs, schemas, trade-offs
    ASK_HINT = "ask_hint"  # asks for a hint or help
    ASK_OPINION = "ask_opinion"  # what the interviewer thinks, which area next, am I on track
    ASK_PROCESS = "ask_process"  # time left, the format
    DONT_KNOW = "dont_know"  # says they don't know
    DISAGREE = "disagree"  # pushes back on the interviewer
    MOVE_ON = "move_on"  # this part is done / ready for the next step / wrap up
    SKIP_OR_SCORE = "skip_or_score"  # tries to skip the interview or asks for a score
    OFF_TOPIC = "off_topic"  # unrelated, incl. small talk about the company's stack
    EMPTY = "empty"  # "ok", "hmm", gibberish
    ADDRESS_GRADER = "address_grader"  # injection or role-play aimed at an AI or a grader


ACTS: tuple[str, ...] = tuple(a.value for a in Act)
"""The act vocabulary, in definition order (evals and the model reader's schema use it)."""

QUESTION_ACTS = frozenset({Act.ASK_HINT, Act.ASK_OPINION, Act.ASK_PROCESS})
"""Acts that put a question to the interviewer (not about the requirements)."""


class EstimateKind(StrEnum):
    """What kind of quantity an estimate is; only totals are estimates of a derived number."""

    TOTAL = "total"  # a computed result or aggregate: per day, per second, per year, total storage
    PER_ITEM = "per_item"  # the size or rate of one item, user or connection
    PROJECTION = "projection"  # a scaled "what if": at 10x, in 5 years
    OTHER = "other"  # a cache size, fan-out rate, server count the candidate computed


class Reading(BaseModel):
    """What one candidate message says, as a reader understood it."""

    text: str
    acts: list[Act] = Field(default_factory=list, description="Every act the message performs.")
    facts: list[str] = Field(default_factory=list, description="Hidden-fact ids the message asks for.")
    estimates: list[Estimate] = Field(
        default_factory=list,
        description="Numbers the candidate produced by their own estimation; `number` names the derived "
        "number each is an estimate of, or is None.",
    )
    components: list[str] = Field(default_factory=list, description="Component ids discussed.")
    topics: list[str] = Field(default_factory=list, description="Deep-dive topic ids discussed.")
    pitfalls: list[str] = Field(default_factory=list, description="Pitfall ids the message commits.")
    questions: list[str] = Field(default_factory=list, description="Sentences that ask something.")
    asks_all: bool = Field(default=False, description="A blanket request for all the numbers or facts.")
    target_phase: str | None = Field(
        default=None, description="The phase a move-on or skip request names ('deep_dive'), if any."
    )
    reader: str = Field(default="offline", description="Which reader produced this reading.")

    def has(self, *acts: Act) -> bool:
        """True when the message performs any of these acts."""
        return any(a in self.acts for a in acts)

    @property
    def words(self) -> int:
        return len(self.text.split())

    def to_public(self) -> dict[str, Any]:
        """The documented JSON form (`sdmock read --json`)."""
        return {
            "text": self.text,
            "acts": [a.value for a in self.acts],
            "facts": list(self.facts),
            "estimates": [
                {"value": e.value, "unit": e.unit, "number": e.number, "stated": e.raw, "kind": e.kind}
                for e in self.estimates
            ],
            "components": list(self.components),
            "topics": list(self.topics),
            "pitfalls": list(self.pitfalls),
        }


class Reader(Protocol):
    """Reads one candidate message against a problem, in a phase of the interview."""

    name: str

    def read(self, text: str, problem: Problem, phase: Phase) -> Reading:
        """The Reading of `text`; never raises for odd input (empty, gibberish, huge)."""
        ...


def offline_reader() -> Reader:
    """The process-wide offline reader (its embeddings of the problem files are built once)."""
    from app.interview.offline_reader import shared_offline_reader

    return shared_offline_reader()


def build_reader(model: Any | None = None, **kwargs: Any) -> Reader:
    """The reader for a model client: the model reader (offline fallback) or, with None, the offline one."""
    if model is None:
        return offline_reader()
    from app.interview.model_reader import ModelReader

    return ModelReader(model, fallback=offline_reader(), **kwargs)


def reader_for_voice(voice: Any, settings: Any | None = None) -> Reader:
    """The reader that goes with a voice: the model reader over the voice's model when it has one and
    the settings allow it (`reader`: auto or model), falling back to the offline reader; else offline."""
    model = getattr(voice, "model", None)
    choice = str(getattr(settings, "reader", "auto") or "auto")
    if choice == "offline" or model is None or not hasattr(model, "complete"):
        return offline_reader()
    return build_reader(model, timeout_s=float(getattr(settings, "reader_timeout_s", 20.0) or 20.0))
