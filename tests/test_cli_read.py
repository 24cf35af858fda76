"""`sdmock read`: each blank-line separated paragraph is one message, read on its own; --json or a table.

Errors go through `main()`, which turns an SdmockError into a message on stderr and exit code 2.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli, main

runner = CliRunner()
KEYS = {"text", "acts", "facts", "estimates", "components", "topics", "pitfalls"}
ESTIMATE_KEYS = {"value", "unit", "number", "stated"}
MESSAGES = [
    "how big can a group get?",
    "so that's about 23k messages per second",
    "we'll store messages in cassandra,\npartitioned by channel id",
]


def read_json(args: list[str], stdin: str | None = None) -> list[dict[str, object]]:
    result = runner.invoke(cli, ["read", *args], input=stdin)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert isinstance(doc, list)
    return doc


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Run the real entry point; the exit code and what it printed on stderr (lines unwrapped)."""
    monkeypatch.setattr(sys, "argv", ["sdmock", "read", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0), " ".join(capsys.readouterr().err.split())


@pytest.fixture(scope="module", autouse=True)
def _warm_reader() -> None:
    """Load the offline reader's embedder once (the first read of a problem embeds its examples)."""
    from app.interview.phases import Phase
    from app.interview.reading import offline_reader
    from app.problems import get_problem

    offline_reader().read("what is the max group size?", get_problem("chat-system"), Phase.SCOPE)


@pytest.fixture
def messages_file(tmp_path: Path) -> Path:
    path = tmp_path / "messages.txt"
    path.write_text("\n\n".join(MESSAGES) + "\n", encoding="utf-8")
    return path


def test_json_has_one_object_per_paragraph_in_order(messages_file: Path) -> None:
    doc = read_json(["--problem", "chat-system", "--json", str(messages_file)])
    assert [m["text"] for m in doc] == MESSAGES  # inner line breaks stay inside one message
    for message in doc:
        assert set(message) == KEYS
        for key in KEYS - {"text"}:
            assert isinstance(message[key], list), key
        for est in message["estimates"]:  # type: ignore[attr-defined]
            assert ESTIMATE_KEYS <= set(est) <= ESTIMATE_KEYS | {"kind"}
            assert isinstance(est["value"], int | float)
            assert est["unit"] is None or isinstance(est["unit"], str)
            assert est["number"] is None or isinstance(est["number"], str)
            assert isinstance(est["stated"], str)
    assert doc[0]["facts"] == ["group_size"]
    assert "clarify" in doc[0]["acts"]  # type: ignore[operator]
    assert doc[1]["facts"] == [] and doc[1]["estimates"], doc[1]
    assert doc[2]["facts"] == []


def test_stdin_with_a_dash(messages_file: Path) -> None:
    from_stdin = read_json(["--problem", "chat-system", "--json", "-"], stdin=messages_file.read_text())
    from_file = read_json(["--problem", "chat-system", "--json", str(messages_file)])
    assert from_stdin == from_file


def test_a_question_releases_the_fact_it_asks_for_and_a_statement_none() -> None:
    doc = read_json(
        ["--problem", "chat-system", "--json", "-"],
        stdin="how big can a group get?\n\ngroups will be big, obviously\n",
    )
    assert doc[0]["facts"] == ["group_size"]
    assert doc[1]["facts"] == []


def test_each_message_is_read_on_its_own_in_the_given_phase(tmp_path: Path) -> None:
    """Reading a message does not depend on the messages before it."""
    alone = read_json(["--problem", "chat-system", "--json", "-"], stdin="how big can a group get?\n")
    after = read_json(
        ["--problem", "chat-system", "--json", "-"],
        stdin="we'll have lots of users\n\nhow big can a group get?\n",
    )
    assert after[1] == alone[0]
    deep = read_json(
        ["--problem", "chat-system", "--phase", "deep_dive", "--json", "-"],
        stdin="how big can a group get?\n",
    )
    assert len(deep) == 1 and set(deep[0]) == KEYS


def test_the_readable_table_shows_each_message(messages_file: Path) -> None:
    result = runner.invoke(
        cli, ["read", "--problem", "chat-system", str(messages_file)], env={"COLUMNS": "220"}
    )
    assert result.exit_code == 0, result.output
    assert "how big can a group get?" in result.stdout
    assert "so that's about 23k messages per second" in result.stdout
    assert "group_size" in result.stdout and "chat-system" in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_a_bad_problem_id_exits_2_naming_the_valid_ids(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], messages_file: Path
) -> None:
    code, err = run_main(monkeypatch, capsys, "--problem", "chat", "--json", str(messages_file))
    assert code == 2
    assert "unknown problem 'chat'" in err
    assert "chat-system" in err and "url-shortener" in err


def test_a_bad_phase_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], messages_file: Path
) -> None:
    code, err = run_main(
        monkeypatch, capsys, "--problem", "chat-system", "--phase", "design", str(messages_file)
    )
    assert code == 2
    assert "design" in err and "scope" in err and "deep_dive" in err


def test_a_missing_file_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_main(monkeypatch, capsys, "--problem", "chat-system", str(tmp_path / "none.txt"))
    assert code == 2 and "none.txt" in err


@pytest.mark.parametrize("content", ["", "\n\n   \n\t\n"])
def test_empty_input_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf-8")
    code, err = run_main(monkeypatch, capsys, "--problem", "chat-system", str(path))
    assert code == 2 and "no messages" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(content))
    code, err = run_main(monkeypatch, capsys, "--problem", "chat-system", "--json", "-")
    assert code == 2 and "no messages" in err


def test_a_binary_file_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01\x02 how big can a group get?")
    code, err = run_main(monkeypatch, capsys, "--problem", "chat-system", str(path))
    assert code == 2 and "not a text file" in err


@pytest.mark.loopback
def test_with_a_model_the_model_reads_and_says_so(loopback: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes.openai_server import FakeOpenAIServer, reply

    from app.settings import default_settings

    body = {
        "acts": ["clarify"],
        "facts": ["group_size"],
        "estimates": [],
        "components": [],
        "topics": [],
        "pitfalls": [],
    }
    with FakeOpenAIServer(reply(json.dumps(body))) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
        default_settings.cache_clear()
        try:
            result = runner.invoke(
                cli,
                ["read", "--problem", "chat-system", "--model", "openai/gpt-4o-mini", "-"],
                input="any cap on how many ppl can be in one convo?\n",
                env={"COLUMNS": "220"},
            )
        finally:
            default_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "model:openai/gpt-4o-mini" in result.stdout and "group_size" in result.stdout
    assert len(server.requests) == 1 and server.unexpected == 0
