"""The per-dimension LLM judge: one call per dimension, run concurrently, validated JSON out.

The reply must be JSON with evidence quotes before the score. An invalid reply is retried a bounded
number of times with the validation error fed back; when the attempts run out, or the model raises
`ModelError`, the judgement is a failure that keeps every raw reply: never a number.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ModelError, SdmockError
from app.grading.models import Attempt
from app.llm.base import ChatModel, Message, Usage

JUDGE_ATTEMPTS = 3
"""Model calls per dimension at most: the first try plus two retries on invalid JSON."""
JUDGE_MAX_TOKENS = 800
SHORTER_NOTE = (
    "\n\nYour previous answer to this was cut off at the length limit and could not be read. Answer "
    "again, shorter: at most 3 evidence items, each quote under 20 words and each comment under 12 "
    "words, then at most three sentences of reasoning, then the score."
)
SHORTEST_NOTE = (
    "\n\nYour previous answers to this were cut off at the length limit twice and could not be read. "
    "Answer with at most 2 evidence items and ONE sentence of reasoning, then the score."
)
"""Added to the request when the judge's reply was cut off at max_tokens (the second time: SHORTEST)."""
MAX_QUOTES = 6

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "evidence": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "turn": {"type": "integer"},
                    "quote": {"type": "string"},
                    "comment": {"type": "string"},
                },
                "required": ["turn", "quote", "comment"],
                "additionalProperties": False,
            },
        },
        "reasoning": {"type": "string"},
        "score": {"type": "integer", "enum": [1, 2, 3, 4]},
    },
    "required": ["evidence", "reasoning", "score"],
    "additionalProperties": False,
}
"""Evidence first, then reasoning, then the score: the order the model writes them in."""


class JudgeQuote(BaseModel):
    """One piece of evidence the judge cites."""

    model_config = ConfigDict(extra="ignore")

    turn: int | None = None
    quote: str
    comment: str = ""


class JudgeReply(BaseModel):
    """A valid judge reply. Strict: "3" or 3.5 is not a score."""

    model_config = ConfigDict(extra="ignore")

    evidence: list[JudgeQuote]
    reasoning: str = Field(min_length=1)
    score: int = Field(ge=1, le=4, strict=True)


@dataclass
class Judgement:
    """The outcome of judging one dimension."""

    dimension: str
    reply: JudgeReply | None
    prompt_id: str | None
    attempts: list[Attempt] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reply is not None


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)


