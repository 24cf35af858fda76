"""CLI group: grading (`sdmock grade FILE`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _load(path: Path):
    """A transcript from JSON, text/Markdown, or an eval-case YAML file (problem, level, turns)."""
    from app.errors import TranscriptError
    from app.transcripts import Transcript, load_transcript

    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml
        from pydantic import ValidationError

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return Transcript.model_validate(
                {k: data.get(k) for k in ("problem", "level", "turns") if isinstance(data, dict)}
            )
        except (OSError, yaml.YAMLError, ValidationError, AttributeError) as exc:
            raise TranscriptError(
                f"cannot read the YAML transcript {path}: {exc}", "give problem, level and turns"
            ) from exc
    return load_transcript(path)


def _retriever(settings, enabled: bool):
    """The notes retriever when an index exists (or a server is configured), else None."""
    if not enabled:
        return None
    if settings.chroma_host is None and not settings.resolved_index_dir.exists():
        return None
    try:
        from app.retrieval.search import get_retriever

        return get_retriever(settings)
    except Exception:  # optional: a broken index must not stop the grading
        return None


def grade(
    file: Annotated[
        Path, typer.Argument(help="Transcript: JSON, Interviewer:/Candidate: text or Markdown, or YAML.")
    ],
    problem: Annotated[
        str | None, typer.Option("--problem", help="Problem id (default: from the file).")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="mid, senior or staff (default: from the file).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Grader model, provider/model or offline (default: settings)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the grade as JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report: .md, .html or .json.")] = None,
    notes: Annotated[
        bool, typer.Option("--notes/--no-notes", help="Recommend study notes from the index.")
    ] = True,
) -> None:
    """Grade an interview transcript against the rubric, with quoted evidence."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from app.errors import SdmockError
    from app.grading.grader import grade_transcript
    from app.grading.report import grader_line, usage_line, write_report
    from app.llm.registry import get_model
    from app.problems import get_problem
    from app.settings import get_settings

    settings = get_settings()
    transcript = _load(file)
    problem_id = problem or transcript.problem
    if not problem_id:
        raise SdmockError(
            f"{file.name} does not say which problem it is",
            'pass --problem ID (see `sdmock problems`), or add "problem" to the JSON transcript',
        )
    chosen_level = level or transcript.level
    if not chosen_level:
        raise SdmockError(
            f"{file.name} does not say which level to grade at",
            'pass --level mid|senior|staff, or add "level" to the JSON transcript',
        )
    if chosen_level not in ("mid", "senior", "staff"):
        raise SdmockError(f"unknown level {chosen_level!r}", "use mid, senior or staff")
    if not transcript.candidate_turns():
        raise SdmockError(f"{file.name} has no candidate turns", "start candidate turns with 'Candidate:'")
    chat_model = get_model(model, settings)
    report = grade_transcript(
        transcript,
        get_problem(problem_id, settings.problems_dir),
        chosen_level,
        model=chat_model,
        retriever=_retriever(settings, notes),
        deadline_s=settings.grade_deadline_s,
    )
    if out is not None:
        write_report(report, out)
    if as_json:
        typer.echo(json.dumps(report.summary_json(), indent=2, ensure_ascii=False))
        return
    console = Console()
    overall = "n/a" if report.overall is None else f"{report.overall:.2f}"
    verdict = report.verdict or "no verdict"
    console.print(
        Text.assemble((report.problem_title, "bold"), f" ({report.level}): overall {overall} / 4, {verdict}")
    )
    table = Table("dimension", "score", "evidence-only", "status", "evidence")
    for d in report.dimensions:
        table.add_row(
            d.name,
            "failed" if d.score is None else str(d.score),
            str(d.heuristic_score),
            d.status,
            str(len(d.evidence)),
        )
    console.print(table)
    for f in report.flags[:10]:
        console.print(Text.assemble(("flag: ", "yellow"), f"{f.kind}: {f.message}"))
    console.print(grader_line(report), markup=False)
    console.print(usage_line(report), markup=False)
    if out is not None:
        console.print(f"report written to {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command(name="grade")(grade)
