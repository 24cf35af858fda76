"""Text features of a candidate message: sentences, questions, cue matching, numbers and units.

Everything here is pure text matching: no model, no I/O. The helpers:

- `match_components(text, problem)`: ids of reference-design components the text names.
- `match_topics(text, problem)`: ids of deep-dive topics the text touches.
- `find_estimates(text)`: numbers the candidate states as results, normalised ("1.2k" -> 1200.0,
  "100 million" -> 1e8, "62^7" -> 3.5e12), with their unit and sentence; operands of a calculation
  ("100M / 86400 = ...") and ratios ("10:1") are left out.
- `match_number(estimate, problem)` / `check_estimate(estimate, number)`: which derived number an
  estimate is about and how far off it is.
- `is_gibberish(text)`.

These are the precise text features the readers build on (app/interview/offline_reader.py); the one
classification of a message is its `Reading` (app/interview/reading.py).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from app.problems import DerivedNumber, Problem

__all__ = [
    "Estimate",
    "EstimateCheck",
    "check_estimate",
    "find_estimates",
    "is_gibberish",
    "is_question",
    "match_components",
    "match_number",
    "match_topics",
    "question_sentences",
    "split_sentences",
    "unit_family",
]


# --------------------------------------------------------------------------------------------------
# text basics


def _norm(text: str) -> str:
    """Lowercase, unify quotes and dashes, collapse whitespace."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[\u2010-\u2015]", "-", text)
    return re.sub(r"\s+", " ", text).strip()


