"""Seeded fault injection for whole interviews: the web app's code path against a misbehaving provider.

Shared by tests/test_faults.py (a CI-sized run) and benchmarks/bench_faults.py (the full run).

    plan = FaultPlan(seed=7, rate=0.2)
    with ChaosServer(plan) as server, chaos_clients(plan, server):
        settings = fault_settings(data_dir, server.base_url)
        result = run_interview(ctx, marker, messages)

How a fault reaches the client:
- `chaos_clients` wraps the HTTP transport of every `openai.OpenAI` client the app builds. For each
  request it draws the fault (seeded, under a lock). Connect faults happen right there, on real sockets:
  `refused` sends the request to a loopback port nobody listens on; `connect_timeout` sends it to a
  listening socket whose accept queue is full, so the SYN is never answered and the client's connect
  timeout fires. Every other fault is named in an `x-chaos` header for the server.
- `ChaosServer` (a FakeOpenAIServer) answers each request by its header: 429 with Retry-After, 500/502/
  503, a hang, a disconnect mid-stream, a hang mid-stream, a trickle, a malformed body, truncated
  grader JSON, empty content, finish_reason=length. With no header it answers well: words for the voice
  (streaming), a valid judge JSON object for the grader (a `json_schema` request).

The server records, per interview marker and rubric dimension, every judge reply it sent in full, so a
test can tell a grade the model gave from one that was made up.
"""

from __future__ import annotations

import json
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fakes.openai_server import (
    FakeOpenAIServer,
    Fault,
    RecordedRequest,
    Reply,
    disconnect,
    hang,
    hang_mid_stream,
    malformed,
    status,
    trickle,
)

HANG_S = 4.0
"""How long a hanging server stays silent: longer than the request timeout the tests set (1 s)."""

FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "503",
    "refused",
    "connect_timeout",
    "read_timeout",
    "hang_mid_stream",
    "trickle",
    "disconnect",
    "malformed",
    "bad_json",
    "empty",
    "length",
)
"""Every fault a call can meet. `read_timeout` is a server that accepts and never answers."""

MARKER_RE = re.compile(r"MARK-[0-9a-z]+-[0-9a-f]{6}")
DIMENSION_RE = re.compile(r"# The dimension: .*\(`([a-z_]+)`\)")

RAW_ERROR_SIGNS = (
    "Traceback",
    'File "',
    "httpx",
    "httpcore",
    "openai.",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
    "InternalServerError",
    "RateLimitError",
    "RemoteProtocolError",
    "ReadTimeout",
    "ConnectTimeout",
    "ConnectError",
    "JSONDecodeError",
    "ValidationError",
    "ModelError",
    "ModelTimeoutError",
    "SdmockError",
    "KeyError",
    "ValueError",
    "TypeError",
    "AttributeError",
    "RuntimeError",
    "Exception:",
)
"""Text that means a raw exception reached the user."""


def raw_error_signs(text: str) -> list[str]:
    """The signs of a raw exception present in `text`."""
    return [s for s in RAW_ERROR_SIGNS if s in text]


# ------------------------------------------------------------------------------------------------------
# the plan: which call fails, and how


@dataclass
class FaultPlan:
    """Draws a fault (or none) for each request, from a seeded generator; counts what it drew."""

    seed: int = 0
    rate: float = 0.2
    kinds: tuple[str, ...] = FAULT_KINDS
    drawn: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        with self._lock:
            self.calls += 1
            kind = self._rng.choice(self.kinds) if self._rng.random() < self.rate else None
            key = kind or "ok"
            self.drawn[key] = self.drawn.get(key, 0) + 1
            return kind


# ------------------------------------------------------------------------------------------------------
# connect-level faults, on real sockets


class _Blackhole:
    """A loopback port that never completes a TCP handshake (its accept queue is full)."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = int(self.listener.getsockname()[1])
        # One connection fills a backlog of 0; later SYNs are dropped, so connect() times out.
        self._filler = socket.create_connection(("127.0.0.1", self.port), timeout=2)

    def close(self) -> None:
        self._filler.close()
        self.listener.close()


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


class ChaosTransport(httpx.BaseTransport):
    """Draws each request's fault; connect faults are made here, the others named for the server."""

    def __init__(self, plan: FaultPlan, blackhole_port: int, closed_port: int) -> None:
        self.plan = plan
        self.blackhole_port = blackhole_port
        self.closed_port = closed_port
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kind = self.plan.draw()
        if kind == "refused":
            request.url = request.url.copy_with(port=self.closed_port)
        elif kind == "connect_timeout":
            request.url = request.url.copy_with(port=self.blackhole_port)
        elif kind is not None:
            request.headers["x-chaos"] = kind
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@contextmanager
def chaos_clients(plan: FaultPlan) -> Iterator[None]:
    """Every `openai.OpenAI` client built inside goes through a ChaosTransport (restored on exit)."""
    import openai

    real = openai.OpenAI
    blackhole = _Blackhole()
    closed = _closed_port()

    def build(*args: Any, **kwargs: Any) -> Any:
        kwargs["http_client"] = httpx.Client(transport=ChaosTransport(plan, blackhole.port, closed))
        return real(*args, **kwargs)

    openai.OpenAI = build  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        openai.OpenAI = real  # type: ignore[misc]
        blackhole.close()


