"""One table over every benchmark's results (benchmarks/results/*.json), with ratios to the targets.

    .venv/bin/python -m benchmarks.summary      # after `python -m benchmarks` (which prints it last)

Ratio = measured / target for "lower is better" targets (<= 1.00 meets it); for the probe findings the
target is 0 and the ratio column shows the count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import RESULTS_DIR, write_results


@dataclass
class Row:
    metric: str
    value: float | None
    unit: str
    target: float | None
    command: str
    zero_target: bool = False

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.target is None:
            return None
        if self.zero_target:
            return self.value
        return self.value / self.target if self.target else None

    @property
    def ok(self) -> bool | None:
        r = self.ratio
        if r is None:
            return None
        return r == 0 if self.zero_target else r <= 1.0


def _load(name: str) -> dict[str, Any]:
    path = RESULTS_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _get(data: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)  # type: ignore[assignment]
    return data


def rows() -> list[Row]:
    """Every summarised metric, from whatever results exist."""
    out: list[Row] = []
    turn, llm, ret, grading = _load("turn"), _load("llm"), _load("retrieval"), _load("grading")
    interview, app, probes = _load("interview"), _load("app"), _load("probes")
    cmd = "python -m benchmarks"
    out.append(
        Row("turn overhead to 1st token, session path, p50", turn.get("p50_ms"), "ms", 50, f"{cmd} turn")
    )
    out.append(
        Row("turn overhead to 1st token, session path, p95", turn.get("p95_ms"), "ms", 50, f"{cmd} turn")
    )
    reader = _load("reader")
    out.append(
        Row("offline reader, 5-sentence message, p95", reader.get("p95_ms"), "ms", 40, f"{cmd} reader")
    )
    voice = _get(llm, "overhead_ms", "voice to 1st token (in-process fake)") or {}
    out.append(Row("voice to 1st token (fake model), p95", voice.get("p95"), "ms", 50, f"{cmd} llm"))
    q = _get(ret, "query_ms", "retriever") or {}
    out.append(Row("retrieval query, p50", q.get("p50"), "ms", 20, f"{cmd} retrieval"))
    out.append(Row("retrieval query, p95", q.get("p95"), "ms", 50, f"{cmd} retrieval"))
    out.append(Row("index build, cold", _get(ret, "index_cold", "seconds"), "s", 120, f"{cmd} retrieval"))
    out.append(
        Row(
            "index rebuild, unchanged notes",
            _get(ret, "index_unchanged", "seconds"),
            "s",
            5,
            f"{cmd} retrieval",
        )
    )
    sp = grading.get("speed") or {}
    out.append(
        Row(
            "grading, heuristic, 30 turns (warm)", sp.get("heuristic_warm_median_s"), "s", 1, f"{cmd} grading"
        )
    )
    out.append(
        Row(
            "grading, LLM (fake, 0.5 s/call, 6 dims)", sp.get("llm_wall_median_s"), "s", 1.0, f"{cmd} grading"
        )
    )
    ip = interview.get("in_process") or {}
    out.append(Row("scripted interview, in process", ip.get("median_s"), "s", 1, f"{cmd} interview"))
    out.append(
        Row("`sdmock simulate` end to end", _get(interview, "cli", "median_s"), "s", 3, f"{cmd} interview")
    )
    out.append(Row("app cold start to /_stcore/health", app.get("health_s"), "s", 10, f"{cmd} app"))
    out.append(Row("app cold start to first render", app.get("first_render_s"), "s", 10, f"{cmd} app"))
    out.append(Row("app RSS after one interview", app.get("rss_after_interview_mb"), "MB", 500, f"{cmd} app"))
    out.append(
        Row("prompt tokens, turn 40 / turn 10", llm.get("turn_last_over_turn_10"), "x", 1.3, f"{cmd} llm")
    )
    curve = {p["turn"]: p["words"] for p in llm.get("tokens_per_turn", [])}
    for t in (1, 10, 20, 40):
        if t in curve:
            out.append(Row(f"prompt tokens at turn {t} (words)", curve[t], "tok", None, f"{cmd} llm"))
    if llm.get("tokens_per_interview") is not None:
        out.append(
            Row(
                f"prompt tokens per {llm.get('turns')}-turn interview",
                llm["tokens_per_interview"],
                "tok",
                None,
                f"{cmd} llm",
            )
        )
    found = probes.get("findings_by_target") or {}
    names = {
        "grader": "probe score inflations",
        "director": "probe unasked facts / phase skips",
        "prompt": "probe leaks into the model prompt",
        "html": "probe HTML executed / external images",
    }
    for target, label in names.items():
        if target in found:
            out.append(Row(label, found[target], "", 0, f"{cmd} probes", zero_target=True))
    return out


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Benchmark summary (ratio = measured / target; <= 1.00 meets it)")
    for col, justify in (("metric", "left"), ("value", "right"), ("target", "right"), ("ratio", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("")
    data = []
    for r in rows():
        value = "-" if r.value is None else f"{r.value:,.2f} {r.unit}".strip()
        target = "-" if r.target is None else (f"{r.target:g} {r.unit}".strip() if not r.zero_target else "0")
        ratio = "-" if r.ratio is None else (f"{r.ratio:.0f}" if r.zero_target else f"{r.ratio:.2f}")
        mark = {True: "[green]ok[/]", False: "[red]MISSED[/]", None: ""}[r.ok]
        table.add_row(r.metric, value, target, ratio, mark)
        data.append({**r.__dict__, "ratio": r.ratio, "ok": r.ok})
    console = Console()
    console.print(table)
    others = sorted(
        p.stem
        for p in Path(RESULTS_DIR).glob("*.json")
        if p.stem not in {"turn", "llm", "retrieval", "grading", "interview", "app", "probes", "summary"}
    )
    if others:
        console.print(f"other results in {RESULTS_DIR}: {', '.join(others)}")
    write_results("summary", {"rows": data})


if __name__ == "__main__":
    main()
