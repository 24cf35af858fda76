"""The offline reader: a Reading of a candidate message with no model, from sentence embeddings.

How a message is read:

1. It is split into clauses: sentences, and run-on questions split where a new question starts
   ("is it 1:1 or groups how big can a group get and do we keep history" -> three clauses).
   Every clause is embedded once with the int8 MiniLM encoder the retrieval index uses.
2. Each clause is a question or a statement (`is_question`, plus confirmation tags, filler
   prefixes, code with `?` placeholders and rhetorical questions the candidate answers).
3. Facts: a question clause asks for a fact when its similarity to the fact's example questions
   (`asks:` in the problem file) passes a threshold and beats every other fact by a margin; the fact's
   cue words add a bonus. Statements never ask for anything, so they never release a fact.
4. Acts: each clause is compared with the exemplar bank in `knowledge/reader/acts.yaml`
   (nearest neighbours per act); precise text rules (skip and score requests, injections, move-on
   phrases, assumptions, "I don't know") are features next to the similarities.
5. Estimates: numbers parsed by the text rules (including "2.3 x 10^4" and numbers said as words),
   sorted into totals, per-item sizes, projections and other quantities; only an estimate of a
   quantity the problem derives is tied to that number.
6. Pitfalls: a statement close to a pitfall's example statements, and closer to them than to its
   counter-examples.

Thresholds live in `knowledge/reader/thresholds.yaml`; they were calibrated on the tune split of
`evals/reader/` (`sdmock eval --reader --calibrate` prints a grid; the held-out split is never used).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from app.interview.classify import (
    _ASK_ALL,
    _DESIGN_VERBS,
    _META_ASK,
    _MOVE_ON,
    _SCORE,
    _SKIP,
    Estimate,
    _asks_fact,
    _daily_storage_stem,
    _has_cue,
    _is_requirement_question,
    _is_unclear,
    _norm,
    _restates_a_fact,
    _target_phase,
    find_estimates,
    is_gibberish,
    is_question,
    match_components,
    match_number,
    match_topics,
    split_sentences,
    unit_family,
)
from app.interview.phases import Phase
from app.interview.reading import Act, EstimateKind, Reading

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from app.problems import Problem

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"


# --------------------------------------------------------------------------------------------------
# thresholds


@dataclass
class Thresholds:
    """Decision thresholds of the offline reader (cosine similarities unless said otherwise)."""

    fact: float = 0.55  # a question's best fact similarity must reach this ...
    fact_margin: float = 0.04  # ... and beat the next fact by this much
    fact_cue_bonus: float = 0.08  # added to a fact's similarity when its cue word is in the question
    fact_second: float = 0.62  # a second fact in the same clause needs this and a cue word
    fact_lexical: float = 0.4  # weight of the shared content words (idf) added to a fact's similarity
    clarify_floor: float = 0.3  # facts are dropped when the act model gives `clarify` less than this
    act: dict[str, float] = field(default_factory=dict)  # per-act minimum nearest-neighbour similarity
    act_default: float = 0.72
    pitfall: float = 0.66  # a statement's similarity to a pitfall's examples ...
    pitfall_margin: float = 0.03  # ... minus its similarity to the counter-examples
    number_label: float = 0.45  # a non-total quantity is tied to a derived number only above this

    def act_threshold(self, act: str) -> float:
        return self.act.get(act, self.act_default)


def load_thresholds(path: Path | None = None) -> Thresholds:
    """Thresholds from `knowledge/reader/thresholds.yaml`; defaults for anything missing."""
    path = path or KNOWLEDGE_DIR / "reader" / "thresholds.yaml"
    if not path.is_file():
        return Thresholds()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {k: v for k, v in data.items() if k in Thresholds.__dataclass_fields__}
    return Thresholds(**known)


# --------------------------------------------------------------------------------------------------
# text features (precise rules, used next to the similarities)

_FILLER_PREFIX = re.compile(
    r"^(?:(?:um+|uh+|hmm+|er+|ok(?:ay)?|so|and|also|wait|oh|btw|cool|great|right|alright|then|next|"
    r"quick q(?:uestion)?|another (?:q|question|thing)|"
    r"one more (?:q|question|thing)|last (?:q|question|thing)|"
    r"just|like|yeah|yes|sure|hey|hi|well|actually|sorry|ah|first(?:ly)?|second(?:ly)?|lastly|finally|"
    r"re|regarding|about|on)[,.:!\s-]+)+"
)
_Q_WORDS = r"(?:how|what|whats|what's|do|does|is|are|can|could|will|would|should|any|did|will|shall)"
_CLAUSE_SPLIT = re.compile(
    rf"(?:\s*[,;:]\s*(?:and\s+(?:also\s+)?|also\s+|plus\s+|or\s+|oh\s+and\s+|but\s+)?|\s+-+\s+|"
    rf"\s+(?:and\s+(?:also\s+)?|also\s+|plus\s+|oh\s+and\s+|or\s+)|\s+(?=(?:how|what|whats|what's)\s))"
    rf"(?:(?:like|um|uh|so|then|maybe|just|hmm)\s+)?(?={_Q_WORDS}\b)"
)
_EXTRA_QUESTION = re.compile(
    r"^(?:any|anything|roughly how|approx(?:imately)? how|wondering|curious|need to know|"
    r"want to know|i'?d like to know|do you know|is there|are there)\b"
    r"|(?:,\s*|\s)(?:right|correct|yeah|yes or no|or not|true)\s*\??$"
    r"|\b(?:i assume|assuming|i guess|presumably)\b.*\b(?:right|correct|yeah)\s*\??$"
)
_CODE = re.compile(
    r"\b(?:select\s+.+\s+from|insert\s+into|update\s+\w+\s+set|delete\s+from|where\s+\w+\s*=\s*\?|"
    r"values\s*\()|[=(,<>]\s*\?\s*[,)]?|\?\s*\)|\b(?:limit|offset)\s+\?|\border\s+by\b|`"
)
_ANSWER_START = re.compile(
    r"^(?:~|≈|\d|about\b|around\b|roughly\b|approx\w*\b|probably\b|maybe\b|likely\b|say\b|let'?s say\b|"
    r"i'?d (?:say|guess)\b|i guess\b|my guess\b|i'?ll (?:assume|say|go with)\b|assuming\b|let'?s assume\b|"
    r"we can assume\b|yes\b|yeah\b|yep\b|no\b|nope\b|definitely\b|absolutely\b|because\b|since\b|"
    r"well,? (?:probably|about|around|roughly)\b|that'?s (?:about|around|roughly)\b|easily\b|at least\b|"
    r"not really\b|only\b)"
)
_ASSUME = re.compile(
    r"\b(?:i'?ll assume|i'?m assuming|i am assuming|i assume|let'?s assume|let'?s say|we can assume|"
    r"i'?ll say|assuming|let me assume|i'?d assume|suppose|i'?ll go with|we'?ll go with|i'?ll take|"
    r"my assumption|i'?m going to assume|going to assume|i'?ll just assume|i'?ll guess|say roughly)\b"
)
_DONT_KNOW = re.compile(
    r"\b(?:i (?:really )?(?:don'?t|do not|dont) (?:really )?know|"
    r"not (?:really )?sure|no idea|idk|dunno|no clue|"
    r"i'?m blanking|i have no (?:idea|clue)|never (?:used|heard of|worked with)|not familiar with|"
    r"i'?m not familiar|can'?t remember|don'?t remember|i forget|beats me|not my area)\b"
)
_HINT = re.compile(
    r"\b(?:hints?|nudge|pointers?|a clue|help me (?:out|here|think)|i'?m stuck|im stuck|stuck here|"
    r"point me|steer me|give me a direction|what should i be thinking|where to go from here|"
    r"what am i supposed to|lifeline)\b"
)
_OPINION = re.compile(
    r"\b(?:what do you think|what(?:'s| is) your (?:take|opinion|view|preference)|your thoughts|"
    r"thoughts\s*\?|does (?:that|this) (?:make sense|sound (?:ok|okay|good|right|reasonable))|"
    r"sound (?:ok|okay|good|right|reasonable)\s*\??$|"
    r"am i (?:on (?:the right )?track|missing|going in the right|heading in the right|overthinking)|"
    r"did i miss|have i missed|anything (?:i missed|i'?m missing|else you want|you'?d add)|"
    r"is (?:that|this) (?:what you'?d|ok|okay|fine|reasonable|right|enough|the right)|"
    r"would you (?:agree|do it|go with|prefer|choose)|what would you (?:do|prioriti[sz]e|pick|choose|focus)|"
    r"where (?:should|shall|do you want) (?:i|me to) (?:focus|go|dig|start|spend)|"
    r"(?:which|what) (?:area|part|component|topic|piece)s? (?:should|do you want|would you like)|"
    r"(?:do|would) you (?:want|like) me to (?:go deeper|dig|focus|elaborate|expand)|"
    r"should i (?:go deeper|dig|elaborate|expand|focus)|how am i doing on|good enough)\b"
)
_PROCESS = re.compile(
    r"\b(?:how (?:much|long) (?:time|do we have|have we got|is left|left)|time (?:left|remaining|check)|"
    r"minutes (?:left|remaining|do we have)|how many minutes|"
    r"should i (?:draw|sketch|write code|code|diagram)|"
    r"(?:can|may) i (?:draw|sketch|use the whiteboard)|do you want me to (?:draw|sketch|write|code)|"
    r"how does this (?:interview|work|session)|what(?:'s| is) the format|how is this (?:structured|scored)|"
    r"what happens (?:next|after)|is there a whiteboard|can i ask (?:you )?(?:a|some) questions?)\b"
)
_DISAGREE = re.compile(
    r"\b(?:i disagree|disagree|i don'?t (?:think|agree)(?: that'?s|"
    r" with| so| it'?s)|i'?d push back|push back|"
    r"that'?s not (?:right|true|correct|necessary|the case)|not sure i agree|i'?m not convinced|"
    r"i would argue|i'?d argue|that doesn'?t (?:seem|sound) right|i still think|actually no\b|"
    r"no,? (?:i think|that|because)|with respect)\b"
)
_GRADER = re.compile(
    r"\b(?:ignore (?:all |any |your |the |previous |prior |"
    r"above |earlier )*(?:instructions?|rules|prompts?|rubric)|"
    r"(?:note|message|instructions?) (?:to|for) (?:the )?(?:grader|"
    r"evaluator|ai|model|llm|assistant|scorer|system)|"
    r"dear (?:grader|evaluator|ai|model)|(?:grader|evaluator|scorer)s?\b|system prompt|developer mode|"
    r"jailbreak|you are (?:now|an? (?:ai|language model|assistant))|as an ai|language model|"
    r"(?:^|\n)\s*(?:system|assistant)\s*:|<\/?(?:system|instructions?)>|\[\/?(?:inst|system)\]|"
    r"pretend (?:you|to be)|role-?play|override|disregard (?:the|all|your|previous))\b"
)
_FILLER_ONLY = re.compile(
    r"(?:mhm+|mm+-?hmm+|uh-?huh|hmm+|um+|uh+|ok(?:ay)?|k|cool|sure|yeah|yep|right)[.!?]*"
)
_OFF_TOPIC_HINT = re.compile(
    r"\b(?:weather|weekend|lunch|coffee|vacation|holiday|football|soccer|movie|netflix|your team|"
    r"do you (?:like|enjoy) (?:working|it) (?:here|there)|tech stack do you|what do you use at|"
    r"how long have you (?:been|worked)|the culture|work[- ]life|remote work|salary|benefits)\b"
)
_PROJECTION = re.compile(
    r"\b(?:at|if|with|by|to|hit|reach)\s+(?:\w+\s+)?(?:[1-9]\d+|ten|a hundred)\s*x\b|"
    r"\b(?:[1-9]\d+|ten)\s*x\s+(?:the\s+)?(?:users|players|traffic|growth|data|scale|dau|load|usage|servers|"
    r"customers|more|bigger|larger)\b|\b(?:if|when|once) (?:we|it|traffic|usage|users?|this|the \w+) "
    r"(?:grows?|doubles?|triples?|scales?)|\bgrow(?:s|n)? (?:to|by)\b|\b(?:10|ten)[- ]?fold\b|"
    r"\bin (?:a|one|two|\d+) years?'? time\b|\bnext year\b|\bin the future\b"
)
_OTHER_QTY = re.compile(
    r"\b(?:cach\w*|turns? into|in[- ]memory|ram|memory|fan-?out|fanout|connections?|servers?|machines?|"
    r"nodes?|shards?|hosts?|boxes|instances|workers|partitions|replicas|bandwidth|egress|ingress|"
    r"index(?:es)?|heap|buffer|inbox(?:es)?|followers?|friends?)\b"
)
_PER_ITEM_CONTEXT = re.compile(
    r"\b(?:each|per|every|a single|one|an? (?:average|typical))\s+(?:\w+\s+){0,2}?"
    r"(?:message|msg|record|row|entry|item|url|link|mapping|object|post|user|video|file|photo|image|page|"
    r"key|value|event|notification|tweet|id|connection|server|node|machine|request|query|document|chunk|"
    r"block|counter|bucket|score|trie node|business|place|location|box|worker|fetcher|shard|host|instance|"
    r"profile|rendition)s?\s*(?:(?:is|are|takes?|weighs?|at|of|=|:|~|≈|about|around|roughly|maybe|probably|"
    r"like|does|can do|handles?|holds?)\s*)*$"
    r"|\b(?:message|msg|record|row|entry|item|url|link|mapping|object|post|video|file|photo|page|key|value|"
    r"event|notification|id|counter|bucket|score|document)s?\s+(?:is|are|takes?|weighs?|at|of|~|≈|around|"
    r"about|roughly|maybe|probably)\s*(?:~|about|around|roughly|maybe)?\s*$"
)

_WORD_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_WORD_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER_WORD = re.compile(
    r"(?<![\d.]\s)(?<![\d.])\b(?:(?:a|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|million|billion|trillion|half|and|point|zero)[\s-]+)*"
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|million|billion|trillion)\b",
    re.IGNORECASE,
)
_SCI = re.compile(
    r"(?P<m>\d+(?:\.\d+)?)\s*(?:[x×*]|times)\s*10\s*(?:\^|"
    r"\*\*)\s*(?P<e>\d{1,2})|(?P<m2>\d+(?:\.\d+)?)e(?P<e2>\d{1,2})\b"
    r"|(?<![\d.])10\s*\^\s*(?P<e3>\d{1,2})"
)


_UNIT_WORD_MAP = {
    "kilobytes": "KB", "kilobyte": "KB", "megabytes": "MB", "megabyte": "MB", "megs": "MB", "meg": "MB",
    "gigabytes": "GB", "gigabyte": "GB", "gigs": "GB", "gig": "GB", "terabytes": "TB", "terabyte": "TB",
    "teras": "TB", "petabytes": "PB", "petabyte": "PB", "exabytes": "EB",
}  # fmt: skip
_ABBREVIATION_MAP = {
    "msgs": "messages", "msg": "message", "reqs": "requests", "req": "request", "ppl": "people",
    "notifs": "notifications", "vids": "videos", "imgs": "images", "secs": "seconds", "sec": "second",
}  # fmt: skip
_ABBREVIATIONS = re.compile(r"(?<![/\w])(" + "|".join(_ABBREVIATION_MAP) + r")\b", re.IGNORECASE)
_UNIT_WORDS = re.compile(
    r"\b(" + "|".join(sorted(_UNIT_WORD_MAP, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_COUNT_AFTER = re.compile(
    r"^\s*(?:[a-z-]+\s+){0,2}?(servers?|machines?|nodes?|shards?|hosts?|boxes|instances|workers|fetchers|"
    r"partitions|sockets|connections|brokers|clusters|pods|containers|generators|keys|entries|"
    r"writes|reads|requests|messages|events|calls|lookups|queries|comparisons|hops)\b"
)
_FLEET_UNITS = frozenset(
    [
        "server",
        "servers",
        "machine",
        "machines",
        "node",
        "nodes",
        "shard",
        "shards",
        "host",
        "hosts",
        "boxes",
        "instances",
        "workers",
        "fetchers",
        "replicas",
        "partitions",
        "sockets",
        "connections",
        "brokers",
        "clusters",
        "pods",
        "containers",
        "generators",
    ]
)
_STORAGE_AFTER = re.compile(
    r"^[^.;]{0,30}\b(?:cache|cached|caching|memory|ram|redis|"
    r"in memory|fits (?:in|on)|heap|bloom|one node|a node|"
    r"per node|one box|a box|one machine)\b"
)
_PERIOD_AFTER = re.compile(
    r"^\s*(?:of\s+\w+\s+)?(?:over|in|for|per|a|each)\s+(?:the\s+)?(?:(\d+)\s+)?(year|month|day)s?\b"
)
_OPERATOR_NEXT = re.compile(r"^\s*(?:[*×x÷/]|times\b|divided\b|multiplied\b)(?!\s*(?:s\b|sec|second|day\b))")
_INPUT_UNITS = frozenset({"users", "user", "dau", "mau", "people"})


def _words_to_number(words: str) -> float | None:
    """'twenty three thousand' -> 23000.0; 'a hundred million' -> 1e8; 'one point two million' -> 1.2e6."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
    if not tokens or all(t in {"a", "half", "point"} for t in tokens):
        return None
    total, current, decimal, seen = 0.0, 0.0, None, False
    for i, t in enumerate(tokens):
        if t == "a":
            current = current or 1.0
        elif t == "half":
            seen = True
            current = current + 0.5 if current >= 1 else (current or 1.0) * 0.5
        elif t == "point":
            decimal = ""
        elif t in _WORD_UNITS:
            seen = True
            if decimal is not None:
                decimal += str(_WORD_UNITS[t])
            else:
                current += _WORD_UNITS[t]
        elif t == "hundred":
            seen = True
            if decimal:
                current += float("0." + decimal)
                decimal = None
            current = (current or 1.0) * 100
        elif t in _WORD_SCALES:
            seen = True
            if decimal:
                current += float("0." + decimal)
                decimal = None
            total += (current or 1.0) * _WORD_SCALES[t]
            current = 0.0
        del i
    if decimal:
        current += float("0." + decimal)
    return total + current if seen else None


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def normalise_numbers(text: str) -> str:
    """Rewrite numbers written as words or in scientific forms as digits, so the parser reads them."""

    def sci(m: re.Match[str]) -> str:
        if m.group("e3"):
            return _fmt(10.0 ** int(m.group("e3")))
        mant = m.group("m") or m.group("m2")
        exp = m.group("e") or m.group("e2")
        return _fmt(float(mant) * 10.0 ** int(exp))

    text = _SCI.sub(sci, text)

    def words(m: re.Match[str]) -> str:
        found = m.group(0)
        lead = re.match(r"(?i)(?:and|point)[\s-]+", found)
        if lead:  # "... and one pool": the conjunction is not part of the number
            return found[: lead.end()] + words_of(found[lead.end() :])
        return words_of(found)

    def words_of(found: str) -> str:
        value = _words_to_number(found)
        scaled = re.search(r"(?i)hundred|thousand|million|billion|trillion|half|point", found)
        if value is None or (value < 20 and not scaled):
            return found  # "one pool", "two servers": an article-like word, not an estimate
        return _fmt(value)

    text = _UNIT_WORDS.sub(lambda m: _UNIT_WORD_MAP[m.group(1).lower()], text)
    text = re.sub(r"(\d)\s*B\b(?=\s+(?:a|per|each|every)\s+(?:month|day|year|week)\b)", r"\1 billion", text)
    text = re.sub(r"(?i)\byrs?\b", "years", text)
    text = _ABBREVIATIONS.sub(lambda m: _ABBREVIATION_MAP[m.group(1).lower()], text)
    text = re.sub(r"(?i)\bhalf an?\s+(?=(?:KB|MB|GB|TB|PB|thousand|million|billion)\b)", "0.5 ", text)
    text = _NUMBER_WORD.sub(words, text)
    return re.sub(r"(?i)(\d)\s*-?\s*ish\b", r"\1", text)


