"""Reader evals: labelled candidate messages (evals/reader/*.yaml) read one by one and scored.

Every message is read on its own, against a fresh interview in its labelled phase, by a `Reader`
(offline by default; a model reader replays recordings unless asked to record). The metrics:

- per act: precision, recall, F1; macro-F1 over the acts that occur in the labels;
- facts: precision and recall over (message, fact) pairs; leak rate: share of messages that ask for
  nothing (no fact in the labels) for which the reader released a fact;
- estimates: share of labelled estimates of a derived number tied to that number, and share of
  labelled per-item sizes and projections that are no derived number but were tied to one (should
  be ~0; a per-item quantity the problem does derive, such as keys per server, is tied correctly);
- pitfalls (where labelled): precision and recall.

Each metric is reported for the `tune` split (thresholds may be calibrated on it), the `heldout`
split (never tuned on) and all messages. The baseline in evals/baselines/reader-<reader>.json holds
the last accepted run; a drop beyond `TOLERANCE` fails the run.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, field_validator

from app.errors import SdmockError
from app.interview.phases import Phase
from app.interview.reading import ACTS, Reader, Reading
from app.problems import Problem, load_problems
from app.settings import REPO_ROOT

READER_DIR = REPO_ROOT / "evals" / "reader"
BASELINE_DIR = REPO_ROOT / "evals" / "baselines"
REPORT_DIR = REPO_ROOT / "evals" / "reports" / "reader"
SPLITS = ("tune", "heldout", "all")
TOLERANCE = 0.02
"""A metric may drop this much below its baseline before the run fails (higher-is-better metrics)."""

GOALS: dict[str, tuple[str, float]] = {
    "fact_precision": (">=", 0.97),
    "fact_recall": (">=", 0.90),
    "leak_rate": ("<=", 0.01),
    "acts_macro_f1": (">=", 0.85),
    "estimate_attribution": (">=", 0.90),
    "non_total_tied": ("<=", 0.03),
}
"""The issue's acceptance goals, shown next to the measured values."""


class LabelledEstimate(BaseModel):
    value: float
    unit: str | None = None
    number: str | None = None
    kind: str = "total"


class LabelledMessage(BaseModel):
    """One message with what a careful reader takes from it."""

    id: str
    problem: str = ""
    split: str = "tune"
    phase: str = "scope"
    text: str
    acts: list[str]
    facts: list[str] = Field(default_factory=list)
    estimates: list[LabelledEstimate] = Field(default_factory=list)
    pitfalls: list[str] | None = None
    note: str | None = None

    @field_validator("acts")
    @classmethod
    def _known_acts(cls, v: list[str]) -> list[str]:
        unknown = [a for a in v if a not in ACTS]
        if unknown:
            raise ValueError(f"unknown acts {unknown}: use {', '.join(ACTS)}")
        return v


def load_messages(folder: Path = READER_DIR, pattern: str = "*") -> list[LabelledMessage]:
    """Every labelled message whose id matches the glob, checked against its problem file."""
    problems = load_problems()
    out: list[LabelledMessage] = []
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise SdmockError(f"no reader eval files in {folder}", "see evals/reader/README.md")
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        pid = data.get("problem") or path.stem
        if pid not in problems:
            raise SdmockError(f"{path.name}: unknown problem {pid!r}", "name a file in knowledge/problems")
        problem = problems[pid]
        for raw in data.get("messages") or []:
            raw = dict(raw)
            raw["problem"] = pid
            pits = raw.get("pitfalls")
            if pits is not None:  # positions in the problem's pitfall list -> ids
                raw["pitfalls"] = [problem.pitfalls[p].id if isinstance(p, int) else str(p) for p in pits]
            try:
                msg = LabelledMessage.model_validate(raw)
            except ValueError as exc:
                raise SdmockError(
                    f"{path.name}: message {raw.get('id')!r} is invalid: {exc}", "fix the labels"
                ) from exc
            _check_ids(msg, problem, path.name)
            if fnmatch.fnmatch(msg.id, pattern) or any(
                fnmatch.fnmatch(msg.id, p.strip()) for p in pattern.split(",")
            ):
                out.append(msg)
    return out


def _check_ids(msg: LabelledMessage, problem: Problem, where: str) -> None:
    facts = {f.id for f in problem.hidden_facts}
    numbers = {n.id for n in problem.numbers}
    bad = [f for f in msg.facts if f not in facts] + [
        e.number for e in msg.estimates if e.number is not None and e.number not in numbers
    ]
    if bad:
        raise SdmockError(f"{where}: message {msg.id} names unknown ids {bad}", "fix the labels")
    if msg.phase not in {p.value for p in Phase if p != Phase.DONE}:
        raise SdmockError(
            f"{where}: message {msg.id} has phase {msg.phase!r}", "scope|high_level|deep_dive|wrap_up"
        )


