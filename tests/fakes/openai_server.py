"""A fake OpenAI-compatible HTTP server for tests: real HTTP on 127.0.0.1, scripted replies and faults.

    with FakeOpenAIServer() as server:                 # random port on loopback
        server.queue(reply("Hello"), status(429, retry_after=1), hang(5), disconnect(after_chunks=2))
        client = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, ...)
        ...
        server.requests[0].body["messages"]

Each POST to /v1/chat/completions takes the next scripted item. A request with `"stream": true` is
answered with server-sent events in chunked transfer encoding, as OpenAI does, so a dropped connection is
a protocol error the client sees. When the script runs dry the server answers 500 and counts it in
`unexpected`, so a test that made more calls than it scripted fails loudly.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A normal answer. Usage defaults to word counts; `cached_tokens` goes in prompt_tokens_details."""

    text: str = ""
    finish_reason: str | None = "stop"
    cached_tokens: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chunk_delay_s: float = 0.0
    include_usage: bool = True


@dataclass
class Fault:
    """Something going wrong. Kinds: status, hang, disconnect, malformed, hang_mid_stream, trickle."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    seconds: float = 30.0
    after_chunks: int = 1
    body: str | None = None
    text: str = "This reply will be cut off somewhere in the middle of it"


@dataclass
class RecordedRequest:
    """What the client sent."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: dict[str, Any]
    received_at: float = field(default_factory=time.monotonic)


def reply(text: str, **kwargs: Any) -> Reply:
    """A successful reply with this content."""
    return Reply(text=text, **kwargs)


def empty() -> Reply:
    """A 200 reply with empty content."""
    return Reply(text="")


def length(text: str) -> Reply:
    """A reply cut at max_tokens (finish_reason=length)."""
    return Reply(text=text, finish_reason="length")


def status(code: int, *, retry_after: str | float | None = None, body: str | None = None) -> Fault:
    """An HTTP error, optionally with Retry-After (seconds, or an HTTP date string)."""
    return Fault(
        "status", status=code, retry_after=None if retry_after is None else str(retry_after), body=body
    )


def hang(seconds: float = 30.0) -> Fault:
    """Accept the request and send nothing for `seconds` (or until the server stops)."""
    return Fault("hang", seconds=seconds)


def hang_mid_stream(after_chunks: int = 2, seconds: float = 30.0) -> Fault:
    """Stream a few chunks, then go silent without closing."""
    return Fault("hang_mid_stream", after_chunks=after_chunks, seconds=seconds)


def trickle(every_s: float = 0.2, seconds: float = 30.0) -> Fault:
    """Stream one short chunk every `every_s` seconds, for `seconds`: never silent, never done."""
    return Fault("trickle", seconds=seconds, body=str(every_s))


def disconnect(after_chunks: int = 2) -> Fault:
    """Stream a few chunks (or, for a non-streaming call, send headers) and drop the connection."""
    return Fault("disconnect", after_chunks=after_chunks)


def malformed(body: str = '{"choices": [ {"message": ') -> Fault:
    """A 200 whose body (or SSE data line) is not valid JSON."""
    return Fault("malformed", body=body)


Script = Reply | Fault


