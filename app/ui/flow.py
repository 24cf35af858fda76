"""What the pages do, without Streamlit: start, reply, advance, finish, regenerate and grade an interview.

Every step reads the interview from the store, rebuilds the `InterviewSession` from the saved state and
transcript, and writes back before returning, so any app process can serve any interview.

Durability rules (issue 6):
- a candidate turn is committed (`submit`) before the session or the model is called;
- an interviewer turn is committed with the director state when its stream completes (`commit`);
- a stream that breaks is saved as an `interrupted` turn without touching the state, so the same move
  can be regenerated exactly (`begin_regenerate`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from app.errors import InputRejectedError, SdmockError
from app.problems import Problem, get_problem
from app.store import InterviewRecord, ReportRecord, Store, TurnRecord
from app.transcripts import Transcript, Turn

if TYPE_CHECKING:
    from app.grading.models import GradeReport
    from app.interview.session import InterviewSession
    from app.settings import Settings
    from app.ui.context import AppContext

log = logging.getLogger(__name__)

Action = Literal["open", "reply", "advance", "finish"]
PHASES = ("scope", "high_level", "deep_dive", "wrap_up")


# --- clock and components ---------------------------------------------------------------------------


def minutes_since(start: datetime, end: datetime | None = None) -> float:
    """Wall-clock minutes between two instants (end defaults to now)."""
    end = end or datetime.now(UTC)
    return max(0.0, (end - start).total_seconds() / 60.0)


IDLE_CAP_MINUTES = 10.0
"""The most one pause between turns adds to the interview clock. A candidate who comes back the next
day resumes where they were, not past the end of their time budget."""


def _clock_anchor(record: InterviewRecord, turns: list[TurnRecord]) -> tuple[float, datetime]:
    """(the director's minutes, the instant they were read): where the clock goes on from."""
    from app.interview.state import InterviewState

    state = InterviewState.model_validate_json(record.state) if record.state else None
    if state is not None and state.clock_read_at is not None:
        return state.elapsed_minutes, state.clock_read_at
    # A state saved before clock_read_at existed: the last interviewer turn is the nearest instant.
    anchor = next((t.created_at for t in reversed(turns) if t.role == "interviewer"), record.created_at)
    return (state.elapsed_minutes if state is not None else 0.0), anchor


class InterviewClock:
    """The clock a resumed session runs on; it remembers when it was read, and the reply saves that
    instant with the state (`clock_read_at`), so no turn's time is lost or counted twice."""

    def __init__(self, record: InterviewRecord, turns: list[TurnRecord]) -> None:
        self.base, self.anchor = _clock_anchor(record, turns)
        self.read_at: datetime | None = None

    def minutes_at(self, now: datetime) -> float:
        """The interview minutes at `now`, without counting it as a read."""
        return self.base + min(IDLE_CAP_MINUTES, minutes_since(self.anchor, now))

    def __call__(self) -> float:
        self.read_at = datetime.now(UTC)
        return self.minutes_at(self.read_at)


def interview_minutes(record: InterviewRecord, turns: list[TurnRecord], now: datetime | None = None) -> float:
    """Interview time so far: the director's minutes plus the pause since they were read (capped)."""
    clock = InterviewClock(record, turns)
    return clock.base if record.finished_at is not None else clock.minutes_at(now or datetime.now(UTC))


def clock_for(record: InterviewRecord, turns: list[TurnRecord]) -> Callable[[], float]:
    """The interview clock for a resumed session (see `InterviewClock`).

    Tests replace this function to run the director on simulated time.
    """
    return InterviewClock(record, turns)


def build_voice(settings: Settings) -> Any:
    """The voice the settings choose: an LLM voice when a model is configured, else the offline one.

    Built per request (a voice keeps per-call records such as `last_completion`; sharing one between
    users of the same process would mix them up).
    """
    from app.voice.llm import build_voice as llm_build_voice

    voice: Any = llm_build_voice(settings)
    key = _health_key(voice)
    if key is not None:  # carry the failure count and rest period over from earlier turns
        with _VOICE_HEALTH_LOCK:
            voice._failures, voice._resting = _VOICE_HEALTH.get(key, (0, 0))
    return voice


_VOICE_HEALTH: dict[tuple[str, str], tuple[int, int]] = {}
"""(model name, base URL) -> (consecutive failures, turns left to rest), shared by the process.

The voice is rebuilt for every request, so without this its back-off after repeated failures (no retry
storm during an outage) would reset on every turn. A provider outage is the same for every session."""
_VOICE_HEALTH_LOCK = threading.Lock()


def _health_key(voice: Any) -> tuple[str, str] | None:
    model = getattr(voice, "model", None)
    if model is None or not hasattr(voice, "_resting") or not hasattr(voice, "_failures"):
        return None
    return str(getattr(voice, "name", "")), str(getattr(model, "base_url", "") or "")


def remember_voice_health(voice: Any) -> None:
    """Keep the voice's failure count and rest period for the next request's voice."""
    key = _health_key(voice)
    if key is not None:
        with _VOICE_HEALTH_LOCK:
            _VOICE_HEALTH[key] = (int(voice._failures), int(voice._resting))


def build_retriever(settings: Settings) -> Any | None:
    """The study-notes retriever, or None when it cannot be opened (the interview goes on without notes)."""
    return _open_retriever(settings)[0]


def notes_unavailable_reason(settings: Settings) -> str | None:
    """Why the study notes are off (shown on the page), or None when they work."""
    return _open_retriever(settings)[1]


def _open_retriever(settings: Settings) -> tuple[Any | None, str | None]:
    try:
        from app.retrieval.search import get_retriever

        return get_retriever(settings), None
    except (SdmockError, ImportError, OSError) as exc:
        log.warning("study notes unavailable: %s", exc)
        return None, str(exc)


def _problem(ctx: AppContext, problem_id: str) -> Problem:
    return get_problem(problem_id, ctx.settings.problems_dir)


# --- validation ---------------------------------------------------------------------------------------


def validate_message(text: str, max_chars: int) -> str:
    """The candidate's message, stripped; InputRejectedError (with a clear message) when refused."""
    if not isinstance(text, str):
        raise InputRejectedError("the message must be text", "send a plain text message")
    if len(text) > max_chars:
        raise InputRejectedError(
            f"Your message is too long: {len(text):,} characters; the limit is {max_chars:,}.",
            "split it into shorter messages, or summarise",
        )
    if "\x00" in text:
        raise InputRejectedError("The message contains binary data.", "send plain text")
    stripped = text.strip()
    if not stripped:
        raise InputRejectedError("The message is empty.", "type a question or a design statement")
    return stripped


def validate_scratchpad(text: str, max_chars: int) -> str:
    """The scratchpad text; refused when larger than 4x the message limit."""
    limit = max_chars * 4
    if len(text) > limit:
        raise InputRejectedError(
            f"The diagram is too long: {len(text):,} characters; the limit is {limit:,}.",
            "keep the diagram to the main components",
        )
    if "\x00" in text:
        raise InputRejectedError("The diagram contains binary data.", "paste plain text (DOT or Mermaid)")
    return text


# --- reading ------------------------------------------------------------------------------------------


def transcript_of(record: InterviewRecord, turns: list[TurnRecord]) -> Transcript:
    """The session transcript from stored turns (interrupted replies are left out: they are redone)."""
    return Transcript(
        problem=record.problem,
        level=record.level if record.level in ("mid", "senior", "staff") else None,
        turns=[Turn(role=t.role, content=t.content, phase=t.phase) for t in turns if t.status == "complete"],
    )


@dataclass
class Pending:
    """A reply that never completed: the turn to redo and how."""

    action: Action
    candidate_text: str
    interrupted: TurnRecord | None
    dangling_candidate: TurnRecord | None


def pending_reply(turns: list[TurnRecord]) -> Pending | None:
    """What needs regenerating: an interrupted interviewer turn, or a candidate turn with no reply.

    Openings are spoken in full before they are saved, so they are never interrupted.
    """
    if not turns:
        return None
    last = turns[-1]
    if last.role == "interviewer" and last.status == "interrupted":
        before = turns[-2] if len(turns) > 1 else None
        action: Action = (
            "advance" if last.kind == "advance" else "finish" if last.kind == "finish" else "reply"
        )
        if action == "reply" and before is not None and before.role == "candidate":
            return Pending("reply", before.content, last, before)
        return Pending(action, "", last, None)
    if last.role == "candidate":
        return Pending("reply", last.content, None, last)
    return None


SCRATCHPAD_CHARS = 3000
"""How much of the diagram the interviewer and the grader are shown."""


def scratchpad_turn(scratchpad: str) -> str:
    """The diagram as the candidate's words: shown to the interviewer and the grader."""
    text = scratchpad.strip()
    if len(text) > SCRATCHPAD_CHARS:
        text = text[:SCRATCHPAD_CHARS] + "\n... (diagram truncated)"
    return "My diagram on the scratchpad:\n" + text


def resume_session(ctx: AppContext, record: InterviewRecord, turns: list[TurnRecord]) -> InterviewSession:
    """Rebuild the session from the stored state and the complete turns."""
    from app.interview.session import InterviewSession

    problem = _problem(ctx, record.problem)
    transcript = transcript_of(record, turns)
    # A candidate turn saved without its reply is replayed by `reply`, which adds it again.
    if (
        turns
        and turns[-1].role == "candidate"
        and transcript.turns
        and transcript.turns[-1].role == "candidate"
    ) or (
        len(turns) > 1
        and turns[-1].role == "interviewer"
        and turns[-1].status == "interrupted"
        and turns[-2].role == "candidate"
        and transcript.turns
        and transcript.turns[-1].role == "candidate"
        and (turns[-1].kind in (None, "reply"))
    ):
        transcript.turns.pop()
    if record.scratchpad.strip():
        # The interviewer sees the saved diagram as the candidate's latest note (not stored as a turn).
        transcript.turns.append(
            Turn(role="candidate", content=scratchpad_turn(record.scratchpad), phase=None)
        )
    from app.interview.reading import reader_for_voice

    voice = build_voice(ctx.settings)
    return InterviewSession.resume(
        problem,
        record.state,
        transcript,
        voice=voice,
        retriever=build_retriever(ctx.settings),
        clock=clock_for(record, turns),
        max_message_chars=ctx.settings.max_message_chars,
        reader=reader_for_voice(voice, ctx.settings),
    )


# --- writing ------------------------------------------------------------------------------------------


def start_interview(ctx: AppContext, problem_id: str, *, level: str, minutes: int) -> InterviewRecord:
    """Create the interview, speak the opening, and commit both."""
    from app.interview.session import InterviewSession

    problem = _problem(ctx, problem_id)
    voice = build_voice(ctx.settings)
    session = InterviewSession.start(
        problem,
        level,
        float(minutes),
        voice=voice,
        retriever=None,  # the opening needs no notes; opening the index here would only slow the start
        clock=lambda: 0.0,
        max_message_chars=ctx.settings.max_message_chars,
    )
    session.state.clock_read_at = datetime.now(UTC)  # minute 0 of the interview clock
    remember_voice_health(voice)
    record = ctx.store.create_interview(
        problem=problem.id,
        level=level,
        minutes=int(minutes),
        voice=str(getattr(voice, "name", "offline")),
        state=session.state.model_dump_json(),
        phase=session.state.phase.value,
    )
    ctx.store.add_turn(
        record.id,
        role="interviewer",
        content=session.opening,
        phase=session.state.phase.value,
        kind="open",
        state=session.state.model_dump_json(),
    )
    return ctx.store.get_interview(record.id)


def submit(ctx: AppContext, interview_id: str, text: str, *, supersede: Pending | None = None) -> TurnRecord:
    """Validate and commit a candidate turn (before any model call).

    With `supersede` (a reply that never completed), a new message replaces the broken reply: the
    partial interviewer turn is dropped and the interviewer answers the newest message instead.
    """
    clean = validate_message(text, ctx.settings.max_message_chars)
    record = ctx.store.get_interview(interview_id)
    if record.status != "active":
        raise InputRejectedError("This interview is finished.", "open its report, or start a new interview")
    if supersede is not None and supersede.interrupted is not None:
        ctx.store.delete_turn(supersede.interrupted.id)
    return ctx.store.add_turn(interview_id, role="candidate", content=clean, phase=record.phase, kind="reply")


def save_scratchpad(ctx: AppContext, interview_id: str, text: str) -> None:
    """Validate and save the scratchpad."""
    ctx.store.save_scratchpad(interview_id, validate_scratchpad(text, ctx.settings.max_message_chars))


@dataclass
class ReplyStream:
    """An interviewer reply being streamed; `commit` or `interrupt` it when the stream ends."""

    store: Store
    interview_id: str
    action: Action
    session: InterviewSession
    deltas: Iterator[str]
    replace_turn: TurnRecord | None = None
    base_state: str | None = None
    """The stored director state the reply was computed from: `commit` writes only over that state."""
    parts: list[str] = field(default_factory=list)
    saved: TurnRecord | None = None

    def __iter__(self) -> Iterator[str]:
        try:
            for delta in self.deltas:
                self.parts.append(delta)
                yield delta
        finally:
            remember_voice_health(self.session.voice)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def _phase(self) -> str:
        move = self.session.last_move
        return move.phase.value if move is not None else self.session.state.phase.value

    def commit(self) -> TurnRecord:
        """Save the complete reply with the new director state, in one transaction.

        Raises StateConflictError, writing nothing, when another tab moved the interview on meanwhile:
        two replies computed from the same state must not overwrite each other's director state.
        """
        move = self.session.last_move
        common: dict[str, Any] = {
            "content": self.text,
            "phase": self._phase(),
            "facts": list(move.fact_ids) if move is not None else [],
            "notes": [n.model_dump() for n in self.session.last_notes],
            "tokens": _tokens(self.session.voice),
            "state": self._state_json(),
            "interview_phase": self.session.state.phase.value,
            "interview_status": "finished" if self.session.done else None,
            "expect_state": self.base_state,
        }
        if self.replace_turn is not None:
            self.saved = self.store.update_turn(self.replace_turn.id, status="complete", **common)
        else:
            self.saved = self.store.add_turn(
                self.interview_id, role="interviewer", kind=self.action, **common
            )
        return self.saved

    def _state_json(self) -> str:
        read_at = getattr(self.session.clock, "read_at", None)
        if read_at is not None:  # the instant the director's minutes were read: the next turn counts on
            self.session.state.clock_read_at = read_at
        return self.session.state.model_dump_json()

    def interrupt(self) -> TurnRecord | None:
        """Save what was said as an interrupted turn; the state stays as it was (the move is redone)."""
        try:
            if self.replace_turn is not None:
                self.saved = self.store.update_turn(
                    self.replace_turn.id, content=self.text, status="interrupted"
                )
            else:
                self.saved = self.store.add_turn(
                    self.interview_id,
                    role="interviewer",
                    content=self.text,
                    phase=self._phase(),
                    status="interrupted",
                    kind=self.action,
                )
        except SdmockError as exc:  # the database itself is gone: nothing more we can save
            log.error("could not save an interrupted reply: %s", exc)
            return None
        return self.saved


def _tokens(voice: Any) -> int | None:
    """Prompt + completion tokens of the voice's last model call (None for the offline voice)."""
    completion = getattr(voice, "last_completion", None)
    usage = getattr(completion, "usage", None)
    if usage is None:
        return None
    return int(getattr(usage, "prompt_tokens", 0)) + int(getattr(usage, "completion_tokens", 0))


def begin(ctx: AppContext, interview_id: str, action: Action, candidate_text: str = "") -> ReplyStream:
    """Resume the session and start the interviewer's reply to a committed candidate turn (or a button)."""
    record = ctx.store.get_interview(interview_id)
    turns = ctx.store.turns(interview_id)
    session = resume_session(ctx, record, turns)
    if action == "reply":
        deltas = session.reply(candidate_text)
    elif action == "advance":
        deltas = session.advance()
    elif action == "finish":
        deltas = session.finish()
    else:
        raise SdmockError(f"cannot begin a {action!r} reply", "use reply, advance or finish")
    return ReplyStream(ctx.store, interview_id, action, session, iter(deltas), base_state=record.state)


def begin_regenerate(ctx: AppContext, interview_id: str) -> ReplyStream | None:
    """Redo the reply that never completed (None when there is nothing to redo)."""
    turns = ctx.store.turns(interview_id)
    pending = pending_reply(turns)
    if pending is None:
        return None
    stream = begin(ctx, interview_id, pending.action, pending.candidate_text)
    stream.replace_turn = pending.interrupted
    return stream


def finish_now(ctx: AppContext, interview_id: str) -> None:
    """Finish without streaming (used when the interview is already done)."""
    ctx.store.set_status(interview_id, "finished")


# --- grading ------------------------------------------------------------------------------------------


def director_record(turns: list[TurnRecord]) -> Any:
    """The director's record for the grader: released facts and the phase of each turn."""
    from app.grading.evidence import DirectorRecord

    kept = [t for t in turns if t.content]
    released: dict[str, int] = {}
    for i, t in enumerate(kept):
        for fact in t.facts:
            released.setdefault(fact, i)
    return DirectorRecord(released_facts=released, phases=[t.phase for t in kept])


def grade(
    ctx: AppContext, interview_id: str, progress: Callable[[float, str], None] | None = None
) -> ReportRecord:
    """Grade the interview, store the report (Markdown, HTML and JSON) and return it."""
    from app.grading.grader import grade_transcript
    from app.grading.report import render_html, render_markdown
    from app.grading.rubric import load_rubric
    from app.llm.registry import get_model

    def tick(value: float, text: str) -> None:
        if progress is not None:
            progress(value, text)

    tick(0.05, "Reading the transcript")
    record = ctx.store.get_interview(interview_id)
    turns = ctx.store.turns(interview_id)
    problem = _problem(ctx, record.problem)
    transcript = ctx.store.transcript(interview_id)
    if record.scratchpad.strip():
        # The diagram is part of the candidate's design: the grader sees it as their last words.
        transcript.turns.append(
            Turn(role="candidate", content=scratchpad_turn(record.scratchpad), phase="wrap_up")
        )
    tick(0.2, "Loading the rubric and the grader")
    rubric = load_rubric(ctx.settings.rubric_path)
    model = get_model(None, ctx.settings)
    tick(
        0.35, "Grading six dimensions" + (f" with {model.name}" if model is not None else " (evidence only)")
    )
    report = grade_transcript(
        transcript,
        problem,
        record.level,
        model=model,
        rubric=rubric,
        record=director_record(turns),
        retriever=build_retriever(ctx.settings),
        deadline_s=ctx.settings.grade_deadline_s,
    )
    tick(0.9, "Saving the report")
    saved = ctx.store.save_report(
        interview_id,
        overall=report.overall,
        scores={d.id: (float(d.score) if d.score is not None else None) for d in report.dimensions},
        data=report.model_dump(mode="json"),
        markdown=render_markdown(report),
        html=render_html(report),
    )
    tick(1.0, "Done")
    return saved


def load_report(rec: ReportRecord) -> GradeReport | None:
    """The stored report as a GradeReport (None when it no longer validates)."""
    from pydantic import ValidationError

    from app.grading.models import GradeReport

    try:
        return GradeReport.model_validate(rec.data)
    except ValidationError:
        return None


def problem_title(settings: Settings, problem_id: str) -> str:
    """The problem's title, or its id when the problem file is gone."""
    try:
        return get_problem(problem_id, settings.problems_dir).title
    except SdmockError:
        return problem_id


def dimension_names(settings: Settings) -> dict[str, str]:
    """Rubric dimension id -> display name (ids themselves when the rubric cannot be read)."""
    try:
        from app.grading.rubric import load_rubric

        return {d.id: d.name for d in load_rubric(settings.rubric_path).dimensions}
    except SdmockError:
        return {}


def weakest_dimension(reports: list[ReportRecord]) -> tuple[str, float] | None:
    """The dimension with the lowest mean score over these reports (ties: the first in rubric order)."""
    totals: dict[str, list[float]] = {}
    for r in reports:
        for dim, score in r.scores.items():
            if score is not None:
                totals.setdefault(dim, []).append(float(score))
    if not totals:
        return None
    means = {d: sum(v) / len(v) for d, v in totals.items()}
    dim = min(means, key=lambda d: means[d])
    return dim, means[dim]