# ------------------------------------------------------------------------------------------------------
# the server


@dataclass
class JudgeSent:
    """One judge reply the server sent in full."""

    marker: str | None
    dimension: str | None
    kind: str
    """`ok` (valid JSON with `score`), or the fault kind."""
    score: int | None = None


def judge_score(marker: str | None, dimension: str | None) -> int:
    """The score the fake judge gives: fixed per interview and dimension, 1-4."""
    return 1 + sum(map(ord, f"{marker}:{dimension}")) % 4


class ChaosServer(FakeOpenAIServer):
    """A FakeOpenAIServer that answers from the `x-chaos` header instead of a script."""

    def __init__(self, model: str = "gpt-4o-mini") -> None:
        super().__init__(model=model)
        self.judged: list[JudgeSent] = []
        self._count = 0
        default_handle_error = self._httpd.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            # A client that gave up on a hanging or trickling reply closes its end: expected here.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default_handle_error(request, client_address)

        self._httpd.handle_error = handle_error  # type: ignore[method-assign]

    def _next(self, request: RecordedRequest) -> Fault | Reply | None:
        body = request.body
        streaming = bool(body.get("stream"))
        judge = "response_format" in body or not streaming
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        markers = MARKER_RE.findall(text)
        marker = markers[-1] if markers else None
        dim_match = DIMENSION_RE.search(text)
        dimension = dim_match.group(1) if dim_match else None
        kind = request.headers.get("x-chaos")
        with self._lock:
            self.requests.append(request)
            self._count += 1
            n = self._count
        item = self._answer(kind, streaming, judge, marker, dimension, n)
        if judge and (kind is None or kind in ("bad_json", "empty", "length")):
            score = judge_score(marker, dimension) if kind is None else None
            with self._lock:
                self.judged.append(JudgeSent(marker, dimension, kind or "ok", score))
        return item

    def _answer(
        self,
        kind: str | None,
        streaming: bool,
        judge: bool,
        marker: str | None,
        dimension: str | None,
        n: int,
    ) -> Fault | Reply:
        if kind is None:
            if judge:
                return Reply(text=_judge_json(judge_score(marker, dimension)))
            return Reply(text=f"Good, noted. Reply {n}: what would you look at next, and why?")
        if kind in ("429", "503"):
            return status(int(kind), retry_after="0.2")
        if kind in ("500", "502"):
            return status(int(kind))
        if kind == "read_timeout":
            return hang(HANG_S)
        if kind == "hang_mid_stream":
            return hang_mid_stream(after_chunks=2, seconds=HANG_S) if streaming else hang(HANG_S)
        if kind == "trickle":
            return trickle(every_s=0.2, seconds=HANG_S * 2) if streaming else hang(HANG_S)
        if kind == "disconnect":
            return disconnect(after_chunks=2)
        if kind == "malformed":
            return malformed()
        if kind == "bad_json":
            return Reply(text=_judge_json(3)[:25]) if judge else malformed('{"choices": [{"delta": ')
        if kind == "empty":
            return Reply(text="")
        if kind == "length":
            return Reply(
                text=_judge_json(3)[:40] if judge else "Good. And what about", finish_reason="length"
            )
        raise AssertionError(f"unknown fault {kind}")


def _judge_json(score: int) -> str:
    return json.dumps(
        {
            "evidence": [{"turn": 1, "quote": "How many new URLs per day", "comment": "asks for volume"}],
            "reasoning": "The candidate asked about scale before designing.",
            "score": score,
        }
    )


# ------------------------------------------------------------------------------------------------------
# driving interviews through app/ui/flow.py