def _as_written(est: Estimate, original: str, rewritten: str) -> Estimate:
    """The estimate with its raw text and sentence as the candidate wrote them ("a thousand requests"),
    its value as parsed from the rewritten digits; quotes of it are then verbatim."""
    start = rewritten.find(est.raw, max(0, est.start - 2))
    if start < 0:
        start = rewritten.find(est.raw)
    if start < 0:
        return est
    end = start + len(est.raw)
    matcher = difflib.SequenceMatcher(None, rewritten, original, autojunk=False)

    def mapped(pos: int, right: bool) -> int:
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if i1 <= pos < i2 or (right and pos == i2):
                if tag == "equal":
                    return j1 + (pos - i1)
                return j2 if right else j1
        return len(original) if right else 0

    o_start, o_end = mapped(start, False), mapped(end, True)
    raw = original[o_start:o_end].strip() or est.raw
    sentence = next((s for s in split_sentences(original) if raw in s), est.sentence)
    return est.model_copy(update={"raw": raw, "sentence": sentence, "start": o_start})


def clauses(text: str) -> list[str]:
    """Sentences, with run-on questions split where a new question starts."""
    out: list[str] = []
    for sentence in split_sentences(text):
        parts: list[str] = []
        rest = sentence
        while True:
            cut = None
            for m in _CLAUSE_SPLIT.finditer(rest):
                left, right = rest[: m.start()], rest[m.end() :]
                last = left.split()[-1].lower() if left.split() else ""
                if last in _PREPOSITIONS:
                    continue  # "is there a limit on how many ...": one question, not two
                if len(left.split()) >= 3 and len(right.split()) >= 4 and _is_question_clause(left):
                    cut = m
                    break
            if cut is None:
                break
            parts.append(rest[: cut.start()].strip(" ,;-"))
            rest = rest[cut.end() :]
        parts.append(rest.strip())
        out.extend(p for p in parts if p)
    return out


