"""Transcripts in and out: the JSON shape and the plain-text/Markdown shape.

JSON: {"problem": ..., "level": ..., "turns": [{"role": "interviewer"|"candidate", "content": ...}]}
Text: each turn starts with `Interviewer:` or `Candidate:` (optionally bold: `**Candidate:**`);
following lines belong to the same turn until the next speaker line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from app.errors import TranscriptError

Role = Literal["interviewer", "candidate"]
Level = Literal["mid", "senior", "staff"]


class Turn(BaseModel):
    """One message of an interview."""

    role: Role
    content: str
    phase: str | None = Field(None, description="Interview phase the turn was said in, when known.")


class Transcript(BaseModel):
    """A whole interview: who said what, for which problem and level."""

    problem: str | None = None
    level: Level | None = None
    turns: list[Turn] = Field(default_factory=list)

    def candidate_turns(self) -> list[str]:
        """The candidate's messages, in order."""
        return [t.content for t in self.turns if t.role == "candidate"]

    def to_text(self) -> str:
        """Render as `Interviewer:` / `Candidate:` paragraphs."""
        return "\n\n".join(f"{t.role.capitalize()}: {t.content}" for t in self.turns) + "\n"


_SPEAKER = re.compile(
    r"^\s*(?:[-*>]\s*)?(?:\*\*|__)?(interviewer|candidate)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)


def parse_transcript_text(text: str) -> Transcript:
    """Parse the plain-text/Markdown form; raise TranscriptError when no speaker line is found."""
    turns: list[Turn] = []
    for line in text.splitlines():
        m = _SPEAKER.match(line)
        if m:
            role = m.group(1).lower()
            turns.append(Turn(role=role, content=m.group(2).strip()))
        elif turns:
            turns[-1].content = (turns[-1].content + "\n" + line).strip("\n")
    if not turns:
        raise TranscriptError(
            "no turns found in the transcript",
            "start each turn with 'Interviewer:' or 'Candidate:', or give JSON with a 'turns' list",
        )
    for t in turns:
        t.content = t.content.strip()
    return Transcript(turns=turns)


def parse_transcript(raw: str) -> Transcript:
    """Parse either form, detected from the content; binary data is refused before parsing."""
    if "\x00" in raw:
        raise TranscriptError(
            "the transcript contains binary data (NUL bytes)",
            "give a UTF-8 text or JSON transcript",
        )
    stripped = raw.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise TranscriptError(
                f"invalid JSON transcript: {exc}", "check the file is complete JSON"
            ) from exc
        try:
            return Transcript.model_validate(data)
        except ValidationError as exc:
            raise TranscriptError(
                f"JSON transcript has the wrong shape: {exc.errors()[0]['msg']}",
                'expected {"problem", "level", "turns": [{"role", "content"}]}',
            ) from exc
    return parse_transcript_text(raw)


def load_transcript(path: Path) -> Transcript:
    """Read and parse a transcript file with a clear error for unreadable files."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TranscriptError(f"transcript not found: {path}", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"transcript is not UTF-8 text: {path}", "save it as UTF-8") from exc
    return parse_transcript(raw)
