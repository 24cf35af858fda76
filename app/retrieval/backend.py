"""Where the index lives, and how a finished build becomes the current one atomically.

Embedded mode (the default) keeps each build in its own folder and a small pointer file::

    <index_dir>/current.json        {"build_id": ..., "collection": ..., ...}   (switched with os.replace)
    <index_dir>/builds/<build_id>/  a Chroma PersistentClient folder

Client/server mode (`settings.chroma_host`) keeps each build in its own collection
`<collection>-build-<build_id>` and the pointer as one record of the `<collection>-pointer`
collection. Either way a reader sees the old build or the new one, never half of one, and a build
that dies midway leaves the previous index untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from app.errors import IndexUnavailableError
from app.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

POINTER_FILE = "current.json"
BUILDS_DIR = "builds"
LOCK_FILE = ".lock"
POINTER_RECORD = "current"
HINT = "run `sdmock index` to build it"


class ChromaServerUnreachableError(IndexUnavailableError):
    """The configured Chroma server does not answer."""


SERVER_HINT = "start it with `chroma run --path DIR --port N`, or unset SDMOCK_CHROMA_HOST"


@dataclass(frozen=True)
class Pointer:
    """Which build is current, and what it holds."""

    build_id: str
    collection: str
    model: str
    content_hash: str
    chunks: int
    created: str

    @classmethod
    def from_dict(cls, data: Any) -> Pointer:
        if not isinstance(data, dict):
            raise ValueError("not a mapping")
        return cls(
            build_id=str(data["build_id"]),
            collection=str(data["collection"]),
            model=str(data["model"]),
            content_hash=str(data["content_hash"]),
            chunks=int(data["chunks"]),
            created=str(data["created"]),
        )


def chroma_settings() -> Any:
    """Chroma client settings: telemetry off. A fresh object each time (clients mutate it)."""
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def chroma_embedding_function() -> Any:
    """Our registered embedding function, passed explicitly on every get/create (never the default).

    Typed `Any`: Chroma's protocol is generic over documents and images, ours embeds documents only.
    """
    from app.retrieval.embeddings import MiniLMEmbeddingFunction

    return MiniLMEmbeddingFunction()


def collection_configuration() -> dict[str, Any]:
    """Cosine space, so a hit's score is 1 - distance."""
    return {"hnsw": {"space": "cosine"}}


class Backend(Protocol):
    """One place an index can live."""

    location: str

    def read_pointer(self) -> Pointer | None:
        """The current build, `None` if there is none; `IndexUnavailableError` if unreadable."""
        ...

    def pointer_token(self) -> object:
        """A cheap value that changes whenever the pointer may have changed."""
        ...

    def open_build(self, pointer: Pointer) -> Collection:
        """Open the collection of an existing build."""
        ...

    def client_for(self, pointer: Pointer) -> ClientAPI:
        """The Chroma client holding a build (for `langchain_chroma.Chroma`)."""
        ...

    def create_build(self, build_id: str) -> tuple[Collection, str]:
        """Create an empty collection for a new build; returns it and its collection name."""
        ...

    def discard_build(self, build_id: str, collection: str) -> None:
        """Delete an unfinished build."""
        ...

    def forget(self, pointer: Pointer) -> None:
        """Release whatever this process holds open for a build that is no longer current."""
        ...

    def switch(self, pointer: Pointer) -> None:
        """Make `pointer` the current build, atomically."""
        ...

    def cleanup(self, keep: Pointer) -> None:
        """Delete every build except `keep` (old ones, and any left by killed runs)."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the single-writer lock."""
        ...

    def close(self) -> None:
        """Release clients."""
        ...


def open_backend(settings: Settings) -> Backend:
    """The backend the settings ask for: a Chroma server if `chroma_host` is set, else a folder."""
    if settings.chroma_host:
        return ServerBackend(settings.chroma_host, settings.chroma_port, settings.collection)
    return LocalBackend(settings.resolved_index_dir, settings.collection)