_FRAGMENT_SPLIT = re.compile(r"\s*[,;]\s*|\s+(?:and|or|also|plus)\s+|\.\s+")


def _fragments(clause: str) -> list[str]:
    """The comma/and/or pieces of a clause with at least three words (only when there are several)."""
    parts = [p.strip() for p in _FRAGMENT_SPLIT.split(clause) if len(p.split()) >= 3]
    return parts if len(parts) >= 2 else []


_PREPOSITIONS = frozenset(
    [
        "on",
        "of",
        "about",
        "for",
        "in",
        "to",
        "with",
        "at",
        "by",
        "from",
        "into",
        "over",
        "than",
        "as",
        "like",
        "is",
    ]
)


def _strip_filler(clause: str) -> str:
    return _FILLER_PREFIX.sub("", _norm(clause)).strip()


_INVERTED = re.compile(
    r"(?:^|[,;:]\s*|\b(?:or|and|if|when|so|but|then|like)\s+)"
    r"(?:do|does|did|is|are|can|could|should|will|would|shall|must|has|have)\s+"
    r"(?:we|you|they|it|there|users?|people|ppl|folks|someone|"
    r"anyone|that|this|those|these|i|each|every|our)\b"
)
_CONFIRM = re.compile(r"(?:,\s*|\s)(?:right|correct|yeah|yes|true|ok|okay)\s*\??$|\bright\?")


