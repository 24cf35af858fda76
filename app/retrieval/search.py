"""Search the study-notes index: `Retriever.search(query, k, step, topic) -> list[Hit]`.

Hybrid ranking on the one MiniLM embedder: the dense candidates from Chroma (cosine) and the lexical
candidates of a heading-aware BM25 over the same chunks (`app.retrieval.lexical`) are fused by
reciprocal rank fusion, `sum(1 / (RRF_K + rank))` over both lists, times a small prior that keeps a
note's introduction and its question lists from crowding out the section that answers. The step and
topic filters apply to both lists (a Chroma `where` on the dense side, the same test in Python on the
lexical side). The BM25 index is built in memory from the documents of the current build when that
build is opened, so it follows a re-index like the dense side does and nothing extra is stored.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from app.errors import IndexUnavailableError
from app.retrieval.backend import HINT, Backend, Pointer, open_backend
from app.retrieval.embeddings import MODEL_ID, MiniLMEmbeddings, get_encoder
from app.retrieval.lexical import BM25, chunk_prior, lexical_text, matches_filter
from app.retrieval.notes import STEPS
from app.settings import Settings

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection
    from langchain_chroma import Chroma
    from langchain_core.retrievers import BaseRetriever

_SERVER_POINTER_TTL_S = 2.0
"""How long a server-mode retriever trusts the pointer before asking again (saves a round trip)."""
RRF_K = 60
"""Reciprocal rank fusion constant: rank r in a list adds 1 / (RRF_K + r), r counted from 1."""
CANDIDATES = 50
"""How many candidates each of the dense and the lexical lists contributes (at least `k`)."""
_GET_BATCH = 1000


@dataclass(frozen=True)
class Hit:
    """One search result. `score` is the fused relevance, in (0, 1]: 1 is a chunk ranked first by both
    the dense and the lexical list (with no prior); hits come best first."""

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


@dataclass(frozen=True)
class Corpus:
    """The chunks of one build as the lexical side sees them: documents, metadata and a BM25 index."""

    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    bm25: BM25
    priors: list[float]
    positions: dict[str, int]

    @classmethod
    def load(cls, collection: Collection) -> Corpus:
        """Read every chunk of a build (in batches) and index it."""
        ids: list[str] = []
        documents: list[str] = []
        metadatas: list[dict[str, Any]] = []
        offset = 0
        while True:
            got = collection.get(include=["documents", "metadatas"], limit=_GET_BATCH, offset=offset)
            batch = got.get("ids") or []
            ids += batch
            documents += [d or "" for d in got.get("documents") or [""] * len(batch)]
            metadatas += [dict(m or {}) for m in got.get("metadatas") or [{}] * len(batch)]
            offset += len(batch)
            if len(batch) < _GET_BATCH:
                break
        texts = [
            lexical_text(str(m.get("title", "")), str(m.get("heading", "")), doc, m.get("topics") or ())
            for doc, m in zip(documents, metadatas, strict=True)
        ]
        priors = [
            chunk_prior(str(m.get("title", "")), str(m.get("heading", "")), doc)
            for doc, m in zip(documents, metadatas, strict=True)
        ]
        return cls(ids, documents, metadatas, BM25(texts), priors, {c: i for i, c in enumerate(ids)})


def fuse(ranked: list[list[int]], priors: list[float], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of ranked lists of positions: the best `k` as `(position, score)`,
    the score scaled to (0, 1] (1: first in every list, prior 1)."""
    scores: dict[int, float] = {}
    for ranking in ranked:
        for rank, i in enumerate(ranking, start=1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (RRF_K + rank)
    best = len(ranked) / (RRF_K + 1)
    fused = sorted(((i, priors[i] * s / best) for i, s in scores.items()), key=lambda x: (-x[1], x[0]))
    return fused[:k]


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
        self._corpus: Corpus | None = None

    @property
    def location(self) -> str:
        return self._backend.location

    def _current(self) -> tuple[Pointer, Collection]:
        pointer, collection, _ = self._current_build()
        return pointer, collection

    def _current_build(self) -> tuple[Pointer, Collection, Corpus]:
        """The current pointer, its collection and its lexical corpus (re-read after a re-index)."""
        with self._lock:
            token = self._backend.pointer_token()
            fresh = (
                self._collection is not None
                and token == self._token
                and (token is not None or time.monotonic() - self._checked_at < _SERVER_POINTER_TTL_S)
            )
            if (
                fresh
                and self._pointer is not None
                and self._collection is not None
                and self._corpus is not None
            ):
                return self._pointer, self._collection, self._corpus
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
                or self._corpus is None
            ):
                collection = self._backend.open_build(pointer)
                try:
                    corpus = Corpus.load(collection)
                except Exception as exc:
                    raise IndexUnavailableError(
                        f"Cannot read the index at {self.location}: {exc}", HINT
                    ) from exc
                self._collection, self._corpus = collection, corpus
                if self._pointer is not None and self._pointer.build_id != pointer.build_id:
                    self._backend.forget(self._pointer)
            self._pointer, self._token, self._checked_at = pointer, token, time.monotonic()
            return pointer, self._collection, self._corpus

    def search(self, query: str, k: int = 3, step: str | None = None, topic: str | None = None) -> list[Hit]:
        """The `k` chunks that best answer `query`, best first, optionally limited to a step and/or topic.

        Dense and lexical candidates (both filtered) are fused by reciprocal rank (module docstring).
        """
        where = build_where(step, topic)
        if not query.strip() or k <= 0:
            return []
        _, collection, corpus = self._current_build()
        allowed = [matches_filter(m, step, topic) for m in corpus.metadatas]
        available = sum(allowed)
        if not available:
            return []
        pool = min(available, max(k, CANDIDATES))
        vector = get_encoder().encode([query])
        try:
            result = collection.query(
                query_embeddings=vector, n_results=pool, where=where, include=["distances"]
            )
        except IndexUnavailableError:
            raise
        except Exception as exc:
            raise IndexUnavailableError(
                f"Searching the index at {self.location} failed: {exc}", HINT
            ) from exc
        dense = [corpus.positions[i] for i in (result.get("ids") or [[]])[0] if i in corpus.positions]
        lexical = corpus.bm25.rank(query, allowed, limit=pool)
        return [
            Hit.from_record(corpus.documents[i], corpus.metadatas[i], score)
            for i, score in fuse([dense, lexical], corpus.priors, k)
        ]

    def langchain_store(self) -> Chroma:
        """The current build as a `langchain_chroma.Chroma` vector store (with our embeddings): the dense
        half of `search` on its own (cosine scores, no lexical fusion)."""
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
    ) -> BaseRetriever:
        """A LangChain retriever running this hybrid search (follows a re-index, like `search`)."""
        from langchain_core.documents import Document
        from langchain_core.retrievers import BaseRetriever

        build_where(step, topic)  # an unknown step fails here, not on the first query
        retriever = self

        class HybridRetriever(BaseRetriever):
            def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
                return [
                    Document(
                        page_content=h.text,
                        metadata={
                            "source": h.source,
                            "title": h.title,
                            "heading": h.heading,
                            "topics": list(h.topics),
                            "steps": list(h.steps),
                            "score": h.score,
                        },
                    )
                    for h in retriever.search(query, k=k, step=step, topic=topic)
                ]

        return HybridRetriever()

    def close(self) -> None:
        with self._lock:
            self._collection = None
            self._corpus = None
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