class LocalBackend:
    """Builds in folders under the index folder, a pointer file switched with `os.replace`."""

    def __init__(self, index_dir: Path, collection: str) -> None:
        self.index_dir = index_dir
        self.collection = collection
        self.location = str(index_dir)
        self._clients: dict[str, ClientAPI] = {}
        self._guard = threading.Lock()

    @property
    def pointer_path(self) -> Path:
        return self.index_dir / POINTER_FILE

    def build_dir(self, build_id: str) -> Path:
        return self.index_dir / BUILDS_DIR / build_id

    def read_pointer(self) -> Pointer | None:
        try:
            raw = self.pointer_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexUnavailableError(
                f"Cannot read the index pointer {self.pointer_path}: {exc}", HINT
            ) from exc
        try:
            return Pointer.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailableError(
                f"The index pointer {self.pointer_path} is corrupt ({exc})",
                "run `sdmock index` to rebuild it",
            ) from exc

    def pointer_token(self) -> object:
        try:
            st = self.pointer_path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _client(self, build_id: str, create: bool) -> ClientAPI:
        import chromadb

        path = self.build_dir(build_id)
        with self._guard:
            client = self._clients.get(build_id)
            if client is not None:
                return client
            if not create and not (path / "chroma.sqlite3").is_file():
                raise IndexUnavailableError(f"The index build {path} is missing or incomplete.", HINT)
            path.mkdir(parents=True, exist_ok=True)
            try:
                client = chromadb.PersistentClient(path=str(path), settings=chroma_settings())
            except Exception as exc:
                raise IndexUnavailableError(f"Cannot open the index at {path}: {exc}", HINT) from exc
            self._clients[build_id] = client
            return client

    def open_build(self, pointer: Pointer) -> Collection:
        client = self._client(pointer.build_id, create=False)
        try:
            return client.get_collection(pointer.collection, embedding_function=chroma_embedding_function())
        except Exception as exc:
            raise IndexUnavailableError(
                f"The index at {self.build_dir(pointer.build_id)} is corrupt or incomplete ({exc}).", HINT
            ) from exc

    def client_for(self, pointer: Pointer) -> ClientAPI:
        return self._client(pointer.build_id, create=False)

    def create_build(self, build_id: str) -> tuple[Collection, str]:
        client = self._client(build_id, create=True)
        collection = client.create_collection(
            self.collection,
            embedding_function=chroma_embedding_function(),
            configuration=collection_configuration(),  # type: ignore[arg-type]
        )
        return collection, self.collection

    def _release(self, build_id: str) -> None:
        with self._guard:
            client = self._clients.pop(build_id, None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()  # type: ignore[attr-defined]

    def forget(self, pointer: Pointer) -> None:
        self._release(pointer.build_id)

    def discard_build(self, build_id: str, collection: str) -> None:
        self._release(build_id)
        shutil.rmtree(self.build_dir(build_id), ignore_errors=True)

    def switch(self, pointer: Pointer) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".current-", suffix=".json", dir=self.index_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(pointer), fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; other readers need it
            os.replace(tmp, self.pointer_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def cleanup(self, keep: Pointer) -> None:
        builds = self.index_dir / BUILDS_DIR
        if not builds.is_dir():
            return
        for path in builds.iterdir():
            if path.name != keep.build_id:
                self._release(path.name)
                shutil.rmtree(path, ignore_errors=True)
        for tmp in self.index_dir.glob(".current-*.json"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / LOCK_FILE, "a+b") as fh:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no cross-process lock
                yield
                return
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        for build_id in list(self._clients):
            self._release(build_id)


class ServerBackend:
    """Builds as collections on a Chroma server; the pointer is a record in a small collection."""

    def __init__(self, host: str, port: int, collection: str) -> None:
        self.host = host
        self.port = port
        self.collection = collection
        self.location = f"http://{host}:{port} ({collection})"
        self._client_obj: ClientAPI | None = None
        self._guard = threading.Lock()

    @property
    def pointer_collection(self) -> str:
        return f"{self.collection}-pointer"

    @property
    def build_prefix(self) -> str:
        return f"{self.collection}-build-"

    def _client(self) -> ClientAPI:
        import chromadb

        with self._guard:
            if self._client_obj is None:
                try:
                    self._client_obj = chromadb.HttpClient(
                        host=self.host, port=self.port, settings=chroma_settings()
                    )
                except Exception as exc:
                    raise self._unreachable(exc) from exc
            return self._client_obj

    def _unreachable(self, exc: Exception) -> ChromaServerUnreachableError:
        return ChromaServerUnreachableError(
            f"Cannot reach the Chroma server at {self.host}:{self.port} ({exc}).", SERVER_HINT
        )

    def _pointer_coll(self, create: bool) -> Collection | None:
        client = self._client()
        ef = chroma_embedding_function()
        if create:
            return client.get_or_create_collection(self.pointer_collection, embedding_function=ef)
        try:
            return client.get_collection(self.pointer_collection, embedding_function=ef)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            if _is_connection_error(exc):
                raise self._unreachable(exc) from exc
            raise IndexUnavailableError(
                f"Cannot read the index pointer on {self.location}: {exc}", HINT
            ) from exc

    def read_pointer(self) -> Pointer | None:
        coll = self._pointer_coll(create=False)
        if coll is None:
            return None
        try:
            got = coll.get(ids=[POINTER_RECORD], include=["metadatas"])
        except Exception as exc:
            raise IndexUnavailableError(
                f"Cannot read the index pointer on {self.location}: {exc}", HINT
            ) from exc
        metas = got.get("metadatas") or []
        if not metas:
            return None
        try:
            return Pointer.from_dict(dict(metas[0] or {}))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailableError(
                f"The index pointer on {self.location} is corrupt ({exc})", HINT
            ) from exc

    def pointer_token(self) -> object:
        # No cheap change signal over HTTP; callers re-read on a short timer instead.
        return None

    def open_build(self, pointer: Pointer) -> Collection:
        try:
            return self._client().get_collection(
                pointer.collection, embedding_function=chroma_embedding_function()
            )
        except IndexUnavailableError:
            raise
        except Exception as exc:
            raise IndexUnavailableError(
                f"The index collection {pointer.collection} on {self.location} is missing ({exc}).", HINT
            ) from exc

    def client_for(self, pointer: Pointer) -> ClientAPI:
        return self._client()

    def create_build(self, build_id: str) -> tuple[Collection, str]:
        name = f"{self.build_prefix}{build_id}"
        collection = self._client().create_collection(
            name,
            embedding_function=chroma_embedding_function(),
            configuration=collection_configuration(),  # type: ignore[arg-type]
        )
        return collection, name

    def forget(self, pointer: Pointer) -> None:
        return  # one HTTP client serves every build

    def discard_build(self, build_id: str, collection: str) -> None:
        with contextlib.suppress(Exception):
            self._client().delete_collection(collection)

    def switch(self, pointer: Pointer) -> None:
        coll = self._pointer_coll(create=True)
        assert coll is not None
        # One upsert of one record: readers see the old pointer or the new one.
        coll.upsert(
            ids=[POINTER_RECORD], embeddings=np.ones((1, 1), dtype=np.float32), metadatas=[asdict(pointer)]
        )

    def cleanup(self, keep: Pointer) -> None:
        client = self._client()
        for coll in client.list_collections():
            if coll.name.startswith(self.build_prefix) and coll.name != keep.collection:
                with contextlib.suppress(Exception):
                    client.delete_collection(coll.name)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        # Chroma has no server-side lock; one writer at a time is the operator's job.
        with self._guard:
            pass
        yield

    def close(self) -> None:
        with self._guard:
            client, self._client_obj = self._client_obj, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()  # type: ignore[attr-defined]


def _is_not_found(exc: Exception) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) or "does not exist" in str(exc).lower()


def _is_connection_error(exc: Exception) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError | ConnectionError)
