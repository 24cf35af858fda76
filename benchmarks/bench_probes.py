"""Injection and leak probes, full matrix: evals/probes/probes.yaml against the director, the
interviewer prompt path, the grader and the rendered HTML (see app/evals/probes.py).

    .venv/bin/python -m benchmarks probes

Targets: 0 score inflations, 0 unasked facts or instructions revealed, 0 HTML executed or external
images loaded.
"""

from __future__ import annotations

from app.evals.probes import TARGETS, load_catalogue, run_probes
from benchmarks import write_results


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    cat = load_catalogue()
    results = run_probes(cat, full=True)
    categories = sorted({p.category for p in cat.probes})
    per_cat = {c: sum(1 for p in cat.probes if p.category == c) for c in categories}
    table = Table(title=f"Probes v{cat.version}: {len(cat.probes)} probes; runs / findings per target")
    table.add_column("category")
    table.add_column("probes", justify="right")
    for t in TARGETS:
        table.add_column(t, justify="right")
    for c in [*categories, "total"]:
        row = [c, str(per_cat.get(c, len(cat.probes)))]
        for t in TARGETS:
            runs = results.runs.get(t, {})
            n = sum(runs.values()) if c == "total" else runs.get(c, 0)
            bad = len(results.failures(t, None if c == "total" else c))
            row.append(f"{n} / [{'red' if bad else 'green'}]{bad}[/]")
        table.add_row(*row)
    console = Console()
    console.print(table)
    for f in results.findings[:30]:
        console.print(f"  {f.target} {f.probe} {f.where}: {f.detail}", markup=False)
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in results.seconds.items())
    console.print(f"time: {seconds}")
    data = results.to_dict()
    data["per_category"] = per_cat
    data["ok"] = not results.findings
    console.print(f"results written to {write_results('probes', data)}")


if __name__ == "__main__":
    main()
