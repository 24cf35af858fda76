"""The LLM voice: words the director's Move with a chat model, streaming, within a per-turn deadline.

What the model is given each turn (and nothing else): its role and the problem's public prompt
(prompts/interviewer_system.md, the same every turn so servers can cache it), then the phase, the
director's move, the retrieved notes and a bounded history (a rolling summary plus the last few turns)
(prompts/interviewer_turn.md). The voice only sees a Move and a TurnContext, which carry no unreleased
hidden facts, so those cannot reach a prompt. Candidate text, the transcript and the notes are wrapped
in tags with a per-request random marker and treated as data.

If the model fails, hangs or misses the deadline, the turn falls back to the offline voice with a
visible notice, and the interview goes on. After repeated failures the model is rested for a few turns
instead of being hammered (no retry storm).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.errors import ModelError
from app.interview.moves import Move
from app.llm.accounting import UsageLog
from app.llm.base import ChatModel, Completion, Message
from app.llm.structured import new_tag, render_prompt
from app.prompts import load_prompt
from app.settings import Settings
from app.transcripts import Turn
from app.voice.base import TurnContext, Voice

RECENT_TURNS = 6
"""Turns kept verbatim; older ones live in the rolling summary."""
TURN_CHARS = 700
SUMMARY_CHARS = 1500
NOTES_MAX = 3
NOTE_CHARS = 600
CANDIDATE_CHARS = 4000
REPLY_MAX_TOKENS = 200
MOVE_FIELDS_WITHHELD = {"expected", "reason", "fact_ids"}
"""Never sent to the model. `expected` in particular: a small model recited the expected estimate when
told not to (docs/sample-interview-qwen.md), so, like unreleased facts, it is simply not in the prompt."""

NOTICE_TIMEOUT = "(the model did not answer in time; continuing with the built-in interviewer)"
NOTICE_FAILED = "(the model is unavailable right now; continuing with the built-in interviewer)"
NOTICE_EMPTY = "(the model gave an empty reply; continuing with the built-in interviewer)"
NOTICE_RESTING = "(the model failed repeatedly; the built-in interviewer continues for a few turns)"

_END = object()


# -- prompt building ---------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def extractive_summary(turns: list[Turn], previous: str | None = None, limit: int = SUMMARY_CHARS) -> str:
    """A model-free rolling summary: one clipped line per turn, oldest lines dropped to fit `limit`."""
    lines = [line for line in (previous or "").splitlines() if line.strip()]
    lines += [f"{t.role.capitalize()}: {_clip(' '.join(t.content.split()), 160)}" for t in turns]
    while lines and len("\n".join(lines)) > limit:
        lines.pop(0)
    return "\n".join(lines)


def bounded_history(ctx: TurnContext) -> tuple[str | None, list[Turn]]:
    """The summary and recent turns the prompt gets: at most RECENT_TURNS turns, each clipped."""
    history = list(ctx.history)
    # The current message is shown on its own; drop it if the session also put it at the end of history.
    if (
        history
        and history[-1].role == "candidate"
        and history[-1].content.strip() == ctx.candidate_text.strip()
    ):
        history.pop()
    older, recent = history[:-RECENT_TURNS], history[-RECENT_TURNS:]
    summary = ctx.summary if ctx.summary is not None else (extractive_summary(older) if older else None)
    clipped = [Turn(role=t.role, content=_clip(t.content, TURN_CHARS), phase=t.phase) for t in recent]
    return (_clip(summary, SUMMARY_CHARS) if summary else None), clipped


def build_messages(
    move: Move, ctx: TurnContext, *, tag: str | None = None, prompts_dir: Path | None = None
) -> tuple[list[Message], str]:
    """The chat messages for one interviewer turn, and the id of the prompts used."""
    system = load_prompt("interviewer_system", prompts_dir)
    turn = load_prompt("interviewer_turn", prompts_dir)
    tag = tag or new_tag()
    summary, recent = bounded_history(ctx)

    def scrub(text: str) -> str:
        return text.replace(tag, "")  # untrusted text can never close our tags

    system_text = render_prompt(
        system, problem_title=ctx.problem_title, problem_prompt=ctx.problem_prompt, level=ctx.level
    )
    turn_text = render_prompt(
        turn,
        tag=tag,
        phase=move.phase.value,
        phase_title=move.phase.label,
        elapsed_minutes=round(ctx.elapsed_minutes),
        budget_minutes=round(ctx.budget_minutes),
        move=move.model_dump(mode="json", exclude=MOVE_FIELDS_WITHHELD),
        notes=[
            {"source": n.source, "heading": n.heading, "text": scrub(_clip(n.text, NOTE_CHARS))}
            for n in ctx.notes[:NOTES_MAX]
        ],
        summary=scrub(summary) if summary else None,
        history=[{"role": t.role, "content": scrub(t.content)} for t in recent],
        candidate_text=scrub(_clip(ctx.candidate_text, CANDIDATE_CHARS)),
    )
    messages: list[Message] = [
        {"role": "system", "content": _tidy(system_text)},
        {"role": "user", "content": _tidy(turn_text)},
    ]
    return messages, f"{system.id}+{turn.id}"


def _tidy(text: str) -> str:
    """Collapse the blank lines template tags leave behind."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# -- rolling summary ---------------------------------------------------------------------------------


