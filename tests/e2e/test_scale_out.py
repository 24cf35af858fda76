"""Scale-out end to end: two app processes behind nginx, one PostgreSQL, one Chroma server.

The whole deployment is started by the team launcher (deploy/team.py, what deploy/run-team.sh runs):
`chroma run`, the one-shot `sdmock index` job, two `sdmock web` processes and nginx in the foreground,
all on 127.0.0.1. A candidate interviews in a real browser (Debian chromium) through nginx; the app
process that served them is SIGKILLed; after a reload the interview continues on the other process at
the same turn and phase, with every acknowledged turn on the page and in the database.

To keep CI fast the index holds 4 notes (url-shortening, caching, unique-id-generation,
four-step-framework: about 30 chunks, a few seconds), not all of knowledge/notes (about a minute).
Screenshots: test-artifacts/scale-out-*.png.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_support import free_port
from postgres import PostgresServer

from app.interview.phases import Phase
from app.settings import REPO_ROOT
from app.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.loopback]

TIMEOUT_MS = 90_000
NOTES = ("url-shortening.md", "caching.md", "unique-id-generation.md", "four-step-framework.md")
LAUNCHER = REPO_ROOT / "deploy" / "team.py"
FACT_DAY = "About 100 million new short URLs are created per day."
FACT_RATIO = "read:write is about 10:1"
FACT_KEEP = "Keep every mapping for 10 years"


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if Path(found).exists() else None


@dataclass
class Team:
    """The launcher process and what it reports in team.json."""

    proc: subprocess.Popen[bytes]
    prefix: Path
    output: Path
    database_url: str

    def state(self) -> dict[str, Any]:
        path = self.prefix / "team.json"
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def url(self) -> str:
        return str(self.state()["url"])

    def app_pid(self, port: int) -> int:
        return next(int(a["pid"]) for a in self.state()["apps"] if a["port"] == port)

    def access_log(self) -> str:
        log = self.prefix / "logs" / "access.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def describe(self) -> str:
        out = self.output.read_text(errors="replace") if self.output.exists() else ""
        return f"launcher output:\n{out}\nteam.json: {self.state()}"


def _knowledge(root: Path) -> Path:
    """A knowledge folder with the real problems and rubric and a few of the real notes."""
    (root / "notes").mkdir(parents=True)
    for name in NOTES:
        shutil.copyfile(REPO_ROOT / "knowledge" / "notes" / name, root / "notes" / name)
    (root / "problems").symlink_to(REPO_ROOT / "knowledge" / "problems")
    (root / "rubric.yaml").symlink_to(REPO_ROOT / "knowledge" / "rubric.yaml")
    return root


def _wait(condition: Any, timeout_s: float, what: str, team: Team | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if team is not None and team.proc.poll() is not None:
            pytest.fail(f"the launcher exited ({team.proc.returncode}) while waiting for {what}\n"
                        f"{team.describe()}")  # fmt: skip
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{team.describe() if team else ''}")


@pytest.fixture
def team(postgres_server: PostgresServer, loopback: None, tmp_path: Path) -> Iterator[Team]:
    """deploy/team.py running two app processes behind nginx (torn down with SIGTERM, like Ctrl-C)."""
    del loopback
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx not found: apt-get install nginx (see .ci/system-deps.sh)")
    database_url = postgres_server.url(postgres_server.create_database())
    prefix = tmp_path / "team"
    env = {
        **os.environ,
        "SDMOCK_DATABASE_URL": database_url,
        "SDMOCK_KNOWLEDGE_DIR": str(_knowledge(tmp_path / "knowledge")),
        "SDMOCK_DATA_DIR": str(tmp_path / "data"),
        "SDMOCK_MODEL": "offline",
        "SDMOCK_CHROMA_HOST": "127.0.0.1",
        "SDMOCK_CHROMA_PORT": str(free_port()),
        "SDMOCK_TEAM_PORT": str(free_port()),
        "SDMOCK_TEAM_APP_PORTS": f"{free_port()},{free_port()}",
        "SDMOCK_TEAM_DIR": str(prefix),
        "SDMOCK_NGINX": nginx,
    }
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SDMOCK_LOCAL_MODEL"):
        env.pop(var, None)
    output = tmp_path / "launcher.out"
    with output.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER)],
            env=env,
            cwd=str(REPO_ROOT),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Team(proc, prefix, output, database_url)
    try:
        _wait(lambda: running.state().get("ready"), 240, "the deployment to be ready", running)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # what Ctrl-C does: the launcher stops every child
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Anything the launcher left behind (it should leave nothing) goes with its process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


# --- page helpers -------------------------------------------------------------------------------------


def _wait_app(page: Any) -> None:
    """Wait until Streamlit has finished a run (no 'Running...' status widget)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
    )


