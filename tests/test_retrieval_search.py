"""Retriever.search over the real index of knowledge/notes, the LangChain route, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.errors import IndexUnavailableError
from app.retrieval.embeddings import get_encoder
from app.retrieval.evaluate import PARAPHRASE_SET, hit_at_k, load_questions
from app.retrieval.notes import STEPS
from app.retrieval.search import Hit, Retriever, build_where, clear_retrievers, get_retriever
from app.settings import REPO_ROOT, Settings, default_settings

QUESTIONS = REPO_ROOT / "tests" / "data" / "retrieval_questions.yaml"
ACCEPTANCE = "how should cached entries expire"


def test_acceptance_query_finds_cache_expiration(notes_index: Settings) -> None:
    hits = Retriever(notes_index).search(ACCEPTANCE, k=3)
    assert len(hits) == 3
    assert any(h.source == "caching.md" and "Expiration" in h.heading for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    top = hits[0]
    assert top.title and top.text and set(top.steps) <= set(STEPS)


def test_retrieval_set_hit_at_3(notes_index: Settings) -> None:
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 20
    known = {p.stem for p in notes_index.notes_dir.glob("*.md")}
    for question in questions:
        assert question.expect <= known, question
    report = hit_at_k(Retriever(notes_index), questions, k=3)
    assert report.rate >= 0.9, "\n".join(report.misses)


def test_paraphrase_set_section_hit_at_3(notes_index: Settings) -> None:
    """Issue 13: the labelled note and `##` section among the top 3 for paraphrased study questions."""
    questions = load_questions(PARAPHRASE_SET)
    retriever = Retriever(notes_index)
    tune = hit_at_k(retriever, [q for q in questions if q.split == "tune"], k=3)
    heldout = hit_at_k(retriever, [q for q in questions if q.split == "heldout"], k=3)
    assert tune.section_rate >= 0.95, "\n".join(tune.section_misses)
    assert heldout.section_rate >= 0.9, "\n".join(heldout.section_misses)
    both = (tune.section_hits + heldout.section_hits) / (tune.total + heldout.total)
    assert both >= 0.95, "\n".join(tune.section_misses + heldout.section_misses)
    assert min(tune.rate, heldout.rate) >= 0.95, "\n".join(tune.misses + heldout.misses)


@pytest.mark.parametrize(
    ("query", "source", "heading"),
    [
        # The examples of issue 13: the right note but, before hybrid ranking, the wrong section.
        ("once my cache runs out of room, which entries get thrown out first?", "caching.md", "Eviction"),
        (
            "how many fake copies of each server should i put on the ring and what does that buy me?",
            "consistent-hashing.md",
            "Virtual nodes",
        ),
        (
            "for the limiter where every request spends a credit, how fast do the credits come back "
            "and how big a burst slips through?",
            "rate-limiting.md",
            "Token bucket",
        ),
    ],
)
def test_hard_paraphrases_find_the_section(
    notes_index: Settings, query: str, source: str, heading: str
) -> None:
    hits = Retriever(notes_index).search(query, k=3)
    assert any(h.source == source and h.heading.startswith(heading) for h in hits), [
        (h.source, h.heading) for h in hits
    ]


def test_fused_ranking_applies_filters_to_both_lists(notes_index: Settings) -> None:
    retriever = Retriever(notes_index)
    query = "token bucket refill rate burst"
    # Unfiltered, both halves put the token bucket section first.
    assert retriever.search(query, k=1)[0].heading == "Token bucket algorithm"
    # rate-limiting.md serves only the deep dive: a scope search must not let a lexical match through.
    for step in ("scope", "estimation", "wrap_up"):
        hits = retriever.search(query, k=10, step=step)
        assert hits and all(step in h.steps for h in hits)
        assert all(h.source != "rate-limiting.md" for h in hits)
    hits = retriever.search(query, k=20, topic="cache")
    assert hits and all("cache" in h.topics for h in hits)
    hits = retriever.search("leaking bucket queue outflow", k=20, step="deep_dive", topic="Token Bucket")
    assert hits and all("deep_dive" in h.steps and "token bucket" in h.topics for h in hits)
    assert hits[0].heading == "Leaking bucket algorithm"
    # A word only the lexical side knows still obeys the filter.
    assert retriever.search("Widevine FairPlay", k=1)[0].source == "video-streaming.md"
    hits = retriever.search("Widevine FairPlay", k=5, topic="cdn")
    assert hits and all(h.source == "cdn.md" for h in hits)


def test_scores_are_fused_relevance(notes_index: Settings) -> None:
    hits = Retriever(notes_index).search("token bucket refill rate burst", k=10)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert scores[0] > 0.9  # first in both lists


def test_step_and_topic_filters(notes_index: Settings) -> None:
    retriever = Retriever(notes_index)
    for step in STEPS:
        hits = retriever.search("what should the candidate do here", k=5, step=step)
        assert hits and all(step in h.steps for h in hits)
    hits = retriever.search(ACCEPTANCE, k=5, topic="Redis")
    assert hits and all("redis" in h.topics for h in hits)
    both = retriever.search(ACCEPTANCE, k=5, step="deep_dive", topic="cache")
    assert both and all("deep_dive" in h.steps and "cache" in h.topics for h in both)
    assert retriever.search(ACCEPTANCE, topic="no-such-topic") == []
    with pytest.raises(ValueError, match="unknown step"):
        retriever.search(ACCEPTANCE, step="design")


def test_edge_queries(notes_index: Settings) -> None:
    retriever = Retriever(notes_index)
    assert retriever.search("   ") == [] and retriever.search("cache", k=0) == []
    assert len(retriever.search("cache", k=1000)) > 100  # more than stored: returns what there is
    assert retriever.search("x" * 20_000, k=1)  # truncated at 256 tokens, still answers


def test_build_where() -> None:
    assert build_where() is None
    assert build_where(step="scope") == {"steps": {"$contains": "scope"}}
    assert build_where(step="scope", topic=" CDN ") == {
        "$and": [{"steps": {"$contains": "scope"}}, {"topics": {"$contains": "cdn"}}]
    }


def test_get_retriever_is_cached_per_index(notes_index: Settings, tmp_settings: Settings) -> None:
    assert get_retriever(notes_index) is get_retriever(notes_index.model_copy())
    assert get_retriever(tmp_settings) is not get_retriever(notes_index)


def test_langchain_route_matches_retriever(notes_index: Settings) -> None:
    retriever = Retriever(notes_index)
    docs = retriever.as_langchain_retriever(k=3).invoke(ACCEPTANCE)
    ours = retriever.search(ACCEPTANCE, k=3)
    assert [(d.metadata["source"], d.metadata["heading"]) for d in docs] == [
        (h.source, h.heading) for h in ours
    ]

    filtered = retriever.as_langchain_retriever(k=4, step="estimation").invoke("how many requests per second")
    assert filtered and all("estimation" in d.metadata["steps"] for d in filtered)

    # The vector store is the dense half on its own: cosine relevance, our embeddings.
    _, collection = retriever._current()
    dense = collection.query(
        query_embeddings=get_encoder().encode([ACCEPTANCE]), n_results=1, include=["distances"]
    )
    scored = retriever.langchain_store().similarity_search_with_relevance_scores(ACCEPTANCE, k=1)
    assert scored[0][1] == pytest.approx(1.0 - dense["distances"][0][0], abs=1e-4)

    with pytest.raises(ValueError, match="unknown step"):
        retriever.as_langchain_retriever(step="design")


def test_hit_to_dict_is_json_ready() -> None:
    hit = Hit("a.md", "H", "text", 0.5, "A", ("t",), ("scope",))
    assert json.loads(json.dumps(hit.to_dict()))["topics"] == ["t"]


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    default_settings.cache_clear()
    clear_retrievers()
    yield CliRunner()
    default_settings.cache_clear()
    clear_retrievers()


def use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("SDMOCK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SDMOCK_KNOWLEDGE_DIR", str(settings.knowledge_dir))
    monkeypatch.delenv("SDMOCK_INDEX_DIR", raising=False)
    monkeypatch.delenv("SDMOCK_CHROMA_HOST", raising=False)
    default_settings.cache_clear()


def test_cli_search_json_acceptance(notes_index: Settings, cli_env: CliRunner, monkeypatch) -> None:
    use(monkeypatch, notes_index)
    result = cli_env.invoke(cli, ["search", ACCEPTANCE, "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert {"source", "heading", "text", "score"} <= set(hits[0])
    assert any(h["source"] == "caching.md" and "Expiration" in h["heading"] for h in hits)

    result = cli_env.invoke(
        cli, ["search", "token bucket", "--step", "deep_dive", "--topic", "rate limiter", "-k", "2"]
    )
    assert result.exit_code == 0 and "rate-limiting.md" in result.stdout

    result = cli_env.invoke(cli, ["search", "x", "--step", "design"])
    assert result.exit_code != 0


def test_cli_index_then_up_to_date(tmp_settings: Settings, cli_env: CliRunner, monkeypatch, tmp_path) -> None:
    notes = tmp_path / "k" / "notes"
    notes.mkdir(parents=True)
    (notes / "a.md").write_text("---\ntitle: A\nsteps: [scope]\n---\n## Scope\nAsk who the users are.\n")
    use(monkeypatch, tmp_settings.model_copy(update={"knowledge_dir": tmp_path / "k"}))
    mine = tmp_path / "mine.txt"
    mine.write_text("Write-ahead logs make writes durable before they are applied.\n")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe bad")

    first = cli_env.invoke(cli, ["index", "--notes", str(mine)])
    assert first.exit_code == 0, first.output
    assert "2 chunks embedded" in first.stdout and "added user note: mine.txt" in first.output

    second = cli_env.invoke(cli, ["index"])
    assert "0 chunks embedded: index up to date" in second.stdout

    bad = cli_env.invoke(cli, ["index", "--notes", str(tmp_path / "bad.txt")])
    assert bad.exit_code == 0 and "not valid UTF-8" in bad.output and "bad.txt" in bad.output

    skip = cli_env.invoke(cli, ["index", "--if-missing"])
    assert skip.exit_code == 0 and "already present" in skip.stdout

    found = json.loads(cli_env.invoke(cli, ["search", "durable writes", "--json", "-k", "1"]).stdout)
    assert found[0]["source"] == "user-notes/mine.txt"


def test_cli_search_without_index(tmp_settings: Settings, cli_env: CliRunner, monkeypatch) -> None:
    use(monkeypatch, tmp_settings)
    result = cli_env.invoke(cli, ["search", "cache"])
    assert isinstance(result.exception, IndexUnavailableError)
    assert "sdmock index" in str(result.exception)


@pytest.mark.slow
def test_cli_entry_point_reports_missing_index(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SDMOCK_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "search", "cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "no study-notes index" in proc.stderr and "run `sdmock index`" in proc.stderr