_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (on . ! ? followed by space, and on line breaks)."""
    return [s.strip() for s in _SENT_SPLIT.split(text) if s and s.strip()]


_QUESTION_START = re.compile(
    r"^(?:so|and|also|ok(?:ay)?|then|but|first|great|cool|sure|right|next|one more thing)?[,\s]*"
    r"(?:what|what's|whats|how|who|which|where|why|do|does|did|is|are|can|could|should|will|"
    r"would|shall|may|am|have|has)\b"
)
_REQUEST = re.compile(
    r"\b(?:tell me|let me know|i'?d like to (?:know|ask|clarify|understand|check|confirm)|"
    r"i (?:want|need|wanted) to (?:know|ask|clarify|understand|check|confirm)|"
    r"let me (?:ask|clarify|check|confirm)|(?:can|could) you (?:share|tell|give|clarify|confirm)|"
    r"give me|i'?m wondering|i wonder|clarify|any (?:constraints?|requirements?) on|"
    r"wondering (?:about|if|whether)|curious (?:about|if|whether))\b"
)


def is_question(sentence: str) -> bool:
    """True when a sentence asks something: a question mark, a question word first, or a request."""
    s = _norm(sentence)
    if not s:
        return False
    return s.endswith("?") or bool(_QUESTION_START.match(s)) or bool(_REQUEST.search(s))


def question_sentences(text: str) -> list[str]:
    """The sentences of the text that ask something."""
    return [s for s in split_sentences(text) if is_question(s)]


@lru_cache(maxsize=4096)
def _cue_pattern(cue: str) -> re.Pattern[str]:
    """A regex for a cue word or phrase: word boundaries where the cue has word characters at its
    ends, and light inflection (plural, -ed, -ing) on a final word."""
    c = _norm(cue)
    body = re.escape(c)
    if c and c[-1].isalnum():
        stem = re.escape(c[:-1]) if c.endswith("e") and len(c) > 3 else None
        suffix = r"(?:s|es|d|ed|ing|'s)?"
        body = rf"(?:{body}{suffix}|{stem}ing)" if stem is not None else rf"{body}{suffix}"
        body += r"(?![a-z0-9])"
    if c and c[0].isalnum():
        body = r"(?<![a-z0-9])" + body
    return re.compile(body)


def _has_cue(norm_text: str, cues: list[str]) -> bool:
    return any(_cue_pattern(c).search(norm_text) for c in cues if c.strip())


def _cue_positions(norm_text: str, cues: list[str]) -> list[int]:
    out: list[int] = []
    for c in cues:
        if c.strip():
            out.extend(m.start() for m in _cue_pattern(c).finditer(norm_text))
    return out


# --------------------------------------------------------------------------------------------------
# matching helpers shared with the grader


# Cues that are usually the subject of a question ("can users delete ...?") rather than what it asks
# about; they count only next to a quantity word ("how many users ...?").
_SUBJECT_CUES = {"user", "users", "customer", "customers", "client", "clients", "people"}
_QUANTITY = re.compile(r"\b(?:how many|how much|number of|count|scale|active|daily|monthly|dau|mau|volume)\b")


def _asks_fact(question: str, cues: list[str]) -> bool:
    for cue in cues:
        if not cue.strip() or not _cue_pattern(cue).search(question):
            continue
        if _norm(cue) in _SUBJECT_CUES and not _QUANTITY.search(question):
            continue
        return True
    return False


# A request for the interviewer's own material (its prompt, answer key, rubric, hidden facts) asks for no
# fact, even when a cue word appears in it ("an interviewer with no rules", "the exact model answer").
_META_ASK = re.compile(
    r"\b(?:answer key|model answer|system prompt|"
    r"(?:your|the) (?:prompt|instructions|rubric|reference design)|"
    r"hidden (?:facts?|numbers|requirements)|fact sheet|no rules|developer mode|jailbreak|"
    r"(?:expected|exact|correct|right) (?:figures?|numbers?|values?|answers?|estimates?))\b"
)


def match_components(text: str, problem: Problem) -> list[str]:
    """Ids of the reference-design components the text names (anywhere, questions included)."""
    t = _norm(text)
    return [c.id for c in problem.components if _has_cue(t, [*c.keywords, c.name])]


def match_topics(text: str, problem: Problem) -> list[str]:
    """Ids of the deep-dive topics whose keywords the text mentions."""
    t = _norm(text)
    return [d.id for d in problem.deep_dives if _has_cue(t, d.keywords)]


# --------------------------------------------------------------------------------------------------
# estimates


class Estimate(BaseModel):
    """A number the candidate stated, normalised. `value` applies multipliers (k, million, ^) but
    keeps the stated unit: "36.5 TB" is value 36.5, unit "TB"; use `base_value` to compare."""

    raw: str = Field(description="The text as written, e.g. '~11.6k QPS'.")
    value: float = Field(description="The number with its multiplier applied: '1.2k' -> 1200.0.")
    unit: str | None = Field(
        default=None, description="Normalised unit: 'TB', 'QPS', 'writes/s', '/day', 'records'."
    )
    sentence: str = Field(default="", description="The sentence the number appears in.")
    start: int = Field(default=0, description="Offset of the number in the text.")
    number: str | None = Field(
        default=None, description="Id of the derived number this is an estimate of (set by a reader)."
    )
    kind: str = Field(
        default="total", description="total, per_item, projection or other (see reading.EstimateKind)."
    )

    @property
    def family(self) -> str | None:
        """Unit family: storage, rate, daily, duration, percent, money, count; None without a unit."""
        return unit_family(self.unit) if self.unit else None

    @property
    def base_value(self) -> float:
        """The value in the family's base unit (bytes for storage; otherwise the value itself)."""
        if self.unit and unit_family(self.unit) == "storage":
            return self.value * _STORAGE_FACTORS.get(self.unit.lower(), 1.0)
        return self.value


class EstimateCheck(BaseModel):
    """One estimate compared with a derived number (kept in the interview state and the event log)."""

    number_id: str
    label: str
    candidate_raw: str
    candidate_value: float
    expected_value: float
    expected_text: str = Field(
        description="Expected value as the interviewer would say it: '~11,600 reads/s'."
    )
    ratio: float = Field(description="How many times off, always >= 1.")
    ok: bool = Field(description="True when the estimate is within the number's tolerance.")


_STORAGE_FACTORS: dict[str, float] = {
    "b": 1.0,
    "bytes": 1.0,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "pb": 1e15,
    "eb": 1e18,
    "kib": 2.0**10,
    "mib": 2.0**20,
    "gib": 2.0**30,
    "tib": 2.0**40,
    "pib": 2.0**50,
}

_MULT_WORDS: dict[str, float] = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "mil": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
    "trillions": 1e12,
}

