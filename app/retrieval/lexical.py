"""The lexical half of hybrid search: a small pure-Python Okapi BM25 over the chunks of one build.

Each chunk's lexical text is heading-aware: the note title and the section heading are repeated in
front of the section text (`HEADING_WEIGHT` times), so a query word that names the section counts
more than the same word in passing. Tokens are lower-cased words with English stop words removed and
a light suffix stemmer applied ("entries" and "entry", "expires" and "expired" meet). A query word
also looks, at half weight, for the other words of its `SYNONYMS` group: the everyday words candidates
type for the terms the notes use ("main db" for "primary", "box" for "server", "kicked out" for
"evict"). The groups were written while reading the misses of the `tune` split of
evals/retrieval/paraphrases.yaml; the `heldout` split checks that they generalise.

The index is built in memory from the documents and metadata the vector store already holds (one
`collection.get` when a build is opened), so it always matches the dense index it is fused with and
needs nothing stored beside it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

K1 = 1.2
"""BM25 term-frequency saturation."""
B = 0.75
"""BM25 length normalisation."""
HEADING_WEIGHT = 2
"""How many times the heading and title are repeated in a chunk's lexical text."""

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

STOP_WORDS = frozenset(
    """
    a about above after against all am an and any are as at be because been before being below between
    both but by can could did do does doing don done during each ever every few for from further get
    gets getting go goes going got had has have having he her here hers him his how i if in into is it
    its itself just let lets like me might more most much must my myself no nor not now of off on once
    only or other our ours out over own really same say says she should so some such than that the
    their theirs them then there these they thing things this those through to too under until up us
    use used using very via want was way we well were what whats when where whether which while who
    whom why will with would yeah you your yours yourself
    actually anything basically gonna maybe okay ok pretty probably something stuff sure
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
"""Function words and chat filler that say nothing about which section answers a question (never a
word of a `SYNONYMS` group: "even", "down", "again" and "kind" mean something there)."""

_IRREGULAR = {"data": "data", "indices": "index", "indexes": "index", "analyses": "analysis"}


def stem(word: str) -> str:
    """A light, deterministic suffix stripper (plurals, -ing, -ed, -ly, a final -e), enough to join the
    forms of one word: "caches", "cached", "caching" and "cache" all become "cach"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 2 or not word.isalpha():
        return word
    base = word
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("xes", "x", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("ly", "", 6),
        ("s", "", 3),
    ):
        if word.endswith(suffix) and len(word) >= min_len:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            base = word[: len(word) - len(suffix)] + repl
            # "running" -> "runn" -> "run"; "stopped" -> "stopp" -> "stop"
            if suffix in ("ing", "ed") and len(base) >= 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            break
    if len(base) > 4 and base.endswith("e"):
        base = base[:-1]
    return base


SYNONYMS: tuple[tuple[str, ...], ...] = (
    # Everyday words a candidate types for the terms the notes use. Query-side only: a query word
    # also looks for the other words of its group, at `SYNONYM_WEIGHT`.
    ("server", "machine", "box", "node", "host", "instance"),
    ("database", "db", "datastore"),
    ("primary", "leader", "master", "main"),
    ("replica", "follower", "secondary", "slave", "copy"),
    ("fail", "failure", "crash", "die", "dead", "down", "outage", "offline", "broken", "dies"),
    ("partition", "split", "shard"),
    ("evict", "eviction", "throw", "thrown", "kick", "discard", "drop"),
    ("expire", "expiry", "expiration", "ttl", "lifetime", "stale"),
    ("full", "room", "space", "capacity", "memory"),
    ("throttle", "limit", "quota", "cap"),
    ("family", "kind", "type", "flavour", "flavor", "category", "variety"),
    ("recap", "summary", "summarise", "summarize", "restate"),
    ("balance", "even", "uneven", "skew", "imbalance", "spread"),
    ("duration", "time", "long", "slow"),
    ("notification", "notify", "alert", "push"),
    ("lose", "lost", "loss", "drop", "miss"),
    ("duplicate", "twice", "double", "again", "repeat", "dedup", "deduplication"),
    ("retry", "resend", "again"),
    ("cost", "bill", "price", "expensive", "cheap", "spend", "money"),
    ("peak", "spike", "burst", "surge"),
    ("ring", "circle"),
    ("trie", "prefix"),
    ("autocomplete", "typeahead", "suggestion", "suggest"),
    ("device", "phone", "mobile", "laptop", "iphone", "android"),
    ("realtime", "live", "instant"),
    ("crawler", "crawl", "spider", "bot"),
    ("politeness", "polite", "hammer", "flood", "overwhelm"),
    ("image", "picture", "photo", "logo", "asset"),
    ("nosql", "nonrelational"),
    ("sql", "relational", "postgres", "postgresql", "mysql"),
    ("fast", "quick", "latency", "speed"),
    ("id", "identifier"),
    ("link", "url"),
    ("upgrade", "deploy", "rollout", "release", "ship"),
    ("consistent", "consistency", "sync", "stale"),
    ("hot", "popular", "celebrity", "famous"),
    ("session", "login", "logged"),
)
"""Groups of interchangeable words (before stemming)."""
SYNONYM_WEIGHT = 0.5
"""How much a synonym counts against the word the candidate actually typed."""

_PHRASES = ((re.compile(r"\bnon[- ]relational\b"), "nonrelational"),)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words of `text`."""
    text = text.lower()
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    out = []
    for word in _WORD.findall(text):
        word = word.replace("’", "'").split("'")[0]
        if word and word not in STOP_WORDS:
            out.append(stem(word))
    return out


def _synonym_map() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for group in SYNONYMS:
        stems = {stem(w) for w in group}
        for s in stems:
            groups.setdefault(s, set()).update(stems)
    return {s: frozenset(g - {s}) for s, g in groups.items()}


_SYNONYMS = _synonym_map()


def query_terms(query: str, synonym_weight: float = SYNONYM_WEIGHT) -> dict[str, float]:
    """The weighted terms of a query: each typed word at 1 per occurrence, its synonyms at
    `synonym_weight` (once, and never more than a word that was typed)."""
    typed = Counter(tokenize(query))
    terms: dict[str, float] = dict(typed)
    if synonym_weight > 0:
        for term in typed:
            for syn in _SYNONYMS.get(term, ()):
                if syn not in typed:
                    terms[syn] = max(terms.get(syn, 0.0), synonym_weight)
    return terms


def lexical_text(
    title: str, heading: str, text: str, topics: Sequence[str] = (), weight: int = HEADING_WEIGHT
) -> str:
    """Heading-aware text for BM25: title and heading repeated `weight` times, the text, then the
    note's topics (once: they name the note, not the section)."""
    head = heading if heading and heading != title else ""
    return "\n".join([f"{title} {head}".strip()] * weight + [text, " ".join(topics)]).rstrip()


INTRO_PRIOR = 0.6
"""Fused-score factor for a note's introduction (the text before its first `##`)."""
QUESTIONS_PRIOR = 0.6
"""Fused-score factor for a section that is a list of questions (such as "Interview probes")."""


def chunk_prior(title: str, heading: str, text: str) -> float:
    """How much a chunk's fused score counts: less for overview chunks that match many questions.

    A note's introduction summarises every section, and a list of questions looks like any question
    (the form matches, not the answer); both win too often over the section that answers. When
    nothing better matches they still rank.
    """
    if heading and heading == title:
        return INTRO_PRIOR
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    asks = sum(1 for line in lines if line.endswith("?"))
    if asks >= 2 and asks * 2 >= len(lines):
        return QUESTIONS_PRIOR
    return 1.0


@dataclass
class BM25:
    """Okapi BM25 over a fixed list of documents (an inverted index; scoring touches query terms only)."""

    docs: Sequence[str]
    k1: float = K1
    b: float = B
    synonym_weight: float = SYNONYM_WEIGHT
    _postings: dict[str, list[tuple[int, int]]] = field(init=False, default_factory=dict)
    _lengths: list[int] = field(init=False, default_factory=list)
    _idf: dict[str, float] = field(init=False, default_factory=dict)
    _avg: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        for i, doc in enumerate(self.docs):
            counts = Counter(tokenize(doc))
            self._lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self._postings.setdefault(term, []).append((i, tf))
        n = len(self.docs)
        self._avg = (sum(self._lengths) / n) if n else 0.0
        # The "plus one" idf of Lucene: never negative, so a very common word still counts a little.
        self._idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._postings.items()}

    def __len__(self) -> int:
        return len(self.docs)

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document sharing at least one term with `query` (by position)."""
        out: dict[int, float] = {}
        if not self._avg:
            return out
        for term, qtf in query_terms(query, self.synonym_weight).items():
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self._idf[term]
            for i, tf in postings:
                norm = (
                    tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self._lengths[i] / self._avg))
                )
                out[i] = out.get(i, 0.0) + qtf * idf * norm
        return out

    def rank(self, query: str, allowed: Sequence[bool] | None = None, limit: int | None = None) -> list[int]:
        """Document positions by descending score (ties by position), optionally only `allowed` ones."""
        scored = [(s, i) for i, s in self.scores(query).items() if s > 0 and (allowed is None or allowed[i])]
        scored.sort(key=lambda si: (-si[0], si[1]))
        return [i for _, i in scored[:limit]]


def matches_filter(metadata: Mapping[str, Any], step: str | None, topic: str | None) -> bool:
    """The same test as the Chroma `where` filter of `build_where` (`$contains` on string arrays)."""
    if step and step not in (metadata.get("steps") or ()):
        return False
    return not (topic and topic.strip() and topic.strip().lower() not in (metadata.get("topics") or ()))
