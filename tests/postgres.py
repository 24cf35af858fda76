"""A throwaway PostgreSQL server for tests: initdb into a temp folder, pg_ctl start on a free loopback port.

PostgreSQL refuses to run as root, so under root the data folder belongs to the `postgres` system user
(created by the Debian package) and the server runs through `runuser`. Tests skip with a clear reason
only when the server binaries are absent (CI installs them through .ci/system-deps.sh).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_FREE_PORT = (
    "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()"
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (found in a child process: sockets are disabled in tests)."""
    out = subprocess.run([sys.executable, "-c", _FREE_PORT], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def find_pg_bin() -> Path | None:
    """The bin folder of the newest installed PostgreSQL server, or None."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    return Path(found).parent if found and shutil.which("initdb") else None


@dataclass
class PostgresServer:
    """A running server; `url(db)` gives a SQLAlchemy URL for one of its databases."""

    bin_dir: Path
    root: Path
    port: int
    user: str
    run_as: list[str]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def create_database(self) -> str:
        """Create a fresh, empty database (through the Unix socket) and return its name."""
        name = "t_" + uuid.uuid4().hex[:12]
        cmd = [
            *self.run_as,
            str(self.bin_dir / "psql"),
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"CREATE DATABASE {name}",
        ]
        subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
        return name


def start_postgres() -> PostgresServer:
    """Start a server, or raise pytest.skip with the reason it cannot run here."""
    bin_dir = find_pg_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        pytest.skip(
            "PostgreSQL server binaries not found: apt-get install postgresql (see .ci/system-deps.sh)"
        )
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="sdmock-pg-"))
    if os.geteuid() == 0:
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port(), user="sdmock", run_as=run_as)
    init = subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(server.data_dir),
            "-U",
            server.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    opts = (
        f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c full_page_writes=off -c max_connections=50"
    )
    started = server.pg_ctl("-o", opts, "-l", str(root / "server.log"), "-w", "-t", "60", "start")
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{log}")
    return server


def stop_postgres(server: PostgresServer) -> None:
    """Stop the server and remove its folder."""
    server.pg_ctl("-m", "immediate", "-w", "stop")
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    server = start_postgres()
    try:
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, loopback: None) -> str:
    """A SQLAlchemy URL of a fresh, empty database on the test server (loopback sockets allowed)."""
    del loopback
    return postgres_server.url(postgres_server.create_database())
