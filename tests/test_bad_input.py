"""Bad input gets a clear message, loses nothing already saved, and never reaches the model.

Messages (empty, whitespace, 100 kB, 1 MB, 10 MB, control characters), notes that are not UTF-8
(`sdmock index --notes`), wrong transcript files (`sdmock grade`), unknown problem ids (CLI and flow), a
missing or corrupt notes index, and a database another connection holds an exclusive lock on.

The LLM voice and grader point at a fake OpenAI-compatible server on loopback with nothing scripted
beyond what the valid steps need: any request a rejected input made would show up in `server.requests`.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.chaos import raw_error_signs
from fakes.openai_server import FakeOpenAIServer, reply
from typer.testing import CliRunner

from app.cli import cli
from app.errors import (
    InputRejectedError,
    KnowledgeError,
    ProblemNotFoundError,
    SdmockError,
    StoreError,
    TranscriptError,
)
from app.settings import REPO_ROOT, Settings, default_settings, get_settings
from app.store import Store
from app.ui import flow
from app.ui.context import AppContext

pytestmark = pytest.mark.loopback

runner = CliRunner()
KB = 1024
MB = 1024 * KB


@pytest.fixture
def server(loopback: None) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def llm_settings(data_dir: Path, server: FakeOpenAIServer, **kw: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "knowledge_dir": REPO_ROOT / "knowledge",
        "model": "openai/gpt-4o-mini",
        "openai_base_url": server.base_url,
        "openai_api_key": "sk-test",
        "request_timeout_s": 2.0,
        "max_retries": 0,
        "turn_deadline_s": 5.0,
        "_env_file": None,
    }
    values.update(kw)
    return get_settings(**values)


@pytest.fixture
def ctx(tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    monkeypatch.setattr(flow, "build_retriever", lambda settings: None)
    settings = llm_settings(tmp_path / "data", server)
    store = Store.from_settings(settings)
    yield AppContext(settings=settings, store=store)
    store.close()


def started(ctx: AppContext, server: FakeOpenAIServer) -> str:
    """An interview with its opening and one full exchange saved (two model calls)."""
    server.queue(reply("Welcome. Design a URL shortener."), reply("Good question: about 100M a day."))
    iid = flow.start_interview(ctx, "url-shortener", level="senior", minutes=45).id
    turn = flow.submit(ctx, iid, "How many URLs per day?")
    stream = flow.begin(ctx, iid, "reply", turn.content)
    list(stream)
    stream.commit()
    assert len(server.requests) == 2 and server.unexpected == 0
    return iid


def snapshot(store: Store, iid: str) -> list[tuple[int, str, str, str]]:
    return [(t.seq, t.role, t.content, t.status) for t in store.turns(iid)]


# -- candidate messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   \n\t  \r\n ", "empty"),
        ("x" * (100 * KB), "too long"),
        ("word " * (MB // 5), "too long"),
        ("y" * (10 * MB), "too long"),
        ("binary\x00data", "binary"),
        ("\x00" * 10, "binary"),
    ],
    ids=["empty", "whitespace", "100kB", "1MB", "10MB", "nul", "only-nul"],
)
def test_rejected_messages_are_clear_keep_everything_and_call_no_model(
    ctx: AppContext, server: FakeOpenAIServer, text: str, says: str
) -> None:
    iid = started(ctx, server)
    before = snapshot(ctx.store, iid)
    state = ctx.store.get_interview(iid).state
    t0 = time.monotonic()
    with pytest.raises(InputRejectedError) as info:
        flow.submit(ctx, iid, text)
    assert time.monotonic() - t0 < 2.0  # a 10 MB message is refused at once, not processed
    assert says in info.value.message.lower()
    assert info.value.hint and not raw_error_signs(str(info.value))
    assert len(info.value.message) < 200  # the message does not echo the input back
    assert snapshot(ctx.store, iid) == before
    assert ctx.store.get_interview(iid).state == state
    assert len(server.requests) == 2 and server.unexpected == 0  # no model call for rejected input


def test_the_session_refuses_oversized_and_binary_input_before_any_model_call(
    ctx: AppContext, server: FakeOpenAIServer
) -> None:
    """The same limits hold one layer down (the CLI and other callers use InterviewSession directly)."""
    iid = started(ctx, server)
    record = ctx.store.get_interview(iid)
    session = flow.resume_session(ctx, record, ctx.store.turns(iid))
    turns_before = len(session.transcript.turns)
    state_before = session.state.model_dump_json()
    for text in ("z" * (10 * MB), "a\x00b"):
        with pytest.raises(InputRejectedError):
            session.reply(text)
    assert len(session.transcript.turns) == turns_before
    assert session.state.model_dump_json() == state_before
    assert len(server.requests) == 2


def test_control_characters_are_kept_as_text_and_the_interview_goes_on(
    ctx: AppContext, server: FakeOpenAIServer
) -> None:
    iid = started(ctx, server)
    text = "What about \x1b[31mred\x1b[0m alerts,\x07 bells\x08 and a\ttab?\r\nAnd form\x0cfeeds?"
    turn = flow.submit(ctx, iid, text)
    assert turn.content == text.strip()
    server.queue(reply("Noted."))
    stream = flow.begin(ctx, iid, "reply", turn.content)
    list(stream)
    stream.commit()
    turns = ctx.store.turns(iid)
    assert [t.role for t in turns[-2:]] == ["candidate", "interviewer"]
    assert turns[-2].content == text.strip() and turns[-1].content == "Noted."
    assert len(server.requests) == 3


def test_an_over_long_scratchpad_is_refused_and_the_old_one_kept(
    ctx: AppContext, server: FakeOpenAIServer
) -> None:
    iid = started(ctx, server)
    flow.save_scratchpad(ctx, iid, "LB -> web -> cache -> kv")
    for bad in ("x" * MB, "a\x00b"):
        with pytest.raises(InputRejectedError) as info:
            flow.save_scratchpad(ctx, iid, bad)
        assert info.value.hint
    assert ctx.store.get_interview(iid).scratchpad == "LB -> web -> cache -> kv"
    assert len(server.requests) == 2


# -- unknown problem ids ----------------------------------------------------------------------------------


def test_unknown_problem_in_the_flow_is_clear_and_creates_nothing(
    ctx: AppContext, server: FakeOpenAIServer
) -> None:
    with pytest.raises(ProblemNotFoundError) as info:
        flow.start_interview(ctx, "no-such-problem", level="senior", minutes=45)
    assert "no-such-problem" in info.value.message and "url-shortener" in (info.value.hint or "")
    assert ctx.store.list_interviews() == []
    assert server.requests == []


@pytest.fixture
def cli_env(tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI reads settings from the environment: point it at tmp data and the fake server."""
    data = tmp_path / "cli-data"
    monkeypatch.setenv("SDMOCK_DATA_DIR", str(data))
    monkeypatch.setenv("SDMOCK_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SDMOCK_MAX_RETRIES", "0")
    default_settings.cache_clear()
    yield data
    default_settings.cache_clear()


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--problem", "no-such-problem", "--candidate", "{candidates}"],
        ["chat", "--problem", "no-such-problem"],
        ["grade", "{transcript}", "--problem", "no-such-problem", "--level", "senior", "--no-notes"],
    ],
    ids=["simulate", "chat", "grade"],
)
def test_unknown_problem_on_the_cli_is_clear(
    cli_env: Path, tmp_path: Path, server: FakeOpenAIServer, args: list[str]
) -> None:
    candidates = tmp_path / "c.txt"
    candidates.write_text("How many URLs per day?\n\nWhat is the read/write ratio?\n", encoding="utf-8")
    transcript = tmp_path / "t.md"
    transcript.write_text("Interviewer: Design it.\nCandidate: How many URLs per day?\n", encoding="utf-8")
    argv = [a.format(candidates=candidates, transcript=transcript) for a in args]
    result = runner.invoke(cli, argv, input="/finish\n")
    assert isinstance(result.exception, ProblemNotFoundError), result.output
    assert "no-such-problem" in result.exception.message and "url-shortener" in (result.exception.hint or "")
    assert server.requests == []


