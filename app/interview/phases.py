"""The four steps of the interview, plus `done`, in the only order they may run."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Interview phase. Phases only move forward, one step at a time."""

    SCOPE = "scope"
    HIGH_LEVEL = "high_level"
    DEEP_DIVE = "deep_dive"
    WRAP_UP = "wrap_up"
    DONE = "done"

    @property
    def order(self) -> int:
        return list(Phase).index(self)

    def next(self) -> Phase:
        """The phase after this one (`done` stays `done`)."""
        members = list(Phase)
        return members[min(self.order + 1, len(members) - 1)]

    @property
    def label(self) -> str:
        return _TITLES[self]


_TITLES = {
    Phase.SCOPE: "1. Understand the problem and scope",
    Phase.HIGH_LEVEL: "2. High-level design",
    Phase.DEEP_DIVE: "3. Deep dive",
    Phase.WRAP_UP: "4. Wrap-up",
    Phase.DONE: "Done",
}
