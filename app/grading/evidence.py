"""Evidence the code can verify in a transcript, gathered once and shared by every dimension.

Every candidate turn is read once by the same reader the director uses (`app/interview/reading.py`),
so the grader and the interviewer agree on what counts as asking for a fact, naming a component or
estimating a number. Sentences addressed to the grader are removed before anything is matched: they
never count.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from app.grading.text import REDACTED, Injection, find_injections, normalise, redact_injections, strip_marker
from app.interview.analysis import TurnAnalysis, TurnKind, analyse
from app.interview.classify import (
    Estimate,
    EstimateCheck,
    check_estimate,
    match_components,
    match_topics,
    split_sentences,
    unit_family,
)
from app.interview.phases import Phase
from app.interview.reading import Act, offline_reader
from app.problems import Problem
from app.transcripts import Transcript

_PRE_DESIGN_PHASES = {None, "", "scope", "scoping"}
_NO_SIGNAL_ACTS = {Act.EMPTY, Act.OFF_TOPIC, Act.ADDRESS_GRADER, Act.SKIP_OR_SCORE}
"""A turn that only does these (talks to the grader, asks for a score) is no evidence of skill."""


class DirectorRecord(BaseModel):
    """What the interview director knew, when the transcript comes from a live session."""

    released_facts: dict[str, int] = Field(
        default_factory=dict, description="Fact id -> index of the turn that released it."
    )
    phases: list[str | None] = Field(
        default_factory=list, description="Phase per turn (same indexing as transcript.turns)."
    )


@dataclass
class Sentence:
    """One sentence of a candidate turn, with the turn it came from."""

    turn: int
    text: str


@dataclass
class CandidateTurn:
    """One candidate turn with its analysis."""

    index: int
    """Index in transcript.turns."""
    text: str
    """As written."""
    clean: str
    """With sentences addressed to the grader removed."""
    analysis: TurnAnalysis
    phase: str | None
    words: int
    injections: list[Injection] = field(default_factory=list)
    repeated: bool = False
    salad: bool = False

    @property
    def junk(self) -> bool:
        """Empty, gibberish, off-topic or a repeat: no signal."""
        return (
            self.repeated
            or self.salad
            or self.analysis.kind in (TurnKind.EMPTY, TurnKind.OFF_TOPIC)
            or (bool(self.analysis.acts) and set(self.analysis.acts) <= _NO_SIGNAL_ACTS)
            or not strip_marker(self.clean).strip()
        )

    @property
    def sentences(self) -> list[str]:
        return [s for s in split_sentences(self.clean) if REDACTED not in s]


# Signals found with plain patterns over normalised sentences. Each counts once per sentence.
_P = re.compile
SIGNALS: dict[str, re.Pattern[str]] = {
    "assumption": _P(
        r"\b(?:assum(?:e|ing|ption)s?|out of scope|not in scope|in scope|won'?t (?:cover|handle|support|"
        r"build|do)|leave (?:\w+ )*out|non-functional|functional requirements?|core features?|"
        r"let'?s (?:focus|scope|keep)|i'?ll focus|we'?ll focus|nice[- ]to[- ]have|must[- ]have)\b"
    ),
    "nfr_number": _P(
        r"\b\d+(?:\.\d+)?\s*(?:ms|milliseconds?)\b|\b99\.9+\s*%|\bp9[59]\b|\b(?:three|four|five) nines\b"
    ),
    "api": _P(
        r"\b(?:post|get|put|patch|delete)\s+/|\bapis?\b|\bendpoints?\b|\brest(?:ful)?\b|\bgrpc\b|"
        r"\bwebsockets?\b|\b[a-z_]+\s*\([a-z_, ]*\)\s*(?:->|returns?)"
    ),
    "data_model": _P(
        r"\b(?:schema|tables?|columns?|data model|primary key|partition key|sort key|row key|fields?|"
        r"key[- ]value|(?:key|keyed) (?:is|by|on)|indexe?d? (?:on|by)|document model|record (?:has|holds))\b|"
        r"\b[a-z]+_(?:id|at|url|count|time|ts|key)\b"
    ),
    "flow": _P(
        r"\b(?:flows?|\w+ path|end[- ]to[- ]end|walk (?:you )?through|the request (?:hits|goes|comes)|"
        r"hits the|on a (?:miss|hit|read|write)|then (?:the|it|we) (?:\w+ )?(?:writes?|reads?|returns?|"
        r"sends?|"
        r"calls?|looks?|forwards?|publish\w*|push\w*))\b"
    ),
    "tradeoff": _P(
        r"\b(?:vs\.?|versus|instead of|rather than|trade-?offs?|compared (?:to|with)|the (?:downside|upside|"
        r"cost|catch) (?:is|of)|drawbacks?|pros and cons|on the other hand|alternatively|"
        r"(?:two|three|a few|several) (?:options|approaches|choices|ways)|option (?:one|two|a|b|1|2)|"
        r"either [^.]{1,60} or|the other (?:option|approach|choice)|at the cost of|costs? (?:us )?(?:more|"
        r"less))\b"
    ),
    "decision": _P(
        r"\b(?:i'?d|i would|i will|i'?ll|we'?d|we will|we'?ll|let'?s|i|we)\s+(?:\w+\s+)?"
        r"(?:choose|chose|pick|picked|go with|went with|prefer|opt for|recommend|settle on|use|return|keep|"
        r"start with|buy|build|run|put|store|serve|shard|partition|cache|add|make)\b"
        r"[^.]{0,160}\b(?:because|since|as it|as they|given|so that|which (?:keeps|avoids|gives|means)|"
        r"the reason|rather than|instead of|over|when|until|otherwise)\b|"
        r"\b(?:i'?ll|i'?d|we'?ll|we'?d) go with\b|\bmy (?:choice|pick|preference) (?:is|would be|here)\b|"
        r"\b(?:so|therefore) (?:i'?d|i'?ll|we'?d|we'?ll) (?:choose|pick|use|go with|start with|prefer)\b"
    ),
    "failure": _P(
        r"\b(?:fail(?:s|ed|ure|ures|over)?|goes down|go down|went down|crash(?:es|ed)?|outage|dies|dead|"
        r"unavailable|replicas?|replicat(?:e|ed|ion)|retr(?:y|ies)|fallback|fall back|degrad\w*|redundan\w*|"
        r"backups?|recover\w*|idempoten\w*|timeouts?)\b"
    ),
    "consistency": _P(
        r"\b(?:consisten(?:t|cy)|eventual(?:ly)?|linearizab\w*|quorum|read[- ]your[- ]writes|stale|"
        r"at[- ](?:least|most)[- ]once|exactly[- ]once|transactions?|atomic\w*)\b"
    ),
    "bottleneck": _P(
        r"\b(?:bottlenecks?|hot ?spots?|hot[- ]?(?:keys?|shards?|partitions?|links?)|single points? of "
        r"failure|"
        r"spof|saturat\w*|breaks? first|weak(?:est)? (?:point|spot|link)|limiting factor|thundering herd|"
        r"celebrit(?:y|ies)|(?:biggest|main|largest|first) (?:risk|bottleneck|problem|concern|limit)|"
        r"what breaks|breaks first|would break|runs? out of)\b"
    ),
    "monitoring": _P(
        r"\b(?:monitor(?:ing|ed)?|alert(?:s|ing)?|metrics?|dashboards?|observability|logging|tracing|"
        r"p99|p95|hit ratio|hit rate|error rates?|slos?|slis?|pag(?:e|ing) (?:someone|on-call)|on-?call|"
        r"operations:|queue depth|success rate|lag (?:alert|metric)s?|health ?checks?)\b"
    ),
    "rollout": _P(
        r"\b(?:canary|canaries|roll(?:ing)? ?out|rollback|roll back|feature flags?|behind a flag|"
        r"blue[- ]green|deploy(?:ment|ments|s)?|migrat(?:e|ion))\b"
    ),
    "next_scale": _P(
        r"\b(?:10x|10 x|ten ?x|100x|ten times|next (?:order of magnitude|scale|step)|order of magnitude|"
        r"(?:multi|multiple|several|more)[- ]regions?|another region|geo[- ]?(?:distributed|replicat\w*)|"
        r"grows? (?:to|by)|at (?:ten|10|100) times|next steps?:?|(?:future|later) (?:work|steps?)|"
        r"(?:if|when|as) (?:traffic|load|usage|data) (?:grows|doubles|increases))\b"
    ),
    "recap": _P(
        r"\b(?:to (?:summari[sz]e|recap|sum up|wrap up)|in summary|recap|summary|summing up|"
        r"so overall|overall,? (?:the|my) design)\b"
    ),
    "checkin": _P(
        r"\b(?:does (?:that|this) (?:make sense|sound|match|work)|(?:should|shall) i (?:go|dive|continue|"
        r"move|"
        r"focus|start|walk|spend)|is (?:that|this) (?:ok|okay|fine|reasonable|acceptable|what you)|"
        r"any (?:concerns|objections)|do you want me to|would you like me to|sounds? (?:good|reasonable)\?|"
        r"is that acceptable|are you (?:ok|happy) with|which (?:one|part|area) would you like)\b"
    ),
    "signpost": _P(
        r"\b(?:first(?:ly)?,|second(?:ly)?,|next,|finally,|let me (?:start|walk|summari[sz]e|outline|recap|"
        r"go|"
        r"begin|show|sketch|lay out)|i'?ll (?:start|begin|walk|cover|go through|state)|my (?:plan|framing)|"
        r"to start|starting with|moving on|(?:two|three|four) (?:options|layers|parts|things|steps|"
        r"approaches|"
        r"questions|pieces|paths)[.:]|(?:numbers|scope|api|components|estimates|recap|bottlenecks|monitoring|"
        r"failure modes|data model|storage|writes|reads) ?(?:then)?[.:])|^[a-z][a-z /'-]{1,24}: "
    ),
    "reasoning": _P(r"\b(?:because|since|so that|which means|that means|therefore|hence)\b"),
    "consequence": _P(
        r"\b(?:so|therefore|hence|which means|that means|this means|meaning|thus|follows from)\b[^.]{0,120}"
        r"\b(?:need|needs|use|enough|fits?|requires?|shard\w*|partition\w*|cache|caching|servers?|characters?|"
        r"replicas?|machines?|nodes?|pays? off|dominate\w*|memory|one machine|single (?:machine|node|"
        r"server))\b"
    ),
}


_DISMISSIVE = _P(
    r"\b(?:shouldn'?t|won'?t|wouldn'?t|doesn'?t|don'?t|never|can'?t) (?:really )?(?:go down|fail|break|crash|"
    r"be a problem|matter|need|happen)|\b(?:no|not a|nothing to) (?:bottlenecks?|problem|issue|worry)|"
    r"\bcan (?:just )?ignore\b|\bpretty rare\b|\bnot worth\b|\bjust works\b|\bhandles? (?:it|that) "
    r"(?:for us|automatically)|either (?:works|is fine|one)\b"
)
_NEEDS_SUBSTANCE = {"failure", "bottleneck", "next_scale", "consistency", "decision", "tradeoff"}
"""Signals that a dismissive sentence ("it shouldn't go down") does not earn."""


@dataclass
class Evidence:
    """Everything the code verified in one transcript."""

    turns: list[CandidateTurn]
    problem: Problem
    design_turn: int | None
    """Transcript index of the first design statement (or the first turn after the scope phase)."""
    facts_before_design: dict[str, int]
    """Key and non-key fact id -> turn it was asked in, for facts asked before designing."""
    facts_asked: dict[str, int]
    """Every fact asked, at any time (first turn)."""
    checks: list[tuple[int, EstimateCheck]]
    """Estimates matched to a derived number: (turn, check)."""
    unit_estimates: list[tuple[int, str]]
    """Estimates with a unit (any), as (turn, raw)."""
    components: dict[str, Sentence]
    topics: dict[str, Sentence]
    signals: dict[str, list[Sentence]]
    injections: list[tuple[int, Injection]]
    questions: int
    """Question sentences the candidate asked."""
    asked: list[Sentence] = field(default_factory=list)
    """Sentences that really ask something (see `asks`), in order."""

    def design_sentence(self) -> Sentence | None:
        """The sentence of the first design statement that names a component (else its first)."""
        if self.design_turn is None:
            return None
        turn = next((t for t in self.turns if t.index == self.design_turn), None)
        if turn is None or not turn.sentences:
            return None
        for s in turn.sentences:
            if match_components(s, self.problem):
                return Sentence(turn.index, s)
        return Sentence(turn.index, turn.sentences[0])

    def asked_before_design(self) -> list[Sentence]:
        limit = self.design_turn if self.design_turn is not None else 10**9
        return [s for s in self.asked if s.turn < limit]

    @property
    def candidate_texts(self) -> dict[int, str]:
        """Turn index -> cleaned candidate text (no grader-directed sentences): the quotable text."""
        return {t.index: t.clean for t in self.turns}

    @property
    def substantive(self) -> list[CandidateTurn]:
        return [t for t in self.turns if not t.junk]

    @property
    def substantive_words(self) -> int:
        return sum(t.words for t in self.substantive)

    @property
    def words(self) -> int:
        return sum(t.words for t in self.turns)

    @property
    def key_facts(self) -> list[str]:
        return [f.id for f in self.problem.hidden_facts if f.key]

    @property
    def key_before_design(self) -> list[str]:
        return [f for f in self.key_facts if f in self.facts_before_design]

    @property
    def ok_numbers(self) -> dict[str, tuple[int, EstimateCheck]]:
        """Derived numbers estimated within tolerance: number id -> first (turn, check)."""
        out: dict[str, tuple[int, EstimateCheck]] = {}
        for turn, c in self.checks:
            if c.ok and c.number_id not in out:
                out[c.number_id] = (turn, c)
        return out

    @property
    def off_numbers(self) -> dict[str, tuple[int, EstimateCheck]]:
        """Derived numbers estimated outside tolerance and never corrected."""
        ok = self.ok_numbers
        out: dict[str, tuple[int, EstimateCheck]] = {}
        for turn, c in self.checks:
            if not c.ok and c.number_id not in ok and c.number_id not in out:
                out[c.number_id] = (turn, c)
        return out

    @property
    def junk_transcript(self) -> bool:
        """Empty, ':'/'fine', gibberish, off-topic or repeated throughout: no gradable content."""
        on_topic = bool(
            self.facts_asked or self.components or self.topics or self.checks or self.unit_estimates
        )
        return self.substantive_words < 25 or not on_topic or len(self.substantive) < 2

    def signal(self, name: str) -> list[Sentence]:
        return self.signals.get(name, [])


def _phase_of(transcript: Transcript, record: DirectorRecord | None, i: int) -> str | None:
    if record is not None and i < len(record.phases) and record.phases[i]:
        return record.phases[i]
    return transcript.turns[i].phase


def _word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][\w'./-]*", text))


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Whole English words of the bundled MiniLM tokenizer: a 30k-word list that ships offline."""
    path = Path(__file__).resolve().parent.parent / "data" / "minilm" / "tokenizer.json"
    try:
        vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha())


