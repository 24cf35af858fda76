"""Transcript parsing: JSON and the Interviewer:/Candidate: text form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import TranscriptError
from app.transcripts import load_transcript, parse_transcript


def test_json_round_trip() -> None:
    data = {
        "problem": "url-shortener",
        "level": "senior",
        "turns": [
            {"role": "interviewer", "content": "Design a URL shortener."},
            {"role": "candidate", "content": "How many URLs per day?"},
        ],
    }
    t = parse_transcript(json.dumps(data))
    assert t.problem == "url-shortener" and t.level == "senior"
    assert t.candidate_turns() == ["How many URLs per day?"]
    assert parse_transcript(t.model_dump_json()).turns == t.turns


def test_text_form_with_bold_speakers_and_continuation_lines() -> None:
    raw = (
        "**Interviewer:** Design a chat system.\n\n"
        "Candidate: First, how many daily users?\nAnd group size?\n\n"
        "__Interviewer__: 50 million DAU; groups up to 100.\n"
        "- **Candidate**: Thanks.\n"
    )
    t = parse_transcript(raw)
    assert [x.role for x in t.turns] == ["interviewer", "candidate", "interviewer", "candidate"]
    assert t.turns[1].content == "First, how many daily users?\nAnd group size?"
    assert t.turns[2].content == "50 million DAU; groups up to 100."
    assert parse_transcript(t.to_text()).turns == t.turns


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("just some notes with no speakers", "no turns found"),
        ('{"turns": [{"role": "judge", "content": "x"}]}', "wrong shape"),
        ('{"turns": [', "invalid JSON"),
        ("Candidate: hello\x00world", "binary data"),
    ],
)
def test_bad_transcripts_get_clear_errors(raw: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        parse_transcript(raw)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="not found"):
        load_transcript(tmp_path / "missing.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"Candidate: caf\xe9\n")
    with pytest.raises(TranscriptError, match="not UTF-8"):
        load_transcript(bad)
