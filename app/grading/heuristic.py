"""Deterministic scores from the verified evidence, with caps, quotes and a rationale per dimension.

Each dimension turns its evidence into points; the level decides how many points each score needs
(mid needs fewer, staff more). The same functions produce the caps that bound an LLM judge: a
dimension can never score above what its verified evidence allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from app.grading.evidence import Evidence, Sentence, estimate_sentence, fact_sentence
from app.grading.models import Quote

LEVEL_FACTOR = {"mid": 0.8, "senior": 1.0, "staff": 1.25}
"""Points needed for each score, relative to senior."""

MAX_QUOTE_CHARS = 240


@dataclass
class HeuristicGrade:
    """The evidence-only grade of one dimension."""

    id: str
    score: int
    points: float
    cap: int = 4
    floor: int = 1
    rules: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    rationale: str = ""

    @property
    def has_evidence(self) -> bool:
        """At least one verified quote that counts for the dimension."""
        return any(q.stance == "for" for q in self.quotes)


def trim(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """Shorten a long sentence at a word boundary; the ' ...' keeps it a verifiable quote."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " ..."


def _q(s: Sentence, note: str, stance: Literal["for", "against"] = "for") -> Quote:
    return Quote(turn=s.turn, text=trim(s.text), note=note, stance=stance)


def _score(points: float, thresholds: tuple[float, float, float], level: str) -> int:
    factor = LEVEL_FACTOR.get(level, 1.0)
    return 1 + sum(points >= t * factor for t in thresholds)


def _first(
    sentences: list[Sentence], n: int = 1, after: int | None = None, before: int | None = None
) -> list[Sentence]:
    out: list[Sentence] = []
    seen: set[str] = set()
    for s in sentences:
        if after is not None and s.turn < after:
            continue
        if before is not None and s.turn > before:
            continue
        if s.text in seen:
            continue
        seen.add(s.text)
        out.append(s)
        if len(out) >= n:
            break
    return out


def _distinct(sentences: list[Sentence]) -> list[Sentence]:
    return _first(sentences, n=10**6)


def grade_scoping(ev: Evidence, level: str) -> HeuristicGrade:
    key = ev.key_facts
    kb = ev.key_before_design
    frac = len(kb) / len(key) if key else 0.0
    limit = ev.design_turn if ev.design_turn is not None else 10**9
    assumptions = _first(ev.signal("assumption"), 2, before=limit)
    nfr = _first(ev.signal("nfr_number"), 1, before=limit)
    asked_before = bool(ev.facts_before_design) or bool(ev.asked_before_design())
    asked_any = bool(ev.facts_asked) or bool(ev.asked)
    points = 10 * frac + 1.5 * bool(assumptions) + 1.0 * bool(nfr) + 0.5 * asked_any
    g = HeuristicGrade(id="scoping", score=_score(points, (0.5, 5.5, 9.0), level), points=points)
    for fid in list(ev.facts_before_design)[:3]:
        s = fact_sentence(ev, fid)
        if s:
            g.quotes.append(_q(s, f"asks about {fid.replace('_', ' ')} before designing"))
    g.quotes.extend(_q(s, "states an assumption or the scope") for s in assumptions)
    g.quotes.extend(_q(s, "non-functional requirement with a number") for s in nfr)
    if not asked_before:
        g.cap = 2
        g.rules.append("no clarifying question before the first design statement: scoping capped at 2")
        first = ev.design_sentence()
        if first is not None:
            g.quotes.append(_q(first, "designs before asking", "against"))
    parts = [f"Asked about {len(kb)} of {len(key)} key facts before designing ({', '.join(kb) or 'none'})"]
    late = [f for f in ev.facts_asked if f not in ev.facts_before_design]
    if late:
        parts.append(f"asked later: {', '.join(late)}")
    parts.append(
        "stated assumptions or scope" if assumptions else "no assumptions or out-of-scope items stated"
    )
    parts.append("gave a non-functional requirement with a number" if nfr else "no non-functional numbers")
    g.rationale = "; ".join(parts) + "."
    return g