def _send(page: Any, text: str, expect: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=TIMEOUT_MS)
    box.fill(text)
    box.press("Enter")
    page.get_by_text(expect).first.wait_for(timeout=TIMEOUT_MS)
    _wait_app(page)
    # The fact can show while the reply is still streaming (a trailing "▌" cursor): wait for the end,
    # so the snapshot holds exactly the acknowledged, stored turns.
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=\"stChatMessage\"]')]"
        ".some(m => m.innerText.includes('\u258c'))",
        timeout=TIMEOUT_MS,
    )


def _messages(page: Any) -> list[str]:
    return [m.inner_text() for m in page.get_by_test_id("stChatMessage").all()]


def _current_phase_box(page: Any) -> str:
    """The text of the phase tracker box marked '▶ now'."""
    box = page.get_by_test_id("stColumn").filter(has_text="▶ now").first
    box.wait_for(timeout=TIMEOUT_MS)
    return str(box.inner_text())


def _served_by(response: Any) -> int:
    """The app port that answered (X-Upstream lists every upstream nginx tried; the last answered)."""
    assert response is not None
    upstream = response.headers.get("x-upstream", "")
    assert upstream, f"no X-Upstream header: {response.headers}"
    return int(upstream.split(",")[-1].strip().rsplit(":", 1)[1])


def _stream_lines(log: str, port: int) -> list[str]:
    return [ln for ln in log.splitlines() if "/_stcore/stream" in ln and f"upstream=127.0.0.1:{port}" in ln]


# --- the test -----------------------------------------------------------------------------------------


def test_interview_survives_killing_its_app_process(browser: Any, team: Team, artifacts: Path) -> None:
    ports = [int(a["port"]) for a in team.state()["apps"]]
    assert len(ports) == 2
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    try:
        first = page.goto(team.url)
        served = _served_by(first)
        survivor = next(p for p in ports if p != served)
        page.get_by_text("Mock system design interview").wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Start interview").click()
        page.wait_for_url(re.compile(r".*page=interview.*id=[0-9a-f]{32}.*"), timeout=TIMEOUT_MS)
        page.get_by_text("Design a URL shortener like TinyURL.").first.wait_for(timeout=TIMEOUT_MS)
        match = re.search(r"id=([0-9a-f]{32})", page.url)
        assert match, page.url
        iid = match.group(1)

        _send(page, "marker-ONE: how many new URLs are created per day?", FACT_DAY)
        _send(page, "marker-TWO: what is the read to write ratio?", FACT_RATIO)
        before = _messages(page)
        assert len(before) == 5
        phase_box = _current_phase_box(page)
        page.screenshot(path=str(artifacts / "scale-out-1-before-kill.png"), full_page=True)

        store = Store(team.database_url, migrate=False)
        try:
            acked = [(t.seq, t.role, t.content) for t in store.turns(iid)]
            phase_before = store.get_interview(iid).phase
        finally:
            store.close()
        assert [r for _, r, _ in acked] == ["interviewer", "candidate"] * 2 + ["interviewer"]
        assert Phase(phase_before).label in phase_box

        # The websocket of this candidate is held by `served`; kill that process without warning.
        victim = team.app_pid(served)
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: not next(a for a in team.state()["apps"] if a["port"] == served)["alive"], 30,
              "the launcher to notice the killed app process", team)  # fmt: skip
        _wait(lambda: _stream_lines(team.access_log(), served), 30,
              "nginx to log the websocket that the killed process held", team)  # fmt: skip
        page.screenshot(path=str(artifacts / "scale-out-2-after-kill.png"), full_page=True)

        reloaded = page.reload()
        assert _served_by(reloaded) == survivor
        page.get_by_text(FACT_RATIO).first.wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        after = _messages(page)
        assert after == before, "the reloaded page must show exactly the acknowledged turns"
        assert Phase(phase_before).label in _current_phase_box(page)
        page.screenshot(path=str(artifacts / "scale-out-3-reloaded-on-survivor.png"), full_page=True)

        _send(page, "marker-THREE: how long do we keep the links?", FACT_KEEP)
        assert len(_messages(page)) == 7
        page.screenshot(path=str(artifacts / "scale-out-4-continued.png"), full_page=True)
    finally:
        context.close()

    # Everything after the kill went to the survivor; the killed process served nothing more.
    _wait(lambda: _stream_lines(team.access_log(), survivor), 30, "the survivor's websocket in the log", team)
    assert next(a for a in team.state()["apps"] if a["port"] == survivor)["alive"]

    store = Store(team.database_url, migrate=False)
    try:
        turns = store.turns(iid)
        record = store.get_interview(iid)
    finally:
        store.close()
    assert [(t.seq, t.role, t.content) for t in turns][: len(acked)] == acked
    assert [t.role for t in turns] == ["interviewer", "candidate"] * 3 + ["interviewer"]
    assert all(t.status == "complete" for t in turns)
    assert "marker-THREE" in turns[5].content and FACT_KEEP in turns[6].content
    assert record.status == "active" and record.phase == phase_before
