"""Real browser end to end: Debian chromium + Playwright against `streamlit run` on 127.0.0.1.

Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser_support import AppServer, start_app
from postgres import PostgresServer

from app.settings import get_settings
from app.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.loopback]

TIMEOUT_MS = 90_000


def _wait_app(page: Any) -> None:
    """Wait until Streamlit has finished a run (no 'Running...' status widget)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
    )


def _start_interview(page: Any, url: str) -> str:
    page.goto(url)
    page.get_by_text("Mock system design interview").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Start interview").click()
    page.wait_for_url(re.compile(r".*page=interview.*id=[0-9a-f]{32}.*"), timeout=TIMEOUT_MS)
    page.get_by_text("Design a URL shortener like TinyURL.").first.wait_for(timeout=TIMEOUT_MS)
    m = re.search(r"id=([0-9a-f]{32})", page.url)
    assert m, page.url
    return m.group(1)


def _send(page: Any, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=TIMEOUT_MS)
    box.fill(text)
    box.press("Enter")


def _messages(page: Any) -> list[str]:
    return [m.inner_text() for m in page.get_by_test_id("stChatMessage").all()]


def test_interview_in_a_real_browser(browser: Any, app_server: AppServer, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    try:
        iid = _start_interview(page, app_server.url)
        page.screenshot(path=str(artifacts / "e2e-01-interview-started.png"), full_page=True)

        _send(page, "How many new URLs are created per day?")
        page.get_by_text("About 100 million new short URLs are created per day.").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        page.screenshot(path=str(artifacts / "e2e-02-fact-released.png"), full_page=True)

        # Reload: the interview is read back from the database.
        page.reload()
        page.get_by_text("About 100 million new short URLs are created per day.").wait_for(timeout=TIMEOUT_MS)
        messages = _messages(page)
        assert any("How many new URLs are created per day?" in m for m in messages)
        assert len(messages) == 3

        page.get_by_role("button", name="Finish", exact=True).click()
        page.wait_for_url(re.compile(r".*page=report.*"), timeout=TIMEOUT_MS)
        page.get_by_text("Interview report: URL shortener").wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Six dimensions").wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Download Markdown").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        page.screenshot(path=str(artifacts / "e2e-03-report.png"), full_page=True)

        page.reload()
        page.get_by_text("Interview report: URL shortener").wait_for(timeout=TIMEOUT_MS)

        page.goto(f"{app_server.url}/?page=interview&id={iid}")
        page.get_by_text("About 100 million new short URLs are created per day.").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        messages = _messages(page)
        assert any("How many new URLs are created per day?" in m for m in messages)
        page.screenshot(path=str(artifacts / "e2e-04-reloaded-interview.png"), full_page=True)

        page.goto(f"{app_server.url}/?page=history")
        page.get_by_text("Trend per dimension").wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Weakest dimension").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        page.screenshot(path=str(artifacts / "e2e-08-history.png"), full_page=True)
    finally:
        context.close()

    store = Store.from_settings(get_settings(data_dir=app_server.data_dir, _env_file=None))
    assert store.get_interview(iid).status == "graded"
    assert [t.role for t in store.turns(iid)][:3] == ["interviewer", "candidate", "interviewer"]
    store.close()


def test_two_browser_contexts_and_a_server_restart(
    browser: Any, app_server: AppServer, artifacts: Path
) -> None:
    ctx_a = browser.new_context(viewport={"width": 1300, "height": 900})
    ctx_b = browser.new_context(viewport={"width": 1300, "height": 900})
    page_a, page_b = ctx_a.new_page(), ctx_b.new_page()
    server = app_server
    try:
        a = _start_interview(page_a, server.url)
        b = _start_interview(page_b, server.url)
        assert a != b
        _send(page_a, "marker-ALPHA: how many URLs per day?")
        _send(page_b, "marker-BRAVO: how long do we keep the links?")
        page_a.get_by_text("About 100 million new short URLs").wait_for(timeout=TIMEOUT_MS)
        page_b.get_by_text("Keep every mapping for 10 years").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page_a)
        _wait_app(page_b)
        text_a, text_b = " ".join(_messages(page_a)), " ".join(_messages(page_b))
        assert "marker-ALPHA" in text_a and "marker-BRAVO" not in text_a
        assert "marker-BRAVO" in text_b and "marker-ALPHA" not in text_b
        page_a.screenshot(path=str(artifacts / "e2e-05-context-a.png"), full_page=True)
        page_b.screenshot(path=str(artifacts / "e2e-06-context-b.png"), full_page=True)

        # Kill the server hard and start a new one on the same port and database.
        server.kill()
        restarted = start_app(server.data_dir, port=server.port)
        try:
            pairs = ((page_a, "marker-ALPHA", "marker-BRAVO"), (page_b, "marker-BRAVO", "marker-ALPHA"))
            for page, mine, other in pairs:
                page.reload()
                page.get_by_text(mine).wait_for(timeout=TIMEOUT_MS)
                _wait_app(page)
                text = " ".join(_messages(page))
                assert other not in text and len(_messages(page)) == 3
            _send(page_a, "marker-CHARLIE: what is the read to write ratio?")
            page_a.get_by_text("read:write is about 10:1").wait_for(timeout=TIMEOUT_MS)
            _wait_app(page_a)
            page_a.screenshot(path=str(artifacts / "e2e-07-after-restart.png"), full_page=True)
            assert "marker-CHARLIE" not in " ".join(_messages(page_b))
        finally:
            restarted.stop()
    finally:
        ctx_a.close()
        ctx_b.close()


def test_two_app_processes_serve_one_interview_from_postgres(
    browser: Any, postgres_server: PostgresServer, loopback: None, tmp_path: Path, artifacts: Path
) -> None:
    """Any app process can serve any interview: two servers share one PostgreSQL database."""
    del loopback
    url = postgres_server.url(postgres_server.create_database())
    one = start_app(tmp_path / "one", extra_env={"SDMOCK_DATABASE_URL": url})
    two = start_app(tmp_path / "two", extra_env={"SDMOCK_DATABASE_URL": url})
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    try:
        iid = _start_interview(page, one.url)
        _send(page, "How many new URLs are created per day?")
        page.get_by_text("About 100 million new short URLs").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)

        page.goto(f"{two.url}/?page=interview&id={iid}")
        page.get_by_text("About 100 million new short URLs").wait_for(timeout=TIMEOUT_MS)
        _send(page, "What is the read to write ratio?")
        page.get_by_text("read:write is about 10:1").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        page.screenshot(path=str(artifacts / "e2e-09-second-process-postgres.png"), full_page=True)

        page.goto(f"{one.url}/?page=interview&id={iid}")
        page.get_by_text("read:write is about 10:1").wait_for(timeout=TIMEOUT_MS)
        _wait_app(page)
        assert len(_messages(page)) == 5
    finally:
        context.close()
        one.stop()
        two.stop()
    store = Store(url)
    roles = [t.role for t in store.turns(iid)]
    assert roles == ["interviewer", "candidate", "interviewer", "candidate", "interviewer"]
    store.close()