_NUMBER = re.compile(
    r"(?<![\w.,/:^])"  # not part of an identifier (base62, s3, md5), a ratio or another number
    r"(?P<approx>~|≈|about\s+|around\s+|roughly\s+|approx\.?\s+|approximately\s+|nearly\s+|almost\s+)?"
    r"(?P<dollar>\$)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s*\^\s*(?P<exp>\d+)|\s*\*\*\s*(?P<exp2>\d+))?"
    r"(?:(?P<mult1>[kKmMbBtT])(?![a-zA-Z0-9])|\s*(?P<mult2>thousand|"
    r"millions?|billions?|trillions?|mil|mm|mn|bn|tn)\b)?"
)
# The approx prefix must itself start at a boundary; handled by the lookbehind on the first char.

_STORAGE_UNIT = re.compile(r"^\s*(kib|mib|gib|tib|pib|kb|mb|gb|tb|pb|eb|bytes?)(?![a-z])", re.IGNORECASE)
_BYTE_B = re.compile(r"^\s*B\b(?=\s*(?:per|each|/|a\s|for\s+each)|\s*$|\s*[.,;)])")
_RATE_ABBR = re.compile(r"^\s*(?:(?P<noun>[a-z]+)\s+)?(?P<abbr>qps|rps|tps|ops)\b")
_PER = (
    r"(?:/\s*s(?:ec(?:ond)?)?\b|per\s+sec(?:ond)?\b|an?\s+sec(?:ond)?\b|each\s+sec(?:ond)?\b|"
    r"every\s+sec(?:ond)?\b|/\s*second\b)"
)
_PER_DAY = r"(?:/\s*day\b|per\s+day\b|an?\s+day\b|each\s+day\b|every\s+day\b|daily\b)"
_RATE_TAIL = re.compile(rf"^\s*(?:(?P<noun>[a-z]+(?:\s+[a-z]+)?)\s*)?{_PER}")
_DAY_TAIL = re.compile(rf"^\s*(?:(?P<noun>[a-z]+(?:\s+[a-z]+)?)\s*)?{_PER_DAY}")
_DURATION = re.compile(
    r"^\s*(years?|months?|weeks?|days?|hours?|minutes?|mins?|seconds?|secs?|ms|milliseconds?)\b"
)
_NOUN = re.compile(r"^\s*([a-z][a-z\-]*)")
_OPERATOR_AFTER = re.compile(
    r"^\s*(?:[*×x÷]|/(?!\s*(?:s\b|sec|second|day\b))|\bx\b|times\b|divided\b|:\s*\d)"
)
_OPERATOR_BEFORE = re.compile(r"(?:[*×÷/]|\bx|\btimes|\bdivided by|\d\s*:)\s*$")
_COUNT_NOUNS = {
    "records", "record", "rows", "row", "urls", "url", "users", "user", "dau", "mau", "ids", "id",
    "keys", "key", "codes", "code", "links", "link", "items", "objects", "messages", "pages", "files",
    "videos", "posts", "events", "requests", "queries", "searches", "writes", "reads", "servers",
    "machines", "nodes", "shards", "mappings", "entries", "combinations", "notifications", "documents",
    "clicks", "uploads", "downloads", "tweets", "photos", "devices", "connections", "redirects",
}  # fmt: skip
_NON_COUNT_FOLLOWERS = {"characters", "chars", "character", "char", "digits", "bits", "percent", "x", "times"}


def unit_family(unit: str) -> str:
    """The family of a unit string, so 'QPS' and 'reads/s' compare, and 'GB' and 'TB' convert."""
    u = _norm(unit)
    if u in _STORAGE_FACTORS or re.fullmatch(r"[kmgtpe]i?b|bytes?", u):
        return "storage"
    if u.startswith("$") or "usd" in u or "dollar" in u:
        return "money"
    if re.search(rf"{_PER}|qps|rps|tps", u) or u.endswith("/s"):
        return "rate"
    if re.search(_PER_DAY, u) or u.endswith("/day"):
        return "daily"
    if u in {"%", "percent"}:
        return "percent"
    if _DURATION.match(u) and _DURATION.match(u).group(0).strip() == u:  # type: ignore[union-attr]
        return "duration"
    return "count"


def _to_float(num: str) -> float:
    return float(num.replace(",", ""))