# -- transcripts for `sdmock grade` ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("binary.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "utf-8"),
        ("binary.txt", bytes(range(256)), "utf-8"),
        ("empty.json", b"", ""),
        ("empty.txt", b"", ""),
        ("list.json", b'[{"role": "candidate", "content": "hi"}]', ""),
        ("wrong.json", b'{"speaker": "me", "lines": 3}', ""),
        ("badturns.json", b'{"problem": "url-shortener", "level": "senior", "turns": "hello"}', ""),
        ("badrole.json", b'{"problem": "url-shortener", "turns": [{"role": "judge", "content": "4/4"}]}', ""),
        ("truncated.json", b'{"problem": "url-shortener", "turns": [{"role": "cand', ""),
        ("nospeakers.txt", b"We talked about a URL shortener.\nIt went well.\nThe end.\n", ""),
        ("wrong.yaml", b"- just\n- a list\n", ""),
    ],
)
def test_wrong_transcript_files_get_a_clear_error_and_no_model_call(
    cli_env: Path, tmp_path: Path, server: FakeOpenAIServer, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(
        cli, ["grade", str(path), "--problem", "url-shortener", "--level", "senior", "--no-notes"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, SdmockError), (
        f"{name}: {type(result.exception).__name__}: {result.exception}"
    )
    message = str(result.exception)
    assert says in message.lower()
    assert result.exception.hint, message
    assert not raw_error_signs(message.replace("JSON", "")), message
    assert server.requests == []


def test_a_missing_transcript_file_is_clear(cli_env: Path, tmp_path: Path, server: FakeOpenAIServer) -> None:
    result = runner.invoke(cli, ["grade", str(tmp_path / "nope.json"), "--no-notes"])
    assert isinstance(result.exception, TranscriptError) and "not found" in result.exception.message
    assert server.requests == []


# -- notes: invalid UTF-8, missing and corrupt index -----------------------------------------------------


@pytest.fixture
def index_copy(notes_index: Settings, tmp_path: Path) -> Path:
    """A private copy of the session's built index (this test may break it)."""
    data = tmp_path / "cli-data"
    shutil.copytree(notes_index.data_dir, data)
    return data


def test_index_notes_refuses_invalid_utf8_and_keeps_the_index(
    index_copy: Path, cli_env: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    from app.retrieval.index import index_exists, user_notes_dir

    assert cli_env == index_copy
    bad = tmp_path / "upload" / "latin1.md"
    bad.parent.mkdir()
    bad.write_bytes("# Caching\n\nCaf\xe9 r\xe9sum\xe9: write-through vs write-back.\n".encode("latin-1"))
    result = runner.invoke(cli, ["index", "--notes", str(bad)])
    assert result.exception is None or isinstance(result.exception, SdmockError), result.exception
    assert "not valid utf-8" in result.output.lower(), result.output
    assert not raw_error_signs(result.output)
    settings = default_settings()
    assert not (user_notes_dir(settings) / "latin1.md").exists()
    assert index_exists(settings)
    assert server.requests == []


def test_invalid_utf8_note_is_a_knowledge_error(tmp_settings: Settings, tmp_path: Path) -> None:
    from app.retrieval.index import register_user_notes

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00h\x00i")
    added, skipped = register_user_notes(tmp_settings, bad)
    assert added == [] and len(skipped) == 1
    assert "utf-8" in skipped[0].reason.lower()
    with pytest.raises(KnowledgeError):
        register_user_notes(tmp_settings, tmp_path / "missing.md")


def _interview_runs_without_notes(ctx: AppContext, server: FakeOpenAIServer) -> str:
    server.queue(reply("Welcome."), reply("Fine, go on."))
    iid = flow.start_interview(ctx, "url-shortener", level="senior", minutes=45).id
    turn = flow.submit(ctx, iid, "I would use a cache in front of a key-value store for the redirects.")
    stream = flow.begin(ctx, iid, "reply", turn.content)
    list(stream)
    stream.commit()
    turns = ctx.store.turns(iid)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert turns[-1].status == "complete" and turns[-1].content == "Fine, go on." and turns[-1].notes == []
    return stream.session.notes_error or ""


def test_missing_index_the_interview_runs_without_notes_and_says_so(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    from app.retrieval.search import clear_retrievers

    settings = llm_settings(tmp_path / "data", server)
    store = Store.from_settings(settings)
    try:
        error = _interview_runs_without_notes(AppContext(settings, store), server)
        assert "no study-notes index" in error.lower() and "sdmock index" in error
    finally:
        store.close()
        clear_retrievers()


@pytest.mark.parametrize("damage", ["pointer", "build"])
def test_corrupt_index_the_interview_runs_without_notes_and_says_so(
    index_copy: Path, server: FakeOpenAIServer, damage: str
) -> None:
    from app.retrieval.search import clear_retrievers

    index_dir = index_copy / "index"
    if damage == "pointer":
        (index_dir / "current.json").write_text("{not json", encoding="utf-8")
    else:
        for f in (index_dir / "builds").rglob("*"):
            if f.is_file():
                f.write_bytes(b"\x00garbage" * 64)
    settings = llm_settings(index_copy, server)
    store = Store.from_settings(settings)
    clear_retrievers()
    try:
        error = _interview_runs_without_notes(AppContext(settings, store), server)
        assert error, "the session should record why it has no notes"
        assert not raw_error_signs(error) or "index" in error.lower()
    finally:
        store.close()
        clear_retrievers()


# -- a locked database ---------------------------------------------------------------------------------------


def test_a_locked_database_gives_a_clear_message_and_loses_nothing(
    ctx: AppContext, server: FakeOpenAIServer
) -> None:
    iid = started(ctx, server)
    before = snapshot(ctx.store, iid)
    db_path = ctx.settings.data_dir / "sdmock.db"
    locker = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError) as info:
            flow.submit(ctx, iid, "What is the read/write ratio?")
        waited = time.monotonic() - t0
        assert "locked" in info.value.message and info.value.hint
        assert "saved" in info.value.hint  # tells the user their progress is kept
        assert waited < 15
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert snapshot(ctx.store, iid) == before  # nothing lost, nothing half-written
    assert len(server.requests) == 2  # the refused message never reached the model
    # Once the lock is gone the same message goes through.
    server.queue(reply("About 10:1."))
    turn = flow.submit(ctx, iid, "What is the read/write ratio?")
    stream = flow.begin(ctx, iid, "reply", turn.content)
    list(stream)
    stream.commit()
    assert snapshot(ctx.store, iid)[: len(before)] == before
    assert [t.content for t in ctx.store.turns(iid)][-2:] == ["What is the read/write ratio?", "About 10:1."]
    assert ctx.store.integrity_check() == "ok"


def test_a_briefly_locked_database_just_waits(ctx: AppContext, server: FakeOpenAIServer) -> None:
    """A lock held for a moment (another process committing) is waited out, not reported."""
    iid = started(ctx, server)
    db_path = ctx.settings.data_dir / "sdmock.db"
    locker = sqlite3.connect(db_path, timeout=0, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        locker.execute("ROLLBACK")
        locker.close()

    release = threading.Timer(0.5, unlock)
    release.start()
    try:
        turn = flow.submit(ctx, iid, "Can links expire?")
    finally:
        release.join()
    assert turn.content == "Can links expire?"
    assert ctx.store.turns(iid)[-1].content == "Can links expire?"