def summarize_history(
    model: ChatModel | None,
    turns: list[Turn],
    previous_summary: str | None = None,
    *,
    max_words: int = 180,
    prompts_dir: Path | None = None,
    deadline: float | None = None,
) -> tuple[str, Completion | None]:
    """Fold `turns` into the summary with the model; the extractive summary when there is none or it fails."""
    if model is None or not turns:
        return extractive_summary(turns, previous_summary), None
    prompt = load_prompt("summarize_history", prompts_dir)
    tag = new_tag()
    transcript = "\n".join(f"{t.role.capitalize()}: {_clip(t.content, TURN_CHARS)}" for t in turns)
    content = render_prompt(
        prompt,
        previous_summary=previous_summary or "",
        transcript=transcript.replace(tag, ""),
        max_words=max_words,
        tag=tag,
    )
    extra: dict[str, Any] = {"deadline": deadline} if getattr(model, "supports_deadline", False) else {}
    try:
        completion = model.complete(
            [{"role": "user", "content": content}],
            max_tokens=int(max_words * 2),
            prompt_id=prompt.id,
            **extra,
        )
    except ModelError:
        return extractive_summary(turns, previous_summary), None
    text = completion.text.strip()
    if not text:
        return extractive_summary(turns, previous_summary), completion
    return _clip(text, SUMMARY_CHARS), completion


# -- the voice ---------------------------------------------------------------------------------------


def _offline_voice() -> Voice:
    from app.voice.offline import OfflineVoice  # written alongside; imported only when needed

    voice: Voice = OfflineVoice()
    return voice