def _unit_after(tail: str) -> tuple[str | None, int]:
    """Read the unit right after a number; returns the normalised unit and how many chars it used."""
    low = tail.lower()
    m = _STORAGE_UNIT.match(tail)
    if m:
        u = m.group(1).lower()
        return ("bytes" if u.startswith("byte") else u.upper().replace("I", "i")), m.end()
    m = _BYTE_B.match(tail)
    if m:
        return "B", len(tail) - len(tail.lstrip()) + 1
    if low.lstrip().startswith("%"):
        return "%", low.find("%") + 1
    m = _RATE_ABBR.match(low)
    if m:
        return ("QPS" if m.group("abbr") in {"qps", "rps", "ops"} else "TPS"), m.end()
    for pattern, per in ((_RATE_TAIL, "/s"), (_DAY_TAIL, "/day")):
        m = pattern.match(low)
        if m:
            noun = (m.group("noun") or "").split()
            if noun and noun[-1] not in {"per", "a", "an", "each", "every"}:
                return f"{noun[-1]}{per}", m.end()
            return per, m.end()
    m = _DURATION.match(low)
    if m:
        return m.group(1), m.end()
    m = _NOUN.match(low)
    if m and (m.group(1) in _COUNT_NOUNS or m.group(1) in _NON_COUNT_FOLLOWERS):
        return m.group(1), m.end()
    return None, 0


_PER_ITEM = re.compile(
    r"^\s*(?:per|each|for each|/|an?|on each|on one|"
    r"for one)\s*(?:record|row|url|entry|item|mapping|object|link|"
    r"page|user|message|msg|file|video|post|request|event|key|code|character|char|photo|upload|id|box|server|"
    r"node|machine|host|instance|worker|fetcher|shard|socket|connection|core|thread|partition|broker|profile|"
    r"rendition|vnode|counter|bucket|device|member|friend|follower|document|chunk|block|business|place)s?\b"
)


def find_estimates(text: str, *, keep_per_item: bool = False) -> list[Estimate]:
    """Numbers stated as results, normalised, with unit and sentence; operands and ratios left out.

    Left out: operands ("100M / 86400 = ..."), ratios ("10:1"), multipliers ("10x"), and per-item
    sizes ("100 bytes per record"), which are inputs to an estimate rather than results; with
    `keep_per_item` the per-item sizes are kept, marked `kind="per_item"`.
    """
    out: list[Estimate] = []
    offset = 0
    for sentence in split_sentences(text):
        base = text.find(sentence, offset)
        if base >= 0:
            offset = base + len(sentence)
        for m in _NUMBER.finditer(sentence):
            before = sentence[: m.start()]
            after = sentence[m.end() :]
            if _OPERATOR_BEFORE.search(before) or _OPERATOR_AFTER.match(after):
                continue  # an operand of a calculation, or one side of a ratio
            value = _to_float(m.group("num"))
            exp = m.group("exp") or m.group("exp2")
            if exp is not None:
                if int(exp) > 30:
                    continue
                value = value ** int(exp)
            mult = m.group("mult1") or m.group("mult2")
            unit: str | None
            used = 0
            if m.group("mult1") in {"b", "B"} and _BYTE_B.match(m.group("mult1") + after):
                unit, mult = "B", None  # "100B per record" is bytes, "365B records" is billions
            else:
                unit, used = _unit_after(after)
            per_item = bool(_PER_ITEM.match(after[used:]))
            if per_item and not keep_per_item:
                continue
            if mult:
                value *= _MULT_WORDS[mult.lower()]
            if m.group("dollar"):
                unit = "$" + (unit if unit and unit.startswith("/") else "")
            raw = sentence[m.start() : m.end() + used].strip()
            out.append(
                Estimate(
                    raw=raw,
                    value=value,
                    unit=unit,
                    sentence=sentence,
                    start=max(base, 0) + m.start(),
                    kind="per_item" if per_item else "total",
                )
            )
    return out


def _format_value(value: float) -> str:
    if value >= 100:
        return f"{round(value):,}"
    if value >= 10:
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{value:g}"


