"""What a grading produces: per-dimension grades, flags, pivotal moments and the report record."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.llm.base import Usage

Status = Literal["graded", "failed"]


class Quote(BaseModel):
    """A verbatim line of the candidate, with the turn it came from."""

    turn: int = Field(description="Index of the turn in the transcript (0-based).")
    text: str
    note: str = Field("", description="What the quote shows.")
    stance: Literal["for", "against"] = Field(
        default="for", description="Whether it counts for or against the score."
    )


class Attempt(BaseModel):
    """One model call of a judgement, kept for audit."""

    raw: str | None = None
    error: str | None = None


class DimensionGrade(BaseModel):
    """The grade of one dimension: a score (or a failure), its evidence and how it was reached."""

    id: str
    name: str
    score: int | None = Field(None, ge=1, le=4, description="None when the grading failed.")
    status: Status = "graded"
    evidence: list[Quote] = Field(default_factory=list, description="Verified verbatim quotes only.")
    rationale: str = ""
    heuristic_score: int = Field(ge=1, le=4, description="The score the verifiable evidence alone gives.")
    model_score: int | None = Field(
        default=None, description="The judge's raw score, before caps and floors."
    )
    cap: int = Field(4, description="Highest score the verifiable evidence allows.")
    floor: int = Field(1, description="Lowest score the verifiable evidence allows.")
    rules: list[str] = Field(default_factory=list, description="Caps, floors and drops applied, in words.")
    dropped_quotes: list[str] = Field(default_factory=list, description="Judge quotes not found verbatim.")
    prompt_id: str | None = None
    attempts: list[Attempt] = Field(default_factory=list, description="Raw judge replies, in order.")
    error: str | None = None


class Flag(BaseModel):
    """Something the report must point out: grader-directed text, junk turns, a failed grading."""

    kind: str
    message: str
    turn: int | None = None
    text: str | None = None


class Moment(BaseModel):
    """A turn that shaped the interview, such as the first design statement or a challenged estimate."""

    turn: int
    kind: str
    text: str
    note: str = ""


class StudyNote(BaseModel):
    """A note to read next, retrieved for a weak dimension or an uncovered topic."""

    reason: str
    source: str
    heading: str = ""
    title: str = ""
    excerpt: str = ""


class GradeReport(BaseModel):
    """Everything a report shows, serialisable as JSON."""

    grader: str = Field(description="'heuristic' or 'heuristic+llm'.")
    model: str | None = None
    problem: str
    problem_title: str
    level: str
    rubric_version: int
    overall: float | None = None
    verdict: str | None = None
    verdict_meaning: str = ""
    bands: list[tuple[str, str]] = Field(
        default_factory=list, description="(band, verdict) pairs, best first."
    )
    dimensions: list[DimensionGrade]
    flags: list[Flag] = Field(default_factory=list)
    moments: list[Moment] = Field(default_factory=list)
    strong_answer: list[str] = Field(default_factory=list, description="What a strong answer would include.")
    study_notes: list[StudyNote] = Field(default_factory=list)
    notes_status: str = Field("", description="Why no notes were retrieved, when none were.")
    usage: Usage = Field(default_factory=Usage)
    elapsed_s: float = 0.0
    candidate_words: int = 0
    candidate_turns: int = 0

    @property
    def failed(self) -> list[str]:
        """Ids of the dimensions whose grading failed."""
        return [d.id for d in self.dimensions if d.status == "failed"]

    def summary_json(self) -> dict[str, object]:
        """The `--json` shape of the CLI."""
        return {
            "grader": self.grader,
            "overall": self.overall,
            "verdict": self.verdict,
            "problem": self.problem,
            "level": self.level,
            "dimensions": [
                {
                    "id": d.id,
                    "score": d.score,
                    "status": d.status,
                    "evidence": [q.model_dump() for q in d.evidence],
                    "rationale": d.rationale,
                    "heuristic_score": d.heuristic_score,
                    "model_score": d.model_score,
                    "rules": d.rules,
                    "prompt_id": d.prompt_id,
                }
                for d in self.dimensions
            ],
            "failed": self.failed,
            "flags": [f.model_dump() for f in self.flags],
            "model": self.model,
            "usage": self.usage.model_dump(),
        }