@lru_cache(maxsize=32)
def _problem_words(problem_id: str, text: str) -> frozenset[str]:
    del problem_id  # cache key
    return frozenset(re.findall(r"[a-z]{3,}", text))


def _known(word: str, vocab: frozenset[str], extra: frozenset[str]) -> bool:
    stems = (word, word[:-1], word[:-2], word[:-3])
    return any(len(w) >= 2 and (w in vocab or w in extra) for w in stems)


def is_word_salad(text: str, problem: Problem) -> bool:
    """Keyboard mash mixed with stray real words ("jfjfj 1234 post post the cache mmmm"), which the
    director's gibberish test lets through because some words are real."""
    vocab = _vocabulary()
    words = re.findall(r"[a-z]+", normalise(text))
    if len(words) < 3 or not vocab:
        return False
    extra = _problem_words(problem.id, normalise(problem.model_dump_json()))
    unknown = sum(not _known(w, vocab, extra) for w in words if len(w) >= 3)
    repeats = sum(a == b for a, b in itertools.pairwise(words))
    return (unknown >= 2 and unknown / len(words) >= 0.3) or repeats / len(words) >= 0.3


_STORAGE_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "e": 1e18}
_UNIT_STORAGE = re.compile(r"^\s*([kmgtpe]?)i?b(?:ytes?)?\b")