def _is_question_clause(clause: str) -> bool:
    core = _strip_filler(clause)
    if not core:
        return False
    return (
        is_question(core)
        or is_question(clause)
        or bool(_EXTRA_QUESTION.search(core))
        or bool(_INVERTED.search(core))
    )


_MOVE_ON_EXTRA = re.compile(
    r"\b(?:wrap(?:ping)? (?:it |things |this )?up|happy to (?:stop|wrap|finish|end)|good to stop|"
    r"(?:that|this|i think that)(?:'s| is)? (?:about )?(?:it|"
    r"all|everything)(?: from me| for (?:me|now))?\s*[.!]?$|"
    r"(?:covers|covered|got|have) (?:the )?(?:requirements|reqs|scope|enough)|requirements (?:are )?done|"
    r"(?:get|dig|dive|go) (?:into|in to) (?:the )?(?:details|deep dive|specifics|weeds)|"
    r"(?:start|do|move to|go to|jump to|on to|"
    r"onto) (?:the )?(?:high[- ]level|design|api|numbers|math|estimates|"
    r"estimation|deep dive|details)|let'?s (?:do|start|move|go|jump|get)|i'?m done|we'?re done|"
    r"done (?:with|here)|ready (?:for|to))\b"
)
_OFF_MARKER = re.compile(
    r"\b(?:btw|by the way|unrelated|random (?:q|question)|side (?:q|question|note)|just curious|off[- ]topic|"
    r"out of curiosity|totally different|you guys|at your company|where you work|here at)\b"
)
_RHETORICAL_ANSWER = re.compile(
    r"^(?:nah|nope|no|yes|yeah|yep|yup|probably|pretty much|"
    r"prob|i'?ll|i'?d|i'?m (?:gonna|going)|we'?ll|we just|"
    r"we can|we don'?t|let'?s|going with|can'?t|cant|not really|just|mostly|usually|assume|say|so|ok so|"
    r"i think|i guess|obviously|definitely|for now|for v1|it'?s|its)\b"
)

FEATURE_NAMES: list[str] = (
    [f"q_{a.value}" for a in Act]
    + [f"s_{a.value}" for a in Act]
    + [
        "any_question", "all_questions", "clauses", "facts", "fact_best", "asks_all", "meta_ask", "hint",
        "opinion", "process", "dont_know", "disagree", "move_on", "move_on_extra", "target_phase", "skip",
        "score", "grader", "assume", "design_verbs", "components", "topics", "estimates", "off_topic_hint",
        "off_marker", "requirement_question", "code", "log_words", "rhetorical", "question_mark",
    ]
)  # fmt: skip
"""The features the act model scores, in order (stored with the trained weights)."""


def act_features(
    parts: list[str],
    is_q: list[bool],
    act_scores: dict[str, NDArray[np.float32]],
    *,
    facts: bool,
    fact_best: float,
    asks_all: bool,
    estimates: bool,
    components: bool,
    topics: bool,
    problem: Problem | None,
    rhetorical: bool = False,
) -> NDArray[np.float64]:
    """One feature vector for a message (see FEATURE_NAMES)."""
    q_idx = [i for i, q in enumerate(is_q) if q]
    s_idx = [i for i, q in enumerate(is_q) if not q]
    row: list[float] = []
    for idx in (q_idx, s_idx):
        for a in Act:
            col = act_scores.get(a.value)
            row.append(float(max((col[i] for i in idx), default=0.0)) if col is not None and idx else 0.0)
    text = " ".join(parts)
    low = _norm(text)
    statements = " ".join(_norm(parts[i]) for i in s_idx)
    questions = [_strip_filler(parts[i]) for i in q_idx]

    def f(flag: object) -> float:
        return 1.0 if flag else 0.0

    row += [
        f(q_idx),
        f(q_idx and not s_idx),
        min(len(parts), 6) / 6.0,
        f(facts),
        fact_best,
        f(asks_all),
        f(_META_ASK.search(low)),
        f(_HINT.search(low)),
        f(_OPINION.search(low)),
        f(_PROCESS.search(low)),
        f(_DONT_KNOW.search(low)),
        f(_DISAGREE.search(low)),
        f(_MOVE_ON.search(low)),
        f(_MOVE_ON_EXTRA.search(low)),
        f(_target_phase(low) is not None),
        f(_SKIP.search(low)),
        f(_SCORE.search(low)),
        f(_GRADER.search(low)),
        f(_ASSUME.search(statements or "")),
        f(_DESIGN_VERBS.search(statements or "")),
        f(components),
        f(topics),
        f(estimates),
        f(_OFF_TOPIC_HINT.search(low)),
        f(_OFF_MARKER.search(low)),
        f(any(_is_requirement_question(q) for q in questions)),
        f(_CODE.search(low)),
        math.log1p(len(low.split())) / 5.0,
        f(rhetorical),
        f("?" in text),
    ]
    return np.asarray(row, dtype=np.float64)


