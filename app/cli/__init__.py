"""The `sdmock` command: a thin shell over the core. One module per subcommand group.

Each group module exposes `register(app)`; heavy imports stay inside the command functions so
that `sdmock --help` and `sdmock simulate` start fast.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from app.errors import SdmockError

cli = typer.Typer(
    name="sdmock",
    help="A mock system design interviewer: practise the four-step interview and get a graded report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _register_all() -> None:
    from app.cli import evals, grading, interview, knowledge, reading, web

    for group in (knowledge, interview, reading, grading, evals, web):
        group.register(cli)


_register_all()


@cli.command()
def version() -> None:
    """Print the installed sdmock version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("sdmock"))


def main() -> None:
    """Entry point: run the CLI and turn our errors into a clear message and exit code 2."""
    try:
        cli()
    except SdmockError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        if exc.hint:
            err.print(f"[yellow]hint:[/] {exc.hint}")
        sys.exit(2)