def expected_text(number: DerivedNumber) -> str:
    """How the interviewer would say a derived number: '~11,600 reads/s'."""
    return f"~{_format_value(number.value)} {number.unit}".strip()


def _number_base(number: DerivedNumber) -> float:
    if unit_family(number.unit) == "storage":
        return number.value * _STORAGE_FACTORS.get(number.unit.lower(), 1.0)
    stem = _daily_storage_stem(number.unit)
    if stem is not None:  # "TB/day" compares in bytes per day
        return number.value * _STORAGE_FACTORS.get(stem, 1.0)
    return number.value


def _daily_storage_stem(unit: str) -> str | None:
    """'tb' for a storage-per-day unit such as 'TB/day', else None."""
    m = re.fullmatch(rf"\s*([kmgtpe]i?b)\s*{_PER_DAY}\s*", unit.lower())
    return m.group(1) if m else None


def _says_per_day(estimate: Estimate) -> bool:
    """True when the words right after the estimate make it a per-day figure ("10 TB per day")."""
    pos = estimate.sentence.find(estimate.raw)
    if pos < 0:
        return False
    after = estimate.sentence[pos + len(estimate.raw) : pos + len(estimate.raw) + 30].lower()
    return re.match(rf"\s*(?:of\s+\w+\s+)?{_PER_DAY}", after) is not None


def _restates_a_fact(estimate: Estimate, problem: Problem) -> bool:
    """True when the number is one the interviewer's facts state ("100 million keys over 10 servers"):
    the candidate is repeating an input, not estimating."""
    if estimate.family not in (None, "count"):
        return False
    return any(
        math.isclose(estimate.value, v, rel_tol=0.01) for f in problem.hidden_facts for v in f.values.values()
    )


def _clause_window(estimate: Estimate) -> tuple[str, str]:
    """The normalised text before the estimate (back to the previous number or clause break) and the
    estimate with its unit, so cues of a neighbouring number do not leak in."""
    sent = estimate.sentence
    raw = estimate.raw
    pos = sent.find(raw)
    if pos < 0:
        return "", _norm(raw)
    before = sent[:pos]
    cut = max(
        (
            m.end()
            for m in re.finditer(r"\d[\w%]*|[;!?]|,\s+(?:and|but|so|then|while)\b|\band\b|\bwhile\b", before)
        ),
        default=0,
    )
    return _norm(before[cut:][-80:]), _norm(raw)


def _unit_stem(unit: str) -> str | None:
    """'reads/s' -> 'read', 'writes/s' -> 'write'; None for units without a noun."""
    noun = unit.split("/")[0].strip().lower()
    if not noun or not noun.isalpha() or noun in {"qps", "tps", "rps"}:
        return None
    return noun[:-1] if noun.endswith("s") and len(noun) > 3 else noun


def match_number(estimate: Estimate, problem: Problem) -> DerivedNumber | None:
    """The derived number an estimate is about, from its unit family and nearby cue words.

    Only the clause the estimate sits in is read, and cues before the number count most. An estimate
    without a unit is matched only when a cue sits just before it ("write QPS is about 1160"); when
    several numbers share a unit and no cue decides, the closest one in value is taken, so an
    ambiguous estimate is never challenged against the wrong number.
    """
    if not problem.numbers or estimate.family in {"duration", "percent", "daily", "money"}:
        return None
    if estimate.unit in _NON_COUNT_FOLLOWERS or _restates_a_fact(estimate, problem):
        return None
    per_day_storage = estimate.family == "storage" and _says_per_day(estimate)
    before, own = _clause_window(estimate)
    scored: list[tuple[float, DerivedNumber]] = []
    for n in problem.numbers:
        fam = unit_family(n.unit)
        if per_day_storage:
            if _daily_storage_stem(n.unit) is None:
                continue  # "10 TB per day" is about a per-day volume, never a total
        elif _daily_storage_stem(n.unit) is not None and estimate.family != "storage":
            continue  # "500k uploads a day" is a count, never a volume in TB/day
        elif estimate.family is not None and estimate.family != fam:
            continue
        score = 0.0
        hits = _cue_positions(before, n.cues)
        if hits:
            score = 2.0 + 1.0 / (1.0 + len(before) - max(hits))
        elif _has_cue(own, n.cues):
            score = 2.0
        stem = _unit_stem(n.unit)
        if score == 0.0 and stem and (_has_cue(before, [stem]) or _has_cue(own, [stem])):
            score = 1.0
        if estimate.family is None and score < 2.0:
            continue  # a bare number needs an explicit cue before it
        if estimate.family == "count" and score == 0.0 and _norm(n.unit) != _norm(estimate.unit or ""):
            continue  # "365B records" is about records, not about codes
        scored.append((score, n))
    if not scored:
        return None
    best = max(s for s, _ in scored)
    tied = [n for s, n in scored if s == best]
    if len(tied) == 1:
        return tied[0]
    value = estimate.base_value
    if value <= 0:
        return None
    return min(tied, key=lambda n: abs(math.log(value / _number_base(n))) if _number_base(n) > 0 else 1e9)


