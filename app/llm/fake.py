"""A fake model for tests: queued replies, a record of every request, loud failure when dry."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from app.errors import ModelError
from app.llm.base import Completion, Message, Usage

Reply = str | Exception | Callable[[list[Message]], str]


class FakeModel:
    """Returns queued replies in order; a queued Exception is raised; a callable gets the messages."""

    supports_json_schema = True
    stream_whole = False
    """True: stream each reply as one delta (faster for suites that make thousands of calls)."""

    def __init__(self, replies: list[Reply] | None = None, *, name: str = "fake/test", delay_s: float = 0.0):
        self.name = name
        self.replies: deque[Reply] = deque(replies or [])
        self.requests: list[dict[str, Any]] = []
        self.delay_s = delay_s

    def queue(self, *replies: Reply) -> None:
        """Add replies to the end of the queue."""
        self.replies.extend(replies)

    def _next(self, messages: list[Message]) -> str:
        if not self.replies:
            raise AssertionError(f"FakeModel {self.name}: no reply queued for request #{len(self.requests)}")
        reply = self.replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(messages)
        return reply

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        prompt_id: str | None = None,
    ) -> Completion:
        """Record the request and return the next queued reply."""
        self.requests.append(
            {
                "messages": messages,
                "max_tokens": max_tokens,
                "json_schema": json_schema,
                "prompt_id": prompt_id,
            }
        )
        if self.delay_s:
            time.sleep(self.delay_s)
        try:
            text = self._next(messages)
        except ModelError:
            raise
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return Completion(
            text=text,
            model=self.name,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(text.split())),
            finish_reason="stop",
            prompt_id=prompt_id,
            latency_s=self.delay_s,
        )

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        prompt_id: str | None = None,
    ) -> Iterator[str | Completion]:
        """Yield the next reply word by word (or whole, see `stream_whole`), then its Completion."""
        done = self.complete(messages, max_tokens=max_tokens, temperature=temperature, prompt_id=prompt_id)
        if self.stream_whole:
            yield done.text
            yield done
            return
        words = done.text.split(" ")
        for i, w in enumerate(words):
            yield w if i == len(words) - 1 else w + " "
        yield done
