"""The lexical half of hybrid search (BM25, tokens, synonyms, priors), fusion, and the hit@k harness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.errors import KnowledgeError
from app.retrieval.evaluate import PARAPHRASE_SET, Question, hit_at_k, load_questions, note_slug
from app.retrieval.lexical import (
    BM25,
    INTRO_PRIOR,
    QUESTIONS_PRIOR,
    chunk_prior,
    lexical_text,
    matches_filter,
    query_terms,
    stem,
    tokenize,
)
from app.retrieval.search import RRF_K, Hit, fuse
from app.settings import REPO_ROOT


def test_stem_joins_word_forms() -> None:
    for forms in (
        ("cache", "caches", "cached", "caching"),
        ("entry", "entries"),
        ("expire", "expires", "expired"),
        ("shard", "shards", "sharded", "sharding"),
        ("stop", "stopped"),
        ("index", "indexes", "indices"),
    ):
        assert len({stem(w) for w in forms}) == 1, forms
    assert stem("class") == "class" and stem("status") == "status" and stem("2^10") == "2^10"


def test_tokenize_drops_filler_and_punctuation() -> None:
    assert tokenize("once my cache runs out of room, which entries get thrown out first?") == [
        "cach",
        "run",
        "room",
        "entry",
        "thrown",
        "first",
    ]
    assert tokenize("ok so what's the deal?") == ["deal"]
    assert tokenize("non-relational DBs") == ["nonrelational", "db"]


def test_query_terms_add_synonyms_at_lower_weight() -> None:
    terms = query_terms("the main db crashes")
    assert terms["main"] == terms["db"] == terms["crash"] == 1
    assert terms["primary"] == terms["databas"] == terms["failur"] == 0.5
    assert query_terms("the main db crashes", synonym_weight=0) == {"main": 1, "db": 1, "crash": 1}
    # A typed word is never demoted by being someone's synonym.
    assert query_terms("crash failure")["failur"] == 1


def test_bm25_ranks_and_filters() -> None:
    docs = [
        lexical_text("Caching", "Eviction", "LRU drops the least recently used entry when memory is full."),
        lexical_text("Caching", "Expiration", "Entries expire after a time-to-live."),
        lexical_text(
            "Rate limiting", "Token bucket", "Tokens refill at a fixed rate; bursts drain the bucket."
        ),
    ]
    bm = BM25(docs)
    assert len(bm) == 3
    assert bm.rank("which entries get kicked out when the cache is full")[0] == 0
    assert bm.rank("how fast do tokens refill")[0] == 2
    assert bm.rank("tokens refill", allowed=[True, True, False]) == []
    assert bm.rank("qwertyuiop") == [] and BM25([]).rank("cache") == []
    scores = bm.scores("caching eviction")
    assert scores[0] > scores[1] > 0 and 2 not in scores


def test_heading_and_topics_weigh_in() -> None:
    text = lexical_text("Caching", "Eviction", "body", ("redis", "lru"))
    assert text.splitlines() == ["Caching Eviction", "Caching Eviction", "body", "redis lru"]
    assert lexical_text("Caching", "Caching", "intro").splitlines()[0] == "Caching"


def test_chunk_prior() -> None:
    assert chunk_prior("Caching", "Caching", "A cache keeps data in memory.") == INTRO_PRIOR
    probes = "Questions an interviewer asks:\n\n- Why LRU?\n- What happens on a cold start?\n- How big?"
    assert chunk_prior("Caching", "Interview probes", probes) == QUESTIONS_PRIOR
    assert chunk_prior("Caching", "Eviction", "LRU evicts. Why? Because.") == 1.0
    assert chunk_prior("", "", "plain text preamble") == 1.0


def test_matches_filter_mirrors_build_where() -> None:
    meta = {"steps": ["deep_dive"], "topics": ["cache", "token bucket"]}
    assert matches_filter(meta, None, None)
    assert matches_filter(meta, "deep_dive", " Token Bucket ")
    assert not matches_filter(meta, "scope", None)
    assert not matches_filter(meta, None, "token")  # `$contains` on an array is an exact element match
    assert not matches_filter({}, "scope", None) and matches_filter({}, None, "  ")


def test_fuse_is_reciprocal_rank_with_priors() -> None:
    priors = [1.0, 1.0, 0.5, 1.0]
    fused = fuse([[0, 1, 2], [2, 0, 3]], priors, k=10)
    assert [i for i, _ in fused] == [0, 2, 1, 3]
    scores = dict(fused)
    best = 2 / (RRF_K + 1)
    assert scores[0] == pytest.approx((1 / (RRF_K + 1) + 1 / (RRF_K + 2)) / best)
    assert scores[2] == pytest.approx(0.5 * (1 / (RRF_K + 3) + 1 / (RRF_K + 1)) / best)
    assert fuse([[3], [3]], priors, k=1) == [(3, pytest.approx(1.0))]
    assert fuse([[], []], priors, k=3) == []


# --- the question sets and hit@k ---------------------------------------------------------------


def test_paraphrase_set_is_labelled_with_real_sections() -> None:
    questions = load_questions(PARAPHRASE_SET)
    assert len(questions) >= 70
    headings: dict[str, set[str]] = {}
    for path in (REPO_ROOT / "knowledge" / "notes").glob("*.md"):
        headings[path.stem] = set(re.findall(r"^##[ \t]+(.+?)[ \t#]*$", path.read_text(), re.MULTILINE))
    for q in questions:
        (note,) = q.expect
        assert q.section in headings[note], q
    assert len({n for q in questions for n in q.expect}) >= 25
    assert [q.split for q in questions] == [
        "heldout" if i % 3 == 2 else "tune" for i in range(len(questions))
    ]
    assert len({q.q for q in questions}) == len(questions)


class FakeSearcher:
    def __init__(self, hits: dict[str, list[tuple[str, str]]]) -> None:
        self.hits = hits

    def search(self, query: str, k: int = 3, step: str | None = None, topic: str | None = None) -> list[Hit]:
        return [Hit(src, head, "", 1.0, "", (), ()) for src, head in self.hits[query][:k]]


def test_hit_at_k_note_and_section_levels() -> None:
    questions = [
        Question("a", frozenset({"caching"}), "Eviction"),
        Question("b", frozenset({"caching"}), "Eviction"),
        Question("c", frozenset({"cdn"}), "TTL"),
        Question("d", frozenset({"sharding", "caching"})),
    ]
    searcher = FakeSearcher(
        {
            "a": [("caching.md", "Caching"), ("caching.md", "Eviction")],
            "b": [("caching.md", "Caching"), ("cdn.md", "Eviction")],
            "c": [("caching.md", "TTL")],
            "d": [("x.md", "X"), ("y.md", "Y"), ("z.md", "Z"), ("caching.md", "Eviction")],
        }
    )
    report = hit_at_k(searcher, questions, k=3)
    assert (report.total, report.hits, report.sections_total, report.section_hits) == (4, 2, 3, 1)
    assert report.rate == 0.5 and report.section_rate == pytest.approx(1 / 3)
    assert len(report.misses) == 2 and len(report.section_misses) == 2
    assert "caching > Eviction" in report.section_misses[0]
    assert hit_at_k(searcher, [], k=3).rate == 0.0 and note_slug("user-notes/a/b.txt") == "b"


def test_load_questions_formats_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "- q: a\n  expect: [x, y]\n- q: b\n  note: x\n  section: S\n  split: heldout\n- q: c\n  note: x\n"
        "  section: T\n",
        encoding="utf-8",
    )
    a, b, c = load_questions(path)
    assert a == Question("a", frozenset({"x", "y"}))
    assert b == Question("b", frozenset({"x"}), "S", "heldout") and c.split == "tune"
    for bad, match in (
        ("- q: a\n  note: x\n", "needs an `expect`"),
        ("- q: a\n  note: x\n  section: S\n  split: train\n", "split must be"),
        ("- expect: x\n", "string `q`"),
        ("q: a\n", "expected a list"),
        ("- [", "cannot load"),
    ):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(KnowledgeError, match=match):
            load_questions(path)


def test_synonym_words_are_never_stop_words() -> None:
    from app.retrieval.lexical import STOP_WORDS, SYNONYMS

    assert not STOP_WORDS & {w for group in SYNONYMS for w in group}
    assert query_terms("how do people even that out")["balanc"] == 0.5