QUESTIONS = (
    "How many new URLs are created per day, and what is the read to write ratio?",
    "How long do we keep the links, and can users pick custom aliases?",
    "So about 1,200 writes per second and 12,000 reads per second at peak.",
    "I would put a load balancer in front of stateless web servers, a cache and a key-value store.",
    "The short code comes from a counter encoded in base62, seven characters.",
    "For the deep dive: cache the hot links with LRU eviction, and shard the store by the code's hash.",
    "Replicate each shard three times; reads can go to replicas.",
    "Bottlenecks: the counter service; I would hand out ranges of ids to each server.",
    "I would monitor p99 redirect latency, cache hit rate and error rates.",
)


def script_for(marker: str, n: int = 8) -> list[str]:
    """Scripted candidate messages, each tagged with the interview's marker."""
    return [f"{QUESTIONS[i % len(QUESTIONS)]} [{marker} #{i}]" for i in range(n)]


def new_marker(i: int, rng: random.Random) -> str:
    return f"MARK-{i:x}-{rng.getrandbits(24):06x}"


def fault_settings(data_dir: Path, base_url: str, **overrides: Any) -> Any:
    """Settings for a fault run: the LLM voice and grader on `base_url`, short timeouts and deadline."""
    from app.settings import REPO_ROOT, get_settings

    values: dict[str, Any] = {
        "data_dir": data_dir,
        "knowledge_dir": REPO_ROOT / "knowledge",
        "model": "openai/gpt-4o-mini",
        "openai_base_url": base_url,
        "openai_api_key": "sk-test",
        "request_timeout_s": 1.0,
        "max_retries": 2,
        "turn_deadline_s": 3.0,
        "_env_file": None,
    }
    values.update(overrides)
    return get_settings(**values)


@dataclass
class TurnResult:
    action: str
    seconds: float
    text: str
    error: str | None = None
    """The message the page would show if the stream raised (the web page shows `exc.message`)."""


@dataclass
class InterviewResult:
    interview_id: str
    marker: str
    sent: list[str]
    turns: list[TurnResult]
    grade_seconds: float = 0.0
    report: dict[str, Any] | None = None
    report_markdown: str = ""
    error: str | None = None


def _stream_like_the_page(stream: Any) -> str | None:
    """What app/ui/views/interview.py `_stream` does: iterate, then commit or save as interrupted."""
    from app.errors import SdmockError

    try:
        for _ in stream:
            pass
    except SdmockError as exc:
        stream.interrupt()
        return (
            f"The interviewer could not finish this reply: {exc.message}. Your message is saved; "
            "press Regenerate reply to try again."
        )
    except BaseException:
        stream.interrupt()
        raise
    stream.commit()
    return None


def run_interview(
    ctx: Any, marker: str, messages: list[str], *, problem: str = "url-shortener", grade: bool = True
) -> InterviewResult:
    """One interview the way the Interview page drives it: start, submit + reply per message, finish,
    then the Report page's grade. Every step is timed."""
    from app.ui import flow

    turns: list[TurnResult] = []
    t0 = time.monotonic()
    record = flow.start_interview(ctx, problem, level="senior", minutes=45)
    opening = ctx.store.turns(record.id)[0].content
    turns.append(TurnResult("open", time.monotonic() - t0, opening))
    result = InterviewResult(record.id, marker, [], turns)
    for text in messages:
        if ctx.store.get_interview(record.id).status != "active":
            break
        t0 = time.monotonic()
        turn = flow.submit(ctx, record.id, text)
        result.sent.append(turn.content)
        error = _stream_like_the_page(flow.begin(ctx, record.id, "reply", turn.content))
        if error is not None:  # the page offers "Regenerate reply"; the user presses it
            regen = flow.begin_regenerate(ctx, record.id)
            if regen is not None:
                _stream_like_the_page(regen)
        saved = ctx.store.turns(record.id)[-1]
        turns.append(TurnResult("reply", time.monotonic() - t0, saved.content, error))
    if ctx.store.get_interview(record.id).status == "active":
        t0 = time.monotonic()
        error = _stream_like_the_page(flow.begin(ctx, record.id, "finish"))
        if error is None:
            flow.finish_now(ctx, record.id)
        turns.append(
            TurnResult("finish", time.monotonic() - t0, ctx.store.turns(record.id)[-1].content, error)
        )
    if grade:
        t0 = time.monotonic()
        report = flow.grade(ctx, record.id)
        result.grade_seconds = time.monotonic() - t0
        result.report = report.data
        result.report_markdown = report.markdown
    return result


