"""Eval reports (Markdown, HTML, JSON) and the diff against the committed baseline."""

from __future__ import annotations

import html
import json
from pathlib import Path

from app.evals.cases import canonical_pattern
from app.evals.recording import model_slug
from app.evals.runner import EVALS_DIR, EvalRun

GOALS: dict[str, tuple[str, float]] = {
    "parse_validity": (">=", 1.0),
    "qwk_min": (">=", 0.70),
    "spearman_overall": (">=", 0.70),
    "pairwise_accuracy": (">=", 1.0),
    "injection_max_gain": ("<=", 0.0),
}
"""Goals from the research notes: reported against, not faked into thresholds."""

TOLERANCE = 0.05
"""How far a higher-is-better metric may fall below the baseline before the eval fails."""
LOWER_IS_BETTER = {"injection_max_gain", "stability_max_std", "verdict_flip_rate"}


def baseline_path(run: EvalRun) -> Path:
    """evals/baselines/<grader>[-<model>].json"""
    name = run.grader if run.model is None else f"{run.grader}-{model_slug(run.model)}"
    return EVALS_DIR / "baselines" / f"{name}.json"


def load_baseline(path: Path, pattern: str = "*") -> dict[str, float | None] | None:
    """The metrics of a committed baseline over the same cases, or None when there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if canonical_pattern(data.get("pattern", "*")) != canonical_pattern(pattern):
        return None  # a baseline over other cases is no yardstick for this run
    metrics: dict[str, float | None] = {**data["metrics"], **{f"qwk_{k}": v for k, v in data["qwk"].items()}}
    return metrics


def current_metrics(run: EvalRun) -> dict[str, float | None]:
    return {**run.metrics, **{f"qwk_{k}": v for k, v in run.qwk.items()}}


def regressions(run: EvalRun, baseline: dict[str, float | None] | None) -> list[str]:
    """Metrics that got worse than the baseline by more than the tolerance."""
    if baseline is None:
        return []
    out = []
    for name, now in current_metrics(run).items():
        before = baseline.get(name)
        if now is None or before is None or name in {"cases", "pairs"}:
            continue
        if name in LOWER_IS_BETTER:
            if now > before + TOLERANCE:
                out.append(f"{name} rose from {before} to {now}")
        elif now < before - TOLERANCE:
            out.append(f"{name} fell from {before} to {now} (tolerance {TOLERANCE})")
    return out


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else (f"{v:.0f}" if float(v).is_integer() and abs(v) > 1 else f"{v:.3f}")


def _score(v: float | None) -> str:
    """An overall score (1-4) with two decimals, like the labels' mean beside it."""
    return "n/a" if v is None else f"{v:.2f}"


def metric_rows(
    run: EvalRun, baseline: dict[str, float | None] | None
) -> list[tuple[str, str, str, str, str]]:
    """(metric, value, baseline, delta, goal) rows."""
    rows = []
    for name, now in current_metrics(run).items():
        before = baseline.get(name) if baseline else None
        delta = "" if now is None or before is None else f"{now - before:+.3f}"
        goal = GOALS.get(name) or (
            GOALS["qwk_min"] if name.startswith("qwk_") and name != "qwk_mean" else None
        )
        goal_s = f"{goal[0]} {goal[1]}" if goal else ""
        rows.append((name, _fmt(now), _fmt(before), delta, goal_s))
    return rows


