"""The model reader: one structured-output call per candidate message, validated, guarded in code.

The JSON schema is built from the problem (enums of its fact, number, component, topic and pitfall
ids), so a valid reply can only name what the problem has. The guardrails stay in code whatever the
model says: a fact is released only for a message that contains a question, ids outside the problem
are dropped, and a reply that is late, invalid or missing is replaced by the fallback reader's
Reading (the offline reader), so a reply is never held up by the model.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.errors import ModelError, SdmockError
from app.interview.classify import Estimate
from app.interview.phases import Phase
from app.interview.reader_rules import _is_question_clause, clauses
from app.interview.reading import ACTS, Act, EstimateKind, Reader, Reading
from app.llm.structured import complete_structured, new_tag, render_prompt, wrap_untrusted
from app.prompts import load_prompt

if TYPE_CHECKING:
    from app.llm.base import ChatModel, Message
    from app.problems import Problem

READ_MAX_CHARS = 3000
"""Longest candidate text sent to the model; the offline reader reads all of it."""
DEFAULT_TIMEOUT_S = 20.0


def _enum(values: list[str]) -> Any:
    return Literal[tuple(values)] if values else None


@lru_cache(maxsize=32)
def _schema_for(
    key: str,
    facts: tuple[str, ...],
    numbers: tuple[str, ...],
    components: tuple[str, ...],
    topics: tuple[str, ...],
    pitfalls: tuple[str, ...],
) -> type[BaseModel]:
    """A pydantic model of the reply whose enums are this problem's ids (cached per problem)."""
    del key
    strict = ConfigDict(extra="forbid")
    number_t = _enum(list(numbers))
    kinds: Any = Literal["total", "per_item", "projection", "other"]
    number_field: Any = (number_t | None) if number_t is not None else None
    estimate_fields: dict[str, Any] = {
        "value": (float, ...),
        "unit": (str | None, ...),
        "stated": (str, ...),
        "kind": (kinds, ...),
        "number": (number_field, ...),
    }
    estimate = create_model("ModelEstimate", __config__=strict, **estimate_fields)

    def listed(item: Any, most: int) -> Any:
        return Annotated[list[item], Field(max_length=most)]

    fields: dict[str, Any] = {
        "acts": (listed(_enum(list(ACTS)), 4), ...),
        "facts": (listed(_enum(list(facts)) if facts else None, 5), ...),
        "estimates": (listed(estimate, 6), ...),
        "components": (listed(_enum(list(components)) if components else None, 6), ...),
        "topics": (listed(_enum(list(topics)) if topics else None, 3), ...),
        "pitfalls": (listed(_enum(list(pitfalls)) if pitfalls else None, 2), ...),
    }
    return create_model("ModelReading", __config__=strict, **fields)


def reading_schema(problem: Problem) -> type[BaseModel]:
    """The reply model for this problem."""
    return _schema_for(
        problem.id,
        tuple(f.id for f in problem.hidden_facts),
        tuple(n.id for n in problem.numbers),
        tuple(c.id for c in problem.components),
        tuple(t.id for t in problem.deep_dives),
        tuple(p.id for p in problem.pitfalls),
    )


_DIGITS = re.compile(r"\s*\([^)]*\d[^)]*\)")
_NUMBER = re.compile(r"~?\d[\d,.]*(?:\s*(?:%|[kKmMbB]\b))?")


def _masked(text: str) -> str:
    """Text with its numbers replaced by N: a label or pitfall may state a hidden value."""
    return _NUMBER.sub("N", _DIGITS.sub("", text))


def prompt_inputs(problem: Problem, phase: Phase, tag: str) -> dict[str, Any]:
    """What the prompt may know: ids, topic words and labels; never a fact's content or a number's value."""
    return {
        "problem_title": problem.title,
        "problem_prompt": problem.prompt,
        "phase": phase.label.split(". ", 1)[-1].lower(),
        "facts": [{"id": f.id, "about": ", ".join(f.asked_by[:6])} for f in problem.hidden_facts],
        "numbers": [{"id": n.id, "label": _masked(n.label), "unit": n.unit} for n in problem.numbers],
        "components": [{"id": c.id, "name": _masked(c.name)} for c in problem.components],
        "topics": [{"id": t.id, "title": _masked(t.title)} for t in problem.deep_dives],
        "pitfalls": [{"id": p.id, "text": _masked(p.text)} for p in problem.pitfalls],
        "tag": tag,
    }


