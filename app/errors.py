"""The exception hierarchy: every message says what went wrong and how to fix it.

Code raises these; only the edges (CLI, Streamlit pages) turn them into user-facing messages.
"""

from __future__ import annotations


class SdmockError(Exception):
    """Base class. `hint` tells the user what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(SdmockError):
    """A setting is missing or invalid."""


class KnowledgeError(SdmockError):
    """A note, problem or rubric file cannot be read or does not validate."""


class IndexUnavailableError(SdmockError):
    """The retrieval index is missing, corrupt or unreachable."""


class ProblemNotFoundError(SdmockError):
    """An unknown problem id was asked for."""


class TranscriptError(SdmockError):
    """A transcript file cannot be parsed."""


class InputRejectedError(SdmockError):
    """Candidate input was refused before any model call (too long, empty, binary)."""


class ModelError(SdmockError):
    """A model call failed after its retries. Keeps the attempts and the last raw reply."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        attempts: int = 0,
        last_raw: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.attempts = attempts
        self.last_raw = last_raw


class StoreError(SdmockError):
    """The database cannot be reached or written."""


class StateConflictError(StoreError):
    """The interview moved on (another tab or window) while this reply was being written."""
