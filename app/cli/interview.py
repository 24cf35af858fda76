"""CLI group: interview. `sdmock problems`, `sdmock chat`, `sdmock simulate`.

Heavy imports stay inside the commands so that start-up stays fast.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from app.interview.session import InterviewSession, Retriever
    from app.problems import Problem
    from app.settings import Settings


class LevelChoice(StrEnum):
    """Candidate level."""

    mid = "mid"
    senior = "senior"
    staff = "staff"


ProblemOpt = Annotated[str, typer.Option("--problem", "-p", help="Problem id (see `sdmock problems`).")]
LevelOpt = Annotated[LevelChoice, typer.Option("--level", "-l", help="Candidate level.")]


def problems() -> None:
    """List the interview problems."""
    from rich.console import Console
    from rich.table import Table

    from app.problems import load_problems

    table = Table(title="Interview problems")
    table.add_column("id", style="bold")
    table.add_column("title")
    table.add_column("difficulty")
    table.add_column("prompt")
    for p in sorted(load_problems().values(), key=lambda p: p.id):
        table.add_row(p.id, p.title, p.difficulty, p.prompt)
    Console().print(table)


def _load_problem(problem_id: str, settings: Settings) -> Problem:
    """One problem, reading only its own file when it exists (start-up stays fast); an unknown id
    raises ProblemNotFoundError listing the valid ids."""
    import re

    from app.problems import get_problem, load_problem_file

    path = settings.problems_dir / f"{problem_id}.yaml"
    if re.fullmatch(r"[a-z0-9][a-z0-9-]*", problem_id) and path.is_file():
        return load_problem_file(path)
    return get_problem(problem_id, settings.problems_dir)


def _try_retriever(settings: Settings) -> Retriever | None:
    """The study-notes retriever, or None when no index is available (the interview still runs)."""
    from app.errors import SdmockError

    try:
        from app.retrieval.index import index_exists
        from app.retrieval.search import get_retriever

        if not index_exists(settings):
            return None
        return get_retriever(settings)
    except (SdmockError, ImportError):
        return None


def chat(
    problem: ProblemOpt,
    level: LevelOpt = LevelChoice.senior,
    minutes: Annotated[
        int | None, typer.Option("--minutes", min=5, max=180, help="Interview length.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Voice model as provider/model, or 'offline'.")
    ] = None,
) -> None:
    """Run an interview in the terminal. Commands: /next (next step), /finish, /state."""
    from rich.console import Console

    from app.errors import InputRejectedError
    from app.interview.session import InterviewSession, build_voice
    from app.llm.registry import describe_voice
    from app.settings import default_settings

    settings = default_settings()
    prob = _load_problem(problem, settings)
    voice = build_voice(settings, model)
    console = Console()
    retriever = _try_retriever(settings)
    console.print(f"[dim]{describe_voice(settings, model)}[/]", markup=True, highlight=False)
    console.print(
        f"[dim]voice: {voice.name} | problem: {prob.id} | level: {level.value} | "
        f"notes: {'on' if retriever else 'off (run `sdmock index`)'}[/]"
    )
    from app.interview.reading import reader_for_voice

    session = InterviewSession.start(
        prob,
        level.value,
        minutes or settings.interview_minutes,
        voice=voice,
        retriever=retriever,
        reader=reader_for_voice(voice, settings),
    )
    _say(console, session, session.opening)
    while not session.done:
        try:
            text = console.input("[bold green]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            text = "/finish"
        command = text.strip().lower()
        try:
            if command == "/state":
                console.print_json(session.state.model_dump_json(exclude={"events"}))
                continue
            stream = (
                session.advance()
                if command == "/next"
                else session.finish()
                if command in ("/finish", "/quit", "/exit")
                else session.reply(text)
            )
        except InputRejectedError as exc:
            console.print(f"[red]{exc.message}[/] [yellow]{exc.hint or ''}[/]")
            continue
        console.print(f"[bold cyan]interviewer[/] [dim]({session.state.phase.value})[/]: ", end="")
        for delta in stream:
            console.print(delta, end="", markup=False, highlight=False)
        console.print()
        _print_usage(console, voice)
    log = getattr(voice, "usage_log", None)
    if log is not None and log.records:
        console.print(f"[dim]interview tokens: {log.total().model_dump(exclude_none=True)}[/]")


def _print_usage(console: Any, voice: Any) -> None:
    """One dim line with the last model call's tokens, or the fallback notice."""
    notice = getattr(voice, "last_notice", None)
    if notice:
        console.print(f"[yellow]{notice}[/]", markup=True, highlight=False)
    done = getattr(voice, "last_completion", None)
    if done is not None:
        u = done.usage
        console.print(
            f"[dim]tokens: {u.prompt_tokens} prompt ({u.cached_tokens} cached), {u.completion_tokens} "
            f"completion, {done.latency_s:.1f} s[/]"
        )