def grade_estimation(ev: Evidence, level: str) -> HeuristicGrade:
    ok = ev.ok_numbers
    off = ev.off_numbers
    checked_turns = {t for t, _ in ev.checks}
    matched_raw = {c.candidate_raw for _, c in ev.checks}
    unmatched = [(t, r) for t, r in ev.unit_estimates if r not in matched_raw]
    est_turns = checked_turns | {t for t, _ in ev.unit_estimates}
    consequence = [s for s in _distinct(ev.signal("consequence")) if s.turn in est_turns][:2]
    points = 2.0 * len(ok) + 0.5 * min(len(unmatched), 2) + 1.5 * bool(consequence) - 1.0 * len(off)
    g = HeuristicGrade(id="estimation", score=_score(points, (0.5, 3.5, 7.0), level), points=points)
    for _, (turn, c) in list(ok.items())[:4]:
        g.quotes.append(
            _q(
                estimate_sentence(ev, turn, c.candidate_raw),
                f"{c.label}: {c.candidate_raw} (expected {c.expected_text})",
            )
        )
    g.quotes.extend(_q(s, "draws a design consequence from the numbers") for s in consequence[:1])
    for _, (turn, c) in list(off.items())[:2]:
        g.quotes.append(
            _q(
                estimate_sentence(ev, turn, c.candidate_raw),
                f"{c.label}: {c.candidate_raw}, expected {c.expected_text} ({c.ratio:.0f}x off)",
                "against",
            )
        )
    if not ev.unit_estimates and not ev.checks:
        g.cap = 2
        g.rules.append("no estimate with units: estimation capped at 2")
    elif not ok and off:
        g.cap = 2
        g.rules.append("every checked estimate is outside tolerance: estimation capped at 2")
    parts = [
        f"{len(ok)} of {len(ev.problem.numbers)} expected numbers estimated within tolerance"
        + (f" ({', '.join(ok)})" if ok else ""),
        f"{len(off)} off by more than the tolerance" + (f" ({', '.join(off)})" if off else ""),
        f"{len(ev.unit_estimates)} numbers given with units",
        "numbers lead to a design decision"
        if consequence
        else "no design consequence drawn from the numbers",
    ]
    g.rationale = "; ".join(parts) + "."
    return g


def grade_high_level(ev: Evidence, level: str) -> HeuristicGrade:
    comps = ev.problem.components
    named = [c.id for c in comps if c.id in ev.components]
    frac = len(named) / len(comps) if comps else 0.0
    api = _first(ev.signal("api"))
    dm = _first(ev.signal("data_model"))
    flow = _first(ev.signal("flow"))
    points = 6 * frac + 1.5 * bool(api) + 1.5 * bool(dm) + 1.0 * bool(flow)
    g = HeuristicGrade(id="high_level_design", score=_score(points, (1.0, 5.0, 8.0), level), points=points)
    by_sentence: dict[tuple[int, str], list[str]] = {}
    for cid in named:
        s = ev.components[cid]
        by_sentence.setdefault((s.turn, s.text), []).append(cid.replace("_", " "))
    for (turn, text), ids in list(by_sentence.items())[:3]:
        g.quotes.append(_q(Sentence(turn, text), f"names the {', '.join(ids)}"))
    g.quotes.extend(_q(s, "defines an API") for s in api)
    g.quotes.extend(_q(s, "defines a data model") for s in dm)
    g.quotes.extend(_q(s, "walks through a flow") for s in flow)
    if not named:
        g.cap = 2
        g.rules.append("no expected component named: high-level design capped at 2")
    elif not api and not dm:
        g.cap = 2
        g.rules.append("neither an API nor a data model: high-level design capped at 2")
    missing = [c.name for c in comps if c.id not in ev.components]
    g.rationale = (
        f"Named {len(named)} of {len(comps)} expected components"
        + (f" (missing: {', '.join(missing)})" if missing else "")
        + f"; API {'defined' if api else 'not defined'}; data model {'given' if dm else 'not given'}; "
        + ("walked through a flow." if flow else "no end-to-end flow.")
    )
    return g


def grade_deep_dive(ev: Evidence, level: str) -> HeuristicGrade:
    dives = ev.problem.deep_dives
    covered = [d.id for d in dives if d.id in ev.topics]
    start = ev.design_turn or 0
    trade = _distinct(ev.signal("tradeoff"))[:3]
    decide = _distinct(ev.signal("decision"))[:3]
    failure = _first(ev.signal("failure"), 1, after=start)
    consistency = _first(ev.signal("consistency"), 1, after=start)
    points = (
        0.75 * min(len(covered), 4)
        + 1.0 * len(trade)
        + 1.5 * len(decide)
        + 1.0 * bool(failure)
        + 0.5 * bool(consistency)
    )
    g = HeuristicGrade(id="deep_dive", score=_score(points, (2.5, 5.5, 9.0), level), points=points)
    g.quotes.extend(_q(s, "compares alternatives") for s in trade[:2])
    g.quotes.extend(_q(s, "decides with a reason") for s in decide[:2] if s not in trade)
    for tid in covered[:2]:
        g.quotes.append(_q(ev.topics[tid], f"goes into {tid.replace('_', ' ')}"))
    g.quotes.extend(_q(s, "handles failure") for s in failure)
    if not trade and not decide:
        g.cap = 2
        g.rules.append("no alternatives compared and no reasoned decision: deep dive capped at 2")
    missing = [d.title for d in dives if d.id not in ev.topics]
    g.rationale = (
        f"Touched {len(covered)} of {len(dives)} deep-dive topics"
        + (f" (not covered: {'; '.join(missing)})" if missing else "")
        + f"; {len(trade)} comparison(s) of alternatives; {len(decide)} reasoned decision(s); "
        + ("failure handling discussed" if failure else "no failure handling")
        + ("; consistency discussed." if consistency else ".")
    )
    return g


