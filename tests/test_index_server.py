"""Client/server mode against a real `chroma run` on 127.0.0.1: build, switch, re-index, query."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import IndexUnavailableError
from app.retrieval.backend import ChromaServerUnreachableError
from app.retrieval.index import index_exists, index_notes
from app.retrieval.search import Retriever
from app.settings import Settings, get_settings

pytestmark = [pytest.mark.loopback, pytest.mark.slow]

NOTES = {
    "caching.md": "---\ntitle: Caching\ntopics: [cache]\nsteps: [deep_dive]\n---\n"
    "## Expiration (TTL)\nCached entries expire after a time-to-live.\n"
    "## Eviction\nLRU evicts the least recently used entry when memory is full.\n",
    "queues.md": "---\ntitle: Message queues\ntopics: [queue]\nsteps: [high_level]\n---\n"
    "## Decoupling\nA queue decouples producers from consumers.\n",
}


def chroma_cli() -> str:
    found = Path(sys.executable).with_name("chroma")
    return str(found) if found.exists() else (shutil.which("chroma") or "chroma")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(loopback: None, tmp_path: Path) -> Iterator[int]:
    """A real Chroma server on 127.0.0.1; yields its port and stops it afterwards."""
    port = free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            chroma_cli(),
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"chroma run exited with {proc.returncode}: {(tmp_path / 'chroma.log').read_text()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("chroma run did not start listening within 60 s")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def server_settings(tmp_path: Path, port: int) -> Settings:
    folder = tmp_path / "knowledge" / "notes"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return get_settings(
        data_dir=tmp_path / "data",
        knowledge_dir=tmp_path / "knowledge",
        chroma_host="127.0.0.1",
        chroma_port=port,
        _env_file=None,
    )


def build_collections(port: int) -> list[str]:
    import chromadb

    from app.retrieval.backend import chroma_settings

    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=chroma_settings())
    return sorted(c.name for c in client.list_collections())


def test_server_mode_builds_switches_and_queries(chroma_server: int, tmp_path: Path) -> None:
    settings = server_settings(tmp_path, chroma_server)
    assert not index_exists(settings)
    with pytest.raises(IndexUnavailableError, match="no study-notes index"):
        Retriever(settings).search("cache")

    first = index_notes(settings)
    assert (first.chunks, first.embedded, first.rebuilt) == (3, 3, True)
    assert first.location.startswith(f"http://127.0.0.1:{chroma_server}")
    assert build_collections(chroma_server) == sorted(["notes-pointer", f"notes-build-{first.build_id}"])
    assert not (tmp_path / "data" / "index").exists()  # nothing written locally

    retriever = Retriever(settings)
    hits = retriever.search("when do cached entries expire", k=1)
    assert (hits[0].source, hits[0].heading) == ("caching.md", "Expiration (TTL)")
    assert [h.source for h in retriever.search("anything", k=3, step="high_level")] == ["queues.md"]

    again = index_notes(settings)
    assert (again.embedded, again.rebuilt) == (0, False)

    note = settings.notes_dir / "caching.md"
    note.write_text(note.read_text().replace("LRU evicts", "LFU evicts"))
    second = index_notes(settings)
    assert (second.embedded, second.reused, second.removed) == (1, 2, 1)
    assert build_collections(chroma_server) == sorted(["notes-pointer", f"notes-build-{second.build_id}"])

    time.sleep(2.1)  # the retriever trusts the server pointer for up to 2 s
    assert "LFU" in retriever.search("least frequently used", k=1)[0].text
    docs = Retriever(settings).as_langchain_retriever(k=1).invoke("least frequently used")
    assert "LFU" in docs[0].page_content


def test_server_unreachable_is_a_clear_error(loopback: None, tmp_path: Path) -> None:
    settings = server_settings(tmp_path, free_port())
    with pytest.raises(ChromaServerUnreachableError, match="Cannot reach the Chroma server") as info:
        Retriever(settings).search("cache")
    assert "chroma run" in (info.value.hint or "")
    with pytest.raises(ChromaServerUnreachableError):
        index_notes(settings)
