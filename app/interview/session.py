"""One interview, end to end: the orchestrator the CLI, the web app and the tests share.

    session = InterviewSession.start(problem, "senior", voice=OfflineVoice())
    print(session.opening)
    for delta in session.reply("How many URLs a day?"):
        print(delta, end="")

Each `reply` runs: input validation -> Reading (app/interview/reading.py) -> director -> notes
retrieval -> voice. The state and the candidate's turn are updated *before* the voice streams; the
interviewer's turn is added to the transcript when the stream ends (or is closed early, with whatever
was said).

To continue an interview in another process, save `session.state.model_dump_json()` and
`session.transcript.model_dump_json()`, then `InterviewSession.resume(problem, state, transcript,
voice)`. The clock is injectable: `SimulatedClock(minutes_per_turn)` for reproducible runs,
`WallClock` (default) for real ones.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from app.errors import InputRejectedError, SdmockError
from app.interview.analysis import TurnAnalysis, TurnKind, analyse
from app.interview.director import finish_interview, next_move, open_move, request_advance
from app.interview.moves import Move, MoveKind
from app.interview.phases import Phase
from app.interview.reading import Reader, Reading, offline_reader
from app.interview.redact import redact_notes
from app.interview.state import CoverageTargets, InterviewState, PhaseBudget, new_state
from app.transcripts import Transcript, Turn
from app.voice.base import NoteSnippet, TurnContext, Voice

if TYPE_CHECKING:
    from app.problems import Problem
    from app.settings import Settings

HISTORY_TURNS = 8
NOTES_K = 2


class Clock(Protocol):
    """Returns the interview minute; called once per candidate turn (reply, advance, finish)."""

    def __call__(self) -> float: ...


class WallClock:
    """Real time in minutes, starting from `start_minutes` (a resumed interview keeps its minutes)."""

    def __init__(self, start_minutes: float = 0.0) -> None:
        self.start_minutes = start_minutes
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return self.start_minutes + (time.monotonic() - self._t0) / 60.0


class SimulatedClock:
    """Each call moves time on by `minutes_per_turn`: time-based transitions are reproducible."""

    def __init__(self, minutes_per_turn: float = 1.5, start_minutes: float = 0.0) -> None:
        self.minutes_per_turn = minutes_per_turn
        self.now = start_minutes

    def __call__(self) -> float:
        self.now += self.minutes_per_turn
        return self.now


class Retriever(Protocol):
    """What the session needs from retrieval (app.retrieval.Retriever fits)."""

    def search(
        self, query: str, k: int = 3, step: str | None = None, topic: str | None = None
    ) -> list[Any]: ...


def build_voice(settings: Settings | None = None, model_spec: str | None = None) -> Voice:
    """The voice for a model spec (None: the settings decide): an LLM voice, or the offline templates."""
    from app.settings import default_settings
    from app.voice.llm import build_voice as build_llm_voice

    return build_llm_voice(settings or default_settings(), model_spec)


def _step_for(move: Move) -> str:
    if move.kind in (MoveKind.CHALLENGE_ESTIMATE, MoveKind.ACK_ESTIMATE) or move.topic == "estimate":
        return "estimation"
    return move.phase.value if move.phase != Phase.DONE else "wrap_up"


def _snippet(hit: Any) -> NoteSnippet | None:
    try:
        return NoteSnippet(
            source=str(getattr(hit, "source", "")),
            heading=str(getattr(hit, "heading", "")),
            text=str(getattr(hit, "text", "")),
            score=float(getattr(hit, "score", 0.0) or 0.0),
        )
    except (TypeError, ValueError):
        return None


def _quietly(fn: Callable[..., object], *args: object) -> None:
    """Run a warm-up in the background; a failure shows up later, on the turn that needs it."""
    with contextlib.suppress(Exception):  # the first read raises it again, where it can be reported
        fn(*args)


class InterviewSession:
    """A running interview: state, transcript, and the voice that speaks for the director."""

    def __init__(
        self,
        problem: Problem,
        state: InterviewState,
        transcript: Transcript,
        voice: Voice,
        *,
        retriever: Retriever | None = None,
        clock: Clock | None = None,
        max_message_chars: int | None = None,
        on_turn: Callable[[InterviewSession, Turn], None] | None = None,
        reader: Reader | None = None,
    ) -> None:
        if state.problem_id != problem.id:
            raise SdmockError(
                f"state is for problem {state.problem_id!r}, not {problem.id!r}",
                "resume with the right problem",
            )
        self.problem = problem
        self.state = state
        self.transcript = transcript
        self.voice = voice
        self.retriever = retriever
        self.clock: Clock = clock or WallClock(state.elapsed_minutes)
        if max_message_chars is None:
            from app.settings import default_settings

            max_message_chars = default_settings().max_message_chars
        self.max_message_chars = max_message_chars
        self.on_turn = on_turn
        self.reader: Reader = reader or offline_reader()
        self.last_reading: Reading | None = None
        self.last_move: Move | None = None
        self.last_analysis: TurnAnalysis | None = None
        self.last_notes: list[NoteSnippet] = []
        self.notes_error: str | None = None

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        problem: Problem,
        level: str,
        minutes: float | None = None,
        voice: Voice | None = None,
        retriever: Retriever | None = None,
        clock: Clock | None = None,
        *,
        budgets: dict[Phase, PhaseBudget] | None = None,
        targets: CoverageTargets | None = None,
        seed: int = 0,
        max_message_chars: int | None = None,
        on_turn: Callable[[InterviewSession, Turn], None] | None = None,
        reader: Reader | None = None,
    ) -> InterviewSession:
        """Start a new interview and speak the opening (available as `session.opening`)."""
        if minutes is None:
            from app.settings import default_settings

            minutes = float(default_settings().interview_minutes)
        state = new_state(problem.id, level, float(minutes), budgets=budgets, targets=targets, seed=seed)
        transcript = Transcript.model_validate(
            {"problem": problem.id, "level": level if level in ("mid", "senior", "staff") else None}
        )
        session = cls(
            problem,
            state,
            transcript,
            voice or build_voice(),
            retriever=retriever,
            clock=clock,
            max_message_chars=max_message_chars,
            on_turn=on_turn,
            reader=reader,
        )
        warm = getattr(session.reader, "warm", None)
        if callable(warm):  # embed the problem's examples now, while the candidate reads the opening
            threading.Thread(target=_quietly, args=(warm, problem), name="reader-warm", daemon=True).start()
        session.state, move = open_move(state, problem)
        "".join(session._speak(move, ""))
        return session

    @classmethod
    def resume(
        cls,
        problem: Problem,
        state: InterviewState | str,
        transcript: Transcript | str,
        voice: Voice | None = None,
        retriever: Retriever | None = None,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> InterviewSession:
        """Rebuild a session from a saved state and transcript (objects or their JSON)."""
        if isinstance(state, str):
            state = InterviewState.model_validate_json(state)
        if isinstance(transcript, str):
            transcript = Transcript.model_validate_json(transcript)
        return cls(
            problem, state, transcript, voice or build_voice(), retriever=retriever, clock=clock, **kwargs
        )

    # -- properties ------------------------------------------------------------------------------

    @property
    def opening(self) -> str:
        """The interviewer's first message."""
        return next((t.content for t in self.transcript.turns if t.role == "interviewer"), "")

    @property
    def phase(self) -> Phase:
        return self.state.phase

    @property
    def done(self) -> bool:
        return self.state.phase == Phase.DONE

    # -- turns -----------------------------------------------------------------------------------

    def reply(self, candidate_text: str) -> Iterator[str]:
        """Take one candidate message and stream the interviewer's reply.

        Validation, classification and the director's decision happen now (so a too-long message
        raises InputRejectedError before anything changes); the returned iterator streams the words.
        An empty or meaningless message is steered back without any model call.
        """
        if not isinstance(candidate_text, str):
            raise InputRejectedError("the message must be text", "send a plain text message")
        if len(candidate_text) > self.max_message_chars:
            raise InputRejectedError(
                f"message too long: {len(candidate_text)} characters (limit {self.max_message_chars})",
                "split it into shorter messages or summarise",
            )
        if "\x00" in candidate_text:
            raise InputRejectedError("the message contains binary data", "send plain text")
        text = candidate_text.strip()
        reading = self.reader.read(text, self.problem, self.state.phase)
        analysis = analyse(reading, self.problem, self.state)
        self._add_turn(Turn(role="candidate", content=text, phase=self.state.phase.value))
        self.state, move = next_move(self.state, analysis, self.clock(), self.problem)
        self.last_analysis = analysis
        self.last_reading = reading
        return self._speak(move, text, retrieve=analysis.kind != TurnKind.EMPTY)

    def reply_text(self, candidate_text: str) -> str:
        """`reply` collected into one string."""
        return "".join(self.reply(candidate_text))

    def advance(self) -> Iterator[str]:
        """The 'next step' button: the director moves on if the phase minimum is met, else refuses."""
        self.state, move = request_advance(self.state, self.clock(), self.problem)
        return self._speak(move, "")

    def finish(self) -> Iterator[str]:
        """End the interview now (the 'finish' button); the phase becomes done."""
        self.state, move = finish_interview(self.state, self.clock())
        return self._speak(move, "", retrieve=False)

    # -- internals -------------------------------------------------------------------------------

    def _add_turn(self, turn: Turn) -> None:
        self.transcript.turns.append(turn)
        if self.on_turn is not None:
            self.on_turn(self, turn)

    def _notes(self, move: Move) -> list[NoteSnippet]:
        if self.retriever is None or not move.notes_query:
            return []
        try:
            hits = self.retriever.search(move.notes_query, k=NOTES_K, step=_step_for(move), topic=None)
        except SdmockError as exc:  # a missing index must never break the interview
            self.notes_error = str(exc)
            return []
        snippets = [s for s in (_snippet(h) for h in hits or []) if s is not None]
        # Notes may describe this very problem with its hidden numbers: never pass those on.
        return redact_notes(snippets, self.problem, self.state.released_fact_ids)

    def _context(self, move: Move, candidate_text: str) -> TurnContext:
        return TurnContext(
            problem_id=self.problem.id,
            problem_title=self.problem.title,
            problem_prompt=self.problem.prompt,
            level=self.state.level,
            phase=move.phase,
            elapsed_minutes=self.state.elapsed_minutes,
            budget_minutes=self.state.total_minutes,
            turn_index=self.state.turn_count,
            candidate_text=candidate_text,
            notes=self.last_notes,
            history=[t.model_copy() for t in self.transcript.turns[-HISTORY_TURNS:]],
        )

    def _speak(self, move: Move, candidate_text: str, *, retrieve: bool = True) -> Iterator[str]:
        self.last_move = move
        self.last_notes = self._notes(move) if retrieve else []
        ctx = self._context(move, candidate_text)
        return self._stream(move, ctx)

    def _stream(self, move: Move, ctx: TurnContext) -> Iterator[str]:
        parts: list[str] = []
        try:
            for delta in self.voice.speak(move, ctx):
                parts.append(delta)
                yield delta
        finally:
            self._add_turn(Turn(role="interviewer", content="".join(parts).strip(), phase=move.phase.value))


def simulate(
    problem: Problem,
    level: str,
    candidate_messages: list[str],
    *,
    minutes: float | None = None,
    minutes_per_turn: float = 1.5,
    voice: Voice | None = None,
    retriever: Retriever | None = None,
    max_message_chars: int | None = None,
    reader: Reader | None = None,
) -> InterviewSession:
    """Run scripted candidate messages through a session on a simulated clock; stop at done."""
    session = InterviewSession.start(
        problem,
        level,
        minutes,
        voice=voice,
        retriever=retriever,
        clock=SimulatedClock(minutes_per_turn),
        max_message_chars=max_message_chars,
        reader=reader,
    )
    for message in candidate_messages:
        if session.done:
            break
        "".join(session.reply(message))
    return session
