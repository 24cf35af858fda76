"""The openai client path against a fake OpenAI-compatible server on loopback: replies, usage and faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fakes.openai_server import (
    FakeOpenAIServer,
    disconnect,
    empty,
    hang,
    hang_mid_stream,
    length,
    malformed,
    reply,
    status,
    trickle,
)

from app.errors import ModelError
from app.llm.base import ChatModel, Completion
from app.llm.openai_client import ModelTimeoutError, OpenAIChatModel

pytestmark = pytest.mark.loopback

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello"}]


@pytest.fixture
def server(loopback: None) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


def make_model(server: FakeOpenAIServer, **kwargs: object) -> tuple[OpenAIChatModel, list[float]]:
    """A client on the fake server whose backoff sleeps are recorded (and kept short)."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(min(seconds, 0.05))

    options: dict[str, object] = {"timeout_s": 2.0, "max_retries": 2, "sleep": sleep}
    options.update(kwargs)
    model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, api_key="sk-test", **options)  # type: ignore[arg-type]
    return model, sleeps


def drain(model: OpenAIChatModel, **kwargs: object) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    final: Completion | None = None
    for item in model.stream(MESSAGES, max_tokens=50, **kwargs):  # type: ignore[arg-type]
        if isinstance(item, Completion):
            final = item
        else:
            deltas.append(item)
    assert final is not None
    return deltas, final


def test_model_implements_the_protocol(server: FakeOpenAIServer) -> None:
    model, _ = make_model(server)
    assert isinstance(model, ChatModel)
    assert model.name == "openai/gpt-4o-mini"
    assert model.supports_json_schema and model.supports_streaming


def test_complete_returns_text_usage_cost_and_prompt_id(server: FakeOpenAIServer) -> None:
    server.queue(reply("Hello there.", prompt_tokens=1000, completion_tokens=100, cached_tokens=400))
    model, _ = make_model(server)
    done = model.complete(MESSAGES, max_tokens=50, temperature=0.2, prompt_id="p@1#abc")
    assert done.text == "Hello there."
    assert done.model == "openai/gpt-4o-mini"
    assert done.finish_reason == "stop"
    assert done.prompt_id == "p@1#abc"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.cached_tokens) == (
        1000,
        100,
        400,
    )
    # 600 uncached * 0.15 + 400 cached * 0.075 + 100 * 0.60, per million
    assert done.usage.cost_usd == pytest.approx((600 * 0.15 + 400 * 0.075 + 100 * 0.60) / 1e6)
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["messages"] == MESSAGES
    assert sent.body["max_tokens"] == 50 and sent.body["temperature"] == 0.2
    assert "stream" not in sent.body


def test_stream_yields_deltas_then_a_completion_with_usage(server: FakeOpenAIServer) -> None:
    server.queue(reply("Hello from the stream", cached_tokens=3))
    model, _ = make_model(server)
    deltas, done = drain(model, prompt_id="x")
    assert deltas == ["Hello ", "from ", "the ", "stream"]
    assert done.text == "Hello from the stream"
    assert done.usage.completion_tokens == 4 and done.usage.cached_tokens == 3
    assert done.finish_reason == "stop" and done.prompt_id == "x"
    body = server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_429_retry_after_is_honoured(server: FakeOpenAIServer) -> None:
    server.queue(status(429, retry_after=3), reply("ok"))
    model, sleeps = make_model(server)
    assert model.complete(MESSAGES, max_tokens=5).text == "ok"
    assert sleeps == [3.0]
    assert len(server.requests) == 2


def test_429_retry_after_as_http_date(server: FakeOpenAIServer) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 5))
    server.queue(status(429, retry_after=when), reply("ok"))
    model, sleeps = make_model(server)
    assert model.complete(MESSAGES, max_tokens=5).text == "ok"
    assert 3.0 <= sleeps[0] <= 5.5


def test_insufficient_quota_is_not_retried(server: FakeOpenAIServer) -> None:
    quota = (
        '{"error": {"message": "You exceeded your current quota", "type": "x", "code": "insufficient_quota"}}'
    )
    server.queue(status(429, body=quota))
    model, sleeps = make_model(server)
    with pytest.raises(ModelError) as info:
        model.complete(MESSAGES, max_tokens=5)
    assert "429" in info.value.message and "billing" in (info.value.hint or "")
    assert sleeps == [] and len(server.requests) == 1


def test_5xx_are_retried_with_growing_backoff(server: FakeOpenAIServer) -> None:
    server.queue(status(500), status(503), reply("third time lucky"))
    model, sleeps = make_model(server)
    assert model.complete(MESSAGES, max_tokens=5).text == "third time lucky"
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1] <= 8.0


def test_retries_run_out_with_the_attempts_kept(server: FakeOpenAIServer) -> None:
    server.queue(status(503), status(503), status(503))
    model, _ = make_model(server)
    with pytest.raises(ModelError) as info:
        model.complete(MESSAGES, max_tokens=5)
    assert info.value.attempts == 3
    assert "HTTP 503" in info.value.message and info.value.last_raw
    assert server.unexpected == 0


def test_client_errors_are_not_retried(server: FakeOpenAIServer) -> None:
    server.queue(status(401))
    model, sleeps = make_model(server)
    with pytest.raises(ModelError) as info:
        model.complete(MESSAGES, max_tokens=5)
    assert "OPENAI_API_KEY" in (info.value.hint or "")
    assert sleeps == [] and len(server.requests) == 1


