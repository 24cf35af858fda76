"""Structured output: strict schemas, validation, bounded retries, and llm_classify's None on failure."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fakes.openai_server import FakeOpenAIServer, length, malformed, reply, status

from app.errors import ModelError
from app.llm.fake import FakeModel
from app.llm.openai_client import OpenAIChatModel
from app.llm.structured import (
    TurnClassification,
    complete_structured,
    llm_classify,
    parse_json_reply,
    strict_schema,
)

GOOD = {
    "intent": "clarifying_question",
    "asks_about": ["daily volume"],
    "components": [],
    "estimates": [],
    "wants_to_skip": False,
}
MESSAGES = [{"role": "system", "content": "Label it."}, {"role": "user", "content": "How many per day?"}]


def test_strict_schema_inlines_refs_and_requires_everything() -> None:
    schema = strict_schema(TurnClassification)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and "title" not in schema
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    estimate = schema["properties"]["estimates"]["items"]
    assert estimate["additionalProperties"] is False and set(estimate["required"]) == {
        "quantity",
        "value",
        "unit",
    }


def test_parse_json_reply_tolerates_a_code_fence() -> None:
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_reply('{"a": 1}') == {"a": 1}


def test_a_valid_reply_is_returned_with_its_completion() -> None:
    model = FakeModel([json.dumps(GOOD)])
    result, completion = complete_structured(model, MESSAGES, TurnClassification, prompt_id="c@1#x")
    assert result.intent == "clarifying_question"
    assert completion.prompt_id == "c@1#x"
    assert model.requests[0]["json_schema"] == strict_schema(TurnClassification)


def test_an_invalid_reply_is_retried_with_the_error_shown() -> None:
    model = FakeModel(['{"intent": "chit-chat"}', json.dumps(GOOD)])
    result, _ = complete_structured(model, MESSAGES, TurnClassification, attempts=2)
    assert result.asks_about == ["daily volume"]
    retry = model.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": '{"intent": "chit-chat"}'}
    assert "not valid" in retry[-1]["content"] and "intent" in retry[-1]["content"]


def test_when_attempts_run_out_the_error_keeps_them_and_the_last_raw_reply() -> None:
    model = FakeModel(["not json at all", '{"intent": "design"'])
    with pytest.raises(ModelError) as info:
        complete_structured(model, MESSAGES, TurnClassification, attempts=2)
    assert info.value.attempts == 2
    assert info.value.last_raw == '{"intent": "design"'
    assert len(model.requests) == 2


def test_llm_classify_returns_a_dict_or_none() -> None:
    model = FakeModel([json.dumps(GOOD)])
    seen: list[object] = []
    result = llm_classify(
        model, "How many URLs per day?", "Design a URL shortener.", on_completion=seen.append
    )
    assert result == GOOD and len(seen) == 1
    system, user = model.requests[0]["messages"]
    assert "URL shortener" in system["content"]
    assert user["content"].startswith("<candidate-") and "How many URLs per day?" in user["content"]
    assert llm_classify(None, "text", "problem") is None
    assert llm_classify(FakeModel([ModelError("down")]), "text", "problem") is None
    assert llm_classify(FakeModel(["{}", "[]"]), "text", "problem") is None


@pytest.fixture
def server(loopback: None) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


@pytest.mark.loopback
def test_classify_through_a_server_with_faults(server: FakeOpenAIServer) -> None:
    server.queue(status(503), malformed(), length('{"intent": "des'), reply(json.dumps(GOOD)))
    model = OpenAIChatModel(
        "gpt-4o-mini", base_url=server.base_url, timeout_s=2, max_retries=1, sleep=lambda s: None
    )
    # 503 is retried by the client; the malformed body fails that call; nothing else is spent.
    assert llm_classify(model, "How many per day?", "URL shortener") is None
    # A cut-off reply (finish_reason=length) is retried by complete_structured, then succeeds.
    assert llm_classify(model, "How many per day?", "URL shortener") == GOOD
    assert server.unexpected == 0
    assert server.requests[-1].body["response_format"]["type"] == "json_schema"


@pytest.mark.loopback
def test_classify_on_a_server_without_schema_support_uses_json_mode(server: FakeOpenAIServer) -> None:
    server.queue(reply("```json\n" + json.dumps(GOOD) + "\n```"))
    model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, timeout_s=2, supports_json_schema=False)
    assert llm_classify(model, "How many per day?", "URL shortener") == GOOD
    body = server.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert '"wants_to_skip"' in body["messages"][0]["content"]