# --------------------------------------------------------------------------------------------------
# scoring


def _base(value: float, unit: str | None) -> float:
    from app.interview.classify import Estimate

    return Estimate(raw="", value=value, unit=unit).base_value


def _close(a: float, b: float) -> bool:
    if a == b:
        return True
    if a <= 0 or b <= 0:
        return False
    return abs(math.log(a / b)) <= math.log(1.06)


def _pair_estimates(
    labelled: list[LabelledEstimate], read: Reading
) -> list[tuple[LabelledEstimate, Any | None]]:
    """Each labelled estimate with the read estimate of the same value (unit-aware), if any."""
    free = list(read.estimates)
    out: list[tuple[LabelledEstimate, Any | None]] = []
    for lab in labelled:
        target = _base(lab.value, lab.unit)
        match = next((e for e in free if _close(e.base_value, target) or _close(e.value, lab.value)), None)
        if match is not None:
            free.remove(match)
        out.append((lab, match))
    return out


class MessageResult(BaseModel):
    id: str
    split: str
    text: str
    labelled: dict[str, Any]
    read: dict[str, Any]
    seconds: float
    errors: list[str] = Field(default_factory=list)


class ReaderRun(BaseModel):
    """One reader eval run: the metrics per split and every message's result."""

    reader: str
    pattern: str = "*"
    metrics: dict[str, dict[str, float | None]]
    counts: dict[str, int]
    per_act: dict[str, dict[str, float | None]]
    messages: list[MessageResult]
    elapsed_s: float
    p95_ms: float
    failed_readings: int = Field(0, description="Model replies that were unusable (invalid after retries).")


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def score(
    results: list[tuple[LabelledMessage, Reading]],
) -> tuple[dict[str, float | None], dict[str, dict[str, float | None]]]:
    """The metrics and the per-act table for a set of (labelled, read) pairs."""
    tp = dict.fromkeys(ACTS, 0)
    fp = dict.fromkeys(ACTS, 0)
    fn = dict.fromkeys(ACTS, 0)
    f_tp = f_fp = f_fn = 0
    asks_nothing = leaks = 0
    tied = tied_right = 0
    non_total = non_total_tied = 0
    found = total_est = 0
    p_tp = p_fp = p_fn = 0
    for lab, read in results:
        got = {a.value for a in read.acts}
        want = set(lab.acts)
        for a in ACTS:
            tp[a] += a in got and a in want
            fp[a] += a in got and a not in want
            fn[a] += a not in got and a in want
        rf, lf = set(read.facts), set(lab.facts)
        f_tp += len(rf & lf)
        f_fp += len(rf - lf)
        f_fn += len(lf - rf)
        if not lf:
            asks_nothing += 1
            leaks += bool(rf)
        for le, re_ in _pair_estimates(lab.estimates, read):
            total_est += 1
            found += re_ is not None
            if le.number is not None:
                tied += 1
                tied_right += re_ is not None and re_.number == le.number
            if le.kind in ("per_item", "projection") and le.number is None:
                # a per-item size or a projection that is no derived number must not be tied to one
                non_total += 1
                non_total_tied += re_ is not None and re_.number is not None
        if lab.pitfalls is not None:
            rp, lp = set(read.pitfalls), set(lab.pitfalls)
            p_tp += len(rp & lp)
            p_fp += len(rp - lp)
            p_fn += len(lp - rp)
    per_act: dict[str, dict[str, float | None]] = {}
    f1s: list[float] = []
    for a in ACTS:
        p = _ratio(tp[a], tp[a] + fp[a])
        r = _ratio(tp[a], tp[a] + fn[a])
        f1 = round(2 * p * r / (p + r), 4) if p and r else (0.0 if (tp[a] + fn[a]) else None)
        per_act[a] = {"precision": p, "recall": r, "f1": f1, "support": float(tp[a] + fn[a])}
        if tp[a] + fn[a]:
            f1s.append(f1 or 0.0)
    metrics: dict[str, float | None] = {
        "acts_macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
        "fact_precision": _ratio(f_tp, f_tp + f_fp),
        "fact_recall": _ratio(f_tp, f_tp + f_fn),
        "leak_rate": _ratio(leaks, asks_nothing),
        "estimate_attribution": _ratio(tied_right, tied),
        "non_total_tied": _ratio(non_total_tied, non_total),
        "estimates_found": _ratio(found, total_est),
        "pitfall_precision": _ratio(p_tp, p_tp + p_fp),
        "pitfall_recall": _ratio(p_tp, p_tp + p_fn),
    }
    return metrics, per_act