_WRAP = ("bottleneck", "failure", "monitoring", "rollout", "next_scale", "recap")
_WRAP_NOTES = {
    "bottleneck": "names a bottleneck",
    "failure": "discusses a failure mode",
    "monitoring": "says what to monitor",
    "rollout": "covers rollout",
    "next_scale": "plans the next scale step",
    "recap": "recaps the design",
}


def grade_wrap_up(ev: Evidence, level: str) -> HeuristicGrade:
    substantive = ev.substantive
    # Failure talk counts for the wrap-up only late in the interview; the rest counts anywhere.
    late_from = substantive[int(len(substantive) * 0.6)].index if substantive else 0
    wrap_phase = [t.index for t in ev.turns if t.phase in ("wrap_up", "done")]
    if wrap_phase:
        late_from = min(late_from, wrap_phase[0])
    found: dict[str, Sentence] = {}
    for name in _WRAP:
        after = late_from if name in ("failure", "recap") else None
        hits = _first(ev.signal(name), 1, after=after)
        if hits:
            found[name] = hits[0]
    points = float(len(found))
    g = HeuristicGrade(id="wrap_up", score=_score(points, (1.0, 3.0, 5.0), level), points=points)
    g.quotes.extend(_q(s, _WRAP_NOTES[name]) for name, s in list(found.items())[:4])
    if not ({"bottleneck", "failure", "monitoring", "next_scale"} & set(found)):
        g.cap = 2
        g.rules.append("no bottleneck, failure mode, monitoring or next scale step: wrap-up capped at 2")
    missing = [n.replace("_", " ") for n in _WRAP if n not in found]
    g.rationale = (
        f"Covered {len(found)} of {len(_WRAP)} wrap-up themes "
        f"({', '.join(n.replace('_', ' ') for n in found) or 'none'})"
        + (f"; missing: {', '.join(missing)}." if missing else ".")
    )
    return g


def grade_communication(ev: Evidence, level: str) -> HeuristicGrade:
    n = len(ev.turns)
    subs = ev.substantive
    s = len(subs)
    junk_frac = 1 - s / n if n else 1.0
    avg = ev.substantive_words / s if s else 0.0
    signpost = _distinct(ev.signal("signpost"))
    checkin = _distinct(ev.signal("checkin"))
    reasoning = _distinct(ev.signal("reasoning"))
    points = (
        0.4 * min(s, 8)
        + min(avg / 15, 2.0)
        + 0.75 * min(len(signpost), 3)
        + 1.0 * min(len(checkin), 2)
        + 0.4 * min(len(reasoning), 5)
        - 4.0 * junk_frac
    )
    g = HeuristicGrade(id="communication", score=_score(points, (2.0, 5.5, 8.0), level), points=points)
    g.quotes.extend(_q(x, "signposts the next step") for x in signpost[:1])
    g.quotes.extend(_q(x, "checks in with the interviewer") for x in checkin[:1])
    g.quotes.extend(_q(x, "explains the reasoning") for x in reasoning[:1])
    junk = [t for t in ev.turns if t.junk]
    for t in junk[:1]:
        if t.text.strip():
            g.quotes.append(
                Quote(turn=t.index, text=trim(t.text), note="an answer with no content", stance="against")
            )
    if n and junk_frac > 0.5:
        g.cap = 2
        g.rules.append("most answers are empty, off-topic or repeated: communication capped at 2")
    g.rationale = (
        f"{s} of {n} candidate turns carry content (average {avg:.0f} words); {len(signpost)} signpost(s), "
        f"{len(checkin)} check-in(s), {len(reasoning)} explained decision(s), "
        f"{ev.questions} question(s) asked."
    )
    return g


def merge_quotes(quotes: list[Quote]) -> list[Quote]:
    """One entry per quoted sentence, notes joined."""
    merged: dict[tuple[int, str, str], Quote] = {}
    for q in quotes:
        key = (q.turn, q.text, q.stance)
        if key in merged:
            if q.note and q.note not in merged[key].note:
                merged[key].note = f"{merged[key].note}; {q.note}" if merged[key].note else q.note
        else:
            merged[key] = q.model_copy()
    return list(merged.values())


GRADERS: dict[str, Callable[[Evidence, str], HeuristicGrade]] = {
    "scoping": grade_scoping,
    "estimation": grade_estimation,
    "high_level_design": grade_high_level,
    "deep_dive": grade_deep_dive,
    "wrap_up": grade_wrap_up,
    "communication": grade_communication,
}


def grade_heuristic(ev: Evidence, level: str) -> dict[str, HeuristicGrade]:
    """Every dimension's evidence-only grade, with the global and per-dimension caps applied."""
    out: dict[str, HeuristicGrade] = {}
    for dim, fn in GRADERS.items():
        g = fn(ev, level)
        if not g.has_evidence and g.cap > 2:
            g.cap = 2
            g.rules.append("no verifiable evidence: capped at 2")
        if ev.junk_transcript:
            g.cap = 1
            g.rules.append("empty, gibberish, off-topic or repeated transcript: every dimension at the floor")
        g.score = max(1, min(g.score, g.cap))
        g.quotes = merge_quotes(g.quotes)
        out[dim] = g
    return out
