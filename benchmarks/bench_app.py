"""Web app benchmark: cold start of `sdmock web` and the memory of the app process.

    .venv/bin/python -m benchmarks app

1. Cold start: `sdmock web` on a free loopback port with a fresh data folder; time until
   `/_stcore/health` answers, until the page HTML is served, and (with Debian's chromium under
   Playwright) until the start page has rendered in a real browser. Target: first render < 10 s.
2. Memory: VmRSS of the Streamlit process (read from /proc/PID/status) after start-up and after one
   interview of 8 candidate turns driven in the browser. Target: < 500 MB after one interview.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import write_results

ROOT = Path(__file__).resolve().parent.parent
CANDIDATE = ROOT / "tests" / "data" / "candidates" / "good.txt"
CHROMIUM = Path(os.environ.get("SDMOCK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
FIRST_RENDER_TARGET_S = 10.0
RSS_TARGET_MB = 500.0
TURNS = 8
TIMEOUT_MS = 90_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB, from /proc (no psutil needed); None when unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmRSS:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else None


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:  # loopback only
            return str(r.read().decode("utf-8", "replace"))
    except OSError:
        return None


def _wait(url: str, started: float, deadline_s: float = 120.0) -> float | None:
    while time.perf_counter() - started < deadline_s:
        if _get(url) is not None:
            return time.perf_counter() - started
        time.sleep(0.05)
    return None


def _browser_run(url: str, pid: int, messages: list[str]) -> dict[str, Any]:
    """First render and one interview in headless chromium; RSS of the server afterwards."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            t = time.perf_counter()
            page.goto(url)
            page.get_by_text("Mock system design interview").wait_for(timeout=TIMEOUT_MS)
            out["first_render_in_browser_s"] = time.perf_counter() - t
            page.get_by_role("button", name="Start interview").click()
            page.wait_for_url(re.compile(r".*page=interview.*"), timeout=TIMEOUT_MS)
            page.get_by_text("Design a URL shortener like TinyURL.").first.wait_for(timeout=TIMEOUT_MS)
            turns: list[float] = []
            for text in messages:
                before = page.get_by_test_id("stChatMessage").count()
                box = page.get_by_test_id("stChatInputTextArea")
                box.wait_for(timeout=TIMEOUT_MS)
                t = time.perf_counter()
                box.fill(text)
                box.press("Enter")
                count = "document.querySelectorAll('[data-testid=\"stChatMessage\"]').length"
                page.wait_for_function(f"() => {count} >= {before + 2}", timeout=TIMEOUT_MS)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
                )
                turns.append(time.perf_counter() - t)
            out["turns"] = len(turns)
            out["turn_round_trip_s_median"] = sorted(turns)[len(turns) // 2] if turns else None
            out["rss_after_interview_mb"] = rss_mb(pid)
        finally:
            browser.close()
    return out


def measure() -> dict[str, Any]:
    from app.cli.interview import read_candidate_file

    exe = Path(sys.executable).with_name("sdmock")
    port = free_port()
    results: dict[str, Any] = {"port": port, "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="sdmock-bench-app-") as tmp:
        env = {
            **os.environ,
            "SDMOCK_DATA_DIR": str(Path(tmp) / "data"),
            "SDMOCK_MODEL": "offline",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
        for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SDMOCK_DATABASE_URL", "SDMOCK_LOCAL_MODEL"):
            env.pop(var, None)
        log = Path(tmp) / "web.log"
        started = time.perf_counter()
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [str(exe), "web", "--port", str(port), "--host", "127.0.0.1"],
                env=env,
                cwd=str(ROOT),
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            results["health_s"] = _wait(f"{base}/_stcore/health", started)
            t = time.perf_counter()
            html = _get(f"{base}/")
            results["page_html_s"] = (results["health_s"] or 0) + (time.perf_counter() - t)
            results["page_html_bytes"] = len(html or "")
            time.sleep(0.5)
            results["rss_idle_mb"] = rss_mb(proc.pid)
            if CHROMIUM.exists():
                try:
                    messages = read_candidate_file(CANDIDATE)[:TURNS]
                    browser = _browser_run(base, proc.pid, messages)
                    results.update(browser)
                    results["first_render_s"] = (results["health_s"] or 0) + browser[
                        "first_render_in_browser_s"
                    ]
                except Exception as exc:  # the browser part is optional
                    results["browser_error"] = f"{type(exc).__name__}: {exc}"[:300]
            else:
                results["browser_error"] = f"{CHROMIUM} not found"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=15)
    results["targets"] = {
        "first_render_s": FIRST_RENDER_TARGET_S,
        "rss_after_interview_mb": RSS_TARGET_MB,
    }
    return results


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    r = measure()
    table = Table(
        title=f"Web app (sdmock web, offline voice; {r['cpus']} CPUs, load {r['load_average_1m']:.1f})"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")

    def s(v: Any, unit: str = "s") -> str:
        return "-" if v is None else f"{v:.2f} {unit}" if unit == "s" else f"{v:.0f} {unit}"

    table.add_row("cold start to /_stcore/health", s(r.get("health_s")), "")
    table.add_row("cold start to page HTML served", s(r.get("page_html_s")), "")
    table.add_row(
        "cold start to first render (chromium)",
        s(r.get("first_render_s")),
        f"< {FIRST_RENDER_TARGET_S:.0f} s",
    )
    table.add_row("RSS after start-up", s(r.get("rss_idle_mb"), "MB"), "")
    table.add_row(
        f"RSS after one interview ({r.get('turns', 0)} turns)",
        s(r.get("rss_after_interview_mb"), "MB"),
        f"< {RSS_TARGET_MB:.0f} MB",
    )
    table.add_row("turn round trip in the browser (median)", s(r.get("turn_round_trip_s_median")), "")
    console = Console()
    console.print(table)
    if r.get("browser_error"):
        console.print(f"browser part skipped: {r['browser_error']}", markup=False)
    console.print(f"results written to {write_results('app', r)}")


if __name__ == "__main__":
    main()
