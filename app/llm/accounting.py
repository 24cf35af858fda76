"""Token and cost accounting: a small price table and a per-interview usage log."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.llm.base import Completion, Usage


class Price(BaseModel):
    """USD per million tokens."""

    prompt: float
    cached_prompt: float
    completion: float


# Public list prices of OpenAI models (USD per 1M tokens), checked 2025. Longest prefix wins, so a dated
# snapshot such as gpt-4o-mini-2024-07-18 is priced as gpt-4o-mini. Unknown and local models cost None:
# a made-up price is worse than no price.
PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(prompt=0.15, cached_prompt=0.075, completion=0.60),
    "gpt-4o": Price(prompt=2.50, cached_prompt=1.25, completion=10.00),
    "gpt-4.1-nano": Price(prompt=0.10, cached_prompt=0.025, completion=0.40),
    "gpt-4.1-mini": Price(prompt=0.40, cached_prompt=0.10, completion=1.60),
    "gpt-4.1": Price(prompt=2.00, cached_prompt=0.50, completion=8.00),
    "gpt-5-nano": Price(prompt=0.05, cached_prompt=0.005, completion=0.40),
    "gpt-5-mini": Price(prompt=0.25, cached_prompt=0.025, completion=2.00),
    "gpt-5": Price(prompt=1.25, cached_prompt=0.125, completion=10.00),
    "o4-mini": Price(prompt=1.10, cached_prompt=0.275, completion=4.40),
}


def price_for(model: str) -> Price | None:
    """The price of an OpenAI model name (without the provider prefix), or None when unknown."""
    bare = model.split("/", 1)[1] if model.startswith("openai/") else model
    matches = [name for name in PRICES if bare == name or bare.startswith(name + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(
    price: Price | None, prompt_tokens: int, completion_tokens: int, cached_tokens: int
) -> float | None:
    """Cost of one call; cached prompt tokens are billed at the cached rate."""
    if price is None:
        return None
    cached = min(cached_tokens, prompt_tokens)
    return (
        (prompt_tokens - cached) * price.prompt
        + cached * price.cached_prompt
        + completion_tokens * price.completion
    ) / 1_000_000


def priced(usage: Usage, price: Price | None) -> Usage:
    """The same usage with its cost filled in from the price table."""
    return usage.model_copy(
        update={
            "cost_usd": cost_usd(price, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
        }
    )


class UsageRecord(BaseModel):
    """One model call made for an interview turn."""

    turn_index: int
    purpose: str = Field(description="'reply', 'classify' or 'summary'.")
    model: str
    prompt_id: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    first_token_s: float | None = Field(default=None, description="Seconds until the first streamed text.")
    finish_reason: str | None = None
    fallback: str | None = Field(default=None, description="Why the offline voice answered, if it did.")


class UsageLog(BaseModel):
    """Every model call of one interview, in order; totals per turn and overall."""

    records: list[UsageRecord] = Field(default_factory=list)

    def add(
        self,
        turn_index: int,
        purpose: str,
        completion: Completion,
        *,
        first_token_s: float | None = None,
    ) -> UsageRecord:
        """Record a finished call."""
        record = UsageRecord(
            turn_index=turn_index,
            purpose=purpose,
            model=completion.model,
            prompt_id=completion.prompt_id,
            usage=completion.usage,
            latency_s=completion.latency_s,
            first_token_s=first_token_s,
            finish_reason=completion.finish_reason,
        )
        self.records.append(record)
        return record

    def add_failure(self, turn_index: int, purpose: str, model: str, reason: str, latency_s: float) -> None:
        """Record a call that ended in the offline fallback."""
        self.records.append(
            UsageRecord(
                turn_index=turn_index, purpose=purpose, model=model, latency_s=latency_s, fallback=reason
            )
        )

    def turn(self, turn_index: int) -> Usage:
        """Total usage of one turn."""
        return sum((r.usage for r in self.records if r.turn_index == turn_index), Usage())

    def total(self) -> Usage:
        """Total usage of the interview so far."""
        return sum((r.usage for r in self.records), Usage())
