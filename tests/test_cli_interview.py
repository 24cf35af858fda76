"""`sdmock problems`, `sdmock simulate` and the error path for unknown problems."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli, main

CANDIDATES = Path(__file__).parent / "data" / "candidates"
runner = CliRunner()


def test_problems_lists_the_catalogue() -> None:
    result = runner.invoke(cli, ["problems"])
    assert result.exit_code == 0, result.output
    assert "url-shortener" in result.output and "difficulty" in result.output


def test_simulate_json_shape() -> None:
    result = runner.invoke(
        cli,
        [
            "simulate",
            "--problem",
            "url-shortener",
            "--level",
            "senior",
            "--candidate",
            str(CANDIDATES / "good.txt"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == {"problem", "level", "turns", "events", "released_facts", "coverage", "final_phase"}
    assert doc["final_phase"] == "done"
    assert {"role", "content", "phase"} <= set(doc["turns"][0])
    assert doc["coverage"]["phases_visited"] == ["scope", "high_level", "deep_dive", "wrap_up", "done"]


def test_simulate_is_reproducible() -> None:
    args = ["simulate", "-p", "url-shortener", "-c", str(CANDIDATES / "jumper.txt"), "--json"]
    assert runner.invoke(cli, args).output == runner.invoke(cli, args).output


def test_simulate_minutes_per_turn_changes_timing() -> None:
    fast = [
        "simulate",
        "-p",
        "url-shortener",
        "-c",
        str(CANDIDATES / "good.txt"),
        "--json",
        "--minutes-per-turn",
        "4",
    ]
    doc = json.loads(runner.invoke(cli, fast).output)
    reasons = [e["data"].get("reason") for e in doc["events"] if e["kind"] == "phase_change"]
    assert "time" in reasons


def test_simulate_text_prints_voice() -> None:
    result = runner.invoke(cli, ["simulate", "-p", "url-shortener", "-c", str(CANDIDATES / "skipper.txt")])
    assert result.exit_code == 0 and "voice: offline" in result.output


def test_unknown_problem_exits_2_with_valid_ids(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["sdmock", "simulate", "-p", "nope", "-c", str(CANDIDATES / "good.txt")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown problem 'nope'" in err and "url-shortener" in err


def test_missing_candidate_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(
        sys, "argv", ["sdmock", "simulate", "-p", "url-shortener", "-c", str(tmp_path / "none.txt")]
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2


def test_chat_runs_offline_until_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.cli.interview as interview_cli

    monkeypatch.setattr(interview_cli, "_try_retriever", lambda settings: None)  # never the user's index
    result = runner.invoke(cli, ["chat", "-p", "url-shortener"], input="How many URLs per day?\n/finish\n")
    assert result.exit_code == 0, result.output
    assert "voice: offline" in result.output
    assert "100 million" in result.output


def test_chat_with_an_openai_compatible_model_uses_it_and_says_so(
    loopback: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sdmock chat --model openai/...` talks to the configured server and shows voice and tokens."""
    from fakes.openai_server import FakeOpenAIServer, reply
    from typer.testing import CliRunner

    from app.cli import cli
    from app.settings import default_settings

    with FakeOpenAIServer(
        reply("Good question: about 100 million new short URLs a day. What next?")
    ) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
        default_settings.cache_clear()
        try:
            result = CliRunner().invoke(
                cli,
                ["chat", "--problem", "url-shortener", "--level", "senior", "--model", "openai/gpt-4o-mini"],
                input="How many new URLs are created per day?\n/finish\n",
            )
        finally:
            default_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "openai/gpt-4o-mini" in result.output
    assert "about 100 million new short URLs a day" in result.output
    assert "tokens:" in result.output
    assert len(server.requests) >= 1


def test_chat_without_key_or_local_model_runs_offline_and_says_so() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(
        cli, ["chat", "--problem", "url-shortener", "--level", "mid"], input="/finish\n"
    )
    assert result.exit_code == 0, result.output
    assert "voice: offline" in result.output
