"""The offline MiniLM embedder, its Chroma embedding function and its LangChain wrapper."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from app.errors import ConfigError
from app.retrieval.embeddings import (
    DIMENSIONS,
    EMBEDDING_FUNCTION_NAME,
    TOKENIZER_PATH,
    TOKENIZER_SHA256,
    MiniLMEmbeddingFunction,
    MiniLMEmbeddings,
    MiniLMEncoder,
    get_encoder,
    model_path,
)


def test_tokenizer_file_is_the_pinned_one() -> None:
    assert hashlib.sha256(TOKENIZER_PATH.read_bytes()).hexdigest() == TOKENIZER_SHA256
    notice = (TOKENIZER_PATH.parent / "NOTICE.md").read_text(encoding="utf-8")
    assert TOKENIZER_SHA256 in notice and "Apache-2.0" in notice


def test_model_comes_from_the_installed_package() -> None:
    path = model_path()
    assert path.name == "model.onnx" and path.stat().st_size > 20_000_000


def test_vectors_have_the_right_shape_and_unit_length() -> None:
    vecs = get_encoder().encode(["a cache keeps hot data in memory", "", "x" * 5000])
    assert vecs.shape == (3, DIMENSIONS) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vecs).all()


def test_similar_sentences_score_higher_than_unrelated_ones() -> None:
    q, near, far = get_encoder().encode(
        [
            "how should cached entries expire",
            "set a time-to-live on each cache key so stale items are removed",
            "split the user table across database shards by user id",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_order_and_batching_do_not_change_vectors() -> None:
    texts = [f"sentence number {i} about {'queues' if i % 2 else 'caches'}" * (1 + i % 5) for i in range(40)]
    enc = get_encoder()
    together = enc.encode(texts, batch_size=16)
    alone = np.stack([enc.encode([t])[0] for t in texts[:5]])
    np.testing.assert_allclose(together[:5], alone, atol=1e-4)
    assert enc.encode([]).shape == (0, DIMENSIONS)


def test_a_tampered_tokenizer_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_bytes(TOKENIZER_PATH.read_bytes().replace(b"[UNK]", b"[UNX]", 1))
    with pytest.raises(ConfigError, match="sha256") as info:
        MiniLMEncoder(tokenizer_path=bad)
    assert "NOTICE.md" in (info.value.hint or "")


def test_chroma_embedding_function_protocol() -> None:
    ef = MiniLMEmbeddingFunction()
    assert MiniLMEmbeddingFunction.name() == EMBEDDING_FUNCTION_NAME
    assert ef.default_space() == "cosine"
    assert not ef.is_legacy()
    rebuilt = MiniLMEmbeddingFunction.build_from_config(ef.get_config())
    assert isinstance(rebuilt, MiniLMEmbeddingFunction) and rebuilt == ef
    with pytest.raises(ValueError, match="only runs"):
        MiniLMEmbeddingFunction.build_from_config({"model": "something-else"})
    out = ef(["one", "two"])
    assert len(out) == 2 and len(out[0]) == DIMENSIONS

    from chromadb.utils.embedding_functions import known_embedding_functions

    assert known_embedding_functions[EMBEDDING_FUNCTION_NAME] is MiniLMEmbeddingFunction


def test_reopened_collection_uses_our_function_offline(tmp_path: Path) -> None:
    """Sockets are disabled: Chroma's downloading default would fail here."""
    import chromadb

    from app.retrieval.backend import chroma_settings

    path = str(tmp_path / "chroma")
    with cast(Any, chromadb.PersistentClient(path=path, settings=chroma_settings())) as client:
        coll = client.create_collection(
            "notes", embedding_function=MiniLMEmbeddingFunction(), configuration={"hnsw": {"space": "cosine"}}
        )
        coll.add(
            ids=["ttl", "shard"],
            documents=["cache entries expire after a time-to-live", "shard the database by user id"],
        )

    # A new client, and no embedding function passed: the persisted config must resolve to ours.
    with cast(Any, chromadb.PersistentClient(path=path, settings=chroma_settings())) as client:
        coll = client.get_collection("notes")
        assert isinstance(coll.configuration.get("embedding_function"), MiniLMEmbeddingFunction)
        result = coll.query(query_texts=["when do cached items expire"], n_results=1)
        assert result["ids"] == [["ttl"]]
        explicit = client.get_collection("notes", embedding_function=MiniLMEmbeddingFunction())
        assert explicit.query(query_texts=["partition users across databases"], n_results=1)["ids"] == [
            ["shard"]
        ]


def test_langchain_embeddings_match_the_encoder() -> None:
    emb = MiniLMEmbeddings()
    docs = emb.embed_documents(["a", "load balancer health checks"])
    query = emb.embed_query("load balancer health checks")
    assert len(docs) == 2 and all(len(d) == DIMENSIONS for d in docs)
    assert isinstance(query[0], float)
    np.testing.assert_allclose(docs[1], query, atol=1e-5)
