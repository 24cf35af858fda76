"""index_notes: incremental by content hash, atomic switch, user notes, clear failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.errors import IndexUnavailableError, KnowledgeError
from app.retrieval import index as index_mod
from app.retrieval.backend import BUILDS_DIR, POINTER_FILE, LocalBackend
from app.retrieval.index import index_exists, index_notes
from app.retrieval.search import Retriever
from app.settings import Settings, get_settings

NOTES = {
    "caching.md": """---
title: Caching
topics: [cache, expiration]
steps: [high_level, deep_dive]
---
# Caching
A cache keeps hot data in memory in front of the database.
## Expiration (TTL)
Cached entries expire after a time-to-live; add jitter so keys do not expire together.
## Eviction
When memory is full, LRU evicts the least recently used entry.
""",
    "sharding.md": """---
title: Sharding
topics: [sharding, partition key]
steps: [deep_dive]
---
## Choosing a shard key
Partition users across databases by a hash of the user id so load spreads evenly.
## Resharding
Consistent hashing limits how many keys move when shards are added.
""",
    "estimation.md": """---
title: QPS estimation
topics: [qps]
steps: [estimation]
---
## Peak QPS
Daily active users times requests per user divided by 86,400 seconds, times a peak factor.
""",
}


def write_notes(root: Path, notes: dict[str, str] = NOTES) -> Path:
    folder = root / "knowledge" / "notes"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in notes.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def small(tmp_path: Path) -> Settings:
    write_notes(tmp_path)
    return get_settings(data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge", _env_file=None)


def sources(settings: Settings, query: str, k: int = 10) -> list[str]:
    return [h.source for h in Retriever(settings).search(query, k=k)]


def builds(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.resolved_index_dir / BUILDS_DIR).iterdir())


def test_build_then_unchanged_reindex_embeds_nothing(small: Settings) -> None:
    assert not index_exists(small)
    seen: list[tuple[int, int]] = []
    first = index_notes(small, progress=lambda done, total: seen.append((done, total)))
    assert (first.notes, first.chunks, first.embedded, first.reused, first.removed) == (3, 6, 6, 0, 0)
    assert first.rebuilt and seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert index_exists(small)
    assert sources(small, "when do cached items expire", k=1) == ["caching.md"]

    again = index_notes(small)
    assert (again.embedded, again.reused, again.removed, again.rebuilt) == (0, 6, 0, False)
    assert again.summary().startswith("0 chunks embedded: index up to date")
    assert again.build_id == first.build_id and builds(small) == [first.build_id]


def test_edit_one_note_embeds_only_its_changed_chunks(small: Settings) -> None:
    first = index_notes(small)
    retriever = Retriever(small)
    assert retriever.search("least recently used", k=1)[0].heading == "Eviction"
    note = small.notes_dir / "caching.md"
    note.write_text(note.read_text().replace("LRU evicts", "LFU evicts"), encoding="utf-8")

    second = index_notes(small)
    assert (second.embedded, second.reused, second.removed, second.chunks) == (1, 5, 1, 6)
    assert second.build_id != first.build_id
    assert builds(small) == [second.build_id]  # the old build is gone after the switch
    # A retriever opened before the re-index follows the pointer to the new build.
    assert "LFU evicts" in retriever.search("least frequently used eviction", k=1)[0].text


def test_lexical_index_follows_a_reindex(small: Settings) -> None:
    index_notes(small)
    retriever = Retriever(small)
    assert all(h.source != "queues.md" for h in retriever.search("zyzzyva backlog", k=10))
    (small.notes_dir / "queues.md").write_text(
        "---\ntitle: Queues\ntopics: [queue]\nsteps: [deep_dive]\n---\n"
        "## Zyzzyva\nThe zyzzyva consumer group drains the backlog.\n",
        encoding="utf-8",
    )
    report = index_notes(small)
    assert (report.embedded, report.reused) == (1, 6)
    # The same retriever rebuilds its BM25 side from the new build: the made-up word is found first.
    hit = retriever.search("zyzzyva backlog", k=1)[0]
    assert (hit.source, hit.heading) == ("queues.md", "Zyzzyva")
    assert retriever.search("zyzzyva", k=3, step="estimation")[0].source == "estimation.md"


def test_metadata_change_rebuilds_without_embedding(small: Settings) -> None:
    index_notes(small)
    note = small.notes_dir / "sharding.md"
    note.write_text(note.read_text().replace("steps: [deep_dive]", "steps: [deep_dive, wrap_up]"))
    report = index_notes(small)
    assert report.rebuilt and report.embedded == 0
    assert [h.source for h in Retriever(small).search("shard key", k=5, step="wrap_up")] == [
        "sharding.md"
    ] * 2


def test_deleted_note_chunks_are_removed(small: Settings) -> None:
    index_notes(small)
    (small.notes_dir / "sharding.md").unlink()
    report = index_notes(small)
    assert (report.notes, report.removed, report.embedded) == (2, 2, 0)
    assert "sharding.md" not in sources(small, "partition users by shard key")


def test_failed_build_leaves_the_old_index_queryable(
    small: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = index_notes(small)
    (small.notes_dir / "new.md").write_text("---\ntitle: New\n---\n## Queues\nKafka decouples services.\n")

    class Boom(RuntimeError):
        pass

    real_encoder = index_mod.get_encoder()

    class DyingEncoder:
        def encode(self, texts: list[str]) -> object:
            raise Boom("killed mid-build")

    monkeypatch.setattr(index_mod, "get_encoder", lambda: DyingEncoder())
    with pytest.raises(Boom):
        index_notes(small)
    pointer = json.loads((small.resolved_index_dir / POINTER_FILE).read_text())
    assert pointer["build_id"] == first.build_id
    assert builds(small) == [first.build_id]  # the half-written build was dropped
    assert sources(small, "when do cached items expire", k=1) == ["caching.md"]

    # A failure after the data is written but before the switch: same guarantee.
    monkeypatch.setattr(index_mod, "get_encoder", lambda: real_encoder)
    monkeypatch.setattr(
        LocalBackend, "switch", lambda self, pointer: (_ for _ in ()).throw(Boom("no switch"))
    )
    with pytest.raises(Boom):
        index_notes(small)
    assert json.loads((small.resolved_index_dir / POINTER_FILE).read_text())["build_id"] == first.build_id
    assert "new.md" not in sources(small, "kafka decouples services")

    monkeypatch.undo()
    report = index_notes(small)
    assert report.embedded == 1 and "new.md" in sources(small, "kafka decouples services", k=1)


@pytest.mark.slow
def test_sigkilled_build_leaves_the_old_index_queryable(small: Settings) -> None:
    """A real kill -9 midway through embedding: no cleanup code runs at all."""
    first = index_notes(small)
    (small.notes_dir / "new.md").write_text("---\ntitle: New\n---\n## Queues\nKafka decouples services.\n")
    script = textwrap.dedent(
        f"""
        import os, signal
        from app.retrieval import index as m
        from app.settings import get_settings

        class Killer:
            def encode(self, texts):
                os.kill(os.getpid(), signal.SIGKILL)

        m.get_encoder = lambda: Killer()
        settings = get_settings(
            data_dir={str(small.data_dir)!r}, knowledge_dir={str(small.knowledge_dir)!r}, _env_file=None
        )
        m.index_notes(settings)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, check=False)
    assert proc.returncode == -9, proc.stderr.decode()
    assert len(builds(small)) == 2  # the dead run's partial build is still on disk
    assert sources(small, "when do cached items expire", k=1) == ["caching.md"]
    report = index_notes(small)
    assert report.embedded == 1 and builds(small) == [report.build_id]  # leftovers cleaned up
    assert report.build_id != first.build_id