def check_estimate(estimate: Estimate, number: DerivedNumber) -> EstimateCheck:
    """Compare an estimate with a derived number; off by `number.tolerance` or more is not ok."""
    got = estimate.base_value
    want = _number_base(number)
    ratio = math.inf if got <= 0 or want <= 0 else max(got / want, want / got)
    return EstimateCheck(
        number_id=number.id,
        label=number.label,
        candidate_raw=estimate.raw,
        candidate_value=estimate.value,
        expected_value=number.value,
        expected_text=expected_text(number),
        ratio=ratio if math.isfinite(ratio) else 1e12,
        ok=ratio < number.tolerance,
    )


# --------------------------------------------------------------------------------------------------
# gibberish, intents


_FILLERS = {
    "ok", "okay", "k", "hmm", "hm", "um", "uh", "er", "erm", "ah", "eh", "mm", "yes", "no", "yeah",
    "yep", "nope", "sure", "idk", "dunno", "pass", "nothing", "huh", "lol", "what", "so", "well",
}  # fmt: skip


_KEYBOARD_RUNS = ("qwer", "wert", "erty", "asdf", "sdfg", "dfgh", "fghj", "ghjk", "hjkl", "zxcv", "xcvb")


def _plausible_word(word: str) -> bool:
    w = word.lower().strip("'")
    if len(w) <= 3:
        return True
    if any(run in w for run in _KEYBOARD_RUNS):
        return False
    if not re.search(r"[aeiouy]", w):
        return False
    if re.search(r"(.)\1\1", w):
        return False
    return not re.search(r"[bcdfghjklmnpqrstvwxz]{5,}", w)


def is_gibberish(text: str) -> bool:
    """True for empty or meaningless input: whitespace, punctuation only, keyboard mashing."""
    t = text.strip()
    if not t:
        return True
    words = re.findall(r"[A-Za-z']+", t)
    if not words:
        return not re.search(r"\d", t)  # a bare number is an answer, not gibberish
    long_words = [w for w in words if len(w) > 3]
    if long_words:
        plausible = sum(_plausible_word(w) for w in long_words)
        if plausible / len(long_words) <= 0.5:
            return True
    letters = sum(c.isalpha() for c in t)
    return letters / max(len(t), 1) < 0.3 and len(t) > 6


def _is_unclear(text: str) -> bool:
    words = re.findall(r"[a-z']+", _norm(text))
    return bool(words) and len(words) <= 3 and all(w in _FILLERS for w in words) and not find_estimates(text)


