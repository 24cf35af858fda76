"""Shared fixtures. The default run never touches the network or the user's files.

pytest-socket disables sockets for every test (see pyproject addopts); tests that talk to a real
server on loopback use the `loopback` fixture, which re-enables connections to 127.0.0.1 only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import postgres_server, postgres_url  # noqa: F401  (a throwaway PostgreSQL server)
from pytest_socket import enable_socket, socket_allow_hosts

from app.settings import REPO_ROOT, Settings, get_settings

# No test may read a developer's keys or talk to their servers.
for _var in (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SDMOCK_MODEL",
    "SDMOCK_LOCAL_MODEL",
    "SDMOCK_DATABASE_URL",
):
    os.environ.pop(_var, None)
# Tests that script a fake model's replies count its calls; the model reader would add one per message.
# Those that test the model reader itself set reader="model" (or build a ModelReader) explicitly.
os.environ["SDMOCK_READER"] = "offline"


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Settings whose data folder is a temporary directory; knowledge comes from the repo."""
    return get_settings(data_dir=tmp_path / "data", knowledge_dir=REPO_ROOT / "knowledge", _env_file=None)


@pytest.fixture
def loopback() -> Iterator[None]:
    """Allow sockets to 127.0.0.1 only, for tests against a real server started on loopback."""
    enable_socket()
    socket_allow_hosts(["127.0.0.1", "localhost", "::1"], allow_unix_socket=True)
    yield


@pytest.fixture(scope="session")
def notes_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a real index of knowledge/notes, built once per test session (~10-30 s)."""
    from app.retrieval.index import index_notes

    data_dir = tmp_path_factory.mktemp("notes-index") / "data"
    settings = get_settings(data_dir=data_dir, knowledge_dir=REPO_ROOT / "knowledge", _env_file=None)
    index_notes(settings)
    return settings
