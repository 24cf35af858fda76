"""Recorded model outputs, keyed by the hash of the fully rendered request.

CI has no network and no key, so evals replay what a real model said once. The key covers
everything that changes the answer: model, base URL, sampling parameters, response format, the
rendered messages, and the rubric version. A prompt edit therefore changes the key, and the replay
fails loudly, naming the command that records the new outputs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from app.errors import SdmockError
from app.llm.base import ChatModel, Completion, Message


class RecordingMissingError(SdmockError):
    """A replayed request has no recording: the prompt, rubric or model changed since recording."""


def request_key(
    *,
    model: str,
    base_url: str | None,
    messages: list[Message],
    max_tokens: int,
    temperature: float,
    json_schema: dict[str, Any] | None,
    rubric_version: str | None,
) -> str:
    """sha256 over the canonical JSON of everything that shapes the reply."""
    payload = {
        "model": model,
        "base_url": base_url,
        "params": {"max_tokens": max_tokens, "temperature": temperature},
        "response_format": json_schema,
        "messages": messages,
        "rubric_version": rubric_version,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def model_slug(model: str) -> str:
    """A folder-safe name for a provider/model string."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")


def _saved(path: Path) -> Completion:
    """The Completion stored in one recording file."""
    return Completion.model_validate(json.loads(path.read_text(encoding="utf-8"))["completion"])


class RecordingModel:
    """Wraps a ChatModel: `record` calls it and saves each reply; `replay` answers from the saves only."""

    def __init__(
        self,
        *,
        model_name: str,
        recordings_dir: Path,
        mode: Literal["record", "replay"],
        inner: ChatModel | None = None,
        base_url: str | None = None,
        rubric_version: str | None = None,
        rerecord_command: str = "sdmock eval --grader llm --record",
    ) -> None:
        if mode == "record" and inner is None:
            raise SdmockError("recording needs a real model", "pass --model with a configured provider")
        self.name = model_name
        self.inner = inner
        self.mode = mode
        self.base_url = base_url
        self.rubric_version = rubric_version
        self.folder = recordings_dir / model_slug(model_name)
        self.rerecord_command = rerecord_command
        self.supports_json_schema = inner.supports_json_schema if inner is not None else True
        self.hits = 0
        self.recorded = 0

    def _path(self, key: str) -> Path:
        return self.folder / f"{key[:2]}" / f"{key}.json"

    def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        json_schema: dict[str, Any] | None = None,
        prompt_id: str | None = None,
    ) -> Completion:
        """Answer from the recording (replay) or from the inner model, saving the reply (record)."""
        key = request_key(
            model=self.name,
            base_url=self.base_url,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            json_schema=json_schema,
            rubric_version=self.rubric_version,
        )
        path = self._path(key)
        if self.mode == "record" and path.exists():
            # Recording resumes: what an interrupted run already saved is kept, not paid for again.
            # (To record afresh, delete the model's folder under evals/recordings/.)
            self.hits += 1
            return _saved(path)
        if self.mode == "replay":
            if not path.exists():
                raise RecordingMissingError(
                    f"no recorded reply for request {key[:12]} of model {self.name} "
                    f"(prompt {prompt_id or 'unknown'}): the prompt, rubric or model changed since recording",
                    f"re-record with: {self.rerecord_command}",
                )
            self.hits += 1
            return _saved(path)
        assert self.inner is not None
        done = self.inner.complete(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            json_schema=json_schema,
            prompt_id=prompt_id,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "model": self.name, "prompt_id": prompt_id, "completion": done.model_dump()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        self.recorded += 1
        return done

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        prompt_id: str | None = None,
    ) -> Iterator[str | Completion]:
        """Replayed streams yield the whole recorded text at once, then the Completion."""
        done = self.complete(messages, max_tokens=max_tokens, temperature=temperature, prompt_id=prompt_id)
        yield done.text
        yield done