class ActModel:
    """One logistic regression per act over `act_features`; weights in knowledge/reader/act_model.json."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.features: list[str] = list(data.get("features") or FEATURE_NAMES)
        n = len(self.features)
        self.mean = np.asarray(data.get("mean") or [0.0] * n, dtype=np.float64)
        self.std = np.asarray(data.get("std") or [1.0] * n, dtype=np.float64)
        self.weights = {a: np.asarray(w, dtype=np.float64) for a, w in (data.get("weights") or {}).items()}
        self.bias = {a: float(b) for a, b in (data.get("bias") or {}).items()}
        self.threshold = float(data.get("threshold", 0.5))
        self.trained = bool(self.weights) and self.features == FEATURE_NAMES

    @classmethod
    def load(cls, path: Path | None = None) -> ActModel:
        path = path or KNOWLEDGE_DIR / "reader" / "act_model.json"
        if not path.is_file():
            return cls()
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def probabilities(self, x: NDArray[np.float64]) -> dict[Act, float]:
        if not self.trained:
            return self._untrained(x)
        z = (x - self.mean) / self.std
        out: dict[Act, float] = {}
        for a in Act:
            w = self.weights.get(a.value)
            if w is None:
                continue
            out[a] = float(1.0 / (1.0 + math.exp(-float(z @ w + self.bias.get(a.value, 0.0)))))
        return out

    def _untrained(self, x: NDArray[np.float64]) -> dict[Act, float]:
        """Without trained weights: the best similarity per act, questions and statements alike."""
        n = len(Act)
        return {a: float(max(x[i], x[n + i])) for i, a in enumerate(Act)}

    def predict(self, x: NDArray[np.float64]) -> set[Act]:
        probs = self.probabilities(x)
        cut = self.threshold if self.trained else 0.8
        return {a for a, p in probs.items() if p >= cut}

    def best(self, x: NDArray[np.float64]) -> Act:
        probs = self.probabilities(x)
        probs.pop(Act.EMPTY, None)
        probs.pop(Act.ESTIMATE, None)
        return max(probs, key=lambda a: probs[a]) if probs else Act.OFF_TOPIC


# --------------------------------------------------------------------------------------------------
# embeddings


class _Embedder:
    """Sentence vectors with a per-process cache (the same clause is embedded once)."""

    def __init__(self, encoder: Any | None = None) -> None:
        self._encoder = encoder
        self._cache: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            from app.retrieval.embeddings import get_encoder

            self._encoder = get_encoder()
        return self._encoder

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        keys = [t.strip().lower() or " " for t in texts]
        with self._lock:
            missing = sorted({k for k in keys if k not in self._cache})
        if missing:
            vectors = self.encoder.encode(missing)
            with self._lock:
                if len(self._cache) > 50_000:
                    self._cache.clear()
                for k, v in zip(missing, vectors, strict=True):
                    self._cache[k] = v
        with self._lock:
            return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


@dataclass
class _Bank:
    """Example sentences with a label each, embedded."""

    labels: list[str]
    texts: list[str]
    vectors: NDArray[np.float32]

    def scores(self, queries: NDArray[np.float32], top: int = 1) -> dict[str, NDArray[np.float32]]:
        """Per label, the mean of its `top` best similarities for each query row."""
        if not self.labels:
            return {}
        sims = queries @ self.vectors.T  # [q, n]
        out: dict[str, NDArray[np.float32]] = {}
        labels = np.asarray(self.labels)
        for label in dict.fromkeys(self.labels):
            cols = sims[:, labels == label]
            k = min(top, cols.shape[1])
            best = -np.sort(-cols, axis=1)[:, :k]
            out[label] = best.mean(axis=1)
        return out


def _bank(embedder: _Embedder, pairs: list[tuple[str, str]]) -> _Bank:
    labels = [p[0] for p in pairs]
    texts = [p[1] for p in pairs]
    vectors = embedder.embed(texts) if texts else np.zeros((0, 384), np.float32)
    return _Bank(labels, texts, vectors)


@dataclass
class _ProblemIndex:
    facts: _Bank
    pitfalls: _Bank
    counters: _Bank
    numbers: _Bank
    fact_words: dict[str, dict[str, float]] = field(default_factory=dict)  # fact id -> stem -> idf


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "we",
        "you",
        "i",
        "it",
        "they",
        "he",
        "she",
        "them",
        "us",
        "our",
        "your",
        "my",
        "me",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "whats",
        "how",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "not",
        "no",
        "yes",
        "so",
        "just",
        "like",
        "really",
        "roughly",
        "about",
        "around",
        "any",
        "some",
        "all",
        "each",
        "every",
        "per",
        "one",
        "also",
        "too",
        "very",
        "much",
        "many",
        "more",
        "most",
        "lot",
        "lots",
        "kind",
        "sort",
        "thing",
        "things",
        "stuff",
        "need",
        "needs",
        "want",
        "wants",
        "ok",
        "okay",
        "um",
        "uh",
        "hmm",
        "right",
        "gonna",
        "going",
        "get",
        "got",
        "go",
        "make",
        "made",
        "sure",
        "mean",
        "means",
        "talking",
        "talk",
        "say",
        "said",
        "ask",
        "know",
        "think",
        "guess",
        "assume",
        "tell",
        "give",
        "share",
        "list",
        "show",
        "send",
        "provide",
        "everything",
        "once",
        "front",
        "up",
    ]
)


def _stems(text: str) -> set[str]:
    out: set[str] = set()
    for w in re.findall(r"[a-z0-9]+", _norm(text)):
        if w in _STOP or len(w) < 3:
            continue
        for suffix in ("ing", "ies", "es", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
                break
        out.add(w)
    return out


def _fact_words(problem: Problem) -> dict[str, dict[str, float]]:
    """Content-word stems of each fact's questions, cues and text, weighted by rarity across facts."""
    bags = {
        f.id: set().union(*(_stems(t) for t in [*f.asks, *f.asked_by, f.fact])) for f in problem.hidden_facts
    }
    n = len(bags)
    df: dict[str, int] = {}
    for bag in bags.values():
        for w in bag:
            df[w] = df.get(w, 0) + 1
    return {fid: {w: math.log(1 + n / df[w]) for w in bag} for fid, bag in bags.items()}


def lexical_fact_score(clause: str, words: dict[str, float]) -> float:
    """Share of the clause's content words (idf-weighted) that the fact's vocabulary contains."""
    stems = _stems(clause)
    if not stems:
        return 0.0
    hit = sum(words.get(w, 0.0) for w in stems)
    top = max(words.values(), default=1.0)
    return hit / (top * max(len(stems), 2))


def _fact_examples(problem: Problem) -> list[tuple[str, str]]:
    """Per fact: its example questions, its cue words as short questions, and the fact itself."""
    pairs: list[tuple[str, str]] = []
    for f in problem.hidden_facts:
        pairs.extend((f.id, a) for a in f.asks)
        pairs.extend((f.id, f"what about {c}?") for c in f.asked_by[:4])
        pairs.append((f.id, f.fact))
    return pairs


