"""Retrieval benchmark: index build (cold and unchanged), query latency, embedding throughput, hit@3.

Targets: re-indexing unchanged notes embeds 0 chunks; query p50 < 20 ms.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import write_results

ROUNDS = 3
THROUGHPUT_SENTENCES = 256


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def timed_queries(runs: list[Any], queries: list[str]) -> list[list[float]]:
    """Milliseconds per query for each runner over `ROUNDS` passes (after a warm-up pass).

    The runners take turns on every query, so a burst of load elsewhere on the machine hits them alike.
    """
    for q in queries:
        for run in runs:
            run(q)
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(ROUNDS):
        for q in queries:
            for run, out in zip(runs, times, strict=True):
                start = time.perf_counter()
                run(q)
                out.append((time.perf_counter() - start) * 1000)
    return times


def measure(workdir: Path) -> dict[str, Any]:
    from app.retrieval.embeddings import get_encoder
    from app.retrieval.evaluate import hit_at_k, load_questions
    from app.retrieval.index import index_notes
    from app.retrieval.search import Retriever
    from app.settings import REPO_ROOT, get_settings

    # Snapshot the notes so edits made while the benchmark runs cannot skew the unchanged re-index.
    shutil.copytree(REPO_ROOT / "knowledge" / "notes", workdir / "knowledge" / "notes")
    settings = get_settings(data_dir=workdir / "data", knowledge_dir=workdir / "knowledge", _env_file=None)
    questions = load_questions(REPO_ROOT / "tests" / "data" / "retrieval_questions.yaml")
    queries = [q.q for q in questions]

    start = time.perf_counter()
    encoder = get_encoder()
    load_s = time.perf_counter() - start

    cold = index_notes(settings)
    unchanged = index_notes(settings)

    sentences = (queries * (THROUGHPUT_SENTENCES // max(1, len(queries)) + 1))[:THROUGHPUT_SENTENCES]
    start = time.perf_counter()
    encoder.encode(sentences)
    sentences_per_s = len(sentences) / (time.perf_counter() - start)

    retriever = Retriever(settings)
    store = retriever.langchain_store()
    ours, via_lc = timed_queries(
        [lambda q: retriever.search(q, k=3), lambda q: store.similarity_search(q, k=3)], queries
    )
    hits = hit_at_k(retriever, questions, k=3)

    return {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "notes": cold.notes,
        "chunks": cold.chunks,
        "model_load_s": round(load_s, 3),
        "index_cold": {"seconds": round(cold.seconds, 2), "embedded": cold.embedded},
        "index_unchanged": {"seconds": round(unchanged.seconds, 3), "embedded": unchanged.embedded},
        "chunks_per_s_cold": round(cold.embedded / cold.seconds, 1) if cold.seconds else None,
        "embedding_sentences_per_s": round(sentences_per_s, 1),
        "query_ms": {
            "retriever": {"p50": round(percentile(ours, 50), 2), "p95": round(percentile(ours, 95), 2)},
            "langchain": {"p50": round(percentile(via_lc, 50), 2), "p95": round(percentile(via_lc, 95), 2)},
            "samples": len(ours),
            "mean_retriever": round(statistics.fmean(ours), 2),
        },
        "hit_at_3": {
            "rate": round(hits.rate, 4),
            "hits": hits.hits,
            "total": hits.total,
            "misses": hits.misses,
        },
        "targets": {
            "unchanged_embeds_0": unchanged.embedded == 0,
            "query_p50_under_20ms": percentile(ours, 50) < 20,
        },
    }


def main() -> None:
    """Run the retrieval benchmark, print a table and write `benchmarks/results/retrieval.json`."""
    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory(prefix="sdmock-bench-") as tmp:
        results = measure(Path(tmp))

    ok = {True: "[green]ok[/]", False: "[red]MISSED[/]"}
    q = results["query_ms"]
    table = Table(
        title=f"Retrieval ({results['notes']} notes, {results['chunks']} chunks; "
        f"{results['cpus']} CPUs, load average {results['load_average_1m']})"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_row("model load", f"{results['model_load_s']:.2f} s", "")
    table.add_row(
        "index build, cold",
        f"{results['index_cold']['seconds']:.1f} s, {results['index_cold']['embedded']} embedded",
        "",
    )
    table.add_row(
        "index build, unchanged",
        f"{results['index_unchanged']['seconds']:.2f} s, {results['index_unchanged']['embedded']} embedded",
        f"0 embedded {ok[results['targets']['unchanged_embeds_0']]}",
    )
    table.add_row("embedding throughput (chunks, cold build)", f"{results['chunks_per_s_cold']} chunks/s", "")
    table.add_row(
        "embedding throughput (questions)", f"{results['embedding_sentences_per_s']} sentences/s", ""
    )
    table.add_row(
        "query latency, Retriever",
        f"p50 {q['retriever']['p50']:.1f} ms, p95 {q['retriever']['p95']:.1f} ms",
        f"p50 < 20 ms {ok[results['targets']['query_p50_under_20ms']]}",
    )
    table.add_row(
        "query latency, LangChain Chroma",
        f"p50 {q['langchain']['p50']:.1f} ms, p95 {q['langchain']['p95']:.1f} ms",
        "",
    )
    h = results["hit_at_3"]
    table.add_row("hit@3 (retrieval set)", f"{h['rate']:.1%} ({h['hits']}/{h['total']})", ">= 90%")
    console = Console()
    console.print(table)
    for miss in h["misses"]:
        console.print(f"  miss: {miss}", markup=False)
    path = write_results("retrieval", results)
    console.print(f"results written to {path}")


if __name__ == "__main__":
    main()
