"""What the shared judge prefix saves with a real local model, read from the committed recordings.

The six judge requests of one transcript differ only after the transcript (prompts/grade_dimension.md
v2), so llama.cpp's prompt cache serves the long prefix from the second call on. The recordings under
evals/recordings/ hold each call's usage (prompt and cached tokens) and latency; this benchmark replays
every case of the recorded baseline to map recordings to cases, then derives each call's own time.

The six calls of a case are sent at once and the local server answers them one at a time, so the
k-th reply's latency is the sum of the first k service times: sorting a case's latencies and taking
differences gives each call's time. No model runs here; it takes a few seconds.

    python -m benchmarks judge_cache
"""

from __future__ import annotations

import itertools
import json
import statistics
from typing import Any

from app.evals.cases import load_cases
from app.evals.recording import RecordingModel
from app.evals.runner import EVALS_DIR
from app.grading.grader import grade_transcript
from app.grading.rubric import load_rubric
from app.llm.base import Completion, Message
from app.problems import load_problems
from benchmarks import write_results


class _Tap:
    """Passes calls to the replaying model and keeps every Completion it returns."""

    def __init__(self, inner: RecordingModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.supports_json_schema = inner.supports_json_schema
        self.calls: list[Completion] = []

    def complete(self, messages: list[Message], **kwargs: Any) -> Completion:
        done = self.inner.complete(messages, **kwargs)
        self.calls.append(done)
        return done


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    baselines = sorted((EVALS_DIR / "baselines").glob("llm-local_*.json"))
    if not baselines:
        print("no recorded local-model baseline in evals/baselines/; nothing to read")
        return 0
    data = json.loads(baselines[0].read_text(encoding="utf-8"))
    rubric = load_rubric()
    problems = load_problems()
    table = Table(title=f"judge calls per case, {data['model']} (from the recordings)")
    for col in ("case", "calls", "first call s", "later calls s (median)", "cached tokens (median)"):
        table.add_column(col)
    firsts: list[float] = []
    laters: list[float] = []
    cached: list[int] = []
    prompts: list[int] = []
    for case in load_cases(EVALS_DIR / "cases", data.get("pattern", "*")):
        tap = _Tap(
            RecordingModel(
                model_name=data["model"],
                recordings_dir=EVALS_DIR / "recordings",
                mode="replay",
                rubric_version=str(rubric.version),
            )
        )
        grade_transcript(case.transcript(), problems[case.problem], case.level, model=tap, rubric=rubric)  # type: ignore[arg-type]
        done = sorted(tap.calls, key=lambda c: c.latency_s)
        own = [done[0].latency_s] + [b.latency_s - a.latency_s for a, b in itertools.pairwise(done)]
        hits = [c.usage.cached_tokens or 0 for c in done[1:]]
        firsts.append(own[0])
        laters += own[1:]
        cached += hits
        prompts += [c.usage.prompt_tokens for c in done]
        table.add_row(
            case.id,
            str(len(done)),
            f"{own[0]:.0f}",
            f"{statistics.median(own[1:]):.0f}" if own[1:] else "-",
            f"{statistics.median(hits):.0f}" if hits else "-",
        )
    console = Console()
    console.print(table)
    result = {
        "model": data["model"],
        "cases": len(firsts),
        "first_call_median_s": round(statistics.median(firsts), 1),
        "later_call_median_s": round(statistics.median(laters), 1) if laters else None,
        "cached_tokens_median": statistics.median(cached) if cached else None,
        "prompt_tokens_median": statistics.median(prompts),
    }
    if result["later_call_median_s"]:
        result["first_over_later"] = round(result["first_call_median_s"] / result["later_call_median_s"], 2)
    console.print(result)
    write_results("judge_cache", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