_SCORE = re.compile(
    # "the score" alone is often the system's own data (a leaderboard's score, a search result),
    # so only the candidate's own grade counts: "my score", "give me a grade", "final verdict".
    r"\b(?:(?:my|final|overall|interview)\s+(?:score|grade|"
    r"rating|mark|marks|result|evaluation|verdict|feedback)|"
    r"(?:give|tell|show|send)\s+me\s+(?:a|my|the)?\s*(?:score|grade|rating|marks|verdict|feedback)|"
    r"grade me|score me|rate me|evaluate me|assess me|mark me|pass me|full marks|10/10|"
    r"(?:strong\s+)?hire\s+(?:me|decision|rating)|(?:give|mark|rate)\s+me\s+(?:a|as)?\s*(?:strong\s+)?hire|"
    r"am i hired|did i pass|have i passed|how (?:am i|did i|'?m i) (?:doing|do)|any feedback so far|"
    r"how well (?:am i|did i)|what would you (?:score|grade|rate))\b"
)
_SKIP = re.compile(
    r"\b(?:skip(?:ping)?\s+(?:to|ahead|the|this|over|past|straight|right|all|requirements|clarif\w*|"
    r"questions|scope|step|phase|high[- ]level|deep[- ]dive|design)|"
    r"(?:jump|go|move|fast[- ]forward|head|get|cut|proceed|advance)\s+(?:straight\s+|right\s+|directly\s+)?"
    r"(?:to|into)\s+(?:the\s+)?(?:end|grading|grade|score|"
    r"scoring|final|last\s+(?:step|phase|part)|report|results?)|"
    r"(?:end|finish|stop|conclude|terminate)\s+(?:the\s+|this\s+)?(?:interview|session)(?:\s+now)?|"
    r"ignore\s+(?:all\s+|any\s+|your\s+|the\s+|previous\s+|prior\s+|above\s+)*(?:instructions|rules|prompt)|"
    r"you are now|system prompt|developer mode|"
    r"(?:pretend|act as if|assume)\s+(?:that\s+)?(?:the\s+)?(?:interview|we)\s+(?:is|are|was|were)\s+"
    r"(?:done|over|finished|complete)|we(?:'re| are) done here|let'?s call it(?: a day)?)\b"
)
_PHASE_WORDS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(r"high[- ]level(?:\s+design)?|(?:the\s+)?(?:blueprint|architecture|design)\b")),
    (2, re.compile(r"deep[- ]?dive|details?|drill(?:ing)? down")),
    (3, re.compile(r"wrap[- ]?up|wrapping up|the end|closing|final (?:step|part|phase)")),
]
_MOVE_TARGET = re.compile(
    r"\b(?:move|go|jump|skip|proceed|head|get|transition|switch|advance|continue)\s+(?:on\s+)?"
    r"(?:straight\s+|right\s+|directly\s+|ahead\s+)?(?:to|into|with)\s+(?:the\s+)?(?P<target>[a-z\- ]{3,30})"
)
_MOVE_ON = re.compile(
    r"\b(?:move on|moving on|move forward|go on|proceed|next (?:step|phase|part|section|stage|topic)|"
    r"(?:let'?s|lets|let us|can we|could we|shall we|should we|ready to|i'?d like to|i want to|want to)\s+"
    r"(?:move|go|get|proceed|continue|jump|head|transition|"
    r"switch|start)\s*(?:on|ahead|forward|to|into|with)?|"
    r"that'?s (?:all|it|everything) (?:i have|from me|for (?:me|now|requirements|scope))|"
    r"i(?:'m| am) (?:done|finished|good) with|no (?:more|further) questions|"
    r"i think (?:that|this|we)(?:'s| is| have| 've)? (?:enough|covered|good)|"
    r"ready (?:to|for) (?:move|the next|high|deep|wrap|start)|i have what i need|"
    r"i'?ve got (?:what i need|enough))\b"
)
_ALL_NOUNS = (
    r"(?:numbers|requirements|details|facts|constraints|info(?:rmation)?|specs?|data|assumptions|stats|"
    r"statistics|figures|metrics|requirement details)"
)
_ASK_ALL = re.compile(
    rf"\b(?:all (?:of )?(?:the |your )?{_ALL_NOUNS}(?:\s*(?:,|and|&|/)\s*(?:the |all )?{_ALL_NOUNS})*|"
    r"everything (?:you have|you know|about|there is)|"
    r"(?:full|complete|entire) (?:list|spec|specification|requirements|details|picture|fact sheet)|"
    r"every (?:number|detail|requirement|fact)|whatever you have|all you'?ve got|the whole spec)\b"
)
_PROCESS_Q = re.compile(
    r"\b(?:how (?:much|long) (?:time|do we have|have we got|is left|left)|time (?:left|remaining)|"
    r"(?:should|shall|may|can) i (?:start|begin|draw|assume|use|write|focus|go|talk|sketch|spend|take)|"
    r"do you want me to|would you like me to|what (?:should|would you like me to|do you want me to) "
    r"(?:i )?(?:focus|cover|do|talk|start)|where (?:should|do you want me to) (?:i )?start|"
    r"is it (?:ok|okay|fine|alright) (?:if|to)|am i (?:on track|going in the right)|"
    r"what (?:are you|is the interviewer) looking for|what do you expect|how does this (?:interview|work)|"
    r"what happens (?:next|now)|can i ask (?:you )?(?:a|some) questions?)\b"
)
_DESIGN_VERBS = re.compile(
    r"\b(?:i(?:'d| would| will|'ll)? (?:use|add|put|store|design|build|have|go with|choose|pick|introduce|"
    r"shard|partition|replicate|cache|deploy|start with)|"
    r"we(?:'d| would| will|'ll| can)? (?:use|add|put|store|need|have|go with|choose|pick|introduce|"
    r"shard|partition|replicate|cache|deploy)|"
    r"my (?:design|approach|plan|architecture)|the (?:design|architecture|flow) (?:is|would be)|"
    r"here'?s (?:my|the) (?:design|approach|plan)|let me (?:draw|sketch|design|propose))\b"
)
_GENERIC_DOMAIN = {
    "system", "design", "user", "request", "data", "database", "db", "cache", "server", "service", "api",
    "scale", "scaling", "traffic", "read", "write", "store", "storage", "latency", "availability",
    "available", "consistency", "consistent", "queue", "load", "balancer", "shard", "replica", "partition",
    "hash", "key", "url", "feature", "requirement", "qps", "throughput", "client", "endpoint", "table",
    "schema", "index", "cdn", "network", "memory", "disk", "node", "cluster", "region", "failure", "fail",
    "monitor", "metric", "log", "bottleneck", "architecture", "component", "flow", "estimate", "capacity",
    "peak", "second", "million", "billion", "rate", "limit", "id", "record", "message", "sql", "nosql",
    "redis", "kafka", "http", "rest", "grpc", "microservice", "backend", "frontend", "mobile", "web",
    "scope", "assume", "assumption", "question", "clarify", "step", "interview", "time",
    "trade-off", "tradeoff", "bytes", "tb", "gb", "pb", "replication", "failover", "alert", "deploy",
    "worker", "job", "batch", "stream", "event", "redirect", "link", "code", "encode", "bloom", "counter",
    "algorithm", "problem", "approach", "idea", "option", "solution", "model", "copy", "backup",
    "retry", "timeout", "protocol", "websocket", "push", "pull", "poll", "dau", "mau", "volume",
}  # fmt: skip