def render_markdown(
    run: EvalRun, baseline: dict[str, float | None] | None, baseline_name: str = "baseline"
) -> str:
    """The eval report as Markdown."""
    lines = [
        f"# Eval report: {run.grader} grader" + (f" ({run.model})" if run.model else ""),
        "",
        f"{len(run.cases)} cases, rubric v{run.rubric_version}, {run.repeat} run(s) per case, "
        f"{run.elapsed_s} s. Result: **{'PASS' if run.ok else 'FAIL'}**.",
        "",
        f"| metric | value | {baseline_name} | delta | goal |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in metric_rows(run, baseline)]
    if run.labeller_qwk:
        lines += [
            "",
            "Agreement between the two label sets (QWK): "
            + ", ".join(f"{k} {_fmt(v)}" for k, v in run.labeller_qwk.items()),
        ]
    lines += [
        "",
        "## Cases",
        "",
        "| case | level | tags | label mean | overall | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in run.cases:
        lines.append(
            f"| {c.id} | {c.level} | {', '.join(c.tags)} | {c.label_mean:.2f} "
            f"| {_score(c.overall)} | {c.verdict or ''} |"
        )
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in run.failures] or ["None."]
    regs = regressions(run, baseline)
    lines += ["", f"## Against the {baseline_name}", ""]
    lines += [f"- {r}" for r in regs] or (
        ["No baseline committed yet."] if baseline is None else ["No regression."]
    )
    return "\n".join(lines) + "\n"


def render_html(
    run: EvalRun, baseline: dict[str, float | None] | None, baseline_name: str = "baseline"
) -> str:
    """The eval report as a standalone HTML page; every string is escaped."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td><td>{e(d)}</td><td>{e(g)}</td></tr>"
        for a, b, c, d, g in metric_rows(run, baseline)
    )
    cases = "".join(
        f"<tr><td>{e(c.id)}</td><td>{e(c.level)}</td><td>{e(', '.join(c.tags))}</td>"
        f"<td>{c.label_mean:.2f}</td><td>{e(_score(c.overall))}</td><td>{e(c.verdict or '')}</td></tr>"
        for c in run.cases
    )
    fails = "".join(f"<li>{e(f)}</li>" for f in run.failures) or "<li>None.</li>"
    regs = "".join(f"<li>{e(r)}</li>" for r in regressions(run, baseline)) or "<li>No regression.</li>"
    title = e(f"Eval report: {run.grader} grader" + (f" ({run.model})" if run.model else ""))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem}}</style></head><body>
<h1>{title}</h1><p>{len(run.cases)} cases, {run.repeat} run(s) each, {run.elapsed_s} s.
Result: <b>{"PASS" if run.ok else "FAIL"}</b></p>
<table><tr><th>metric</th><th>value</th><th>{e(baseline_name)}</th><th>delta</th><th>goal</th></tr>{rows}</table>
<h2>Cases</h2><table><tr><th>case</th><th>level</th><th>tags</th><th>label mean</th><th>overall</th>
<th>verdict</th></tr>{cases}</table><h2>Failures</h2><ul>{fails}</ul>
<h2>Against the {e(baseline_name)}</h2><ul>{regs}</ul>
</body></html>
"""


def write_reports(
    run: EvalRun,
    baseline: dict[str, float | None] | None,
    out_dir: Path,
    baseline_name: str = "baseline",
) -> list[Path]:
    """Write report.md, report.html and run.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.md", out_dir / "report.html", out_dir / "run.json"]
    paths[0].write_text(render_markdown(run, baseline, baseline_name), encoding="utf-8")
    paths[1].write_text(render_html(run, baseline, baseline_name), encoding="utf-8")
    paths[2].write_text(run.model_dump_json(indent=1), encoding="utf-8")
    return paths


def save_baseline(run: EvalRun, pattern: str = "*") -> Path:
    """Write this run's metrics as the new baseline (an explicit act, never a side effect).

    `pattern` is the --case glob the run covered: a recorded model may have a baseline over a stated
    subset of the cases (recording every case with a small local model takes hours).
    """
    path = baseline_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "grader": run.grader,
        "model": run.model,
        "pattern": canonical_pattern(pattern),
        "rubric_version": run.rubric_version,
        "cases": len(run.cases),
        "metrics": run.metrics,
        "qwk": run.qwk,
        "labeller_qwk": run.labeller_qwk,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path
