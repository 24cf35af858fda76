"""The rubric: six dimensions with a descriptor for every score and per-level expectations.

Loaded from `knowledge/rubric.yaml` and validated on load. Verdict bands are strings such as
"3.5-4.0" that are parsed with a regular expression, never evaluated (a YAML key like `9 - 10`
once became -1 in another project).
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from app.errors import KnowledgeError

DIMENSION_IDS: tuple[str, ...] = (
    "scoping",
    "estimation",
    "high_level_design",
    "deep_dive",
    "wrap_up",
    "communication",
)
"""The six dimension ids, in report order."""

SCORES = (1, 2, 3, 4)
Level = Literal["mid", "senior", "staff"]

_BAND = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


def _score_keys(v: object) -> dict[int, str]:
    """Accept `"1": ...` or `1: ...` keys; require exactly 1-4 with non-empty text."""
    if not isinstance(v, dict):
        raise ValueError("must be a mapping of score (1-4) to text")
    out: dict[int, str] = {}
    for key, text in v.items():
        if isinstance(key, bool) or not re.fullmatch(r"\s*[1-4]\s*", str(key)):
            raise ValueError(f"score key {key!r} is not one of 1, 2, 3, 4")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"score {key} needs a written descriptor")
        out[int(str(key))] = text.strip()
    if set(out) != set(SCORES):
        raise ValueError(f"needs descriptors for every score 1-4, got {sorted(out)}")
    return out


class LevelText(BaseModel):
    """What each level is expected to show on one dimension."""

    mid: str = Field(min_length=10)
    senior: str = Field(min_length=10)
    staff: str = Field(min_length=10)

    def for_level(self, level: str) -> str:
        return str(getattr(self, level))


class Dimension(BaseModel):
    """One graded dimension."""

    id: str
    name: str
    step: int = Field(ge=0, le=4, description="Interview step it belongs to; 0 means the whole interview.")
    measures: str = Field(min_length=10)
    descriptors: dict[int, str] = Field(description="Score (1-4) -> what that score looks like.")
    levels: LevelText

    @field_validator("descriptors", mode="before")
    @classmethod
    def _descriptors(cls, v: object) -> dict[int, str]:
        return _score_keys(v)


class VerdictBand(BaseModel):
    """A range of overall scores and its verdict."""

    band: str = Field(description='"LOW-HIGH" as a quoted string, e.g. "3.5-4.0".')
    verdict: str = Field(min_length=2)
    meaning: str = ""
    low: float = 0.0
    high: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _parse_band(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        band = data.get("band")
        if not isinstance(band, str):
            raise ValueError(f'band {band!r} must be a quoted string like "3.5-4.0"')
        m = _BAND.match(band)
        if not m:
            raise ValueError(f"band {band!r} is not of the form LOW-HIGH")
        low, high = float(m.group(1)), float(m.group(2))
        if not (1.0 <= low < high <= 4.0):
            raise ValueError(f"band {band!r} must satisfy 1 <= LOW < HIGH <= 4")
        return {**data, "low": low, "high": high}


class Rubric(BaseModel):
    """The whole rubric."""

    version: int
    scale: dict[int, str]
    verdicts: list[VerdictBand] = Field(min_length=2)
    dimensions: list[Dimension]

    @field_validator("scale", mode="before")
    @classmethod
    def _scale(cls, v: object) -> dict[int, str]:
        return _score_keys(v)

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        ids = [d.id for d in self.dimensions]
        if tuple(ids) != DIMENSION_IDS:
            raise ValueError(f"dimensions must be exactly {list(DIMENSION_IDS)} in that order, got {ids}")
        bands = sorted(self.verdicts, key=lambda b: b.low)
        if bands[0].low != 1.0 or bands[-1].high != 4.0:
            raise ValueError("verdict bands must cover 1.0 to 4.0")
        for a, b in itertools.pairwise(bands):
            if abs(a.high - b.low) > 1e-9:
                raise ValueError(f"verdict bands {a.band!r} and {b.band!r} leave a gap or overlap")
        self.verdicts = sorted(self.verdicts, key=lambda b: -b.low)
        return self

    def dimension(self, dim_id: str) -> Dimension:
        """The dimension with this id."""
        for d in self.dimensions:
            if d.id == dim_id:
                return d
        raise KeyError(dim_id)

    def verdict_for(self, overall: float) -> VerdictBand:
        """The band an overall score falls in (LOW inclusive, HIGH exclusive except at 4.0)."""
        for band in self.verdicts:  # highest first
            if overall >= band.low - 1e-9:
                return band
        return self.verdicts[-1]


def load_rubric_file(path: Path) -> Rubric:
    """Load and validate a rubric file; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"cannot read rubric {path}: {exc}", "fix the path or the YAML syntax") from exc
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise KnowledgeError(
            f"rubric {path.name} is invalid at {where}: {first['msg']}",
            "see app/grading/rubric.py for the schema",
        ) from exc


@lru_cache(maxsize=4)
def _cached(path: Path, mtime: float) -> Rubric:
    del mtime  # cache key only: an edited file is read again
    return load_rubric_file(path)


def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric at `path` (default: settings.rubric_path), loaded once per file version."""
    if path is None:
        from app.settings import default_settings

        path = default_settings().rubric_path
    if not path.exists():
        raise KnowledgeError(f"rubric not found: {path}", "check SDMOCK_KNOWLEDGE_DIR")
    return _cached(path.resolve(), path.stat().st_mtime)