def _unit_kind(unit: str) -> tuple[str, float]:
    """(family, scale) of a unit: storage in bytes, money, rate, or count (daily counts included)."""
    u = unit.strip().lower()
    m = _UNIT_STORAGE.match(u)
    if m:
        return "storage", _STORAGE_SCALE[m.group(1)]
    if u.startswith("$") or u.startswith("usd") or "dollar" in u:
        return "money", 1.0
    fam = unit_family(unit)
    if fam == "rate":
        return "rate", 1.0
    return "count", 1.0


def lenient_check(est: Estimate, problem: Problem, factor: float = 1.5) -> EstimateCheck | None:
    """A derived number this estimate lands within `factor` of, in a compatible unit.

    Credit only: the shared matcher decides challenges. This catches right answers the strict matcher
    cannot place (e.g. "150 TB of new video a day" against a number in TB/day).
    """
    if not est.unit or est.unit in {"%", "characters", "chars", "character"} or est.family == "duration":
        return None
    kind, scale = _unit_kind(est.unit)
    got = est.value * scale
    best: tuple[float, EstimateCheck] | None = None
    for n in problem.numbers:
        n_kind, n_scale = _unit_kind(n.unit)
        if n_kind != kind:
            continue
        want = n.value * n_scale
        if got <= 0 or want <= 0:
            continue
        ratio = max(got / want, want / got)
        if ratio <= factor and (best is None or ratio < best[0]):
            check = check_estimate(est, n)
            best = (ratio, check.model_copy(update={"ratio": ratio, "ok": True}))
    return best[1] if best else None


