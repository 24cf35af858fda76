"""Search the study-notes index: `Retriever.search(query, k, step, topic) -> list[Hit]`."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from app.errors import IndexUnavailableError
from app.retrieval.backend import HINT, Backend, Pointer, open_backend
from app.retrieval.embeddings import MODEL_ID, MiniLMEmbeddings, get_encoder
from app.retrieval.notes import STEPS
from app.settings import Settings

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection
    from langchain_chroma import Chroma
    from langchain_core.vectorstores import VectorStoreRetriever

_SERVER_POINTER_TTL_S = 2.0
"""How long a server-mode retriever trusts the pointer before asking again (saves a round trip)."""


@dataclass(frozen=True)
class Hit:
    """One search result. `score` is cosine similarity: higher is better, at most 1."""

    source: str
    heading: str
    text: str
    score: float
    title: str
    topics: tuple[str, ...]
    steps: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["topics"], data["steps"] = list(self.topics), list(self.steps)
        return data

    @classmethod
    def from_record(cls, text: str, metadata: Any, score: float) -> Hit:
        meta = dict(metadata or {})
        return cls(
            source=str(meta.get("source", "")),
            heading=str(meta.get("heading", "")),
            text=text,
            score=float(score),
            title=str(meta.get("title", "")),
            topics=tuple(meta.get("topics") or ()),
            steps=tuple(meta.get("steps") or ()),
        )


def build_where(step: str | None = None, topic: str | None = None) -> dict[str, Any] | None:
    """A Chroma `where` filter: steps and topics are string arrays matched with `$contains`."""
    clauses: list[dict[str, Any]] = []
    if step:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}: expected one of {', '.join(STEPS)}")
        clauses.append({"steps": {"$contains": step}})
    if topic and topic.strip():
        clauses.append({"topics": {"$contains": topic.strip().lower()}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever:
    """Query the current index build; follows a re-index (the pointer is re-checked on each search)."""

    def __init__(self, settings: Settings, backend: Backend | None = None) -> None:
        self.settings = settings
        self._backend = backend or open_backend(settings)
        self._lock = threading.Lock()
        self._token: object = object()
        self._checked_at = 0.0
        self._pointer: Pointer | None = None
        self._collection: Collection | None = None

    @property
    def location(self) -> str:
        return self._backend.location

    def _current(self) -> tuple[Pointer, Collection]:
        with self._lock:
            token = self._backend.pointer_token()
            fresh = (
                self._collection is not None
                and token == self._token
                and (token is not None or time.monotonic() - self._checked_at < _SERVER_POINTER_TTL_S)
            )
            if fresh and self._pointer is not None and self._collection is not None:
                return self._pointer, self._collection
            pointer = self._backend.read_pointer()
            if pointer is None:
                raise IndexUnavailableError(f"There is no study-notes index at {self.location}.", HINT)
            if pointer.model != MODEL_ID:
                raise IndexUnavailableError(
                    f"The index at {self.location} was built with {pointer.model}, not {MODEL_ID}.",
                    "run `sdmock index` to rebuild it",
                )
            if (
                self._pointer is None
                or pointer.build_id != self._pointer.build_id
                or self._collection is None
            ):
                self._collection = self._backend.open_build(pointer)
                if self._pointer is not None and self._pointer.build_id != pointer.build_id:
                    self._backend.forget(self._pointer)
            self._pointer, self._token, self._checked_at = pointer, token, time.monotonic()
            return pointer, self._collection

    def search(self, query: str, k: int = 3, step: str | None = None, topic: str | None = None) -> list[Hit]:
        """The `k` chunks closest to `query`, best first, optionally limited to a step and/or topic."""
        where = build_where(step, topic)
        if not query.strip() or k <= 0:
            return []
        _, collection = self._current()
        vector = get_encoder().encode([query])
        try:
            result = collection.query(
                query_embeddings=vector,
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        except IndexUnavailableError:
            raise
        except Exception as exc:
            raise IndexUnavailableError(
                f"Searching the index at {self.location} failed: {exc}", HINT
            ) from exc
        docs = (result.get("documents") or [[]])[0]
        metas = (result.get("metadatas") or [[]])[0]
        dists = (result.get("distances") or [[]])[0]
        return [
            Hit.from_record(doc or "", meta, 1.0 - float(dist))
            for doc, meta, dist in zip(docs, metas, dists, strict=True)
        ]

    def langchain_store(self) -> Chroma:
        """The current build as a `langchain_chroma.Chroma` vector store (with our embeddings)."""
        from langchain_chroma import Chroma

        pointer, _ = self._current()
        return Chroma(
            client=self._backend.client_for(pointer),
            collection_name=pointer.collection,
            embedding_function=MiniLMEmbeddings(),
            create_collection_if_not_exists=False,
        )

    def as_langchain_retriever(
        self, k: int = 3, step: str | None = None, topic: str | None = None
    ) -> VectorStoreRetriever:
        """A LangChain retriever over the current build (bound to it: make a new one after re-indexing)."""
        search_kwargs: dict[str, Any] = {"k": k}
        where = build_where(step, topic)
        if where:
            search_kwargs["filter"] = where
        return self.langchain_store().as_retriever(search_type="similarity", search_kwargs=search_kwargs)

    def close(self) -> None:
        with self._lock:
            self._collection = None
            self._pointer = None
            self._backend.close()


_retrievers: dict[tuple[str, str], Retriever] = {}
_retrievers_lock = threading.Lock()


def _cache_key(settings: Settings) -> tuple[str, str]:
    if settings.chroma_host:
        return f"http://{settings.chroma_host}:{settings.chroma_port}", settings.collection
    return str(settings.resolved_index_dir.resolve()), settings.collection


def get_retriever(settings: Settings) -> Retriever:
    """One `Retriever` per index location, shared by the whole process."""
    key = _cache_key(settings)
    with _retrievers_lock:
        retriever = _retrievers.get(key)
        if retriever is None:
            retriever = _retrievers[key] = Retriever(settings)
        return retriever


def clear_retrievers() -> None:
    """Close and forget the cached retrievers (tests, and after deleting an index)."""
    with _retrievers_lock:
        for retriever in _retrievers.values():
            retriever.close()
        _retrievers.clear()