def test_missing_or_corrupt_index_is_a_clear_error(small: Settings) -> None:
    with pytest.raises(IndexUnavailableError, match="no study-notes index") as info:
        Retriever(small).search("cache")
    assert "sdmock index" in (info.value.hint or "")

    index_notes(small)
    pointer = small.resolved_index_dir / POINTER_FILE
    pointer.write_text("{not json")
    with pytest.raises(IndexUnavailableError, match="corrupt"):
        Retriever(small).search("cache")
    assert not index_exists(small)
    report = index_notes(small)  # a corrupt pointer is rebuilt from scratch
    assert report.embedded == 6 and Retriever(small).search("cache", k=1)

    build = small.resolved_index_dir / BUILDS_DIR / report.build_id
    (build / "chroma.sqlite3").write_bytes(b"garbage" * 100)
    with pytest.raises(IndexUnavailableError, match="sdmock index"):
        Retriever(small).search("cache")


def test_user_notes_are_registered_and_kept(small: Settings, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "bloom.md").write_text(
        "## Bloom filters\nA bloom filter answers maybe-in-set with no false negatives.\n"
    )
    (mine / "sub" / "notes.txt").write_text(
        "Heartbeats:\n\nClients ping every 5 seconds; missing 3 pings marks them offline.\n"
    )
    (mine / "latin1.txt").write_bytes("Caf\xe9 notes in Latin-1".encode("latin-1"))
    (mine / "diagram.png").write_bytes(b"\x89PNG\r\n")

    report = index_notes(small, extra=mine)
    assert sorted(report.user_notes_added) == ["bloom.md", "sub/notes.txt"]
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"latin1.txt", "diagram.png"}
    assert "latin1.txt" in reasons["latin1.txt"] and "not valid UTF-8" in reasons["latin1.txt"]
    assert "not a .md or .txt" in reasons["diagram.png"]
    assert report.notes == 5 and report.embedded == report.chunks
    assert (small.data_dir / "user-notes" / "sub" / "notes.txt").is_file()
    assert not (small.data_dir / "user-notes" / "latin1.txt").exists()

    hit = Retriever(small).search("how do we know a client went offline", k=1)[0]
    assert (hit.source, hit.heading, hit.title) == ("user-notes/sub/notes.txt", "Heartbeats", "Notes")

    # Later runs keep the user notes without --notes.
    again = index_notes(small)
    assert (again.notes, again.embedded, again.rebuilt) == (5, 0, False)

    single = tmp_path / "one.md"
    single.write_text("## Quorum\nW + R > N gives strong consistency.\n")
    assert index_notes(small, extra=single).user_notes_added == ["one.md"]

    with pytest.raises(KnowledgeError, match="no such file"):
        index_notes(small, extra=tmp_path / "missing")


def test_bad_knowledge_note_is_skipped_others_indexed(small: Settings) -> None:
    (small.notes_dir / "broken.md").write_text("---\ntitle: X\nsteps: [design]\n---\n## A\ntext\n")
    report = index_notes(small)
    assert report.notes == 3 and len(report.skipped) == 1
    assert "broken.md" in report.skipped[0].reason and "unknown step" in report.skipped[0].reason
    assert "1 file(s) skipped" in report.summary()


def test_index_dir_setting_is_honoured(tmp_path: Path) -> None:
    write_notes(tmp_path)
    settings = get_settings(
        data_dir=tmp_path / "data",
        knowledge_dir=tmp_path / "knowledge",
        index_dir=tmp_path / "elsewhere",
        _env_file=None,
    )
    report = index_notes(settings)
    assert report.location == str(tmp_path / "elsewhere")
    assert os.path.isfile(tmp_path / "elsewhere" / POINTER_FILE)
    assert not (tmp_path / "data" / "index").exists()
