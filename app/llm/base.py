"""The protocol every model client implements, and the records kept of each call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

Message = dict[str, str]
"""An OpenAI-style chat message: {"role": "system"|"user"|"assistant", "content": "..."}."""


class Usage(BaseModel):
    """Token counts of one call (or a sum of calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cost_usd=cost,
        )


class Completion(BaseModel):
    """The outcome of one model call, kept next to whatever it produced."""

    text: str
    model: str = Field(description="provider/model that answered.")
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    prompt_id: str | None = Field(None, description="Hash of the prompt template source used.")
    latency_s: float = 0.0


@runtime_checkable
class ChatModel(Protocol):
    """A chat model. Capabilities are attributes, not provider checks scattered around."""

    name: str
    """provider/model, e.g. 'openai/gpt-4o-mini', 'local/qwen.gguf', 'fake/test'."""
    supports_json_schema: bool

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        prompt_id: str | None = None,
    ) -> Completion:
        """One blocking call. Raises ModelError after retries."""
        ...

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        prompt_id: str | None = None,
    ) -> Iterator[str | Completion]:
        """Yield text deltas, then exactly one final Completion with the full text and usage."""
        ...
