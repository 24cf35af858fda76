"""What every page gets: the settings and the store (nothing per-user is kept in process memory)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from app.settings import Settings
from app.store import Store


@dataclass
class AppContext:
    """Per-run context of a page."""

    settings: Settings
    store: Store

    @cached_property
    def voice_line(self) -> str:
        """Which voice is active and what to set to change it."""
        from app.llm.registry import describe_voice

        return describe_voice(self.settings)