def parse_reply(text: str) -> JudgeReply:
    """Parse and validate a judge reply; raise ValueError saying what is wrong."""
    body = _FENCE.sub("", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the reply holds no JSON object")
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    try:
        return JudgeReply.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(object)"
        raise ValueError(f"field {where}: {first['msg']}") from exc


def new_delimiter(seed: str | None = None) -> str:
    """A delimiter for one request that the candidate cannot guess or close.

    With a seed (the level and the transcript) it is derived from a hash of that text, so the
    rendered request is reproducible and recordings keyed by its hash replay; a candidate still cannot
    write the delimiter into the transcript, because doing so changes the hash it comes from. Without a
    seed it is random.
    """
    if seed is None:
        return "TRANSCRIPT-" + secrets.token_hex(8).upper()
    return (
        "TRANSCRIPT-" + hashlib.sha256(("sdmock-delimiter\0" + seed).encode("utf-8")).hexdigest()[:16].upper()
    )


def judge_dimension(
    model: ChatModel,
    dimension: str,
    messages: list[Message],
    *,
    prompt_id: str | None,
    attempts: int = JUDGE_ATTEMPTS,
    max_tokens: int = JUDGE_MAX_TOKENS,
) -> Judgement:
    """Ask for one dimension's grade, retrying invalid JSON up to `attempts` calls in all."""
    result = Judgement(dimension=dimension, reply=None, prompt_id=prompt_id)
    convo = list(messages)
    cuts = 0
    for _ in range(max(1, attempts)):
        try:
            done = model.complete(
                convo, max_tokens=max_tokens, temperature=0.0, json_schema=JUDGE_SCHEMA, prompt_id=prompt_id
            )
        except ModelError as exc:
            result.attempts.append(Attempt(raw=exc.last_raw, error=f"model error: {exc.message}"))
            result.error = f"model call failed: {exc.message}"
            return result
        result.usage = result.usage + done.usage
        try:
            result.reply = parse_reply(done.text)
        except ValueError as exc:
            result.attempts.append(Attempt(raw=done.text, error=str(exc)))
            result.error = f"invalid reply after {len(result.attempts)} attempt(s): {exc}"
            if done.finish_reason == "length":
                # Cut off at max_tokens (a small model listing every turn, or looping). Showing it the
                # cut reply only invites the same reply again at temperature 0: ask afresh, shorter. The
                # request is the original one plus a note at its end, so a prompt cache still serves it.
                cuts += 1
                note = SHORTER_NOTE if cuts == 1 else SHORTEST_NOTE
                convo = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + note}]
                continue
            convo = [
                *messages,
                {"role": "assistant", "content": done.text[:4000]},
                {
                    "role": "user",
                    "content": f"That reply was not valid ({exc}). Reply with only the JSON object described "
                    "above: evidence, reasoning, score (an integer 1-4).",
                },
            ]
            continue
        result.attempts.append(Attempt(raw=done.text))
        result.error = None
        if len(result.reply.evidence) > MAX_QUOTES:
            result.reply.evidence = result.reply.evidence[:MAX_QUOTES]
        return result
    return result


def judge_all(
    model: ChatModel,
    requests: dict[str, list[Message]],
    *,
    prompt_id: str | None,
    attempts: int = JUDGE_ATTEMPTS,
    max_workers: int = 6,
    deadline_s: float | None = None,
) -> dict[str, Judgement]:
    """Judge every dimension concurrently (one thread per call); results keyed by dimension id.

    With `deadline_s`, a dimension still unanswered when it passes is reported as failed (its call is
    abandoned, not awaited), so a slow provider delays the report by at most the deadline.
    """
    if not requests:
        return {}

    def run(item: tuple[str, list[Message]]) -> Judgement:
        dim, messages = item
        try:
            return judge_dimension(model, dim, messages, prompt_id=prompt_id, attempts=attempts)
        except SdmockError:
            raise  # a setup problem (e.g. a stale eval recording) is not a model failure: say so loudly
        except Exception as exc:  # an unexpected provider error must not sink the other five
            return Judgement(
                dimension=dim,
                reply=None,
                prompt_id=prompt_id,
                attempts=[Attempt(error=f"{type(exc).__name__}: {exc}")],
                error=f"unexpected error: {type(exc).__name__}: {exc}",
            )

    # Plain daemon threads, not a pool: a call abandoned at the deadline must not hold up the exit of
    # `sdmock grade` (the interpreter joins pool threads before exiting; it does not join daemons).
    items = list(requests.items())
    done: dict[str, Judgement] = {}
    errors: list[BaseException] = []
    slots = threading.Semaphore(max(1, min(max_workers, len(items))))

    def worker(item: tuple[str, list[Message]]) -> None:
        with slots:
            try:
                done[item[0]] = run(item)
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(item,), daemon=True, name=f"judge-{item[0]}") for item in items
    ]
    for t in threads:
        t.start()
    end = None if deadline_s is None else time.monotonic() + deadline_s
    for t in threads:
        t.join(None if end is None else max(0.0, end - time.monotonic()))
    if errors:
        raise errors[0]  # a setup problem (a stale recording): loud, as before
    results: dict[str, Judgement] = {}
    for dim, _ in items:
        results[dim] = done.get(dim) or Judgement(
            dimension=dim,
            reply=None,
            prompt_id=prompt_id,
            error=f"no judgement within the grading deadline of {deadline_s:g} s",
        )
    return results
