"""Many sessions at once in one app process on one SQLite database: no leaks, no "database is locked".

Each simulated user is a thread driving its own interview through app/ui/flow.py (what the web pages
call), with the LLM voice on a fake server on loopback that echoes every session marker it finds in the
prompt it was sent. A session whose prompt held someone else's text would get that marker back in its
reply, so a leak anywhere (prompt building, shared voice state, the store) shows up in the transcript.

CI runs CONCURRENT_SESSIONS (20); `python -m benchmarks.bench_concurrency` runs the full 50.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply

from app.errors import SdmockError
from app.store import Store
from app.ui import flow
from app.ui.context import AppContext

pytestmark = [pytest.mark.loopback, pytest.mark.slow]

CONCURRENT_SESSIONS = int(os.environ.get("SDMOCK_CONCURRENT_SESSIONS", "20"))
MESSAGES = 4
MARK_RE = re.compile(r"SESSION-[0-9a-f]{8}")


class EchoServer(FakeOpenAIServer):
    """Answers every request with the session markers found in what it was sent."""

    def __init__(self) -> None:
        super().__init__()
        # 50 users connect at once: the default listen backlog of 5 would drop connections (a limit of
        # this test server, not of the app).
        self._httpd.socket.listen(256)

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        text = "\n".join(str(m.get("content", "")) for m in request.body.get("messages", []))
        seen = sorted(set(MARK_RE.findall(text)))
        return Reply(text=f"Heard {' '.join(seen) or 'nothing'}. What next?")


@dataclass
class SessionRun:
    marker: str
    interview_id: str | None = None
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def drive(ctx: AppContext, run: SessionRun, barrier: threading.Barrier) -> None:
    """One user: start, send MESSAGES messages (each answered), finish."""
    barrier.wait()
    t0 = time.monotonic()
    step = "start"
    try:
        iid = run.interview_id = flow.start_interview(ctx, "url-shortener", level="senior", minutes=45).id
        for i in range(MESSAGES):
            text = f"Message {i} from {run.marker}: how many URLs per day, and the read/write ratio?"
            step = f"submit {i}"
            turn = flow.submit(ctx, iid, text)
            run.sent.append(turn.content)
            step = f"reply {i}"
            stream = flow.begin(ctx, iid, "reply", turn.content)
            for _ in stream:
                pass
            step = f"commit {i}"
            stream.commit()
        step = "finish"
        stream = flow.begin(ctx, iid, "finish")
        list(stream)
        stream.commit()
        step = "finish_now"
        flow.finish_now(ctx, iid)
    except SdmockError as exc:
        run.errors.append(f"{type(exc).__name__} at {step} after {time.monotonic() - t0:.1f}s: {exc.message}")
    except Exception as exc:
        run.errors.append(f"unexpected {type(exc).__name__} at {step}: {exc}")
    finally:
        run.seconds = time.monotonic() - t0


def run_sessions(data_dir: Path, base_url: str, sessions: int) -> tuple[Store, list[SessionRun], float]:
    """Run `sessions` users at once against one Store; returns it (open) and the runs."""
    from app.settings import REPO_ROOT, get_settings

    settings = get_settings(
        data_dir=data_dir,
        knowledge_dir=REPO_ROOT / "knowledge",
        model="openai/gpt-4o-mini",
        openai_base_url=base_url,
        openai_api_key="sk-test",
        request_timeout_s=10.0,
        max_retries=2,
        turn_deadline_s=30.0,
        _env_file=None,
    )
    store = Store.from_settings(settings)
    ctx = AppContext(settings=settings, store=store)
    runs = [SessionRun(f"SESSION-{os.urandom(4).hex()}") for _ in range(sessions)]
    barrier = threading.Barrier(sessions)
    threads = [threading.Thread(target=drive, args=(ctx, r, barrier), name=r.marker) for r in runs]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return store, runs, time.monotonic() - t0


def check_sessions(store: Store, runs: list[SessionRun]) -> dict[str, Any]:
    """Leaks, lock errors and lost turns over every session's rows."""
    leaks: list[str] = []
    lost: list[str] = []
    fallbacks = 0
    for r in runs:
        if r.interview_id is None:
            continue
        turns = store.turns(r.interview_id)
        record = store.get_interview(r.interview_id)
        blobs = [t.content for t in turns] + [record.state, record.scratchpad]
        blobs += [str(n) for t in turns for n in t.notes]
        for blob in blobs:
            others = set(MARK_RE.findall(blob)) - {r.marker}
            if others:
                leaks.append(f"{r.marker} holds {sorted(others)}")
        candidate = [t.content for t in turns if t.role == "candidate"]
        if candidate != r.sent:
            lost.append(f"{r.marker}: candidate turns {len(candidate)} vs sent {len(r.sent)}")
        replies = [t.content for t in turns if t.role == "interviewer"]
        if len(replies) != len(r.sent) + 2 or any(r.marker not in x for x in replies[1:-1]):
            lost.append(f"{r.marker}: replies do not answer this session's messages")
        fallbacks += sum(1 for x in replies if not x.startswith("Heard "))
        if record.status != "finished":
            lost.append(f"{r.marker}: status {record.status}")
    errors = [e for r in runs for e in r.errors]
    return {
        "sessions": len(runs),
        "started": sum(1 for r in runs if r.interview_id),
        "leaks": leaks,
        "lost": lost,
        "errors": errors,
        "locked": [e for e in errors if "locked" in e.lower()],
        "interviews_in_db": len(store.list_interviews(limit=10_000)),
        "integrity": store.integrity_check(),
        "fallback_replies": fallbacks,
    }


@pytest.fixture
def no_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flow, "build_retriever", lambda settings: None)


def test_concurrent_sessions_never_see_each_other(tmp_path: Path, loopback: None, no_notes: None) -> None:
    with EchoServer() as server:
        store, runs, elapsed = run_sessions(tmp_path / "data", server.base_url, CONCURRENT_SESSIONS)
        result = check_sessions(store, runs)
        store.close()
    assert result["locked"] == [], result["locked"][:5]
    assert result["errors"] == [], result["errors"][:5]
    assert result["leaks"] == [], result["leaks"][:5]
    assert result["lost"] == [], result["lost"][:5]
    assert result["started"] == result["interviews_in_db"] == CONCURRENT_SESSIONS
    assert result["integrity"] == "ok"
    assert result["fallback_replies"] == 0  # every reply came from the model, none fell back
    # Every request the model saw carried exactly one session's marker.
    for req in server.requests:
        text = "\n".join(str(m.get("content", "")) for m in req.body.get("messages", []))
        assert len(set(MARK_RE.findall(text))) <= 1
    print(f"\n{CONCURRENT_SESSIONS} sessions, {len(server.requests)} model calls, {elapsed:.1f}s")
