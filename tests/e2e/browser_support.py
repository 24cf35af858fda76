"""Helpers for the real-browser tests: the app under `streamlit run` on a free loopback port, and
Debian's chromium driven by Playwright (never `playwright install`: it downloads a browser).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.settings import REPO_ROOT

CHROMIUM = Path(os.environ.get("SDMOCK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"

_FREE_PORT = (
    "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); s.close()"
)
_HEALTH = (
    "import sys, urllib.request\n"
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())\n"
    "except Exception as e:\n"
    "    print('down', e); sys.exit(1)\n"
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (asked of a child process: sockets are disabled in tests)."""
    out = subprocess.run([sys.executable, "-c", _FREE_PORT], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@dataclass
class AppServer:
    """A running `streamlit run app/ui/main.py`."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL the server (no clean shutdown)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_app(data_dir: Path, port: int | None = None, extra_env: dict[str, str] | None = None) -> AppServer:
    """Start the app with its data under data_dir; wait until /_stcore/health answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"streamlit-{port}.log"
    env = {
        **os.environ,
        "SDMOCK_DATA_DIR": str(data_dir),
        "SDMOCK_MODEL": "offline",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(extra_env or {}),
    }
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SDMOCK_DATABASE_URL", "SDMOCK_LOCAL_MODEL"):
        if var not in (extra_env or {}):
            env.pop(var, None)
    from app.cli.web import streamlit_command

    with log.open("wb") as fh:
        proc = subprocess.Popen(
            streamlit_command(port, "127.0.0.1"),
            cwd=str(REPO_ROOT),
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AppServer(proc=proc, port=port, data_dir=data_dir, log=log, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')}")
        ok = subprocess.run(
            [sys.executable, "-c", _HEALTH, f"{server.url}/_stcore/health"], capture_output=True, text=True
        )
        if ok.returncode == 0 and "ok" in ok.stdout:
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text(errors='replace')}")
