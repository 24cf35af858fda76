"""Retrieval benchmark: index build (cold and unchanged), query latency, embedding throughput, hit@3.

hit@3 is measured on two question sets, for the hybrid `Retriever` and for the dense half alone (the
ranking before issue 13, for comparison):

- tests/data/retrieval_questions.yaml: note level (an expected note among the top 3 chunks);
- evals/retrieval/paraphrases.yaml: note level and section level (the labelled note *and* `##`
  section among the top 3), its `tune` and `heldout` splits reported separately.

Targets: re-indexing unchanged notes embeds 0 chunks; query p50 < 20 ms; section-level hit@3 >= 95% on
the paraphrase set; note-level hit@3 >= 95% on the old set.
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


class DenseOnly:
    """The dense half of the `Retriever` alone: Chroma's nearest chunks (the ranking before hybrid)."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    def search(self, query: str, k: int = 3, step: str | None = None, topic: str | None = None) -> list[Any]:
        from app.retrieval.embeddings import get_encoder
        from app.retrieval.search import Hit, build_where

        _, collection = self.retriever._current()
        result = collection.query(
            query_embeddings=get_encoder().encode([query]),
            n_results=k,
            where=build_where(step, topic),
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit.from_record(doc or "", meta, 1.0 - float(dist))
            for doc, meta, dist in zip(
                result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True
            )
        ]


def quality(searcher: Any, old: list[Any], new: list[Any]) -> dict[str, Any]:
    """hit@3 on the old set (note level) and on each split of the paraphrase set (note and section)."""
    from app.retrieval.evaluate import SPLITS, hit_at_k

    out: dict[str, Any] = {}
    report = hit_at_k(searcher, old, k=3)
    out["old"] = {"note": round(report.rate, 4), "hits": report.hits, "total": report.total}
    out["old_misses"] = report.misses
    for split in SPLITS:
        report = hit_at_k(searcher, [q for q in new if q.split == split], k=3)
        out[split] = {
            "note": round(report.rate, 4),
            "section": round(report.section_rate, 4),
            "note_hits": report.hits,
            "section_hits": report.section_hits,
            "total": report.total,
        }
        out[f"{split}_section_misses"] = report.section_misses
    return out


def measure(workdir: Path) -> dict[str, Any]:
    from app.retrieval.embeddings import get_encoder
    from app.retrieval.evaluate import OLD_SET, PARAPHRASE_SET, load_questions
    from app.retrieval.index import index_notes
    from app.retrieval.search import Retriever
    from app.settings import REPO_ROOT, get_settings

    # Snapshot the notes so edits made while the benchmark runs cannot skew the unchanged re-index.
    shutil.copytree(REPO_ROOT / "knowledge" / "notes", workdir / "knowledge" / "notes")
    settings = get_settings(data_dir=workdir / "data", knowledge_dir=workdir / "knowledge", _env_file=None)
    questions = load_questions(OLD_SET)
    paraphrases = load_questions(PARAPHRASE_SET)
    queries = [q.q for q in questions + paraphrases]

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
    dense = DenseOnly(retriever)
    store = retriever.langchain_store()
    ours, dense_ms, via_lc = timed_queries(
        [
            lambda q: retriever.search(q, k=3),
            lambda q: dense.search(q, k=3),
            lambda q: store.similarity_search(q, k=3),
        ],
        queries,
    )
    hybrid_q, dense_q = quality(retriever, questions, paraphrases), quality(dense, questions, paraphrases)
    tune, heldout = hybrid_q["tune"], hybrid_q["heldout"]

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
            "dense_only": {
                "p50": round(percentile(dense_ms, 50), 2),
                "p95": round(percentile(dense_ms, 95), 2),
            },
            "langchain": {"p50": round(percentile(via_lc, 50), 2), "p95": round(percentile(via_lc, 95), 2)},
            "samples": len(ours),
            "mean_retriever": round(statistics.fmean(ours), 2),
        },
        "hit_at_3": {
            "rate": hybrid_q["old"]["note"],
            "hits": hybrid_q["old"]["hits"],
            "total": hybrid_q["old"]["total"],
            "misses": hybrid_q["old_misses"],
        },
        "quality": {"hybrid": hybrid_q, "dense_only": dense_q},
        "paraphrases": {
            "questions": len(paraphrases),
            "notes": len({s for q in paraphrases for s in q.expect}),
        },
        "targets": {
            "unchanged_embeds_0": unchanged.embedded == 0,
            "query_p50_under_20ms": percentile(ours, 50) < 20,
            "old_note_hit_at_3_95": hybrid_q["old"]["note"] >= 0.95,
            "tune_section_hit_at_3_95": tune["section"] >= 0.95,
            "heldout_section_hit_at_3_95": heldout["section"] >= 0.95,
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
        "query latency, dense half alone",
        f"p50 {q['dense_only']['p50']:.1f} ms, p95 {q['dense_only']['p95']:.1f} ms",
        "",
    )
    table.add_row(
        "query latency, LangChain Chroma",
        f"p50 {q['langchain']['p50']:.1f} ms, p95 {q['langchain']['p95']:.1f} ms",
        "",
    )
    console = Console()
    console.print(table)

    t = results["targets"]
    quality_table = Table(
        title=f"hit@3: hybrid (dense only); paraphrase set {results['paraphrases']['questions']} questions "
        f"over {results['paraphrases']['notes']} notes"
    )
    for col in ("question set", "note level", "section level", "target"):
        quality_table.add_column(col, justify="left" if col == "question set" else "right")
    hyb, den = results["quality"]["hybrid"], results["quality"]["dense_only"]

    def pair(key: str, level: str) -> str:
        return f"{hyb[key][level]:.1%} ({den[key][level]:.1%})"

    quality_table.add_row(
        f"old set ({hyb['old']['total']})",
        pair("old", "note"),
        "",
        f"note >= 95% {ok[t['old_note_hit_at_3_95']]}",
    )
    for split in ("tune", "heldout"):
        quality_table.add_row(
            f"paraphrases, {split} ({hyb[split]['total']})",
            pair(split, "note"),
            pair(split, "section"),
            f"section >= 95% {ok[t[f'{split}_section_hit_at_3_95']]}",
        )
    console.print(quality_table)
    for miss in results["hit_at_3"]["misses"]:
        console.print(f"  old-set miss: {miss}", markup=False)
    for split in ("tune", "heldout"):
        for miss in hyb[f"{split}_section_misses"]:
            console.print(f"  {split} section miss: {miss}", markup=False)
    path = write_results("retrieval", results)
    console.print(f"results written to {path}")


if __name__ == "__main__":
    main()
