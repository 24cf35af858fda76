"""Retrieval quality: hit@k over labelled question sets, at the note and at the section level.

Two sets exist:

- `tests/data/retrieval_questions.yaml`: `[{q, expect}]`, `expect` a note slug or a list of them
  (note level only).
- `evals/retrieval/paraphrases.yaml`: `[{q, note, section, split}]`, each question labelled with the
  note and the exact `##` heading that answers it, and a `split` (`tune` or `heldout`: held-out
  questions are never used to tune the ranking).

A note-level hit is an expected note among the top `k` chunks; a section-level hit is the expected
note *and* section among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from app.errors import KnowledgeError
from app.settings import REPO_ROOT

OLD_SET = REPO_ROOT / "tests" / "data" / "retrieval_questions.yaml"
PARAPHRASE_SET = REPO_ROOT / "evals" / "retrieval" / "paraphrases.yaml"
SPLITS = ("tune", "heldout")


class _Hit(Protocol):
    source: str
    heading: str


class Searcher(Protocol):
    def search(
        self, query: str, k: int = 3, step: str | None = None, topic: str | None = None
    ) -> list[_Hit]: ...


@dataclass(frozen=True)
class Question:
    """A query, the note slugs (file names without `.md`) any of which counts as a hit, and optionally
    the `##` heading of the section that answers it."""

    q: str
    expect: frozenset[str]
    section: str | None = None
    split: str = "tune"


@dataclass
class HitReport:
    k: int
    total: int = 0
    hits: int = 0
    """Questions with an expected note among the top `k`."""
    sections_total: int = 0
    """Questions labelled with a section."""
    section_hits: int = 0
    """Of those, questions with the expected note and section among the top `k`."""
    misses: list[str] = field(default_factory=list)
    """Note-level misses."""
    section_misses: list[str] = field(default_factory=list)
    """Section-level misses (the note may still have been found)."""

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def section_rate(self) -> float:
        return self.section_hits / self.sections_total if self.sections_total else 0.0


def load_questions(path: Path) -> list[Question]:
    """Load `[{q, expect}]` (`expect` a slug or a list of slugs) or `[{q, note, section, split}]`."""
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot load the retrieval questions ({exc})") from exc
    if not isinstance(items, list):
        raise KnowledgeError(f"{path}: expected a list of {{q, expect}} or {{q, note, section}} items")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise KnowledgeError(f"{path}: item {i} needs a string `q`")
        if "expect" in item:
            expect = item["expect"]
            slugs = [expect] if isinstance(expect, str) else list(expect)
            out.append(Question(item["q"], frozenset(str(s) for s in slugs)))
            continue
        note, section = item.get("note"), item.get("section")
        if not isinstance(note, str) or not isinstance(section, str):
            raise KnowledgeError(f"{path}: item {i} needs an `expect`, or a string `note` and `section`")
        split = str(item.get("split", "tune"))
        if split not in SPLITS:
            raise KnowledgeError(f"{path}: item {i}: split must be one of {', '.join(SPLITS)}")
        out.append(Question(item["q"], frozenset({note}), section, split))
    return out


def note_slug(source: str) -> str:
    """`caching.md` -> `caching`."""
    return Path(source).stem


def hit_at_k(retriever: Searcher, questions: Iterable[Question], k: int = 3) -> HitReport:
    """Share of questions with an expected note (and section, where labelled) among the top `k` chunks."""
    report = HitReport(k=k)
    for question in questions:
        report.total += 1
        hits = retriever.search(question.q, k=k)
        got = [(note_slug(h.source), h.heading) for h in hits]
        if question.expect & {slug for slug, _ in got}:
            report.hits += 1
        else:
            report.misses.append(f"{question.q!r}: expected {sorted(question.expect)}, got {got}")
        if question.section is not None:
            report.sections_total += 1
            if any(slug in question.expect and heading == question.section for slug, heading in got):
                report.section_hits += 1
            else:
                want = f"{'/'.join(sorted(question.expect))} > {question.section}"
                report.section_misses.append(f"{question.q!r}: expected {want}, got {got}")
    return report
