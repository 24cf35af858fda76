"""Validated structured output: a pydantic model in, a JSON schema to the server, bounded retries.

Servers with `supports_json_schema` get `response_format=json_schema` (strict); the others get JSON mode
or a written instruction (the client decides from its capability attributes). Every reply is parsed and
validated here whatever the server promised; an invalid one is retried with the validation error shown
to the model. When the attempts run out, ModelError keeps the attempt count and the last raw reply.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import ModelError
from app.llm.base import ChatModel, Completion, Message
from app.prompts import Prompt

M = TypeVar("M", bound=BaseModel)


def render_prompt(prompt: Prompt, **values: Any) -> str:
    """Render a prompt strictly (kept as a name for callers; Prompt.render caches compiled templates)."""
    return prompt.render(**values)


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


# Not sent to servers: titles and descriptions are noise, and size limits make llama.cpp's grammar
# sampling several times slower. Pydantic still enforces every limit when the reply is validated.
_NOT_SENT = frozenset({"title", "default", "description", "maxItems", "minItems", "maxLength", "minLength"})


def strict_schema(model: type[BaseModel], *, keep_item_limits: bool = False) -> dict[str, Any]:
    """The model's JSON schema in the strict form OpenAI accepts: refs inlined, every property required,
    no additional properties, no titles, defaults or size limits (with `keep_item_limits`, arrays keep
    their maxItems: a small model listing every enum value in a loop is stopped by the grammar)."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})
    dropped = _NOT_SENT - {"maxItems"} if keep_item_limits else _NOT_SENT

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            out = {k: walk(v) for k, v in node.items() if k not in dropped}
            if out.get("type") == "object" and "properties" in out:
                out["required"] = list(out["properties"])
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(raw)
    return result


def parse_json_reply(text: str) -> Any:
    """Parse a reply that should be one JSON object, tolerating a code fence around it."""
    match = _FENCE.match(text)
    return json.loads(match.group(1) if match else text)


def complete_structured(
    model: ChatModel,
    messages: list[Message],
    output: type[M],
    *,
    max_tokens: int = 400,
    attempts: int = 2,
    prompt_id: str | None = None,
    deadline: float | None = None,
    keep_item_limits: bool = False,
) -> tuple[M, Completion]:
    """Ask for JSON matching `output`, validate it, retry an invalid reply up to `attempts` times in all."""
    schema = strict_schema(output, keep_item_limits=keep_item_limits)
    conversation = list(messages)
    last_raw: str | None = None
    problem = "no attempt made"
    extra: dict[str, Any] = {"deadline": deadline} if getattr(model, "supports_deadline", False) else {}
    for attempt in range(1, attempts + 1):
        if deadline is not None and time.monotonic() >= deadline:
            problem = "deadline passed"
            break
        completion = model.complete(
            conversation,
            max_tokens=max_tokens,
            temperature=0.0,
            json_schema=schema,
            prompt_id=prompt_id,
            **extra,
        )
        last_raw = completion.text
        try:
            if not completion.text.strip():
                raise ValueError("the reply was empty")
            if completion.finish_reason == "length":
                raise ValueError(f"the reply was cut off at max_tokens={max_tokens}")
            return output.model_validate(parse_json_reply(completion.text)), completion
        except (ValueError, ValidationError) as exc:
            problem = _describe(exc)
        conversation = [
            *messages,
            {"role": "assistant", "content": last_raw[:2000]},
            {
                "role": "user",
                "content": f"That reply is not valid: {problem}. Answer with the JSON object only.",
            },
        ]
        del attempt
    raise ModelError(
        f"{model.name}: no valid {output.__name__} after {attempts} attempt(s): {problem}",
        "the model cannot follow the schema; use a stronger model or the offline classifier",
        attempts=attempts,
        last_raw=last_raw,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        return f"{where}: {first['msg']}"
    return str(exc)


# -- untrusted text ------------------------------------------------------------------------------------


def new_tag() -> str:
    """A fresh random marker for the untrusted-text tags of one request."""
    return secrets.token_hex(4)


def wrap_untrusted(kind: str, text: str, tag: str) -> str:
    """Wrap untrusted text in <kind-tag> tags, removing any copy of the marker from the text itself."""
    cleaned = text.replace(tag, "")
    return f"<{kind}-{tag}>\n{cleaned}\n</{kind}-{tag}>"