class FakeOpenAIServer:
    """An OpenAI-compatible chat completions endpoint on 127.0.0.1, driven by a script."""

    def __init__(self, *script: Script, model: str = "gpt-4o-mini") -> None:
        self.script: deque[Script] = deque(script)
        self.requests: list[RecordedRequest] = []
        self.unexpected = 0
        self.model = model
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give the openai client (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *items: Script) -> None:
        """Append scripted replies or faults."""
        with self._lock:
            self.script.extend(items)

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging handlers wake up and close their connections."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, request: RecordedRequest) -> Script | None:
        with self._lock:
            self.requests.append(request)
            if not self.script:
                self.unexpected += 1
                return None
            return self.script.popleft()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if the server was stopped meanwhile."""
        return self._stop.wait(seconds)


def _usage(item: Reply, body: dict[str, Any]) -> dict[str, Any]:
    prompt = item.prompt_tokens
    if prompt is None:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = item.completion_tokens if item.completion_tokens is not None else len(item.text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": item.cached_tokens},
    }


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
            else:
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size) if size else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            request = RecordedRequest(
                "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(
                    404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}}
                )
                return
            item = server._next(request)
            if item is None:
                self._json(
                    500, {"error": {"message": "fake server: no reply scripted", "type": "server_error"}}
                )
                return
            if isinstance(item, Fault):
                self._fault(item, body)
            elif body.get("stream"):
                self._stream(item, body)
            else:
                self._complete(item, body)

        # -- responses ----------------------------------------------------------------------

        def _json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def _complete(self, item: Reply, body: dict[str, Any]) -> None:
            self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", server.model),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": item.text},
                            "finish_reason": item.finish_reason,
                        }
                    ],
                    "usage": _usage(item, body),
                },
            )

        def _start_sse(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

        def _chunk(self, data: str) -> None:
            payload = data.encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()

        def _event(self, payload: Any) -> None:
            self._chunk("data: " + (payload if isinstance(payload, str) else json.dumps(payload)) + "\n\n")

        def _delta(
            self, body: dict[str, Any], content: str | None, finish: str | None = None
        ) -> dict[str, Any]:
            delta: dict[str, Any] = {} if content is None else {"content": content}
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", server.model),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        def _stream(self, item: Reply, body: dict[str, Any]) -> None:
            self._start_sse()
            self._event(self._delta(body, None) | {"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
            words = item.text.split(" ") if item.text else []
            for i, word in enumerate(words):
                if item.chunk_delay_s and server.wait(item.chunk_delay_s):
                    return
                self._event(self._delta(body, word if i == len(words) - 1 else word + " "))
            self._event(self._delta(body, None, item.finish_reason))
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            if item.include_usage and wants_usage:
                self._event(self._delta(body, None) | {"choices": [], "usage": _usage(item, body)})
            self._event("[DONE]")
            self._chunk("")  # the terminating zero-length chunk

        def _fault(self, fault: Fault, body: dict[str, Any]) -> None:
            streaming = bool(body.get("stream"))
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                payload = (
                    json.loads(fault.body)
                    if fault.body
                    else {
                        "error": {
                            "message": f"fake HTTP {fault.status}",
                            "type": "server_error",
                            "code": None,
                        }
                    }
                )
                self._json(fault.status, payload, headers)
            elif fault.kind == "hang":
                server.wait(fault.seconds)
                self.close_connection = True
            elif fault.kind == "malformed":
                if streaming:
                    self._start_sse()
                    self._event(fault.body or "{")
                    self._event("[DONE]")
                    self._chunk("")
                else:
                    data = (fault.body or "{").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                    self.close_connection = True
            elif fault.kind in ("disconnect", "hang_mid_stream", "trickle"):
                if not streaming:
                    if fault.kind == "disconnect":
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", "500")
                        self.end_headers()
                        self.wfile.write(b'{"id": "chatcmpl-fake", "choi')
                    else:
                        server.wait(fault.seconds)
                    self._drop()
                    return
                self._start_sse()
                if fault.kind == "trickle":
                    every = float(fault.body or 0.2)
                    end = time.monotonic() + fault.seconds
                    while time.monotonic() < end and not server.wait(every):
                        self._event(self._delta(body, "."))
                    self._drop()
                    return
                words = fault.text.split(" ")
                for word in words[: fault.after_chunks]:
                    self._event(self._delta(body, word + " "))
                if fault.kind == "hang_mid_stream":
                    server.wait(fault.seconds)
                self._drop()

        def _drop(self) -> None:
            """Close the socket without finishing the response."""
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(2)
            except OSError:
                pass

    return Handler
