"""Prompts are files in prompts/, loaded by name, rendered strictly.

A prompt file is Markdown with YAML front-matter (name, version, inputs) and a Jinja2 body.
Rendering fails with an error naming every missing input; a prompt's id is the hash of its source,
recorded with every model call so a reply can be traced to the exact prompt text.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml
from pydantic import BaseModel, Field

from app.errors import KnowledgeError

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


class Prompt(BaseModel):
    """One prompt template."""

    name: str
    version: int
    inputs: list[str] = Field(default_factory=list)
    description: str = ""
    body: str
    source: str = Field(description="The whole file, front-matter included.")

    @property
    def id(self) -> str:
        """Content hash of the file: name@version#first-12-hex."""
        digest = hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:12]
        return f"{self.name}@{self.version}#{digest}"

    def render(self, **values: Any) -> str:
        """Render with every declared input; raise naming all missing ones."""
        template, used = _compile(self.body)
        missing = sorted((set(self.inputs) | used) - set(values))
        if missing:
            raise KnowledgeError(
                f"prompt {self.name!r} is missing inputs: {', '.join(missing)}",
                "pass every input listed in the prompt's front-matter",
            )
        return template.render(**values)


@lru_cache(maxsize=128)
def _compile(body: str) -> tuple[jinja2.Template, frozenset[str]]:
    """Compile a prompt body once: the template and the variables it uses."""
    return _ENV.from_string(body), frozenset(jinja2.meta.find_undeclared_variables(_ENV.parse(body)))


def parse_prompt(source: str, origin: str = "<string>") -> Prompt:
    """Parse a prompt file's text."""
    if not source.startswith("---"):
        raise KnowledgeError(f"prompt {origin} has no front-matter", "start the file with a '---' YAML block")
    try:
        _, front, body = source.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"prompt {origin} has broken front-matter: {exc}", "fix the YAML block") from exc
    for key in ("name", "version"):
        if key not in meta:
            raise KnowledgeError(f"prompt {origin} lacks {key!r} in its front-matter", "add it")
    return Prompt(body=body.lstrip("\n"), source=source, **meta)


@lru_cache(maxsize=64)
def _load(path: Path, mtime: float) -> Prompt:
    del mtime  # part of the cache key only: an edited file is read again
    return parse_prompt(path.read_text(encoding="utf-8"), origin=path.name)


def load_prompt(name: str, prompts_dir: Path | None = None) -> Prompt:
    """Load prompts/<name>.md."""
    if prompts_dir is None:
        from app.settings import default_settings

        prompts_dir = default_settings().prompts_dir
    path = prompts_dir / f"{name}.md"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in prompts_dir.glob("*.md")))
        raise KnowledgeError(f"no prompt named {name!r} in {prompts_dir}", f"known prompts: {known}")
    return _load(path, path.stat().st_mtime)