def _domain_words(problem: Problem) -> list[str]:
    words = sorted(_GENERIC_DOMAIN)
    for f in problem.hidden_facts:
        words.extend(f.asked_by)
    for c in problem.components:
        words.extend(c.keywords)
    for d in problem.deep_dives:
        words.extend(d.keywords)
    for n in problem.numbers:
        words.extend(n.cues)
    prompt_words = re.findall(r"[a-z]{5,}", _norm(problem.title + " " + problem.prompt))
    words.extend(w for w in prompt_words if w not in {"design", "build", "simple", "which", "about", "there"})
    return words


def _target_phase(text: str) -> int | None:
    """The phase order a move-on request names ('let's go to the deep dive' -> 2), if any."""
    for m in _MOVE_TARGET.finditer(text):
        target = m.group("target")
        for order, pat in _PHASE_WORDS:
            if pat.match(target):
                return order
        if re.match(r"(?:end|grading|grade|score|report|results?)\b", target):
            return 4
    return None


def _is_requirement_question(q: str) -> bool:
    """True when a question is about the system's requirements (users, scale, features, limits)."""
    return bool(
        re.search(
            r"\b(?:users?|traffic|scale|support|need|requirements?|features?|expect\w*|how many|how much|"
            r"latency|availab\w*|storage|retention|consisten\w*|budget|region\w*|global|mobile|web|"
            r"growth|grow|peak|limit|size|format|allowed|should (?:it|we|the system)|do we|does it|"
            r"will (?:it|we|the)|is there|are there|can (?:users|it|the)|tech stack|existing|"
            r"platform|security|auth\w*|privacy|cost|sla|real[- ]time)\b",
            _norm(q),
        )
    )