def check_interview(ctx: Any, result: InterviewResult, *, deadline_s: float, margin_s: float) -> list[str]:
    """Everything that must hold for one interview run under faults; the problems found (empty: fine)."""
    problems: list[str] = []
    turns = ctx.store.turns(result.interview_id)
    record = ctx.store.get_interview(result.interview_id)
    if record.status not in ("finished", "graded"):
        problems.append(f"interview not completed: status {record.status}")
    candidate = [t.content for t in turns if t.role == "candidate"]
    if candidate != result.sent:
        problems.append(f"candidate turns differ from what was sent: {candidate!r} vs {result.sent!r}")
    if [t.seq for t in turns] != sorted({t.seq for t in turns}):
        problems.append("turn sequence numbers are not strictly increasing")
    roles = [t.role for t in turns]
    for i, role in enumerate(roles):
        if role == "candidate" and (i + 1 >= len(roles) or roles[i + 1] != "interviewer"):
            problems.append(f"candidate turn {i} has no interviewer reply after it")
        if i and role == roles[i - 1] == "candidate":
            problems.append(f"two candidate turns in a row at {i}")
    for t in turns:
        if t.status != "complete":
            problems.append(f"turn {t.seq} left {t.status}")
        if t.role == "interviewer":
            if not t.content.strip():
                problems.append(f"interviewer turn {t.seq} is empty")
            if signs := raw_error_signs(t.content):
                problems.append(f"interviewer turn {t.seq} shows a raw error {signs}: {t.content[:200]!r}")
        if MARKER_RE.search(t.content) and result.marker not in t.content:
            problems.append(f"turn {t.seq} holds another interview's marker")
    for tr in result.turns:
        if tr.seconds > deadline_s + margin_s:
            problems.append(f"{tr.action} turn took {tr.seconds:.2f}s (deadline {deadline_s}s)")
        if tr.error and (signs := raw_error_signs(tr.error)):
            problems.append(f"page error shows a raw error {signs}: {tr.error!r}")
    if result.report is not None:
        if signs := raw_error_signs(result.report_markdown):
            problems.append(f"report shows a raw error {signs}")
        problems += check_grades(result)
    return problems


def check_grades(result: InterviewResult, server: ChaosServer | None = None) -> list[str]:
    """No grade made up: a failed dimension has no score; a judged score is one the judge sent."""
    problems: list[str] = []
    assert result.report is not None
    for d in result.report["dimensions"]:
        if d["status"] == "failed":
            if d["score"] is not None:
                problems.append(f"{d['id']}: failed but scored {d['score']}")
            if d.get("model_score") is not None:
                problems.append(f"{d['id']}: failed but has a model score")
        elif d["status"] == "graded":
            if d["score"] is None:
                problems.append(f"{d['id']}: graded without a score")
            if d.get("model_score") != judge_score(result.marker, d["id"]):
                problems.append(
                    f"{d['id']}: model score {d.get('model_score')} is not the judge's "
                    f"{judge_score(result.marker, d['id'])}"
                )
        else:
            problems.append(f"{d['id']}: unexpected status {d['status']}")
    scores = [d["score"] for d in result.report["dimensions"] if d["score"] is not None]
    expected = round(sum(scores) / len(scores), 2) if scores else None
    if result.report["overall"] != expected:
        problems.append(f"overall {result.report['overall']} is not the mean of the scored dimensions")
    return problems


@dataclass
class FaultRun:
    """What `run_fault_interviews` saw: every interview, the problems found, and the database's health."""

    results: list[InterviewResult]
    problems: dict[str, list[str]]
    integrity: str
    unexpected_requests: int


def run_fault_interviews(
    data_dir: Path,
    plan: FaultPlan,
    *,
    interviews: int,
    workers: int,
    rng: random.Random,
    deadline_s: float,
    margin_s: float,
) -> FaultRun:
    """Run scripted interviews the way the web page does, `workers` at a time, through the chaos server."""
    from concurrent.futures import ThreadPoolExecutor

    from app.store import Store
    from app.ui.context import AppContext

    with ChaosServer() as server, chaos_clients(plan):
        settings = fault_settings(data_dir, server.base_url, turn_deadline_s=deadline_s)
        store = Store.from_settings(settings)
        ctx = AppContext(settings=settings, store=store)
        markers = [new_marker(i, rng) for i in range(interviews)]

        def one(i: int) -> InterviewResult:
            return run_interview(ctx, markers[i], script_for(markers[i], 6 + i % 3))

        # A few interviews at a time, as a web process serves several users; the bounds still hold.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, range(interviews)))
        problems = {
            r.marker: found
            for r in results
            if (found := check_interview(ctx, r, deadline_s=deadline_s, margin_s=margin_s))
        }
        integrity = store.integrity_check()
        store.close()
        return FaultRun(results, problems, integrity, server.unexpected)