_WH = r"(?:what|what's|whats|how|which|who|when|where|why)"
_AUX = r"(?:do|does|did|is|are|was|were|can|could|should|will|would|shall|may|have|has)"
_SUBJECT = (
    r"(?:we|you|i|the|there|it|users?|they|this|that|a|an|our|any|each|every|clients?|people|links?|urls?)"
)
_ASK = re.compile(
    rf"^(?:(?:so|and|also|ok(?:ay)?|then|but|first|great|next|last(?: \w+){{0,2}}|on \w+)[,:]?\s+)?"
    rf"(?:{_WH}\b|{_AUX}\s+{_SUBJECT}\b)"
    r"|\b(?:tell me|let me know|i'?d like to (?:know|ask|clarify|understand|confirm)|"
    r"i (?:want|need|wanted) to (?:know|ask|clarify|understand|confirm)|let me (?:ask|clarify|check|confirm)|"
    r"(?:can|could) you (?:share|tell|give|clarify|confirm)|i'?m wondering|i wonder|curious (?:about|whether"
    r"|if))\b"
)


def asks(sentence: str) -> bool:
    """True when a sentence really asks something: a question mark, or a question/request form.

    Stricter than the director's test so that "Could be NoSQL because it scales." asks nothing.
    """
    s = normalise(sentence)
    return s.endswith("?") or bool(_ASK.search(s))


