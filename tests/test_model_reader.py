"""The model reader against a real OpenAI-compatible server on loopback (tests/fakes/openai_server.py).

One structured call per message whose JSON schema is built from the problem; guardrails in code; the
offline reader answers when the model is invalid, late or failing. No API key, no network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, hang, reply, status

from app.interview.model_reader import ModelReader
from app.interview.phases import Phase
from app.interview.reading import Act, Reader, build_reader, offline_reader
from app.llm.openai_client import OpenAIChatModel
from app.problems import Problem, get_problem

pytestmark = pytest.mark.loopback

CHAT = "chat-system"


@pytest.fixture(scope="module")
def problem() -> Problem:
    return get_problem(CHAT)


@pytest.fixture(scope="module")
def fallback(problem: Problem) -> Reader:
    """The offline reader, warmed once so that each test stays fast."""
    reader = offline_reader()
    reader.read("how big can a group get?", problem, Phase.SCOPE)
    return reader


@pytest.fixture
def server(loopback: None) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s


def make_reader(server: FakeOpenAIServer, fallback: Reader, **kwargs: Any) -> ModelReader:
    """A model reader on the fake server: no key, no client retries, short timeouts."""
    model = OpenAIChatModel(
        "gpt-4o-mini", base_url=server.base_url, timeout_s=5, max_retries=0, sleep=lambda s: None
    )
    return ModelReader(model, fallback=fallback, **kwargs)


def answer(**fields: Any) -> str:
    """A reply of the model: every field present (the schema requires them), empty unless given."""
    base: dict[str, Any] = {
        "acts": [],
        "facts": [],
        "estimates": [],
        "components": [],
        "topics": [],
        "pitfalls": [],
    }
    base.update(fields)
    return json.dumps(base)


def test_a_valid_reply_becomes_the_reading(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    text = "how big can a group get? i'd store each message in cassandra, ~100 bytes each"
    server.queue(
        reply(
            answer(
                acts=["clarify", "design", "estimate"],
                facts=["group_size"],
                estimates=[
                    {
                        "value": 100,
                        "unit": "bytes",
                        "stated": "~100 bytes",
                        "kind": "per_item",
                        "number": None,
                    }
                ],
                components=["message_store"],
                topics=["message_flow"],
            )
        )
    )
    reader = make_reader(server, fallback)
    reading = reader.read(text, problem, Phase.SCOPE)
    assert reading.reader.startswith("model:") and reading.reader == reader.name
    assert reading.text == text
    assert reading.acts == [Act.CLARIFY, Act.ESTIMATE, Act.DESIGN]  # in vocabulary order
    assert reading.facts == ["group_size"]
    [est] = reading.estimates
    assert (est.value, est.unit, est.number, est.kind, est.raw) == (
        100.0,
        "bytes",
        None,
        "per_item",
        "~100 bytes",
    )
    assert reading.components == ["message_store"] and reading.topics == ["message_flow"]
    assert reading.pitfalls == []
    assert reader.fallbacks == 0 and len(server.requests) == 1 and server.unexpected == 0


def test_an_estimate_tied_to_a_derived_number_keeps_the_tie(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    est = {"value": 23000, "unit": "/s", "stated": "23k/s", "kind": "total", "number": "messages_per_second"}
    server.queue(reply(answer(acts=["estimate"], estimates=[est])))
    reading = make_reader(server, fallback).read("so that's ~23k/s", problem, Phase.SCOPE)
    assert [(e.value, e.number) for e in reading.estimates] == [(23000.0, "messages_per_second")]
    assert reading.to_public()["estimates"][0]["number"] == "messages_per_second"


def test_the_request_carries_a_schema_built_from_the_problem(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    server.queue(reply(answer(acts=["clarify"], facts=["dau"])))
    make_reader(server, fallback).read("how many people use it every day?", problem, Phase.SCOPE)
    body = server.requests[0].body
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["strict"] is True
    props = response_format["json_schema"]["schema"]["properties"]
    assert props["facts"]["items"]["enum"] == [f.id for f in problem.hidden_facts]
    assert props["components"]["items"]["enum"] == [c.id for c in problem.components]
    assert props["topics"]["items"]["enum"] == [t.id for t in problem.deep_dives]
    assert props["pitfalls"]["items"]["enum"] == [p.id for p in problem.pitfalls]
    assert props["acts"]["items"]["enum"] == [a.value for a in Act]
    number = props["estimates"]["items"]["properties"]["number"]
    enums = [branch.get("enum") for branch in number["anyOf"] if "enum" in branch]
    assert enums == [[n.id for n in problem.numbers]]
    # one call per message; the candidate's text is wrapped as data, the facts' content is not sent
    system, user = body["messages"]
    assert system["role"] == "system" and problem.title in system["content"]
    assert (
        user["content"].startswith("<candidate-") and "how many people use it every day?" in user["content"]
    )
    sent = json.dumps(body)
    assert all(f.fact not in sent for f in problem.hidden_facts)


def test_the_same_message_gives_the_same_request(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    """Recordings replay by request: the untrusted-text tag is derived from the text, not random."""
    server.queue(reply(answer(acts=["clarify"])), reply(answer(acts=["clarify"])))
    reader = make_reader(server, fallback)
    reader.read("is this text only?", problem, Phase.SCOPE)
    reader.read("is this text only?", problem, Phase.SCOPE)
    assert server.requests[0].body["messages"] == server.requests[1].body["messages"]


def test_a_fact_named_for_a_message_with_no_question_is_not_released(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    server.queue(reply(answer(acts=["assume"], facts=["dau"])))
    reading = make_reader(server, fallback).read("we'll have lots of users obviously", problem, Phase.SCOPE)
    assert reading.facts == []
    assert reading.acts == [Act.ASSUME]
    assert reading.reader.startswith("model:")


def test_a_confirmation_question_may_release_the_fact_the_model_names(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    """The guardrail needs a question, not a question mark on a statement of the model's choosing."""
    server.queue(reply(answer(acts=[], facts=["content"])))
    reading = make_reader(server, fallback).read("this is text only, right?", problem, Phase.SCOPE)
    assert reading.facts == ["content"]
    assert Act.CLARIFY in reading.acts  # a released fact makes the message a clarifying question