def test_a_hang_times_out_after_the_request_timeout(server: FakeOpenAIServer) -> None:
    server.queue(hang(10))
    model, _ = make_model(server, timeout_s=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError):
        model.complete(MESSAGES, max_tokens=5)
    assert time.monotonic() - started < 4.0  # the fault lasts 10-30 s


def test_the_deadline_cuts_retries_and_timeouts_short(server: FakeOpenAIServer) -> None:
    server.queue(hang(10), hang(10), hang(10))
    model, _ = make_model(server, timeout_s=30.0, max_retries=2)
    started = time.monotonic()
    with pytest.raises(ModelError):
        model.complete(MESSAGES, max_tokens=5, deadline=time.monotonic() + 0.6)
    assert time.monotonic() - started < 3.5  # the fault lasts 10-30 s


def test_a_retry_after_longer_than_the_deadline_is_not_waited_for(server: FakeOpenAIServer) -> None:
    server.queue(status(429, retry_after=30))
    model, sleeps = make_model(server)
    with pytest.raises(ModelError):
        model.complete(MESSAGES, max_tokens=5, deadline=time.monotonic() + 5)
    assert sleeps == []


def test_a_disconnect_before_any_text_is_retried(server: FakeOpenAIServer) -> None:
    server.queue(disconnect(after_chunks=0), reply("second try"))
    model, _ = make_model(server)
    deltas, done = drain(model)
    assert done.text == "second try" and "".join(deltas) == "second try"
    assert len(server.requests) == 2


def test_a_disconnect_mid_stream_is_an_error_not_a_retry(server: FakeOpenAIServer) -> None:
    server.queue(disconnect(after_chunks=3), reply("never asked for"))
    model, _ = make_model(server)
    seen: list[str] = []
    with pytest.raises(ModelError):
        for item in model.stream(MESSAGES, max_tokens=50):
            if isinstance(item, str):
                seen.append(item)
    assert seen, "the text before the drop reached the caller"
    assert len(server.requests) == 1  # text already shown is never asked for twice


def test_a_disconnect_during_a_blocking_call_is_retried(server: FakeOpenAIServer) -> None:
    server.queue(disconnect(), reply("ok"))
    model, _ = make_model(server)
    assert model.complete(MESSAGES, max_tokens=5).text == "ok"


def test_a_hang_mid_stream_times_out(server: FakeOpenAIServer) -> None:
    server.queue(hang_mid_stream(after_chunks=2, seconds=10))
    model, _ = make_model(server, timeout_s=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError):
        drain(model)
    assert time.monotonic() - started < 4.0  # the fault lasts 10-30 s


def test_a_trickling_stream_is_stopped_by_the_deadline(server: FakeOpenAIServer) -> None:
    server.queue(trickle(every_s=0.1, seconds=10))
    model, _ = make_model(server, timeout_s=5.0, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError):
        drain(model, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 3.5  # the fault lasts 10-30 s


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_json_is_a_model_error(server: FakeOpenAIServer, stream: bool) -> None:
    server.queue(malformed())
    model, _ = make_model(server)
    with pytest.raises(ModelError):
        if stream:
            drain(model)
        else:
            model.complete(MESSAGES, max_tokens=5)


def test_empty_content_and_length_are_reported_not_hidden(server: FakeOpenAIServer) -> None:
    server.queue(empty(), length("This was cut"))
    model, _ = make_model(server)
    assert model.complete(MESSAGES, max_tokens=5).text == ""
    _, done = drain(model)
    assert done.finish_reason == "length" and done.text == "This was cut"


def test_json_schema_is_sent_as_strict_response_format(server: FakeOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    server.queue(reply('{"a": 1}'))
    model, _ = make_model(server)
    assert model.complete(MESSAGES, max_tokens=20, json_schema=schema).text == '{"a": 1}'
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == schema


def test_servers_without_schema_support_get_json_mode_and_the_schema_in_words(
    server: FakeOpenAIServer,
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    server.queue(reply('{"a": 1}'))
    model, _ = make_model(server, supports_json_schema=False)
    model.complete(MESSAGES, max_tokens=20, json_schema=schema)
    body = server.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert '"required":["a"]' in body["messages"][0]["content"]
    assert MESSAGES[0]["content"] == "You are terse."  # the caller's messages are not mutated


def test_a_server_that_rejects_json_schema_is_downgraded_once(server: FakeOpenAIServer) -> None:
    refusal = '{"error": {"message": "response_format json_schema is not supported", "type": "x"}}'
    server.queue(status(400, body=refusal), reply('{"a": 1}'), reply('{"a": 2}'))
    model, _ = make_model(server)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    assert model.complete(MESSAGES, max_tokens=20, json_schema=schema).text == '{"a": 1}'
    assert model.supports_json_schema is False
    model.complete(MESSAGES, max_tokens=20, json_schema=schema)
    assert [r.body["response_format"]["type"] for r in server.requests] == [
        "json_schema",
        "json_object",
        "json_object",
    ]


def test_unknown_and_local_models_have_no_price(server: FakeOpenAIServer) -> None:
    server.queue(reply("hi"))
    model = OpenAIChatModel("my-llama", base_url=server.base_url, timeout_s=2, max_retries=0)
    assert model.complete(MESSAGES, max_tokens=5).usage.cost_usd is None