def _errors(lab: LabelledMessage, read: Reading) -> list[str]:
    out: list[str] = []
    got = {a.value for a in read.acts}
    if got != set(lab.acts):
        out.append(f"acts {sorted(got)} != {sorted(lab.acts)}")
    if set(read.facts) != set(lab.facts):
        out.append(f"facts {sorted(read.facts)} != {sorted(lab.facts)}")
    for le, re_ in _pair_estimates(lab.estimates, read):
        if re_ is None:
            out.append(f"estimate {le.value:g} {le.unit or ''} not found")
        elif re_.number != le.number:
            out.append(f"estimate {le.value:g} tied to {re_.number} not {le.number}")
    if lab.pitfalls is not None and set(read.pitfalls) != set(lab.pitfalls):
        out.append(f"pitfalls {sorted(read.pitfalls)} != {sorted(lab.pitfalls)}")
    return out


def run_reader_evals(
    reader: Reader,
    pattern: str = "*",
    progress: Callable[[str], None] | None = None,
    folder: Path = READER_DIR,
) -> ReaderRun:
    """Read every labelled message and score the readings per split."""
    messages = load_messages(folder, pattern)
    if not messages:
        raise SdmockError(f"no reader eval message matches {pattern!r}", "see evals/reader/")
    problems = load_problems()
    pairs: list[tuple[LabelledMessage, Reading]] = []
    results: list[MessageResult] = []
    times: list[float] = []
    start = time.perf_counter()
    for msg in messages:
        t0 = time.perf_counter()
        read = reader.read(msg.text, problems[msg.problem], Phase(msg.phase))
        dt = time.perf_counter() - t0
        times.append(dt)
        pairs.append((msg, read))
        results.append(
            MessageResult(
                id=msg.id,
                split=msg.split,
                text=msg.text,
                labelled=msg.model_dump(exclude={"text", "id", "split", "problem"}),
                read=read.to_public(),
                seconds=round(dt, 4),
                errors=_errors(msg, read),
            )
        )
        if progress is not None:
            progress(msg.id)
    metrics: dict[str, dict[str, float | None]] = {}
    per_act: dict[str, dict[str, float | None]] = {}
    counts: dict[str, int] = {}
    for split in SPLITS:
        chosen = [p for p in pairs if split == "all" or p[0].split == split]
        counts[split] = len(chosen)
        metrics[split], table = score(chosen)
        if split == "all":
            per_act = table
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0
    return ReaderRun(
        reader=reader.name,
        pattern=pattern,
        metrics=metrics,
        counts=counts,
        per_act=per_act,
        messages=results,
        elapsed_s=round(time.perf_counter() - start, 2),
        p95_ms=round(p95 * 1000, 1),
        failed_readings=int(getattr(reader, "failures", 0)),
    )


# --------------------------------------------------------------------------------------------------
# baseline


def safe_name(reader_name: str) -> str:
    """A file-safe form of a reader's name ('model:local/qwen' -> 'model-local_qwen')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", reader_name.replace(":", "-")).strip("_")


def baseline_file(reader_name: str) -> Path:
    return BASELINE_DIR / f"reader-{safe_name(reader_name)}.json"


def save_baseline(run: ReaderRun) -> Path:
    path = baseline_file(run.reader)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"reader": run.reader, "pattern": run.pattern, "counts": run.counts, "metrics": run.metrics}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_baseline(reader_name: str) -> dict[str, Any] | None:
    path = baseline_file(reader_name)
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


_LOWER_IS_BETTER = {"leak_rate", "non_total_tied"}


def regressions(run: ReaderRun, baseline: dict[str, Any] | None) -> list[str]:
    """Metrics that got worse than the baseline by more than TOLERANCE (same pattern only)."""
    if not baseline or baseline.get("pattern", "*") != run.pattern:
        return []
    out: list[str] = []
    for split, values in run.metrics.items():
        base = (baseline.get("metrics") or {}).get(split) or {}
        for name, value in values.items():
            was = base.get(name)
            if value is None or was is None:
                continue
            worse = value - was if name in _LOWER_IS_BETTER else was - value
            if worse > TOLERANCE + 1e-9:
                out.append(f"{split} {name}: {value:.3f} (baseline {was:.3f})")
    return out


def goal_status(name: str, value: float | None) -> str:
    if name not in GOALS or value is None:
        return ""
    op, goal = GOALS[name]
    ok = value >= goal if op == ">=" else value <= goal
    return f"{op} {goal:g} {'ok' if ok else 'MISSED'}"


def write_report(run: ReaderRun, folder: Path) -> Path:
    """run.json with every message's labels, reading and errors (for reviewing misreadings)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run.json"
    path.write_text(run.model_dump_json(indent=2), encoding="utf-8")
    return path
