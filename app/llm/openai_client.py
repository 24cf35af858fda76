"""A ChatModel over the `openai` client: OpenAI itself or any OpenAI-compatible server.

The SDK's own retries are switched off (`max_retries=0`) and done here instead, so that each retry
knows the turn deadline: backoff with jitter, `Retry-After` honoured on 429/503, no sleep past the
deadline, and no retry once streamed text has reached the caller. Every request has an explicit
timeout (`request_timeout_s`, shortened to what is left of the deadline), never the SDK's 600 s.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import openai

from app.errors import ModelError
from app.llm.accounting import Price, price_for, priced
from app.llm.base import Completion, Message, Usage

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0


class ModelTimeoutError(ModelError):
    """The model did not answer within the request timeout or the turn deadline."""


class OpenAIChatModel:
    """Chat completions through the official client; capabilities are attributes set per server."""

    supports_streaming = True
    supports_deadline = True
    """`complete` and `stream` take `deadline=` (a `time.monotonic()` instant)."""

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        supports_json_schema: bool = True,
        supports_json_mode: bool = True,
        extra_body: dict[str, Any] | None = None,
        price: Price | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.name = name or f"openai/{model}"
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.supports_json_schema = supports_json_schema
        self.supports_json_mode = supports_json_mode
        self.extra_body = extra_body or {}
        self.price = price if price is not None else price_for(model)
        self._sleep = sleep
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,  # retried here, deadline-aware
        )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    # -- requests ---------------------------------------------------------------------------

    def _params(
        self,
        messages: list[Message],
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if self.extra_body:
            params["extra_body"] = dict(self.extra_body)
        if json_schema is None:
            return params
        if self.supports_json_schema:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "strict": True, "schema": json_schema},
            }
            return params
        # No schema support: ask for JSON in words (and JSON mode where the server has it).
        params["messages"] = _with_schema_instruction(messages, json_schema)
        if self.supports_json_mode:
            params["response_format"] = {"type": "json_object"}
        return params

    def _call(self, make: Callable[[float], T], deadline: float | None) -> T:
        """Run one request with timeouts and retries; raise ModelError when they run out."""
        attempt = 0
        while True:
            timeout = self.timeout_s
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    raise ModelTimeoutError(
                        f"{self.name}: turn deadline passed after {attempt} attempt(s)",
                        "raise SDMOCK_TURN_DEADLINE_S or use a faster model",
                        attempts=attempt,
                    )
            attempt += 1
            try:
                return make(timeout)
            except openai.OpenAIError as exc:
                delay = _retry_delay(exc, attempt)
                error = _as_model_error(self.name, exc, attempt)
            except ValueError as exc:  # a 200 whose body is not the JSON it should be
                raise ModelError(
                    f"{self.name}: unreadable reply: {_short(str(exc))}",
                    "the server is not OpenAI-compatible or sent a broken reply",
                    attempts=attempt,
                ) from exc
            if delay is None or attempt > self.max_retries:
                raise error
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise error
            log.info("%s: %s; retrying in %.1fs", self.name, error.message, delay)
            self._sleep(delay)

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        prompt_id: str | None = None,
        deadline: float | None = None,
    ) -> Completion:
        """One blocking call. Raises ModelError after retries."""
        started = time.monotonic()
        params = self._params(messages, max_tokens, temperature, json_schema)
        try:
            response = self._call(
                lambda t: self._client.chat.completions.create(**params, timeout=t), deadline
            )
        except ModelError as exc:
            if json_schema is None or not self.supports_json_schema or not _rejects_schema(exc):
                raise
            # The server refused response_format=json_schema: remember that and use JSON mode.
            log.warning("%s rejected json_schema; falling back to JSON mode", self.name)
            self.supports_json_schema = False
            params = self._params(messages, max_tokens, temperature, json_schema)
            response = self._call(
                lambda t: self._client.chat.completions.create(**params, timeout=t), deadline
            )
        if not getattr(response, "choices", None):
            raise ModelError(f"{self.name}: reply has no choices", "check the server", attempts=1)
        choice = response.choices[0]
        return Completion(
            text=choice.message.content or "",
            model=self.name,
            usage=self._usage(response.usage),
            finish_reason=choice.finish_reason,
            prompt_id=prompt_id,
            latency_s=time.monotonic() - started,
        )

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        prompt_id: str | None = None,
        deadline: float | None = None,
    ) -> Iterator[str | Completion]:
        """Yield text deltas, then one Completion. Retries only before the first delta."""
        started = time.monotonic()
        params = self._params(messages, max_tokens, temperature, None)
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
        attempt = 0
        while True:
            chunks = self._call(lambda t: self._client.chat.completions.create(**params, timeout=t), deadline)
            attempt += 1
            parts: list[str] = []
            finish_reason: str | None = None
            usage: Any = None
            try:
                for chunk in chunks:
                    if deadline is not None and time.monotonic() > deadline:
                        raise ModelTimeoutError(
                            f"{self.name}: turn deadline passed mid-stream", "raise SDMOCK_TURN_DEADLINE_S"
                        )
                    if chunk.usage is not None:
                        usage = chunk.usage
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finish_reason = choice.finish_reason or finish_reason
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        parts.append(delta)
                        yield delta
            except openai.OpenAIError as exc:
                error = _as_model_error(self.name, exc, attempt)
                delay = _retry_delay(exc, attempt)
                if parts or delay is None or attempt > self.max_retries:
                    raise error from exc
                if deadline is not None and time.monotonic() + delay >= deadline:
                    raise error from exc
                self._sleep(delay)
                continue
            except (ValueError, KeyError) as exc:  # a broken SSE line or chunk
                raise ModelError(f"{self.name}: malformed stream: {exc}", attempts=attempt) from exc
            finally:
                chunks.close()
            if finish_reason is None:  # no [DONE]-worthy ending: the connection dropped cleanly mid-reply
                if parts or attempt > self.max_retries:
                    raise ModelError(
                        f"{self.name}: the stream ended before the reply was complete",
                        "the server dropped the connection; try again",
                        attempts=attempt,
                        last_raw="".join(parts),
                    )
                self._sleep(min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_MAX_S))
                continue
            break
        yield Completion(
            text="".join(parts),
            model=self.name,
            usage=self._usage(usage),
            finish_reason=finish_reason,
            prompt_id=prompt_id,
            latency_s=time.monotonic() - started,
        )

    def _usage(self, usage: Any) -> Usage:
        if usage is None:
            return Usage()
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) or 0
        counted = Usage(
            prompt_tokens=usage.prompt_tokens or 0,
            completion_tokens=usage.completion_tokens or 0,
            cached_tokens=cached,
        )
        return priced(counted, self.price)


# -- helpers ----------------------------------------------------------------------------------


def _with_schema_instruction(messages: list[Message], schema: dict[str, Any]) -> list[Message]:
    """Copy of the messages whose system message also asks for JSON matching the schema."""
    note = (
        "Reply with one JSON object only, no prose and no code fence, valid against this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )
    out = [dict(m) for m in messages]
    if out and out[0]["role"] == "system":
        out[0]["content"] = out[0]["content"].rstrip() + "\n\n" + note
    else:
        out.insert(0, {"role": "system", "content": note})
    return out


def _retry_after(headers: Any) -> float | None:
    """Seconds from Retry-After / retry-after-ms (number or HTTP date), if present and sane."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def _retry_delay(exc: openai.OpenAIError, attempt: int) -> float | None:
    """How long to wait before retrying, or None when the error is not worth a retry."""
    backoff = min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_MAX_S) * (1 - 0.25 * random.random())
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return backoff
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code not in RETRYABLE_STATUS:
            return None
        if getattr(exc, "code", None) == "insufficient_quota":
            return None  # a 429 that no wait will fix
        after = _retry_after(exc.response.headers)
        if after is not None:
            return after if after <= MAX_RETRY_AFTER_S else None
        return backoff
    return None


