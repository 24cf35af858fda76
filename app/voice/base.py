"""The Voice protocol and the context a voice gets for one turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from app.interview.moves import Move
from app.interview.phases import Phase
from app.transcripts import Turn


class NoteSnippet(BaseModel):
    """A retrieved piece of the study notes."""

    source: str
    heading: str
    text: str
    score: float = 0.0


class TurnContext(BaseModel):
    """Everything a voice may use to word one move. Unreleased hidden facts are never here."""

    problem_id: str
    problem_title: str
    problem_prompt: str
    level: str
    phase: Phase
    elapsed_minutes: float
    budget_minutes: float
    turn_index: int
    candidate_text: str = ""
    notes: list[NoteSnippet] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list, description="Recent turns, oldest first.")
    summary: str | None = Field(None, description="Rolling summary of older turns.")


@runtime_checkable
class Voice(Protocol):
    """Words a Move. `name` is shown to the user: 'offline' or 'openai/gpt-4o-mini'."""

    name: str

    def speak(self, move: Move, ctx: TurnContext) -> Iterator[str]:
        """Yield the reply as text deltas."""
        ...
