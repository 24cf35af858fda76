"""`sdmock grade`: inputs, clear errors, --json shape and --out reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.errors import SdmockError

runner = CliRunner()

TEXT = """Interviewer: Design a URL shortener.
Candidate: How many new URLs per day, and what's the read to write ratio?
Interviewer: 100 million a day; 10:1.
Candidate: That's about 1,160 writes per second and 11,600 reads per second. I'd use a load balancer,
web servers, a cache and a key-value store, because reads dominate.
"""


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.md"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def json_file(tmp_path: Path) -> Path:
    turns = [
        {"role": "interviewer" if i % 2 == 0 else "candidate", "content": line.split(": ", 1)[1]}
        for i, line in enumerate(TEXT.replace(",\nweb", ", web").strip().splitlines())
    ]
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps({"problem": "url-shortener", "level": "senior", "turns": turns}), encoding="utf-8"
    )
    return path


def test_json_output_has_the_documented_keys(json_file: Path) -> None:
    result = runner.invoke(cli, ["grade", str(json_file), "--json", "--no-notes"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"grader", "overall", "verdict", "dimensions", "flags", "model", "usage"} <= set(data)
    assert data["grader"] == "heuristic" and data["model"] is None
    assert data["dimensions"][0]["id"] == "scoping"
    assert all({"id", "score", "status", "evidence", "rationale"} <= set(d) for d in data["dimensions"])


def test_text_transcript_needs_problem_and_level(text_file: Path) -> None:
    result = runner.invoke(cli, ["grade", str(text_file), "--no-notes"])
    assert isinstance(result.exception, SdmockError) and "which problem" in result.exception.message
    result = runner.invoke(cli, ["grade", str(text_file), "--problem", "url-shortener", "--no-notes"])
    assert isinstance(result.exception, SdmockError) and "which level" in result.exception.message
    result = runner.invoke(
        cli, ["grade", str(text_file), "--problem", "url-shortener", "--level", "mid", "--no-notes"]
    )
    assert result.exit_code == 0, result.output
    assert "Heuristic only" in result.output


def test_unknown_problem_is_a_clear_error(text_file: Path) -> None:
    result = runner.invoke(
        cli, ["grade", str(text_file), "--problem", "nope", "--level", "mid", "--no-notes"]
    )
    assert isinstance(result.exception, SdmockError) and "unknown problem" in result.exception.message


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_out_writes_a_report(json_file: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"report{suffix}"
    result = runner.invoke(cli, ["grade", str(json_file), "--out", str(out), "--no-notes"])
    assert result.exit_code == 0, result.output
    assert "URL shortener" in out.read_text(encoding="utf-8")


def test_a_model_that_never_answers_gives_failed_dimensions_not_numbers(json_file: Path) -> None:
    # fake/<name> is a FakeModel with an empty queue: every call fails loudly.
    result = runner.invoke(cli, ["grade", str(json_file), "--json", "--no-notes", "--model", "fake/empty"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overall"] is None and data["verdict"] is None
    assert all(d["status"] == "failed" and d["score"] is None for d in data["dimensions"])


def test_the_grading_deadline_bounds_the_command_even_when_the_provider_hangs(
    json_file: Path, tmp_path: Path, loopback: None
) -> None:
    """Six judge calls that never answer: `sdmock grade` reports them failed and exits at the deadline."""
    import os
    import subprocess
    import sys
    import time

    from tests.fakes.openai_server import FakeOpenAIServer, hang

    with FakeOpenAIServer(*[hang(90.0)] * 6) as server:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test",
            "SDMOCK_DATA_DIR": str(tmp_path / "data"),
            "SDMOCK_GRADE_DEADLINE_S": "3",
            "SDMOCK_REQUEST_TIMEOUT_S": "90",
            "SDMOCK_MAX_RETRIES": "0",
        }
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "app", "grade", str(json_file), "--json", "--no-notes"],
            capture_output=True,
            text=True,
            timeout=80,  # before the fix the process waited for the hung calls (90 s) before exiting
            env=env,
            check=False,
        )
        took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert all(d["status"] == "failed" for d in data["dimensions"]) and data["overall"] is None
    assert took < 60, took
