"""Build the study-notes index: incremental by content hash, switched in atomically.

`index_notes` reads every knowledge note and every registered user note, splits them into chunks
whose ids are content hashes, embeds only the chunks the current build does not already hold
(reusing its stored vectors for the rest), writes a complete new build and only then points the
index at it. Unchanged notes make no new build at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import IndexUnavailableError, KnowledgeError
from app.retrieval.backend import Backend, ChromaServerUnreachableError, Pointer, open_backend
from app.retrieval.embeddings import BATCH_SIZE, MODEL_ID, get_encoder
from app.retrieval.notes import NOTE_SUFFIXES, Chunk, SkippedFile, load_chunks, note_files, read_note
from app.settings import Settings

ProgressFn = Callable[[int, int], None]
"""Called as `progress(done, total)` while chunks are embedded."""

USER_NOTES_DIR = "user-notes"
_WRITE_BATCH = 1000


@dataclass
class IndexReport:
    """What one `index_notes` run did."""

    notes: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0
    build_id: str = ""
    location: str = ""
    rebuilt: bool = False
    """A new build was written and switched in (False when the index was already up to date)."""
    user_notes_added: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.rebuilt

    def summary(self) -> str:
        """One line for the CLI."""
        base = f"{self.notes} notes, {self.chunks} chunks"
        if self.up_to_date:
            line = f"0 chunks embedded: index up to date ({base})"
        else:
            line = (
                f"{self.embedded} chunks embedded, {self.reused} reused, {self.removed} removed ({base}) "
                f"in {self.seconds:.1f} s"
            )
        if self.skipped:
            line += f"; {len(self.skipped)} file(s) skipped"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "notes": self.notes,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "reused": self.reused,
            "removed": self.removed,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
            "build_id": self.build_id,
            "location": self.location,
            "up_to_date": self.up_to_date,
            "user_notes_added": self.user_notes_added,
        }


def user_notes_dir(settings: Settings) -> Path:
    """Where notes added with `--notes` are kept so later re-indexes include them."""
    return settings.data_dir / USER_NOTES_DIR


def register_user_notes(settings: Settings, path: Path) -> tuple[list[str], list[SkippedFile]]:
    """Copy valid `.md`/`.txt` notes from a file or folder into the user-notes folder.

    Invalid files are reported and not copied; a missing path is an error.
    """
    path = path.expanduser()
    if not path.exists():
        raise KnowledgeError(f"{path}: no such file or folder", "pass a .md/.txt note or a folder of them")
    target = user_notes_dir(settings)
    if path.is_dir():
        candidates = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        base = path
    else:
        candidates, base = [path], path.parent
    added: list[str] = []
    skipped: list[SkippedFile] = []
    for src in candidates:
        if src.suffix.lower() not in NOTE_SUFFIXES:
            skipped.append(SkippedFile(str(src), f"{src}: not a .md or .txt note"))
            continue
        rel = src.relative_to(base)
        try:
            read_note(src, f"{USER_NOTES_DIR}/{rel.as_posix()}")
        except KnowledgeError as exc:
            skipped.append(SkippedFile(str(src), str(exc)))
            continue
        dest = target / rel
        if dest.resolve() != src.resolve():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        added.append(rel.as_posix())
    return added, skipped


def collect_note_files(settings: Settings) -> list[tuple[Path, str]]:
    """`(path, source)` of every note to index: knowledge notes, then user notes."""
    files = [(p, p.relative_to(settings.notes_dir).as_posix()) for p in note_files(settings.notes_dir)]
    user_dir = user_notes_dir(settings)
    files += [(p, f"{USER_NOTES_DIR}/{p.relative_to(user_dir).as_posix()}") for p in note_files(user_dir)]
    return files


def content_hash(chunks: list[Chunk]) -> str:
    """Hash of everything a build holds: chunk ids, their metadata and the embedding model."""
    h = hashlib.sha256(MODEL_ID.encode())
    for chunk in sorted(chunks, key=lambda c: c.id):
        h.update(chunk.id.encode())
        h.update(json.dumps(chunk.metadata(), sort_keys=True).encode())
    return h.hexdigest()


def index_exists(settings: Settings) -> bool:
    """True if a current build exists and opens."""
    backend = open_backend(settings)
    try:
        pointer = backend.read_pointer()
        if pointer is None:
            return False
        backend.open_build(pointer)
        return True
    except IndexUnavailableError:
        return False
    finally:
        backend.close()


def index_notes(
    settings: Settings, extra: Path | None = None, progress: ProgressFn | None = None
) -> IndexReport:
    """Index all notes (plus `extra`, a note file or folder to register first); return what happened."""
    started = time.perf_counter()
    report = IndexReport()
    if extra is not None:
        report.user_notes_added, report.skipped = register_user_notes(settings, extra)

    notes, chunks, bad = load_chunks(collect_note_files(settings))
    report.skipped += bad
    report.notes, report.chunks = len(notes), len(chunks)
    new_hash = content_hash(chunks)

    backend = open_backend(settings)
    report.location = backend.location
    try:
        with backend.lock():
            _build(backend, chunks, new_hash, report, progress)
    finally:
        backend.close()
    report.seconds = time.perf_counter() - started
    return report


def _current(backend: Backend) -> tuple[Pointer | None, Any]:
    """The current pointer and collection, or `(None, None)` if missing or unusable."""
    try:
        pointer = backend.read_pointer()
        if pointer is None:
            return None, None
        return pointer, backend.open_build(pointer)
    except ChromaServerUnreachableError:
        raise
    except IndexUnavailableError:
        # Missing or corrupt: rebuild from scratch rather than fail.
        return None, None


def _build(
    backend: Backend, chunks: list[Chunk], new_hash: str, report: IndexReport, progress: ProgressFn | None
) -> None:
    pointer, current = _current(backend)
    old_ids: set[str] = set()
    if current is not None and pointer is not None and pointer.model == MODEL_ID:
        try:
            old_ids = set(current.get(include=[])["ids"])
        except Exception:
            pointer, current, old_ids = None, None, set()
    new_ids = {c.id for c in chunks}
    reuse_ids = sorted(new_ids & old_ids)
    report.removed = len(old_ids - new_ids)

    if pointer is not None and pointer.content_hash == new_hash and len(old_ids) == len(chunks):
        report.reused, report.build_id = len(chunks), pointer.build_id
        backend.cleanup(pointer)
        if progress:
            progress(0, 0)
        return

    vectors: dict[str, Any] = {}
    if reuse_ids:
        for start in range(0, len(reuse_ids), _WRITE_BATCH):
            got = current.get(ids=reuse_ids[start : start + _WRITE_BATCH], include=["embeddings"])
            vectors.update(zip(got["ids"], got["embeddings"], strict=True))
    report.reused = len(vectors)

    build_id = f"{datetime.now(UTC):%Y%m%dt%H%M%S}-{uuid.uuid4().hex[:8]}"
    collection, name = backend.create_build(build_id)
    try:
        # Similar lengths batched together: less padding to compute.
        todo = sorted((c for c in chunks if c.id not in vectors), key=lambda c: len(c.embed_text))
        encoder = get_encoder()
        if progress:
            progress(0, len(todo))
        step = BATCH_SIZE * 2
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            for chunk, vec in zip(batch, encoder.encode([c.embed_text for c in batch]), strict=True):
                vectors[chunk.id] = vec
            report.embedded += len(batch)
            if progress:
                progress(report.embedded, len(todo))
        for start in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[start : start + _WRITE_BATCH]
            collection.add(
                ids=[c.id for c in batch],
                embeddings=np.asarray([vectors[c.id] for c in batch], dtype=np.float32),
                documents=[c.text for c in batch],
                metadatas=[c.metadata() for c in batch],
            )
        if collection.count() != len(chunks):
            raise IndexUnavailableError(
                f"The new index build holds {collection.count()} of {len(chunks)} chunks."
            )
        new_pointer = Pointer(
            build_id=build_id,
            collection=name,
            model=MODEL_ID,
            content_hash=new_hash,
            chunks=len(chunks),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        backend.switch(new_pointer)
    except BaseException:
        # The old build stays current; drop the half-written one.
        backend.discard_build(build_id, name)
        raise
    report.build_id, report.rebuilt = build_id, True
    backend.cleanup(new_pointer)
