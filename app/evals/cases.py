"""Labelled eval cases: one YAML file each under evals/cases/, validated on load."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from app.errors import KnowledgeError
from app.transcripts import Transcript, Turn

DIMENSIONS = ("scoping", "estimation", "high_level_design", "deep_dive", "wrap_up", "communication")
FLOOR_TAGS = {"empty", "gibberish", "off-topic"}
"""Cases with these tags must land at the floor: overall <= 1.5."""


class Label(BaseModel):
    """One human judgement on one dimension."""

    score: int = Field(ge=1, le=4)
    why: str = Field(min_length=3)


class Assertion(BaseModel):
    """An extra check on a case beyond the ones derived from its tags and labels."""

    type: Literal["score_range", "overall_range", "ranks_above", "regex", "not_regex"]
    dimension: str | None = None
    min: float | None = None
    max: float | None = None
    other: str | None = Field(None, description="Case id this case must out-score (ranks_above).")
    pattern: str | None = None


class EvalCase(BaseModel):
    """A transcript with per-dimension labels written from the rubric before any grader ran."""

    id: str
    problem: str
    level: Literal["mid", "senior", "staff"]
    tags: list[str] = Field(default_factory=list)
    base: str | None = Field(None, description="For injected variants: the clean case this was made from.")
    labels: dict[str, Label]
    labels_b: dict[str, Label] | None = Field(None, description="A second, independent labeller.")
    turns: list[Turn] = Field(min_length=1)
    assertions: list[Assertion] = Field(default_factory=list)

    @field_validator("labels", "labels_b")
    @classmethod
    def _all_dimensions(cls, v: dict[str, Label] | None) -> dict[str, Label] | None:
        if v is not None and set(v) != set(DIMENSIONS):
            raise ValueError(f"labels must cover exactly {', '.join(DIMENSIONS)}; got {', '.join(sorted(v))}")
        return v

    @property
    def label_mean(self) -> float:
        return sum(label.score for label in self.labels.values()) / len(self.labels)

    def transcript(self) -> Transcript:
        return Transcript(problem=self.problem, level=self.level, turns=self.turns)


def load_case(path: Path) -> EvalCase:
    """Load one case file; errors name the file and the field."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        case = EvalCase.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"cannot read eval case {path.name}: {exc}", "fix the YAML") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KnowledgeError(f"eval case {path.name} is invalid at {where}: {first['msg']}") from exc
    if case.id != path.stem:
        raise KnowledgeError(f"eval case {path.name} has id {case.id!r}", "make the id match the file name")
    return case


def case_globs(pattern: str) -> list[str]:
    """The globs of a --case pattern, sorted and without repeats ("b, a,a" -> ["a", "b"])."""
    return sorted({g.strip() for g in pattern.split(",") if g.strip()}) or ["*"]


def canonical_pattern(pattern: str) -> str:
    """One spelling per set of globs, so a baseline is found whatever order the globs were given in."""
    return ",".join(case_globs(pattern))


def load_cases(cases_dir: Path, pattern: str = "*") -> list[EvalCase]:
    """All cases whose id matches the glob (or one of several, comma-separated), in file order."""
    globs = case_globs(pattern)
    cases = [
        load_case(p)
        for p in sorted(cases_dir.glob("*.yaml"))
        if any(fnmatch.fnmatch(p.stem, g) for g in globs)
    ]
    if not cases:
        raise KnowledgeError(f"no eval cases match {pattern!r} in {cases_dir}", "check --case")
    return cases


def clear_pairs(cases: list[EvalCase], min_gap: float = 1.5) -> list[tuple[EvalCase, EvalCase]]:
    """(stronger, weaker) pairs of clean cases whose label means differ by at least min_gap.

    Pairs are formed within the same problem or the same level, where a comparison is meaningful.
    Injected variants are left out: they are checked against their base instead.
    """
    clean = [c for c in cases if c.base is None and "injection" not in c.tags]
    pairs = []
    for a in clean:
        for b in clean:
            if a.id == b.id or (a.problem != b.problem and a.level != b.level):
                continue
            if a.label_mean - b.label_mean >= min_gap:
                pairs.append((a, b))
    return pairs