def _as_model_error(name: str, exc: openai.OpenAIError, attempts: int) -> ModelError:
    """Translate an SDK error into ours, with a hint that says what to do."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelTimeoutError(
            f"{name}: no answer within the request timeout",
            "raise SDMOCK_REQUEST_TIMEOUT_S or check the server",
            attempts=attempts,
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(
            f"{name}: cannot reach the server ({exc.__cause__ or exc})",
            "check OPENAI_BASE_URL and that the server is running",
            attempts=attempts,
        )
    if isinstance(exc, openai.APIStatusError):
        body = _short(exc.response.text if exc.response is not None else str(exc))
        hints = {
            400: "the server refused the request: check the model name and its options",
            401: "check OPENAI_API_KEY",
            403: "the key has no access to this model",
            404: "check the model name in SDMOCK_MODEL",
            429: "rate limited or out of quota: wait, or check the account's billing",
        }
        hint = hints.get(exc.status_code, "the provider failed; try again later")
        return ModelError(f"{name}: HTTP {exc.status_code}: {body}", hint, attempts=attempts, last_raw=body)
    return ModelError(
        f"{name}: {_short(str(exc))}", "the server sent a reply the client cannot read", attempts=attempts
    )


def _rejects_schema(exc: ModelError) -> bool:
    text = exc.message.lower()
    return "http 400" in text and ("response_format" in text or "json_schema" in text or "schema" in text)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