class ModelReader:
    """Reads a message with one structured call; the fallback reader answers when the model cannot."""

    def __init__(
        self,
        model: ChatModel,
        *,
        fallback: Reader | None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        attempts: int = 2,
        name: str | None = None,
        strict: bool = False,
        on_completion: Any = None,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.name = name or f"model:{model.name}"
        self.strict = strict  # evals: a failed call raises instead of falling back
        self.on_completion = on_completion
        self.fallbacks = 0
        self.failures = 0
        self.last_error: str | None = None

    def messages(self, text: str, problem: Problem, phase: Phase) -> list[Message]:
        """The rendered request (system prompt and the wrapped candidate text)."""
        prompt = load_prompt("read_message")
        tag = _stable_tag(text)
        return [
            {"role": "system", "content": render_prompt(prompt, **prompt_inputs(problem, phase, tag))},
            {"role": "user", "content": wrap_untrusted("candidate", text[:READ_MAX_CHARS], tag)},
        ]

    def read(self, text: str, problem: Problem, phase: Phase = Phase.SCOPE) -> Reading:
        """The model's Reading, guarded; the fallback's on a timeout, an invalid reply or an error."""
        text = text if isinstance(text, str) else ""
        if not text.strip():
            return Reading(text=text, acts=[Act.EMPTY], reader=self.name)
        result: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                schema = reading_schema(problem)
                prompt_id = load_prompt("read_message").id
                reply, completion = complete_structured(
                    self.model,
                    self.messages(text, problem, phase),
                    schema,
                    max_tokens=400,
                    attempts=self.attempts,
                    prompt_id=prompt_id,
                    keep_item_limits=True,
                )
                result["reply"] = reply
                if self.on_completion is not None:
                    self.on_completion(completion)
            except (ModelError, SdmockError) as exc:
                result["error"] = exc
            except Exception as exc:
                result["error"] = exc
            finally:
                done.set()

        if self.strict:
            call()
        else:
            threading.Thread(target=call, name="model-reader", daemon=True).start()
            if not done.wait(self.timeout_s):
                result["error"] = TimeoutError(f"no reading within {self.timeout_s:.0f} s")
        if "reply" not in result:
            err = result.get("error")
            self.last_error = str(err)
            if self.strict:
                if isinstance(err, SdmockError) and not isinstance(err, ModelError):
                    raise err  # a missing recording or a configuration error stops the eval
                self.failures += 1  # an eval counts an unusable reply as a failed reading
                return Reading(text=text, acts=[], reader=self.name)
            self.fallbacks += 1
            if self.fallback is None:
                raise SdmockError(f"the model reader failed: {err}", "configure a fallback reader")
            return self.fallback.read(text, problem, phase)
        return guard(result["reply"], text, problem, self.name)


def _stable_tag(text: str) -> str:
    """A marker derived from the text, so the same message gives the same request (recordings replay)."""
    import hashlib

    tag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return tag if tag not in text else new_tag()


def guard(reply: BaseModel, text: str, problem: Problem, reader_name: str) -> Reading:
    """The model's reply as a Reading, with the rules the model cannot override."""
    data = reply.model_dump()
    fact_ids = {f.id for f in problem.hidden_facts}
    number_ids = {n.id for n in problem.numbers}
    parts = clauses(text)
    questions = [p for p in parts if _is_question_clause(p)]
    acts = [Act(a) for a in ACTS if a in set(data.get("acts") or [])]
    facts = [f for f in dict.fromkeys(data.get("facts") or []) if f in fact_ids] if questions else []
    if facts and Act.CLARIFY not in acts:
        acts.insert(0, Act.CLARIFY)
    estimates: list[Estimate] = []
    for e in data.get("estimates") or []:
        number = e.get("number") if e.get("number") in number_ids else None
        kind = e.get("kind") if e.get("kind") in {k.value for k in EstimateKind} else "total"
        try:
            value = float(e.get("value"))
        except (TypeError, ValueError):
            continue
        stated = str(e.get("stated") or "")[:200]
        estimates.append(
            Estimate(
                raw=stated, value=value, unit=e.get("unit") or None, sentence=stated, number=number, kind=kind
            )
        )
    if estimates and Act.ESTIMATE not in acts:
        acts.append(Act.ESTIMATE)
    keep = (
        {c.id for c in problem.components},
        {t.id for t in problem.deep_dives},
        {p.id for p in problem.pitfalls},
    )
    if not acts:
        acts = [Act.EMPTY] if not text.strip() else [Act.OFF_TOPIC]
    return Reading(
        text=text,
        acts=[a for a in Act if a in acts],
        facts=facts,
        estimates=estimates,
        components=[c for c in dict.fromkeys(data.get("components") or []) if c in keep[0]],
        topics=[t for t in dict.fromkeys(data.get("topics") or []) if t in keep[1]],
        pitfalls=[p for p in dict.fromkeys(data.get("pitfalls") or []) if p in keep[2]],
        questions=questions,
        reader=reader_name,
    )