def test_an_unknown_id_is_invalid_and_the_offline_reader_answers(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    text = "how many people use it every day?"
    bad = answer(acts=["clarify"], facts=["daily_active_users"])  # not an id of this problem
    server.queue(reply(bad), reply(bad))
    reader = make_reader(server, fallback)
    reading = reader.read(text, problem, Phase.SCOPE)
    assert "daily_active_users" not in reading.facts
    assert reading == fallback.read(text, problem, Phase.SCOPE)
    assert reader.fallbacks == 1 and reader.last_error
    assert len(server.requests) == 2  # the invalid reply was shown back once, then given up on
    retry = server.requests[1].body["messages"]
    assert retry[-2] == {"role": "assistant", "content": bad}
    assert "not valid" in retry[-1]["content"] and "facts" in retry[-1]["content"]


def test_invalid_json_twice_falls_back_to_the_offline_reading(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    text = "how big can a group get? and do we need read receipts"
    server.queue(reply("sure! here is the reading: acts=clarify"), reply('{"acts": ["clarify"], "facts": ['))
    reader = make_reader(server, fallback)
    reading = reader.read(text, problem, Phase.SCOPE)
    assert reading == fallback.read(text, problem, Phase.SCOPE)
    assert reading.reader == fallback.name and not reading.reader.startswith("model:")
    assert reader.fallbacks == 1 and len(server.requests) == 2 and server.unexpected == 0


def test_a_slow_server_falls_back_within_the_timeout(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    text = "what's the max group size?"
    server.queue(hang(10))
    reader = make_reader(server, fallback, timeout_s=1)
    start = time.monotonic()
    reading = reader.read(text, problem, Phase.SCOPE)
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 2.0, elapsed
    assert reading == fallback.read(text, problem, Phase.SCOPE)
    assert reader.fallbacks == 1 and reader.last_error


def test_a_server_error_falls_back(server: FakeOpenAIServer, fallback: Reader, problem: Problem) -> None:
    text = "i'll assume text only"
    server.queue(status(500))
    reader = make_reader(server, fallback)
    start = time.monotonic()
    reading = reader.read(text, problem, Phase.SCOPE)
    assert time.monotonic() - start < 2.0
    assert reading == fallback.read(text, problem, Phase.SCOPE)
    assert reader.fallbacks == 1 and server.unexpected == 0


def test_the_reader_keeps_working_after_a_fallback(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    server.queue(status(500), reply(answer(acts=["clarify"], facts=["group_size"])))
    reader = make_reader(server, fallback)
    reader.read("i'll assume text only", problem, Phase.SCOPE)
    reading = reader.read("how big can a group get?", problem, Phase.SCOPE)
    assert reading.reader.startswith("model:") and reading.facts == ["group_size"]
    assert reader.fallbacks == 1


def test_an_empty_message_is_read_without_a_call(
    server: FakeOpenAIServer, fallback: Reader, problem: Problem
) -> None:
    reading = make_reader(server, fallback).read("   ", problem, Phase.SCOPE)
    assert reading.acts == [Act.EMPTY] and reading.facts == []
    assert server.requests == []


def test_build_reader_picks_the_model_reader_with_an_offline_fallback(
    server: FakeOpenAIServer, fallback: Reader
) -> None:
    model = OpenAIChatModel("gpt-4o-mini", base_url=server.base_url, timeout_s=1, max_retries=0)
    reader = build_reader(model)
    assert isinstance(reader, ModelReader) and reader.fallback is fallback
    assert reader.name == "model:openai/gpt-4o-mini"
    assert build_reader(None) is fallback