class LLMVoice:
    """A Voice backed by a ChatModel, falling back to `fallback` (the offline voice) on any failure."""

    def __init__(
        self,
        model: ChatModel,
        fallback: Voice | None = None,
        *,
        turn_deadline_s: float = 60.0,
        max_tokens: int = REPLY_MAX_TOKENS,
        temperature: float = 0.3,
        prompts_dir: Path | None = None,
        rest_after_failures: int = 2,
        rest_turns: int = 3,
    ) -> None:
        self.model = model
        self.name = model.name
        self._fallback = fallback
        self.turn_deadline_s = turn_deadline_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.prompts_dir = prompts_dir
        self.rest_after_failures = rest_after_failures
        self.rest_turns = rest_turns
        self.usage_log = UsageLog()
        """Every call this voice made, with tokens and cost per turn (for the CLI and the store)."""
        self.last_completion: Completion | None = None
        """The Completion of the last turn the model answered; None if it fell back."""
        self.last_notice: str | None = None
        """The fallback notice shown on the last turn, if any."""
        self.last_messages: list[Message] | None = None
        """The exact messages sent on the last turn (kept next to the reply)."""
        self.last_first_token_s: float | None = None
        self._failures = 0
        self._resting = 0

    @property
    def fallback(self) -> Voice:
        """The offline voice, built on first use."""
        if self._fallback is None:
            self._fallback = _offline_voice()
        return self._fallback

    def speak(self, move: Move, ctx: TurnContext) -> Iterator[str]:
        """Yield the reply as text deltas; on failure, a notice and the offline voice's reply."""
        self.last_completion = None
        self.last_notice = None
        self.last_first_token_s = None
        if self._resting > 0:
            self._resting -= 1
            yield from self._fall_back(
                move, ctx, NOTICE_RESTING, "resting after failures", 0.0, emitted=False
            )
            return
        started = time.monotonic()
        deadline = started + self.turn_deadline_s
        messages, prompt_id = build_messages(move, ctx, prompts_dir=self.prompts_dir)
        self.last_messages = messages
        extra: dict[str, Any] = (
            {"deadline": deadline} if getattr(self.model, "supports_deadline", False) else {}
        )

        items: queue.Queue[object] = queue.Queue()
        cancel = threading.Event()

        def pump() -> None:
            # The model runs in its own thread so a hang cannot hold the turn past its deadline.
            try:
                stream = self.model.stream(
                    messages,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    prompt_id=prompt_id,
                    **extra,
                )
                try:
                    for item in stream:
                        if cancel.is_set():
                            return
                        items.put(item)
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
                items.put(_END)
            except BaseException as exc:  # handed to the turn, never lost in the thread
                items.put(exc)

        threading.Thread(target=pump, name=f"llm-voice-{ctx.turn_index}", daemon=True).start()
        emitted = False
        completion: Completion | None = None
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = items.get(timeout=max(remaining, 0.0)) if remaining > 0 else items.get_nowait()
                except queue.Empty:
                    cancel.set()
                    yield from self._fail(move, ctx, NOTICE_TIMEOUT, "turn deadline passed", started, emitted)
                    return
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    timed_out = "timeout" in type(item).__name__.lower() or "deadline" in str(item).lower()
                    notice = NOTICE_TIMEOUT if timed_out else NOTICE_FAILED
                    yield from self._fail(move, ctx, notice, _reason(item), started, emitted)
                    return
                if isinstance(item, Completion):
                    completion = item
                    continue
                if isinstance(item, str) and item:
                    if not emitted:
                        self.last_first_token_s = time.monotonic() - started
                    emitted = True
                    yield item
        finally:
            cancel.set()
        if completion is None or not completion.text.strip():
            yield from self._fail(move, ctx, NOTICE_EMPTY, "empty reply", started, emitted)
            return
        self._failures = 0
        self.last_completion = completion
        self.usage_log.add(ctx.turn_index, "reply", completion, first_token_s=self.last_first_token_s)

    def _fail(
        self, move: Move, ctx: TurnContext, notice: str, reason: str, started: float, emitted: bool
    ) -> Iterator[str]:
        self._failures += 1
        if self._failures >= self.rest_after_failures:
            self._resting = self.rest_turns
            self._failures = 0
        yield from self._fall_back(move, ctx, notice, reason, time.monotonic() - started, emitted)

    def _fall_back(
        self, move: Move, ctx: TurnContext, notice: str, reason: str, latency_s: float, emitted: bool
    ) -> Iterator[str]:
        self.last_notice = notice
        self.usage_log.add_failure(ctx.turn_index, "reply", self.name, reason, latency_s)
        yield ("\n\n" if emitted else "") + notice + "\n\n"
        yield from self.fallback.speak(move, ctx)


def _reason(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
    return text[:300]


# -- the seam the session uses -----------------------------------------------------------------------


def build_voice(settings: Settings, model_spec: str | None = None, *, fallback: Voice | None = None) -> Voice:
    """The voice for a model spec (None: from settings): OfflineVoice when offline, else an LLMVoice.

    Raises ConfigError (with a hint) when the spec names a model that cannot be used, e.g.
    `openai/...` without a key, or `local/...` without the `local` extra.
    """
    from app.llm.registry import get_model

    model = get_model(model_spec, settings)
    if model is None:
        return fallback or _offline_voice()
    return LLMVoice(
        model,
        fallback=fallback,
        turn_deadline_s=settings.turn_deadline_s,
        prompts_dir=settings.prompts_dir,
    )
