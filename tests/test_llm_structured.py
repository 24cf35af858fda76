"""Structured output: strict schemas, validation, bounded retries and cut-off replies.

The reply model here is a small one of the test's own; the model reader's use of structured output
(its schema built from a problem, its guardrails and its fallback) is tested in test_model_reader.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import pytest
from fakes.openai_server import FakeOpenAIServer, length, malformed, reply, status
from pydantic import BaseModel, ConfigDict, Field

from app.errors import ModelError
from app.llm.fake import FakeModel
from app.llm.openai_client import OpenAIChatModel
from app.llm.structured import complete_structured, parse_json_reply, strict_schema


class Quantity(BaseModel):
    """A number with what it measures (nested, so the schema has a $ref to inline)."""

    model_config = ConfigDict(extra="forbid")

    quantity: str = Field(description="What it measures, e.g. 'write QPS'.")
    value: float
    unit: str


class Label(BaseModel):
    """A small reply model: an enum, a bounded list, a nested list of objects and a flag."""

    model_config = ConfigDict(extra="forbid")

    intent: Literal["question", "statement", "other"]
    topics: list[str] = Field(max_length=5)
    numbers: list[Quantity] = Field(max_length=5)
    urgent: bool = False


GOOD = {"intent": "question", "topics": ["daily volume"], "numbers": [], "urgent": False}
MESSAGES = [{"role": "system", "content": "Label it."}, {"role": "user", "content": "How many per day?"}]


def test_strict_schema_inlines_refs_and_requires_everything() -> None:
    schema = strict_schema(Label)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and "title" not in schema
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"]) == {"intent", "topics", "numbers", "urgent"}
    assert schema["properties"]["intent"]["enum"] == ["question", "statement", "other"]
    item = schema["properties"]["numbers"]["items"]
    assert item["additionalProperties"] is False and set(item["required"]) == {"quantity", "value", "unit"}


def test_strict_schema_sends_no_titles_defaults_descriptions_or_size_limits() -> None:
    text = json.dumps(strict_schema(Label))
    for key in ("title", "default", "description", "maxItems", "minItems"):
        assert f'"{key}"' not in text, key


def test_parse_json_reply_tolerates_a_code_fence() -> None:
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_reply('```\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_reply('{"a": 1}') == {"a": 1}
    with pytest.raises(ValueError):
        parse_json_reply("not json")


def test_a_valid_reply_is_returned_with_its_completion() -> None:
    model = FakeModel([json.dumps(GOOD)])
    result, completion = complete_structured(model, MESSAGES, Label, prompt_id="c@1#x")
    assert isinstance(result, Label) and result.intent == "question" and result.topics == ["daily volume"]
    assert completion.prompt_id == "c@1#x"
    assert model.requests[0]["json_schema"] == strict_schema(Label)
    assert model.requests[0]["messages"] == MESSAGES


def test_an_invalid_reply_is_retried_with_the_error_shown() -> None:
    model = FakeModel(['{"intent": "chit-chat"}', json.dumps(GOOD)])
    result, _ = complete_structured(model, MESSAGES, Label, attempts=2)
    assert result.topics == ["daily volume"]
    retry = model.requests[1]["messages"]
    assert retry[: len(MESSAGES)] == MESSAGES
    assert retry[-2] == {"role": "assistant", "content": '{"intent": "chit-chat"}'}
    assert "not valid" in retry[-1]["content"] and "intent" in retry[-1]["content"]


def test_limits_the_schema_does_not_send_are_still_enforced() -> None:
    too_many = dict(GOOD, topics=[str(i) for i in range(6)])
    model = FakeModel([json.dumps(too_many), json.dumps(GOOD)])
    result, _ = complete_structured(model, MESSAGES, Label, attempts=2)
    assert result == Label.model_validate(GOOD)
    assert "topics" in model.requests[1]["messages"][-1]["content"]


def test_an_extra_key_is_invalid() -> None:
    model = FakeModel([json.dumps(dict(GOOD, confidence=0.9))])
    with pytest.raises(ModelError):
        complete_structured(model, MESSAGES, Label, attempts=1)


def test_when_attempts_run_out_the_error_keeps_them_and_the_last_raw_reply() -> None:
    model = FakeModel(["not json at all", '{"intent": "question"'])
    with pytest.raises(ModelError) as info:
        complete_structured(model, MESSAGES, Label, attempts=2)
    assert info.value.attempts == 2
    assert info.value.last_raw == '{"intent": "question"'
    assert len(model.requests) == 2


def test_an_empty_reply_is_invalid_and_retried() -> None:
    model = FakeModel(["", json.dumps(GOOD)])
    result, _ = complete_structured(model, MESSAGES, Label, attempts=2)
    assert result.intent == "question"
    assert "empty" in model.requests[1]["messages"][-1]["content"]


def test_a_model_error_is_not_retried_by_complete_structured() -> None:
    model = FakeModel([ModelError("down"), json.dumps(GOOD)])
    with pytest.raises(ModelError, match="down"):
        complete_structured(model, MESSAGES, Label, attempts=2)
    assert len(model.requests) == 1


@pytest.fixture
def server(loopback: None) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


@pytest.mark.loopback
def test_structured_through_a_server_with_faults(server: FakeOpenAIServer) -> None:
    server.queue(status(503), malformed(), length('{"intent": "ques'), reply(json.dumps(GOOD)))
    model = OpenAIChatModel(
        "gpt-4o-mini", base_url=server.base_url, timeout_s=2, max_retries=1, sleep=lambda s: None
    )
    # 503 is retried by the client; the malformed body fails that call; nothing else is spent.
    with pytest.raises(ModelError):
        complete_structured(model, MESSAGES, Label, attempts=2)
    assert len(server.requests) == 2
    # A cut-off reply (finish_reason=length) is retried by complete_structured, then succeeds.
    result, completion = complete_structured(model, MESSAGES, Label, attempts=2)
    assert result == Label.model_validate(GOOD) and completion.finish_reason == "stop"
    assert len(server.requests) == 4
    assert "cut off" in server.requests[-1].body["messages"][-1]["content"]
    assert server.unexpected == 0
    response_format = server.requests[-1].body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"] == strict_schema(Label)
    assert response_format["json_schema"]["strict"] is True


@pytest.mark.loopback
def test_structured_on_a_server_without_schema_support_uses_json_mode(server: FakeOpenAIServer) -> None:
    server.queue(reply("```json\n" + json.dumps(GOOD) + "\n```"))
    model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, timeout_s=2, supports_json_schema=False)
    result, _ = complete_structured(model, MESSAGES, Label)
    assert result == Label.model_validate(GOOD)
    body = server.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert '"urgent"' in body["messages"][0]["content"]
