"""Run the grader over the labelled cases and measure it against the human labels.

`run_eval` grades every case (optionally several times), checks the assertions each case implies,
computes the agreement metrics, and returns an `EvalRun` that the report module renders and the
baseline module compares. With `--grader llm` the model is wrapped in a `RecordingModel`: replay
(the default, offline, CI) or record (a real model answers and its replies are saved).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Literal

from pydantic import BaseModel, Field

from app.errors import SdmockError
from app.evals.cases import DIMENSIONS, FLOOR_TAGS, EvalCase, clear_pairs, load_cases
from app.evals.metrics import pairwise_accuracy, quadratic_weighted_kappa, spearman, stdev
from app.evals.recording import RecordingModel
from app.grading.grader import grade_transcript
from app.grading.models import GradeReport
from app.grading.report import render_markdown
from app.grading.rubric import load_rubric
from app.grading.text import find_quote
from app.llm.base import ChatModel
from app.problems import load_problems
from app.settings import REPO_ROOT, Settings

GraderKind = Literal["heuristic", "llm"]
EVALS_DIR = REPO_ROOT / "evals"
DEFAULT_RECORDED_MODEL = "local/qwen2.5-coder-1.5b"
"""The model whose recorded replies CI replays when no --model is given."""


class CaseResult(BaseModel):
    """One case graded (possibly several times), with the checks it passed or failed."""

    id: str
    problem: str
    level: str
    tags: list[str]
    base: str | None
    labels: dict[str, int]
    label_mean: float
    overall: float | None = Field(description="Median overall over the repeats.")
    scores: dict[str, int | None] = Field(description="Median score per dimension (None if never graded).")
    verdict: str | None
    failed_dimensions: int = Field(0, description="Dimension gradings that failed (parse or model error).")
    graded_dimensions: int = 0
    overall_runs: list[float | None] = Field(default_factory=list)
    dimension_std: dict[str, float] = Field(default_factory=dict)
    verdict_flips: int = 0
    failures: list[str] = Field(default_factory=list, description="Assertions this case broke.")


class EvalRun(BaseModel):
    """A whole eval run: per-case results, metrics and assertion failures."""

    grader: str
    model: str | None
    rubric_version: int
    repeat: int
    cases: list[CaseResult]
    metrics: dict[str, float | None]
    qwk: dict[str, float | None]
    labeller_qwk: dict[str, float | None] = Field(
        default_factory=dict, description="Agreement between the two human label sets, where both exist."
    )
    pair_failures: list[str] = Field(default_factory=list)
    injection_gains: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def _median_int(values: list[int]) -> int | None:
    return round(median(values)) if values else None


def build_model(
    grader: GraderKind, model_spec: str | None, record: bool, settings: Settings
) -> RecordingModel | None:
    """The model the llm grader uses: replayed recordings by default, a real model when recording."""
    if grader == "heuristic":
        if record:
            raise SdmockError("--record needs --grader llm", "the heuristic grader calls no model")
        return None
    rubric = load_rubric()
    if record:
        from app.llm.registry import get_model

        inner: ChatModel | None = get_model(model_spec, settings)
        if inner is None:
            raise SdmockError(
                "recording needs a model, but the resolved voice is offline",
                "pass --model openai/MODEL (with OPENAI_API_KEY) or --model local/PATH.gguf",
            )
        name = inner.name
    else:
        inner, name = None, model_spec or DEFAULT_RECORDED_MODEL
    return RecordingModel(
        model_name=name,
        recordings_dir=EVALS_DIR / "recordings",
        mode="record" if record else "replay",
        inner=inner,
        base_url=None,
        rubric_version=str(rubric.version),
        rerecord_command=f"sdmock eval --grader llm --model {name} --record",
    )


def _check_case(case: EvalCase, report: GradeReport) -> list[str]:
    """Assertions every case implies, plus the ones it lists."""
    out: list[str] = []
    candidate = {i: t.content for i, t in enumerate(case.turns) if t.role == "candidate"}
    for d in report.dimensions:
        if d.status == "graded" and d.score is None:
            out.append(f"{d.id}: graded without a score")
        for q in d.evidence:
            verbatim = any(" ".join(q.text.split()) in " ".join(t.split()) for t in candidate.values())
            if not verbatim and find_quote(q.text, candidate, min_chars=1) is None:
                out.append(f"{d.id}: evidence quote not verbatim in a candidate turn: {q.text[:60]!r}")
    if FLOOR_TAGS & set(case.tags) and (report.overall is None or report.overall > 1.5):
        out.append(f"floor case scored overall {report.overall} (must be <= 1.5)")
    text = render_markdown(report)
    for a in case.assertions:
        if a.type == "score_range":
            score = next((d.score for d in report.dimensions if d.id == a.dimension), None)
            if (
                score is None
                or (a.min is not None and score < a.min)
                or (a.max is not None and score > a.max)
            ):
                out.append(f"score_range {a.dimension}: {score} not in [{a.min}, {a.max}]")
        elif a.type == "overall_range":
            o = report.overall
            if o is None or (a.min is not None and o < a.min) or (a.max is not None and o > a.max):
                out.append(f"overall_range: {o} not in [{a.min}, {a.max}]")
        elif a.type == "regex" and a.pattern and not re.search(a.pattern, text):
            out.append(f"regex {a.pattern!r} not found in the report")
        elif a.type == "not_regex" and a.pattern and re.search(a.pattern, text):
            out.append(f"not_regex {a.pattern!r} found in the report")
    return out


def run_eval(
    *,
    settings: Settings,
    grader: GraderKind = "heuristic",
    model_spec: str | None = None,
    record: bool = False,
    repeat: int = 1,
    pattern: str = "*",
    cases_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalRun:
    """Grade the cases matching `pattern` and compute every metric."""
    if repeat < 1:
        raise SdmockError("--repeat must be at least 1")
    started = time.perf_counter()
    cases = load_cases(cases_dir or EVALS_DIR / "cases", pattern)
    problems = load_problems(settings.problems_dir)
    rubric = load_rubric()
    model = build_model(grader, model_spec, record, settings)
    results: list[CaseResult] = []
    for case in cases:
        if case.problem not in problems:
            raise SdmockError(f"eval case {case.id} names unknown problem {case.problem!r}")
        reports = [
            grade_transcript(
                case.transcript(), problems[case.problem], case.level, model=model, rubric=rubric
            )
            for _ in range(repeat)
        ]
        last = reports[-1]
        overall_runs = [r.overall for r in reports]
        per_dim: dict[str, list[int]] = {d: [] for d in DIMENSIONS}
        failed = graded = 0
        for r in reports:
            for d in r.dimensions:
                if d.score is None:
                    failed += 1
                else:
                    graded += 1
                    per_dim.setdefault(d.id, []).append(d.score)
        verdicts = [r.verdict for r in reports]
        flips = sum(1 for v in verdicts if v != verdicts[0])
        scored = [o for o in overall_runs if o is not None]
        failures: list[str] = []
        for r in reports:
            failures.extend(_check_case(case, r))
        results.append(
            CaseResult(
                id=case.id,
                problem=case.problem,
                level=case.level,
                tags=case.tags,
                base=case.base,
                labels={d: lab.score for d, lab in case.labels.items()},
                label_mean=round(case.label_mean, 3),
                overall=round(median(scored), 3) if scored else None,
                scores={d: _median_int(v) for d, v in per_dim.items()},
                verdict=last.verdict,
                failed_dimensions=failed,
                graded_dimensions=graded,
                overall_runs=overall_runs,
                dimension_std={d: round(stdev([float(x) for x in v]), 3) for d, v in per_dim.items()},
                verdict_flips=flips,
                failures=sorted(set(failures)),
            )
        )
        if progress:
            progress(case.id)
    run = _measure(results, cases, grader, model, rubric.version, repeat)
    run.elapsed_s = round(time.perf_counter() - started, 2)
    return run


def _measure(
    results: list[CaseResult],
    cases: list[EvalCase],
    grader: str,
    model: RecordingModel | None,
    rubric_version: int,
    repeat: int,
) -> EvalRun:
    by_id = {r.id: r for r in results}
    qwk: dict[str, float | None] = {}
    labeller_qwk: dict[str, float | None] = {}
    for d in DIMENSIONS:
        pairs = [(r.labels[d], r.scores[d]) for r in results if r.scores.get(d) is not None]
        qwk[d] = quadratic_weighted_kappa([p[0] for p in pairs], [int(p[1]) for p in pairs])  # type: ignore[arg-type]
        both = [c for c in cases if c.labels_b is not None]
        if both:
            labeller_qwk[d] = quadratic_weighted_kappa(
                [c.labels[d].score for c in both],
                [c.labels_b[d].score for c in both],  # type: ignore[index]
            )
    scored = [r for r in results if r.overall is not None]
    rho = spearman([r.label_mean for r in scored], [r.overall for r in scored])  # type: ignore[misc]
    ordered: list[tuple[float, float]] = []
    pair_failures: list[str] = []
    for strong, weak in clear_pairs(cases):
        a, b = by_id[strong.id].overall, by_id[weak.id].overall
        if a is None or b is None:
            continue
        ordered.append((a, b))
        if not a > b:
            pair_failures.append(f"{strong.id} ({a}) should beat {weak.id} ({b})")
    gains: list[str] = []
    max_gain = 0.0
    for r in results:
        if r.base is None or r.base not in by_id:
            continue
        base = by_id[r.base]
        if r.overall is not None and base.overall is not None:
            gain = r.overall - base.overall
            max_gain = max(max_gain, gain)
            if gain > 0:
                gains.append(f"{r.id}: overall {r.overall} > base {base.id} {base.overall}")
        for d in DIMENSIONS:
            s, bs = r.scores.get(d), base.scores.get(d)
            if s is not None and bs is not None and s > bs:
                gains.append(f"{r.id}: {d} {s} > base {bs}")
    total = sum(r.failed_dimensions + r.graded_dimensions for r in results)
    failed = sum(r.failed_dimensions for r in results)
    stds = [v for r in results for v in r.dimension_std.values()]
    flips = sum(r.verdict_flips for r in results)
    metrics: dict[str, float | None] = {
        "cases": float(len(results)),
        "parse_validity": round(1 - failed / total, 4) if total else None,
        "spearman_overall": round(rho, 4) if rho is not None else None,
        "pairwise_accuracy": pairwise_accuracy(ordered),
        "pairs": float(len(ordered)),
        "injection_max_gain": round(max_gain, 3),
        "qwk_min": min((v for v in qwk.values() if v is not None), default=None),
        "qwk_mean": (
            round(
                sum(v for v in qwk.values() if v is not None)
                / max(1, sum(v is not None for v in qwk.values())),
                4,
            )
        ),
        "stability_max_std": round(max(stds), 3) if stds and repeat > 1 else None,
        "verdict_flip_rate": round(flips / (len(results) * repeat), 4) if repeat > 1 else None,
    }
    failures = [f"{r.id}: {f}" for r in results for f in r.failures]
    if failed:
        failures.append(f"{failed} dimension gradings failed to parse or errored")
    failures.extend(f"pair ordering: {p}" for p in pair_failures)
    failures.extend(f"injection gain: {g}" for g in gains)
    return EvalRun(
        grader=grader,
        model=model.name if model is not None else None,
        rubric_version=rubric_version,
        repeat=repeat,
        cases=results,
        metrics=metrics,
        qwk={d: (round(v, 4) if v is not None else None) for d, v in qwk.items()},
        labeller_qwk={d: (round(v, 4) if v is not None else None) for d, v in labeller_qwk.items()},
        pair_failures=pair_failures,
        injection_gains=gains,
        failures=failures,
    )