def asked_facts(text: str, problem: Problem, phase: str | None = None) -> list[str]:
    """Fact ids the text asks for, as the reader reads it."""
    return list(_read(text, problem, phase).facts)


def _read(text: str, problem: Problem, phase: str | None) -> Any:
    try:
        ph = Phase(phase) if phase and phase != "done" else Phase.SCOPE
    except ValueError:
        ph = Phase.SCOPE
    return offline_reader().read(text, problem, ph)


def gather_evidence(
    transcript: Transcript, problem: Problem, record: DirectorRecord | None = None
) -> Evidence:
    """Analyse every candidate turn once and collect the verifiable evidence."""
    turns: list[CandidateTurn] = []
    seen: set[str] = set()
    injections: list[tuple[int, Injection]] = []
    for i, t in enumerate(transcript.turns):
        if t.role != "candidate":
            continue
        found = find_injections(t.content)
        clean = redact_injections(t.content, found) if found else t.content
        phase = _phase_of(transcript, record, i)
        analysis = analyse(_read(strip_marker(clean), problem, phase), problem, None)
        key = normalise(clean)
        repeated = len(key) >= 12 and key in seen
        seen.add(key)
        turns.append(
            CandidateTurn(
                index=i,
                text=t.content,
                clean=clean,
                analysis=analysis,
                phase=phase,
                words=_word_count(strip_marker(clean)),
                injections=found,
                repeated=repeated,
                salad=is_word_salad(clean, problem),
            )
        )
        injections.extend((i, inj) for inj in found)

    design_turn: int | None = None
    for ct in turns:
        if ct.junk:
            continue
        a = ct.analysis
        designing = (a.kind == TurnKind.DESIGN and bool(a.components)) or (
            a.is_design and len(a.components) >= 2 and not a.fact_ids
        )
        later_phase = ct.phase not in _PRE_DESIGN_PHASES
        if designing or later_phase:
            design_turn = ct.index
            break

    facts_asked: dict[str, int] = {}
    for ct in turns:
        if ct.junk:
            continue
        for fid in ct.analysis.fact_ids:
            facts_asked.setdefault(fid, ct.index)
    if record is not None:
        for fid, idx in record.released_facts.items():
            facts_asked.setdefault(fid, idx)
    limit = design_turn if design_turn is not None else 10**9
    facts_before = {fid: idx for fid, idx in facts_asked.items() if idx < limit}

    checks: list[tuple[int, EstimateCheck]] = []
    unit_estimates: list[tuple[int, str]] = []
    components: dict[str, Sentence] = {}
    topics: dict[str, Sentence] = {}
    signals: dict[str, list[Sentence]] = {name: [] for name in SIGNALS}
    questions = 0
    asked: list[Sentence] = []
    for ct in turns:
        if ct.junk:
            continue
        a = ct.analysis
        questions += len(a.questions)
        asked.extend(Sentence(ct.index, s) for s in ct.sentences if asks(s))
        checks.extend((ct.index, c) for c in a.checks)
        strict = {c.candidate_raw for c in a.checks if c.ok}
        for est in a.estimates:
            if est.raw not in strict and est.kind == "total":
                loose = lenient_check(est, problem)
                if loose is not None:
                    checks.append((ct.index, loose))
            fam = unit_family(est.unit) if est.unit else None
            if (
                fam in {"storage", "rate", "daily", "count", "money"}
                and est.unit
                not in {
                    "characters",
                    "chars",
                }
            ) or est.unit in {"characters", "chars", "character"}:
                unit_estimates.append((ct.index, est.raw))
        for sentence in ct.sentences:
            norm = normalise(sentence)
            if a.components:
                for cid in match_components(sentence, problem):
                    components.setdefault(cid, Sentence(ct.index, sentence))
            if a.topics:
                for tid in match_topics(sentence, problem):
                    topics.setdefault(tid, Sentence(ct.index, sentence))
            dismissive = bool(_DISMISSIVE.search(norm))
            if dismissive:
                signals.setdefault("dismissive", []).append(Sentence(ct.index, sentence))
            for name, pattern in SIGNALS.items():
                if dismissive and name in _NEEDS_SUBSTANCE:
                    continue
                if pattern.search(norm):
                    signals[name].append(Sentence(ct.index, sentence))
    return Evidence(
        turns=turns,
        problem=problem,
        design_turn=design_turn,
        facts_before_design=facts_before,
        facts_asked=facts_asked,
        checks=checks,
        unit_estimates=unit_estimates,
        components=components,
        topics=topics,
        signals=signals,
        injections=injections,
        questions=questions,
        asked=asked,
    )


def fact_sentence(ev: Evidence, fact_id: str) -> Sentence | None:
    """The sentence in which a fact was first asked for."""
    idx = ev.facts_asked.get(fact_id)
    if idx is None:
        return None
    for ct in ev.turns:
        if ct.index == idx:
            for s in ct.sentences:
                if fact_id in asked_facts(s, ev.problem, ct.phase):
                    return Sentence(idx, s)
            return Sentence(idx, ct.sentences[0]) if ct.sentences else None
    return None


def estimate_sentence(ev: Evidence, turn: int, raw: str) -> Sentence:
    """The sentence of a candidate turn holding an estimate's raw text."""
    for ct in ev.turns:
        if ct.index == turn:
            for s in ct.sentences:
                if raw in s:
                    return Sentence(turn, s)
    return Sentence(turn, raw)
