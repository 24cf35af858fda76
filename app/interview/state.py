"""The interview state: everything the director knows, as one JSON-serialisable pydantic model.

The store keeps it as JSON; `InterviewState.model_validate_json(s)` gives it back unchanged, so any
process can continue an interview. The director never mutates a state in place: it returns a copy.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.interview.classify import EstimateCheck
from app.interview.phases import Phase

INTERVIEW_PHASES = (Phase.SCOPE, Phase.HIGH_LEVEL, Phase.DEEP_DIVE, Phase.WRAP_UP)
DEFAULT_MINUTES = 45.0
# Alex Xu's budget for a 45-minute interview: (minimum, maximum) minutes per step.
XU_BUDGET_45: dict[Phase, tuple[float, float]] = {
    Phase.SCOPE: (3.0, 10.0),
    Phase.HIGH_LEVEL: (10.0, 15.0),
    Phase.DEEP_DIVE: (10.0, 25.0),
    Phase.WRAP_UP: (3.0, 5.0),
}


class PhaseBudget(BaseModel):
    """Minutes one phase may take: it may not be left on request before `min`; it ends at `max`."""

    min: float = Field(ge=0)
    max: float = Field(gt=0)


def default_budgets(total_minutes: float = DEFAULT_MINUTES) -> dict[Phase, PhaseBudget]:
    """Xu's 3-10 / 10-15 / 10-25 / 3-5 minutes, scaled to the interview length."""
    factor = total_minutes / DEFAULT_MINUTES
    return {p: PhaseBudget(min=lo * factor, max=hi * factor) for p, (lo, hi) in XU_BUDGET_45.items()}


class CoverageTargets(BaseModel):
    """How much must be covered before a phase ends on coverage (rather than on time or request)."""

    scope_key_facts: float = Field(
        default=0.5, ge=0, le=1, description="Share of key hidden facts asked before scope may end."
    )
    high_level_components: float = Field(
        default=0.5, ge=0, le=1, description="Share of reference components named before high-level ends."
    )
    deep_dive_topics: int = Field(default=3, ge=1, description="Topics discussed before deep dive may end.")
    probes_per_topic: int = Field(default=2, ge=1, description="Most questions asked on one deep-dive topic.")


class Event(BaseModel):
    """One entry of the director's log; the grader and the report read it."""

    turn: int = Field(description="Candidate turn count when it happened (0 = the opening).")
    minute: float = Field(description="Interview minute.")
    phase: Phase = Field(description="Phase after the event.")
    kind: str = Field(
        description="phase_change, fact_released, assumption_requested, steered_to_scope, "
        "estimate_ok, estimate_challenged, skip_refused, move_on_refused, steered_back, probe, "
        "deep_dive, wrap_up, answered_process_question, finished"
    )
    detail: str = ""
    data: dict[str, str | float | int | bool | list[str]] = Field(default_factory=dict)


class InterviewState(BaseModel):
    """Everything the director knows about one interview. Round-trips through JSON."""

    problem_id: str = Field(description="Id of the problem being asked.")
    level: str = Field(description="Candidate level: mid, senior or staff.")
    total_minutes: float = Field(default=DEFAULT_MINUTES, description="Planned interview length.")
    phase: Phase = Field(default=Phase.SCOPE, description="Current phase.")
    elapsed_minutes: float = Field(default=0.0, description="Minutes since the interview started.")
    phase_started_at: float = Field(default=0.0, description="Minute the current phase started.")
    clock_read_at: datetime | None = Field(
        default=None,
        description="UTC instant the app's clock gave elapsed_minutes (None on simulated clocks); the "
        "next turn's minutes are counted from here.",
    )
    budgets: dict[Phase, PhaseBudget] = Field(
        default_factory=default_budgets, description="Min/max minutes per phase."
    )
    targets: CoverageTargets = Field(default_factory=CoverageTargets)
    seed: int = Field(default=0, description="Seeds any choice the director makes; runs are reproducible.")

    turn_count: int = Field(default=0, description="Candidate turns so far (advance/finish count too).")
    phase_turns: int = Field(default=0, description="Candidate turns in the current phase.")
    asked_fact_ids: list[str] = Field(default_factory=list, description="Facts the candidate asked for.")
    released_fact_ids: list[str] = Field(
        default_factory=list, description="Facts the interviewer told; always a subset of asked."
    )
    assumptions_requested: int = Field(
        default=0, description="Questions answered with 'make a reasonable assumption'."
    )
    features_agreed: list[str] = Field(
        default_factory=list, description="In-scope features the candidate stated or asked about."
    )
    components_named: list[str] = Field(
        default_factory=list, description="Component ids the candidate named."
    )
    topics_mentioned: list[str] = Field(
        default_factory=list, description="Deep-dive topic ids the candidate touched in any phase."
    )
    topics_covered: list[str] = Field(
        default_factory=list, description="Deep-dive topic ids discussed in the deep dive."
    )
    topics_probed: list[str] = Field(
        default_factory=list, description="Topic ids the interviewer asked about."
    )
    current_topic: str | None = Field(default=None, description="Deep-dive topic being discussed.")
    estimates_checked: list[EstimateCheck] = Field(default_factory=list)
    probed_keys: list[str] = Field(
        default_factory=list, description="Components/concepts already probed (each probed once)."
    )
    concepts_said: list[str] = Field(
        default_factory=list, description="Design concepts the candidate covered: read_path, api, data..."
    )
    wrap_up_asked: list[str] = Field(default_factory=list, description="Wrap-up questions asked.")
    questions_asked: list[str] = Field(
        default_factory=list, description="Every question the interviewer asked, to never repeat one."
    )
    last_question: str | None = Field(default=None, description="The question waiting for an answer.")
    last_move: str | None = Field(default=None, description="Kind of the last move.")
    design_jumps: int = Field(
        default=0, description="Times the candidate designed before scoping (red flag)."
    )
    steer_backs: int = Field(default=0, description="Off-topic or empty turns steered back.")
    skip_attempts: int = Field(default=0, description="Attempts to skip ahead or get a score.")
    events: list[Event] = Field(default_factory=list, description="The director's log, oldest first.")

    @property
    def budget(self) -> PhaseBudget:
        """The budget of the current phase (done has none: zero)."""
        return self.budgets.get(self.phase, PhaseBudget(min=0.0, max=1e-9))

    @property
    def phase_minutes(self) -> float:
        """Minutes spent in the current phase."""
        return max(0.0, self.elapsed_minutes - self.phase_started_at)

    @property
    def done(self) -> bool:
        return self.phase == Phase.DONE

    def phases_visited(self) -> list[Phase]:
        """Phases in the order they were entered."""
        seen = [Phase.SCOPE]
        for e in self.events:
            if e.kind == "phase_change" and e.phase not in seen:
                seen.append(e.phase)
        return seen


def new_state(
    problem_id: str,
    level: str,
    total_minutes: float = DEFAULT_MINUTES,
    budgets: dict[Phase, PhaseBudget] | None = None,
    targets: CoverageTargets | None = None,
    seed: int = 0,
) -> InterviewState:
    """A fresh state at minute 0 of the scope phase."""
    return InterviewState(
        problem_id=problem_id,
        level=level,
        total_minutes=total_minutes,
        budgets=budgets or default_budgets(total_minutes),
        targets=targets or CoverageTargets(),
        seed=seed,
    )
