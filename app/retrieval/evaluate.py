"""Retrieval quality: hit@k over a labelled question set (`tests/data/retrieval_questions.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.errors import KnowledgeError
from app.retrieval.search import Retriever


@dataclass(frozen=True)
class Question:
    """A query and the note slugs (file names without `.md`) any of which counts as a hit."""

    q: str
    expect: frozenset[str]


@dataclass
class HitReport:
    k: int
    total: int = 0
    hits: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


def load_questions(path: Path) -> list[Question]:
    """Load `[{q, expect}]`, where `expect` is a slug or a list of slugs."""
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot load the retrieval questions ({exc})") from exc
    if not isinstance(items, list):
        raise KnowledgeError(f"{path}: expected a list of {{q, expect}} items")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or "expect" not in item:
            raise KnowledgeError(f"{path}: item {i} needs a string `q` and an `expect`")
        expect = item["expect"]
        slugs = [expect] if isinstance(expect, str) else list(expect)
        out.append(Question(item["q"], frozenset(str(s) for s in slugs)))
    return out


def note_slug(source: str) -> str:
    """`caching.md` -> `caching`."""
    return Path(source).stem


def hit_at_k(retriever: Retriever, questions: list[Question], k: int = 3) -> HitReport:
    """Share of questions with an expected note among the top `k` chunks."""
    report = HitReport(k=k, total=len(questions))
    for question in questions:
        got = [note_slug(h.source) for h in retriever.search(question.q, k=k)]
        if question.expect & set(got):
            report.hits += 1
        else:
            report.misses.append(f"{question.q!r}: expected {sorted(question.expect)}, got {got}")
    return report
