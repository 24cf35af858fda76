"""CLI group: `sdmock eval`, the grader regression run against the labelled cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def eval_command(
    grader: Annotated[
        str, typer.Option(help="heuristic (no model) or llm (replays recordings by default).")
    ] = ("heuristic"),
    model: Annotated[str | None, typer.Option(help="provider/model for --grader llm.")] = None,
    record: Annotated[bool, typer.Option(help="Call the real model and save its replies.")] = False,
    repeat: Annotated[int, typer.Option(help="Grade each case N times to measure stability.")] = 1,
    case: Annotated[
        str, typer.Option(help="Only the cases whose id matches this glob (several: comma-separated).")
    ] = "*",
    out: Annotated[Path | None, typer.Option(help="Folder for report.md/html and run.json.")] = None,
    update_baseline: Annotated[
        bool,
        typer.Option(help="Save this run's metrics as the new baseline, its report in evals/reports/."),
    ] = False,
    interviewer: Annotated[
        bool,
        typer.Option(
            "--interviewer", help="Run the interviewer scenarios (evals/interviewer) instead of the grader."
        ),
    ] = False,
    reader: Annotated[
        bool,
        typer.Option("--reader", help="Run the reader over the labelled messages (evals/reader) instead."),
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="With --reader: refit the offline reader on the tune split first (writes knowledge/reader/)."
        ),
    ] = False,
) -> None:
    """Grade the labelled eval cases and print the metrics against the human labels and the baseline.

    With --interviewer, run the scripted-candidate scenarios through `simulate` and check the replies.
    With --reader, read the labelled messages of evals/reader and score acts, facts and estimates
    (offline reader by default; --model replays a model reader's recordings, --record records them).
    """
    if interviewer:
        _interviewer_evals(case, out)
        return
    if reader:
        if calibrate:
            from app.evals.reader_calibration import calibrate as fit

            summary = fit(progress=lambda msg: typer.echo(msg))
            typer.echo(f"calibrated: {summary}")
            from app.interview.offline_reader import shared_offline_reader

            shared_offline_reader.cache_clear()
        _reader_evals(case, out, model, record, update_baseline)
        return
    from rich.console import Console
    from rich.table import Table

    from app.errors import SdmockError
    from app.evals.cases import load_cases
    from app.evals.report import (
        baseline_path,
        load_baseline,
        metric_rows,
        regressions,
        save_baseline,
        write_reports,
    )
    from app.evals.runner import EVALS_DIR, run_eval
    from app.settings import get_settings

    if grader not in ("heuristic", "llm"):
        raise SdmockError(f"unknown grader {grader!r}", "use --grader heuristic or --grader llm")
    if update_baseline and case != "*" and grader == "heuristic":
        raise SdmockError("the heuristic baseline covers every case", "drop --case")
    console = Console()
    total = len(load_cases(EVALS_DIR / "cases", case))
    with _progress(console, "grading") as bar:
        task = bar.add_task("", total=total)
        run = run_eval(
            settings=get_settings(),
            grader=grader,  # type: ignore[arg-type]
            model_spec=model,
            record=record,
            repeat=repeat,
            pattern=case,
            progress=lambda cid: bar.update(task, advance=1, description=cid),
        )
    baseline = load_baseline(baseline_path(run), case)
    table = Table(
        title=f"{run.grader} grader" + (f" ({run.model})" if run.model else "") + f": {len(run.cases)} cases"
    )
    for col in ("metric", "value", "baseline", "delta", "goal"):
        table.add_column(col)
    for row in metric_rows(run, baseline):
        table.add_row(*row)
    console.print(table)
    folder = out or Path("data") / "eval-reports" / baseline_path(run).stem
    paths = write_reports(run, baseline, folder)
    console.print(f"reports: {', '.join(str(p) for p in paths)}")
    for f in run.failures:
        console.print(f"[red]FAIL[/] {f}")
    regs = regressions(run, baseline)
    for r in regs:
        console.print(f"[red]REGRESSION[/] {r}")
    if update_baseline:
        console.print(f"baseline written: {save_baseline(run, case)}")
        # The report that goes with the baseline is committed too: a reviewer reads the numbers and
        # the per-case scores without running anything.
        kept = write_reports(
            run, baseline, EVALS_DIR / "reports" / baseline_path(run).stem, baseline_name="previous baseline"
        )
        console.print(f"baseline report: {', '.join(str(p) for p in kept)}")
    if run.failures or regs:
        raise typer.Exit(1)


def _interviewer_evals(pattern: str, out: Path | None) -> None:
    """`sdmock eval --interviewer`: one table row per scenario; exit 1 on any failed check."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from app.errors import SdmockError
    from app.evals.interviewer import (
        REPORT_DIR,
        SUMMARY_HEADERS,
        load_scenarios,
        run_interviewer_evals,
        summary_rows,
    )
    from app.evals.interviewer import write_reports as write_interviewer_reports

    console = Console()
    total = len(load_scenarios(pattern=pattern))
    if not total:
        raise SdmockError(f"no interviewer scenario matches {pattern!r}", "see evals/interviewer/*.yaml")
    with _progress(console, "simulating") as bar:
        task = bar.add_task("", total=total)
        run = run_interviewer_evals(
            pattern, progress=lambda sid: bar.update(task, advance=1, description=sid)
        )
    table = Table(title=f"interviewer evals: {len(run.scenarios)} scenarios, {run.elapsed_s} s")
    shown = ("scenario", "final phase", "messages", "passed", "failed", "xfail", "result")
    for col in shown:
        table.add_column(col, no_wrap=col == "scenario")
    for row in summary_rows(run):
        cells = dict(zip(SUMMARY_HEADERS, row, strict=True))
        style = "green" if cells["result"] == "PASS" else "red"
        table.add_row(*(cells[c] for c in shown[:-1]), f"[{style}]{cells['result']}[/]")
    console.print(table)
    paths = write_interviewer_reports(run, out or REPORT_DIR)
    console.print(f"reports: {', '.join(str(p) for p in paths)}")
    for x in run.xfails:
        console.print(f"[yellow]XFAIL[/] {escape(x)}", highlight=False)
    for f in run.failures:
        console.print(f"[red]FAIL[/] {escape(f)}", highlight=False)
    if not run.ok:
        raise typer.Exit(1)


def _reader_evals(pattern: str, out: Path | None, model: str | None, record: bool, update: bool) -> None:
    """`sdmock eval --reader`: metrics per split vs goals and baseline; exit 1 on a regression."""
    from rich.console import Console
    from rich.table import Table

    from app.evals.reader import (
        REPORT_DIR,
        goal_status,
        load_baseline,
        load_messages,
        regressions,
        run_reader_evals,
        safe_name,
        save_baseline,
        write_report,
    )
    from app.evals.reader_model import eval_reader

    console = Console()
    total = len(load_messages(pattern=pattern))
    the_reader = eval_reader(model, record=record)
    with _progress(console, "reading") as bar:
        task = bar.add_task("", total=total)
        run = run_reader_evals(
            the_reader, pattern, progress=lambda mid: bar.update(task, advance=1, description=mid)
        )
    baseline = load_baseline(run.reader)
    base_metrics = (
        (baseline or {}).get("metrics", {}) if (baseline or {}).get("pattern", "*") == pattern else {}
    )
    table = Table(
        title=f"reader {run.reader}: {run.counts['all']} messages "
        f"(tune {run.counts['tune']}, held-out {run.counts['heldout']}), p95 {run.p95_ms} ms"
    )
    for col in ("metric", "tune", "held-out", "all", "baseline (all)", "goal"):
        table.add_column(col)
    for name in run.metrics["all"]:
        cells = [_fmt(run.metrics[s].get(name)) for s in ("tune", "heldout", "all")]
        table.add_row(
            name,
            *cells,
            _fmt(base_metrics.get("all", {}).get(name)),
            goal_status(name, run.metrics["all"][name]),
        )
    console.print(table)
    acts = Table(title="acts (all messages)")
    for col in ("act", "precision", "recall", "F1", "support"):
        acts.add_column(col)
    for act, row in run.per_act.items():
        acts.add_row(
            act, _fmt(row["precision"]), _fmt(row["recall"]), _fmt(row["f1"]), f"{row['support']:.0f}"
        )
    console.print(acts)
    path = write_report(run, out or REPORT_DIR / safe_name(run.reader))
    if run.failed_readings:
        console.print(f"{run.failed_readings} model replies were unusable and count as empty readings")
    wrong = sum(1 for m in run.messages if m.errors)
    console.print(
        f"{wrong} of {len(run.messages)} messages read differently from their labels; details: {path}"
    )
    regs = regressions(run, baseline)
    for r in regs:
        console.print(f"[red]REGRESSION[/] {r}")
    if update:
        console.print(f"baseline written: {save_baseline(run)}")
    if regs and not update:
        raise typer.Exit(1)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _progress(console: Any, label: str) -> Any:
    """A transient progress bar: label, bar, done/total, elapsed, the current item."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command(name="eval")(eval_command)
