"""CLI group: `sdmock read`, the Reading of candidate messages (what a problem author checks a fact
sheet with: which fact does this question release?)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.errors import SdmockError

_PHASES = ("scope", "high_level", "deep_dive", "wrap_up")


def split_messages(text: str) -> list[str]:
    """Blank-line separated paragraphs, each one message (inner line breaks kept)."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def read_command(
    file: Annotated[
        str,
        typer.Argument(help="A text file, one message per blank-line separated paragraph; - reads stdin."),
    ],
    problem: Annotated[str, typer.Option(help="Problem id (see `sdmock problems`).")],
    phase: Annotated[
        str, typer.Option(help="Interview step: scope, high_level, deep_dive or wrap_up.")
    ] = "scope",
    model: Annotated[
        str | None,
        typer.Option(help="provider/model for the model reader (falls back offline); default offline."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array, one object per message.")
    ] = False,
) -> None:
    """Read each message on its own, against a fresh interview in PHASE, and print its Reading."""
    from app.interview.phases import Phase
    from app.interview.reading import build_reader
    from app.problems import get_problem

    if phase not in _PHASES:
        raise SdmockError(f"unknown phase {phase!r}", f"use one of: {', '.join(_PHASES)}")
    prob = get_problem(problem)
    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SdmockError(
                f"cannot read {file}: {exc.strerror or exc}", "pass a readable text file or -"
            ) from exc
        if b"\x00" in raw:
            raise SdmockError(f"{file} is not a text file", "pass a plain text file")
        text = raw.decode("utf-8", errors="replace")
    messages = split_messages(text)
    if not messages:
        raise SdmockError("no messages to read", "separate messages with blank lines")
    chat_model = None
    if model and model != "offline":
        from app.llm.registry import get_model
        from app.settings import get_settings

        chat_model = get_model(model, get_settings())
    reader = build_reader(chat_model)
    readings = [reader.read(m, prob, Phase(phase)) for m in messages]
    if as_json:
        typer.echo(json.dumps([r.to_public() for r in readings], indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"{prob.id}, {phase}: {len(readings)} message(s), reader {reader.name}", show_lines=True
    )
    for col in ("#", "message", "acts", "facts", "estimates", "components / topics", "pitfalls"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(readings, 1):
        ests = "\n".join(
            f"{e.raw} -> {e.number or '-'}" + (f" ({e.kind})" if e.kind != "total" else "")
            for e in r.estimates
        )
        table.add_row(
            str(i),
            escape(r.text[:300]),
            ", ".join(a.value for a in r.acts),
            ", ".join(r.facts) or "-",
            escape(ests) or "-",
            ", ".join([*r.components, *r.topics]) or "-",
            ", ".join(r.pitfalls) or "-",
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command(name="read")(read_command)