def _say(console: Any, session: InterviewSession, text: str) -> None:
    console.print(f"[bold cyan]interviewer[/] [dim]({session.state.phase.value})[/]: ", end="")
    console.print(text, markup=False, highlight=False)


def read_candidate_file(path: Path) -> list[str]:
    """One candidate message per paragraph (blank-line separated)."""
    from app.errors import TranscriptError

    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TranscriptError(f"candidate file not found: {path}", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"candidate file is not UTF-8 text: {path}", "save it as UTF-8") from exc
    blocks = [
        " ".join(line.strip() for line in b.strip().splitlines())
        for b in raw.replace("\r\n", "\n").split("\n\n")
    ]
    messages = [b for b in blocks if b]
    if not messages:
        raise TranscriptError(f"no candidate messages in {path}", "write one message per paragraph")
    return messages


def simulation_report(session: InterviewSession) -> dict[str, Any]:
    """The `simulate --json` document."""
    from app.interview.director import coverage

    return {
        "problem": session.problem.id,
        "level": session.state.level,
        "turns": [t.model_dump() for t in session.transcript.turns],
        "events": [e.model_dump(mode="json") for e in session.state.events],
        "released_facts": list(session.state.released_fact_ids),
        "coverage": coverage(session.state, session.problem),
        "final_phase": session.state.phase.value,
    }


def simulate(
    problem: ProblemOpt,
    candidate: Annotated[
        Path, typer.Option("--candidate", "-c", help="Text file: one candidate message per paragraph.")
    ],
    level: LevelOpt = LevelChoice.senior,
    minutes_per_turn: Annotated[
        float,
        typer.Option("--minutes-per-turn", min=0.0, help="Simulated minutes each candidate turn takes."),
    ] = 1.5,
    minutes: Annotated[
        int | None, typer.Option("--minutes", min=5, max=180, help="Interview length.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the transcript and director record as JSON.")
    ] = False,
    notes: Annotated[
        bool, typer.Option("--notes", help="Retrieve study notes for each move (needs an index).")
    ] = False,
    model: Annotated[
        str, typer.Option("--model", help="Voice as provider/model; offline keeps runs reproducible.")
    ] = "offline",
) -> None:
    """Run a scripted candidate through an interview on a simulated clock (offline voice by default)."""
    from app.interview.session import build_voice
    from app.interview.session import simulate as run_simulation
    from app.settings import default_settings

    settings = default_settings()
    prob = _load_problem(problem, settings)
    from app.interview.reading import reader_for_voice

    messages = read_candidate_file(candidate)
    voice = build_voice(settings, model)
    session = run_simulation(
        prob,
        level.value,
        messages,
        minutes=minutes or settings.interview_minutes,
        minutes_per_turn=minutes_per_turn,
        voice=voice,
        retriever=_try_retriever(settings) if notes else None,
        max_message_chars=settings.max_message_chars,
        reader=reader_for_voice(voice, settings),
    )
    if as_json:
        typer.echo(json.dumps(simulation_report(session), indent=2, ensure_ascii=False))
        return
    from rich.console import Console

    console = Console()
    console.print(f"[dim]voice: {session.voice.name} | simulated {minutes_per_turn:g} min per turn[/]")
    for t in session.transcript.turns:
        who = "[bold cyan]interviewer[/]" if t.role == "interviewer" else "[bold green]candidate[/]"
        console.print(f"{who} [dim]({t.phase})[/]: ", end="")
        console.print(t.content, markup=False, highlight=False)
    console.print(
        f"[dim]final phase: {session.state.phase.value} | facts released: "
        f"{', '.join(session.state.released_fact_ids) or 'none'}[/]"
    )


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command("problems")(problems)
    app.command("chat")(chat)
    app.command("simulate")(simulate)
