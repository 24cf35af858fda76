"""CLI group: knowledge. `sdmock index` builds the study-notes index; `sdmock search` queries it."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class StepChoice(StrEnum):
    """Interview steps (mirrors `app.retrieval.notes.STEPS`, kept here so --help imports nothing heavy)."""

    scope = "scope"
    estimation = "estimation"
    high_level = "high_level"
    deep_dive = "deep_dive"
    wrap_up = "wrap_up"


def index(
    notes: Annotated[
        Path | None,
        typer.Option(
            "--notes",
            help="A .md/.txt note or a folder of them to add; kept under DATA_DIR/user-notes for later runs.",
        ),
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if an index already exists.")
    ] = False,
) -> None:
    """Build or update the study-notes index (only new or changed chunks are embedded)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.retrieval.index import index_exists, index_notes
    from app.settings import default_settings

    settings = default_settings()
    console = Console(stderr=True)
    if if_missing and notes is None and index_exists(settings):
        typer.echo(f"Index already present at {settings.chroma_host or settings.resolved_index_dir}.")
        return

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("Embedding chunks", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        report = index_notes(settings, extra=notes, progress=progress)

    for added in report.user_notes_added:
        console.print(f"added user note: {added}")
    for skipped in report.skipped:
        console.print(f"[yellow]skipped:[/] {skipped.reason}")
    typer.echo(report.summary())


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    step: Annotated[
        StepChoice | None, typer.Option("--step", help="Only notes for this interview step.")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only notes with this topic.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="How many results.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
) -> None:
    """Search the study notes."""
    from app.retrieval.search import get_retriever
    from app.settings import default_settings

    hits = get_retriever(default_settings()).search(
        query, k=k, step=step.value if step else None, topic=topic
    )
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
        return

    from rich.console import Console
    from rich.table import Table

    if not hits:
        typer.echo("No matching notes.")
        return
    table = Table(show_lines=True)
    table.add_column("score", justify="right")
    table.add_column("note")
    table.add_column("section")
    table.add_column("text")
    for h in hits:
        snippet = h.text if len(h.text) <= 240 else h.text[:237] + "..."
        table.add_row(f"{h.score:.3f}", h.source, h.heading, snippet)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command("index")(index)
    app.command("search")(search)
