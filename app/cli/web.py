"""CLI group: `sdmock web` starts the Streamlit app (headless, no usage statistics)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

APP_ENTRY = Path(__file__).resolve().parent.parent / "ui" / "main.py"


def streamlit_command(port: int, host: str) -> list[str]:
    """The `streamlit run` command line for the app."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_ENTRY),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""

    @app.command()
    def web(
        port: int = typer.Option(8501, "--port", help="Port to listen on."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0 for all)."),
    ) -> None:
        """Start the web app (Start, Interview, Report and History pages)."""
        from app.settings import default_settings
        from app.store import Store

        # Migrate once here so a schema problem is a clear CLI error rather than a page error.
        Store.from_settings(default_settings()).close()
        typer.echo(f"sdmock web: http://{host}:{port}")
        env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
        cmd = streamlit_command(port, host)
        sys.stdout.flush()
        # Replace this process with Streamlit, so signals (Ctrl-C, SIGTERM from a supervisor) reach it.
        os.execve(cmd[0], cmd, env)