def _problem_key(problem: Problem) -> str:
    return hashlib.sha256(problem.model_dump_json().encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# the reader


_STATEMENT_ACTS = (Act.ASSUME, Act.DESIGN, Act.DONT_KNOW, Act.DISAGREE, Act.MOVE_ON, Act.OFF_TOPIC)
_QUESTION_ACTS = (Act.CLARIFY, Act.ASK_HINT, Act.ASK_OPINION, Act.ASK_PROCESS)


class OfflineReader:
    """Reads candidate messages with sentence embeddings and precise text rules; no model."""

    name = "offline"

    def __init__(
        self,
        encoder: Any | None = None,
        thresholds: Thresholds | None = None,
        acts_path: Path | None = None,
        act_model_path: Path | None = None,
    ) -> None:
        self.thresholds = thresholds or load_thresholds()
        self._embedder = _Embedder(encoder)
        self._acts_path = acts_path or KNOWLEDGE_DIR / "reader" / "acts.yaml"
        self._acts: _Bank | None = None
        self.act_model = ActModel.load(act_model_path)
        self._problems: dict[str, _ProblemIndex] = {}
        self._lock = threading.Lock()

    # -- banks -----------------------------------------------------------------------------------

    def acts_bank(self) -> _Bank:
        if self._acts is None:
            data = (
                yaml.safe_load(self._acts_path.read_text(encoding="utf-8"))
                if self._acts_path.is_file()
                else {}
            )
            pairs = [
                (act, text)
                for act, texts in ((data or {}).get("acts") or {}).items()
                if act in Act.__members__.values() or act in {a.value for a in Act}
                for text in texts or []
                if isinstance(text, str) and text.strip()
            ]
            self._acts = _bank(self._embedder, pairs)
        return self._acts

    def problem_index(self, problem: Problem) -> _ProblemIndex:
        key = _problem_key(problem)
        with self._lock:
            found = self._problems.get(key)
        if found is not None:
            return found
        index = _ProblemIndex(
            facts=_bank(self._embedder, _fact_examples(problem)),
            pitfalls=_bank(self._embedder, [(p.id, e) for p in problem.pitfalls for e in p.examples]),
            counters=_bank(self._embedder, [(p.id, e) for p in problem.pitfalls for e in p.counter_examples]),
            numbers=_bank(self._embedder, [(n.id, n.label) for n in problem.numbers]),
            fact_words=_fact_words(problem),
        )
        with self._lock:
            self._problems[key] = index
        return index

    def warm(self, problem: Problem | None = None) -> None:
        """Embed the banks now (the first read otherwise pays for it)."""
        self.acts_bank()
        if problem is not None:
            self.problem_index(problem)

    # -- reading ---------------------------------------------------------------------------------

    def read(self, text: str, problem: Problem, phase: Phase = Phase.SCOPE) -> Reading:
        """The Reading of one message, read on its own in `phase`."""
        text = text if isinstance(text, str) else ""
        if _DONT_KNOW.fullmatch(_norm(text).strip(" .!?")):
            return Reading(text=text, acts=[Act.DONT_KNOW], reader=self.name)  # "idk", "no idea"
        has_digit = bool(re.search(r"\d", text))
        if (is_gibberish(text) and not has_digit) or _is_unclear(text) or _FILLER_ONLY.fullmatch(_norm(text)):
            return Reading(text=text, acts=[Act.EMPTY], reader=self.name)
        norm = _norm(text)
        parts = clauses(text[:6000])
        if not parts:
            return Reading(text=text, acts=[Act.EMPTY], reader=self.name)
        th = self.thresholds
        index = self.problem_index(problem)
        vectors = self._embedder.embed([_strip_filler(p) or p for p in parts])

        # questions: real questions, not code, not answered by the candidate in the next clause
        is_q = [_is_question_clause(p) and not _CODE.search(p.lower()) for p in parts]
        rhetorical = False
        for i in range(len(parts) - 1):
            nxt = _strip_filler(parts[i + 1]) or _norm(parts[i + 1])
            confirming = bool(_CONFIRM.search(_norm(parts[i])))
            if (
                is_q[i]
                and not confirming
                and not _is_question_clause(parts[i + 1])
                and (_ANSWER_START.match(nxt) or _RHETORICAL_ANSWER.match(nxt))
            ):
                is_q[i] = False
                rhetorical = True
        questions = [p for p, q in zip(parts, is_q, strict=True) if q]

        acts: set[Act] = set()
        act_scores = self.acts_bank().scores(vectors, top=3)

        # facts: each question clause, and each comma/and/or piece of it, asks for its best fact when
        # that fact scores above the threshold and beats every other fact by the margin
        facts: list[str] = []
        asks_all = False
        fact_scores = index.facts.scores(vectors, top=2)
        pieces: list[tuple[int, str]] = []
        for i, part in enumerate(parts):
            if not is_q[i]:
                continue
            low = _norm(part)
            if _META_ASK.search(low) or _PROCESS.search(low) or _HINT.search(low) or _OPINION.search(low):
                continue  # a question about the interview itself asks for no requirement
            if _ASK_ALL.search(low):
                # a blanket request asks for nothing specific: only what is left of the clause counts
                asks_all = True
                rest = re.sub(r"\s+", " ", _ASK_ALL.sub(" ", low)).strip()
                if len(_stems(rest)) >= 2:
                    pieces.append((-1, rest))
                continue
            pieces.append((i, part))
            pieces.extend((-1, frag) for frag in _fragments(part))
        frag_texts = [f for i, f in pieces if i < 0]
        frag_scores = index.facts.scores(self._embedder.embed(frag_texts), top=2) if frag_texts else {}
        k = 0
        for i, piece in pieces:
            if i >= 0:
                sims = {f: float(v[i]) for f, v in fact_scores.items()}
            else:
                sims = {f: float(v[k]) for f, v in frag_scores.items()}
                k += 1
            low = _norm(piece)
            ranked = sorted(
                (
                    (
                        sims[f.id]
                        + th.fact_lexical * lexical_fact_score(piece, index.fact_words.get(f.id, {}))
                        + (th.fact_cue_bonus if _asks_fact(low, f.asked_by) else 0.0),
                        f.id,
                    )
                    for f in problem.hidden_facts
                    if f.id in sims
                ),
                reverse=True,
            )
            if not ranked:
                continue
            best, best_id = ranked[0]
            runner = ranked[1][0] if len(ranked) > 1 else 0.0
            if best >= th.fact and best - runner >= th.fact_margin and best_id not in facts:
                facts.append(best_id)

        # acts: features of the message (similarities per act, text rules), scored by a linear
        # model per act calibrated on the tune split (knowledge/reader/act_model.json)
        estimates = self._estimates(text, problem, index)
        components = match_components(text, problem)
        topics = match_topics(text, problem)
        fact_best = max(
            (float(v[i]) for v in fact_scores.values() for i in range(len(parts)) if is_q[i]), default=0.0
        )
        feats = act_features(
            parts,
            is_q,
            act_scores,
            facts=bool(facts),
            fact_best=fact_best,
            asks_all=asks_all,
            estimates=bool(estimates),
            components=bool(components),
            topics=bool(topics),
            problem=problem,
            rhetorical=rhetorical,
        )
        self.last_features = feats
        acts |= self.act_model.predict(feats)
        if _GRADER.search(norm):
            acts.add(Act.ADDRESS_GRADER)  # a precise rule: text aimed at a grader or an AI is never missed
        # a fact is released only when the message reads as a question about requirements: a hint
        # request or a design remark that happens to resemble a fact's question asks for nothing
        if (
            facts
            and Act.CLARIFY not in acts
            and self.act_model.trained
            and self.act_model.probabilities(feats).get(Act.CLARIFY, 1.0) < th.clarify_floor
        ):
            facts = []
        if facts:
            acts.add(Act.CLARIFY)
        if estimates:
            acts.add(Act.ESTIMATE)
        else:
            acts.discard(Act.ESTIMATE)
        acts.discard(Act.EMPTY)
        if not acts:
            acts.add(self.act_model.best(feats))
        if Act.OFF_TOPIC in acts and (facts or estimates or components):
            acts.discard(Act.OFF_TOPIC)

        pitfalls = self._pitfalls(parts, is_q, vectors, index)
        target = _target_phase(norm)
        return Reading(
            text=text,
            acts=[a for a in Act if a in acts],
            facts=facts,
            estimates=estimates,
            components=components,
            topics=topics,
            pitfalls=pitfalls,
            questions=questions,
            asks_all=asks_all,
            target_phase=list(Phase)[target].value if target is not None and target < len(Phase) else None,
            reader=self.name,
        )

    # -- estimates -------------------------------------------------------------------------------

    def _estimates(self, text: str, problem: Problem, index: _ProblemIndex) -> list[Estimate]:
        rewritten = normalise_numbers(text)
        found = find_estimates(rewritten, keep_per_item=True)
        if rewritten != text:
            found = [_as_written(e, text, rewritten) for e in found]
        out: list[Estimate] = []
        for est in found:
            pos = est.sentence.find(est.raw)
            before = est.sentence[: max(0, pos)]
            after = est.sentence[pos + len(est.raw) :] if pos >= 0 else ""
            if est.unit is None:
                m = _COUNT_AFTER.match(after.lower())
                if m:  # "100 chat servers": a count of the noun a word or two later
                    est = est.model_copy(update={"unit": m.group(1)})
            family = est.family
            if family == "percent" or (
                family == "duration" and not any(unit_family(n.unit) == "duration" for n in problem.numbers)
            ):
                continue
            if est.unit in {"characters", "chars", "character", "char", "digits", "bits", "x", "times"}:
                continue
            if est.unit in _INPUT_UNITS or _OPERATOR_NEXT.match(after):
                continue  # a user count is an input; "100M searches * 20%" is an operand
            derived = any(math.isclose(est.value, n.value, rel_tol=0.01) for n in problem.numbers)
            if (_restates_a_fact(est, problem) and not derived) or _restates_value(est, problem):
                continue
            if family is None and est.value in {24, 60, 365, 1000, 1024, 3600, 86400, 62, 64, 36, 10, 100}:
                continue  # a unit constant or a round parameter, not a result
            own = _since_last_number(before)
            window = _norm(own[-60:] + " " + est.raw + " " + _until_next_number(after)[:40])
            kind = est.kind
            # "100 bytes per record is about 365 GB": the "per record" belongs to the previous number
            mine = _PREVIOUS_PER.sub("", own) if before.strip() and own is not before else own
            if kind != EstimateKind.PER_ITEM and (
                _PER_ITEM_CONTEXT.search(_norm(mine[-50:])) or _EACH_AFTER.match(after.lower())
            ):
                kind = EstimateKind.PER_ITEM
            if kind == EstimateKind.TOTAL and _PROJECTION.search(_norm(before)):
                kind = EstimateKind.PROJECTION
            if (
                kind == EstimateKind.TOTAL
                and _ASSUMED_INPUT.search(_norm(own))
                and not _RESULT_WORDS.search(_norm(own))
            ):
                kind = "assumed"
            fleet = (est.unit or "").lower() in _FLEET_UNITS and not any(
                _norm(n.unit) == _norm(est.unit or "") for n in problem.numbers
            )
            if kind == EstimateKind.TOTAL and (
                fleet
                or _OTHER_QTY.search(_norm(own[-40:]))
                or _OTHER_AFTER.match(after.lower())
                or (family == "storage" and _STORAGE_AFTER.match(after.lower()))
            ):
                kind = EstimateKind.OTHER
            context = _norm(own[-40:] + " " + after[:30])
            number = (
                self._attribute(est, kind, window, problem, index, context, after)
                if kind != "assumed"
                else None
            )
            if kind == "assumed":
                if number is None:
                    continue  # "say 10M active keys": an input the candidate assumes, not a result
                kind = EstimateKind.TOTAL
            if family is None and number is None and kind == EstimateKind.TOTAL:
                continue  # a bare number with nothing to say what it counts
            out.append(est.model_copy(update={"number": number, "kind": str(kind)}))
        return out

    def _attribute(
        self,
        est: Estimate,
        kind: str,
        window: str,
        problem: Problem,
        index: _ProblemIndex,
        context: str = "",
        after: str = "",
    ) -> str | None:
        """The derived number an estimate is an estimate of: totals by unit and cue words (then by label
        similarity); other kinds only when a derived number is exactly that kind of quantity."""
        if kind == EstimateKind.TOTAL:
            matched = match_number(est, problem)
            noun = _unit_noun(est.unit)
            same_unit = [
                n
                for n in problem.numbers
                if noun and _unit_noun(n.unit) == noun and unit_family(n.unit) == est.family
            ]
            if same_unit and (matched is None or _unit_noun(matched.unit) != noun):
                # "116 pushes per second" is about the pushes figure, whatever cue sits nearby
                plain = [n for n in same_unit if not _needs_peak(n.label)]
                matched = (same_unit if _PEAK.search(window) else plain or same_unit)[0]
            if matched is not None and _needs_peak(matched.label) and not _PEAK.search(window):
                # a peak figure needs the word; without it the plain figure of the same kind is meant
                siblings = [
                    n
                    for n in problem.numbers
                    if not _needs_peak(n.label)
                    and unit_family(n.unit) == unit_family(matched.unit)
                    and _norm(n.label) in _norm(matched.label)
                ]
                matched = siblings[0] if siblings else None
            period = _PERIOD_AFTER.match(after.lower())
            if matched is not None and period and est.family == "storage":
                word = period.group(2)
                same = [
                    n
                    for n in problem.numbers
                    if unit_family(n.unit) == "storage"
                    and word in n.label.lower()
                    and (period.group(1) is None or period.group(1) in n.label or period.group(1) in n.id)
                ]
                if len(same) == 1:
                    matched = same[0]
            if matched is not None and est.family == "storage":
                # two storage figures of one unit (new per day vs served per day): the words decide
                by_label = self._by_label(est, window, problem, index, family_only=True, with_score=True)
                if by_label is not None and by_label[0] != matched.id:
                    own = self._label_sim(window, matched.id, index)
                    if by_label[1] >= own + 0.12:
                        return by_label[0]
            if matched is not None:
                return matched.id
            return self._by_label(est, window, problem, index, family_only=True) if est.family else None
        if kind == EstimateKind.PROJECTION:
            return None
        shared = [
            n.id
            for n in problem.numbers
            if (m := _OTHER_QTY.search(n.label.lower())) and m.group(0)[:5] in context
        ]
        fitting = [
            n.id for n in problem.numbers if n.id in shared and unit_family(n.unit) == (est.family or "count")
        ]
        if len(fitting) == 1:
            return fitting[0]  # "with 3 replicas that's 30 TB" and a derived "storage with 3 replicas"
        number = self._by_label(est, window, problem, index, family_only=True, strict=not shared)
        if number is None:
            return None
        label = next(n.label for n in problem.numbers if n.id == number).lower()
        if kind == EstimateKind.PER_ITEM and not _PER_THING.search(label):
            return None
        if kind == EstimateKind.OTHER and not (_OTHER_QTY.search(label) or _PER_THING.search(label)):
            return None
        if kind == EstimateKind.OTHER and shared and number not in shared:
            return None
        return number

    def _label_sim(self, window: str, number_id: str, index: _ProblemIndex) -> float:
        sims = index.numbers.scores(self._embedder.embed([window]), top=1)
        return float(sims[number_id][0]) if number_id in sims else 0.0

    def _label_says(self, number_id: str | None, window: str, problem: Problem) -> bool:
        """True when the words around the estimate name the number's own subject (its label or cues)."""
        if number_id is None:
            return False
        n = next(n for n in problem.numbers if n.id == number_id)
        label_words = {w for w in re.findall(r"[a-z]{4,}", n.label.lower())} - {
            "with",
            "over",
            "when",
            "that",
        }
        return _has_cue(window, n.cues) and any(w in window for w in label_words if _OTHER_QTY.search(w))

    def _by_label(
        self,
        est: Estimate,
        window: str,
        problem: Problem,
        index: _ProblemIndex,
        *,
        family_only: bool,
        strict: bool = False,
        with_score: bool = False,
    ) -> Any:
        """The derived number whose label is most like the words around the estimate, if close enough
        (with `with_score`, the pair (id, similarity) or None)."""
        if not problem.numbers:
            return None
        vec = self._embedder.embed([window])
        sims = index.numbers.scores(vec, top=1)
        best_id, best = None, -1.0
        for n in problem.numbers:
            fam = unit_family(n.unit)
            if (
                family_only
                and est.family is not None
                and fam != est.family
                and not (est.family == "storage" and _daily_storage_stem(n.unit) is not None)
            ):
                continue
            s = float(sims[n.id][0])
            if s > best:
                best_id, best = n.id, s
        need = self.thresholds.number_label + (0.15 if strict else 0.0)
        if best < need:
            return None
        return (best_id, best) if with_score else best_id

    # -- pitfalls --------------------------------------------------------------------------------

    def _pitfalls(
        self, parts: list[str], is_q: list[bool], vectors: NDArray[np.float32], index: _ProblemIndex
    ) -> list[str]:
        if not index.pitfalls.labels:
            return []
        th = self.thresholds
        pos = index.pitfalls.scores(vectors, top=2)
        neg = index.counters.scores(vectors, top=1) if index.counters.labels else {}
        out: list[str] = []
        for i, part in enumerate(parts):
            if is_q[i] or len(part.split()) < 4:
                continue
            for pid, s in pos.items():
                score = float(s[i])
                counter = float(neg[pid][i]) if pid in neg else 0.0
                if score >= th.pitfall and score - counter >= th.pitfall_margin and pid not in out:
                    out.append(pid)
        return out


_PREVIOUS_PER = re.compile(r"^\s*(?:[a-zA-Z]+\s+)?(?:per|each|an?|for each)\s+\w+", re.IGNORECASE)
_PEAK = re.compile(r"\b(?:peak|peaks|burst|bursts|busiest|spike|spikes|max(?:imum)?)\b")
_ASSUMED_INPUT = re.compile(r"\b(?:say|let'?s say|assume|assuming|suppose|given|if)\b[^.;=≈]{0,30}$")
_RESULT_WORDS = re.compile(r"\b(?:so|thats|that'?s|gives?|is|comes? (?:out )?to|=|≈|equals|means)\b")
_EACH_AFTER = re.compile(r"^\s*(?:each|apiece|a piece|per (?:one|item|entry|key|row))\b")
_OTHER_AFTER = re.compile(
    r"^\s*(?:of\s+)?(?:\w+\s+)?(?:cache|caches|of ram|ram|memory|in memory|heap|buffer|bloom|index|"
    r"fan-?out|feed writes|sockets|connections|of counters|counters|trie)\b"
)
_PER_THING = re.compile(
    r"\bper (?!second|sec\b|day|month|year|hour|minute|ms\b|millisecond)\w+|\bwith \d+ (?:nodes|servers)|"
    r"\bfor one\b|\bone (?:post|user|server|node|machine)\b"
)
_NUMBERISH = re.compile(r"\d(?![\d.,]*\s*x\b)[\d.,]*")


def _since_last_number(before: str) -> str:
    """The words between the previous number (not a multiplier like '10x') and this one."""
    last = None
    for m in _NUMBERISH.finditer(before):
        last = m
    return before[last.end() :] if last is not None else before


def _unit_noun(unit: str | None) -> str | None:
    """'pushes/s' -> 'push', 'messages/day' -> 'message'; None for units without a noun (QPS, TB)."""
    if not unit or "/" not in unit:
        return None
    noun = unit.split("/")[0].strip().lower()
    if not noun.isalpha() or noun in {"qps", "tps", "rps"}:
        return None
    for suffix in ("es", "s"):
        if noun.endswith(suffix) and len(noun) - len(suffix) >= 3:
            return noun[: -len(suffix)]
    return noun


def _until_next_number(after: str) -> str:
    """The words after this number up to the next one."""
    m = re.search(r"\d", after)
    return after[: m.start()] if m else after


def _needs_peak(label: str) -> bool:
    return "peak" in label.lower() or "burst" in label.lower()


def _restates_value(est: Estimate, problem: Problem) -> bool:
    """True when the number with its unit is one the fact sheet states (a per-item size, a limit)."""
    derived = [n.value for n in problem.numbers]
    for f in problem.hidden_facts:
        for v in f.values.values():
            if not v or not math.isclose(est.value, v, rel_tol=0.01):
                continue
            if (est.family in (None, "count", "daily") or est.kind == "per_item") and not any(
                math.isclose(v, d, rel_tol=0.01) for d in derived
            ):
                return True
    return False


@lru_cache(maxsize=1)
def shared_offline_reader() -> OfflineReader:
    """One offline reader per process (the encoder and the embedded banks are shared)."""
    return OfflineReader()
