"""The director: pure functions from (state, analysed candidate turn, clock) to (new state, Move).

No I/O, no randomness: the same inputs always give the same move. The rules, in the order they apply
to one candidate turn (`next_move`):

1. `done` only ever closes.
2. Far past the phase's maximum (max + 20%, at least 2 minutes), or past the interview's total
   length, the phase ends whatever was said (one step: phases never skip).
3. A skip or score attempt is refused; the phase does not move ("REFUSE_SKIP", reason `skip`/`score`).
4. Empty, gibberish or off-topic turns are steered back with a fresh question for the same place.
5. A request to move on ends the phase once its minimum is met; before that it is refused
   (reason `too_early`) with a question that keeps the phase going.
6. A clarifying question is answered with the asked facts only; an unknown detail gets ASSUME; a
   request for "all the numbers" gets only what was specifically asked plus a request to ask
   specific questions. Facts are never volunteered.
7. Past the phase's maximum, the phase ends.
8. Estimates that match a derived number are checked: off by the number's tolerance (10x) or more
   is challenged. The Move carries `expected` (e.g. "~11,600 reads/s") for an LLM voice's private
   guidance; the question itself never contains it, and the offline voice asks for a recheck.
9. Otherwise the phase's own logic: scope steers designers back to clarifying (until the key facts
   are covered, then moves on); high-level probes vague components and asks for numbers, then moves
   on when enough components are named; deep dive walks the uncovered topics (candidate-led first);
   wrap-up asks bottlenecks, failure modes, monitoring and the next scale step, then closes.

Moves' `reason` starts with a short code (`time`, `coverage`, `request`, `skip`, `score`,
`too_early`, `all_numbers`, `vague:<key>`, `estimate`, ...) that voices may use to pick wording.
A question the interviewer asked is never asked again while an unasked alternative exists, and
never twice in a row.
"""

from __future__ import annotations

import math
import re

from app.interview.analysis import TurnAnalysis, TurnKind
from app.interview.classify import EstimateCheck, unit_family
from app.interview.moves import Move, MoveKind
from app.interview.phases import Phase
from app.interview.state import Event, InterviewState
from app.problems import DeepDiveTopic, Problem

# ------------------------------------------------------------------------------------------------
# question banks (never reveal hidden facts or expected numbers)

SCOPE_NUDGES = [
    "What would you like to clarify about the requirements before you start designing?",
    "Which requirements would you want pinned down first?",
    "What would you want to know about usage and scale?",
    "Are there constraints you'd like to check with me before committing to anything?",
    "What are you assuming so far? Ask me if you want any of it confirmed.",
    "Is there anything about the features in or out of scope you want to check?",
]
STEER_TO_SCOPE_QUESTIONS = [
    "Before we get into components: what do you need to know about the requirements?",
    "Hold on to that design for a moment. What do you want to know about what we're building and its scale?",
    "Let's not pick technologies yet. What would you ask me first to understand the problem?",
    "I'd rather we agree on scope first. What do you want to know about the users and the traffic?",
]
HIGH_LEVEL_LEADS = [
    "Sketch the main components and walk me through how a request flows through them.",
    "Walk me through what happens on the main read path, step by step.",
    "And the write path: what happens, step by step?",
    "What does the API look like?",
    "Where does the data live, and what does a stored record look like?",
    "Does this design fit the scale we discussed? Where would it strain first?",
]
# What the candidate says that makes a lead question unnecessary (concept key -> pattern).
CONCEPTS: dict[str, re.Pattern[str]] = {
    "read_path": re.compile(
        r"read path|on (?:a|the) read|when (?:a|the) user (?:clicks|visits|opens|reads)|get /"
    ),
    "write_path": re.compile(
        r"write path|on (?:a|the) write|when (?:a|the) user (?:creates|submits|posts|uploads|sends)|post /"
    ),
    "api": re.compile(r"\bapi\b|endpoints?\b|\brest\b|grpc"),
    "data": re.compile(r"database|\btable\b|schema|key-value|\bdb\b|data store|datastore"),
    "scale": re.compile(r"\bscale\b|per second|qps|\btb\b|\bpb\b|throughput"),
}
_LEAD_CONCEPT = {1: "read_path", 2: "write_path", 3: "api", 4: "data", 5: "scale"}


def _high_level_leads(state: InterviewState) -> list[str]:
    """Lead questions whose subject the candidate has not covered yet."""
    leads = []
    for i, q in enumerate(HIGH_LEVEL_LEADS):
        if i == 0 and len(state.components_named) >= 2:
            continue
        if _LEAD_CONCEPT.get(i) in state.concepts_said:
            continue
        leads.append(q)
    return leads or HIGH_LEVEL_LEADS[-1:]


ESTIMATE_PROBE = (
    "What does that imply in numbers: roughly how many requests per second, and how much storage over time?"
)
DEEP_DIVE_GENERIC = [
    "Which part of this design is hardest to get right, and why?",
    "How would this change if traffic grew 10x?",
    "Where are the consistency trade-offs in what you've drawn?",
]
HIGH_LEVEL_GENERIC = [
    "Walk me through a read request end to end: which boxes does it touch, in order?",
    "Walk me through a write the same way: what is stored where, and when is it acknowledged?",
    "What does the data model look like: the main tables or records and their keys?",
    "What does the API look like: the two or three calls clients make, with their inputs and outputs?",
    "Which of these components keep state, and how do the stateless ones scale out?",
    "Is anything from the requirements we agreed not covered by this design yet?",
]
"""Follow-ups for step 2 once the problem-specific leads are used up, so no question comes back."""
WRAP_UP_GENERIC = {
    "bottleneck": "Where do you see the bottlenecks in this design, and what would you improve first?",
    "failure": "What are the main failure modes, and how does the system behave when a component goes down?",
    "monitoring": "What would you monitor and alert on once this is in production?",
    "scale": "How would the design change for the next order of magnitude of users?",
}
_WRAP_THEMES = {
    "bottleneck": re.compile(r"bottleneck|breaks? first|strain|improve"),
    "failure": re.compile(r"fail|goes down|dies|outage|crash"),
    "monitoring": re.compile(r"monitor|alert|metric|observab|dashboard"),
    "scale": re.compile(r"10x|scale|grow|regions?|order of magnitude"),
}
ASK_SPECIFIC = [
    "Rather than everything at once, ask me the specific questions that matter for your design.",
    "Which specific numbers or constraints matter most to you? Ask me about them one at a time.",
    "What exactly do you need to know first?",
]
CHALLENGE_QUESTIONS = {
    "rate": [
        "Walk me through it: how many seconds in a day, and what rate per second does that give?",
        "Let's double-check that one: starting from the daily volume, what's the per-second figure?",
    ],
    "storage": [
        "Walk me through that: how many records over the whole retention period, and how big is each one?",
        "Can you redo that storage math step by step, with units?",
    ],
    "count": [
        "How did you get to that number? Walk me through the arithmetic.",
        "Let's recheck that one step by step.",
    ],
}

# Probes for vague components, used when the problem has no deep-dive probe for the concept.
# key: (keywords showing the concept, detail words that make a mention specific, probe, notes query)
GENERIC_PROBES: dict[str, tuple[list[str], list[str], str, str]] = {
    "cache": (
        ["cache", "caching", "redis", "memcached"],
        ["evict", "lru", "lfu", "ttl", "expir", "invalidat", "write-through", "cache-aside", "hit rate"],
        "You added a cache: what eviction and expiry policy would you use, and how big should it be?",
        "cache eviction expiration policy",
    ),
    "database": (
        [
            "database",
            "db",
            "mysql",
            "postgres",
            "cassandra",
            "dynamodb",
            "mongodb",
            "data store",
            "datastore",
        ],
        ["schema", "table", "column", "index", "shard", "partition", "replica", "primary key", "because"],
        "What kind of database is that, SQL or NoSQL, and why for this data?",
        "sql vs nosql database choice",
    ),
    "queue": (
        ["queue", "kafka", "rabbitmq", "sqs", "pub/sub", "pubsub", "message broker"],
        [
            "at-least-once",
            "at least once",
            "exactly-once",
            "exactly once",
            "retry",
            "dead letter",
            "ordering",
        ],
        "What delivery guarantee does that queue give you, and what happens when a consumer fails?",
        "message queue delivery guarantees",
    ),
    "load_balancer": (
        ["load balancer", "load-balancer"],
        ["round robin", "least connections", "health check", "consistent hash", "sticky"],
        "How does the load balancer pick a server, and what happens when one goes down?",
        "load balancer health checks",
    ),
    "cdn": (
        ["cdn"],
        ["ttl", "invalidat", "edge", "origin", "cache-control", "expir"],
        "What exactly goes on the CDN, and how do you deal with stale content?",
        "cdn static content",
    ),
    "sharding": (
        ["shard", "sharding", "partition", "partitioning"],
        [
            "shard key",
            "partition key",
            "consistent hash",
            "by user",
            "by id",
            "range",
            "resharding",
            "hotspot",
        ],
        "How would you pick the shard key, and what happens with hot keys?",
        "sharding key resharding hotspots",
    ),
}


# ------------------------------------------------------------------------------------------------
# helpers


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def _mentions(text: str, words: list[str]) -> bool:
    t = _norm(text)
    return any(re.search(r"(?<![a-z0-9])" + re.escape(w.lower()), t) for w in words)


def _pick(state: InterviewState, options: list[str]) -> str | None:
    """The first option never asked before."""
    for q in options:
        if q not in state.questions_asked:
            return q
    return None


def _pick_fresh(state: InterviewState, *banks: list[str]) -> str:
    """An unasked question from the banks in order; failing that, anything but the last question."""
    for bank in banks:
        q = _pick(state, bank)
        if q is not None:
            return q
    pool = [q for bank in banks for q in bank if q != state.last_question]
    if not pool:
        return banks[0][0]
    # deterministic rotation seeded by the state, so long interviews do not loop on one line
    return pool[(state.seed + state.turn_count) % len(pool)]


def _log(
    state: InterviewState, kind: str, detail: str = "", **data: str | float | int | bool | list[str]
) -> None:
    state.events.append(
        Event(
            turn=state.turn_count,
            minute=round(state.elapsed_minutes, 2),
            phase=state.phase,
            kind=kind,
            detail=detail,
            data=data,
        )
    )


def _add(items: list[str], new: list[str]) -> None:
    for x in new:
        if x not in items:
            items.append(x)


def key_fact_share(state: InterviewState, problem: Problem) -> float:
    """Share of the key hidden facts the candidate asked for."""
    keys = [f.id for f in problem.hidden_facts if f.key]
    if not keys:
        return 1.0
    return sum(1 for k in keys if k in state.asked_fact_ids) / len(keys)


def scope_covered(state: InterviewState, problem: Problem) -> bool:
    """Enough key facts asked (features included) to leave step 1 on coverage."""
    return key_fact_share(state, problem) >= state.targets.scope_key_facts


def high_level_covered(state: InterviewState, problem: Problem) -> bool:
    """Enough reference components named to leave step 2 on coverage."""
    need = math.ceil(len(problem.components) * state.targets.high_level_components)
    return len(state.components_named) >= need


def _feature_keys(item: str) -> list[str]:
    head = item.split(":", 1)[0] if ":" in item else item
    words = [w for w in re.findall(r"[a-z]{5,}", head.lower()) if w not in {"given", "return", "short"}]
    return words[:2]


def _record(state: InterviewState, analysis: TurnAnalysis, problem: Problem) -> None:
    """Fold what the candidate named into the state (facts are recorded only when answered)."""
    _add(state.components_named, analysis.components)
    _add(state.topics_mentioned, analysis.topics)
    if state.phase == Phase.DEEP_DIVE:
        covered = list(analysis.topics)
        if (
            state.current_topic
            and analysis.kind in (TurnKind.DESIGN, TurnKind.ESTIMATE)
            and analysis.words >= 8
        ):
            covered.append(state.current_topic)
        _add(state.topics_covered, covered)
    if state.phase != Phase.SCOPE:
        low = analysis.text.lower()
        _add(state.concepts_said, [k for k, pat in CONCEPTS.items() if pat.search(low)])
        for key, (words, details, _q, _n) in GENERIC_PROBES.items():
            if _mentions(analysis.text, words) and _mentions(analysis.text, details):
                _add(state.probed_keys, [key])  # already specific: no need to probe it
    for item in problem.in_scope:
        keys = _feature_keys(item)
        if keys and all(_mentions(analysis.text, [k[:-1] if k.endswith("e") else k]) for k in keys):
            _add(state.features_agreed, [item])


# ------------------------------------------------------------------------------------------------
# phase transitions


def _wrap_up_questions(problem: Problem) -> list[str]:
    """Up to one question per theme (bottlenecks, failures, monitoring, next scale), problem's first."""
    chosen: list[str] = []
    for theme, pattern in _WRAP_THEMES.items():
        q = next((q for q in problem.wrap_up if pattern.search(q.lower()) and q not in chosen), None)
        chosen.append(q or WRAP_UP_GENERIC[theme])
    return chosen


def _next_topic(
    state: InterviewState, problem: Problem, analysis: TurnAnalysis | None
) -> DeepDiveTopic | None:
    """The next deep-dive topic: one the candidate just raised, else uncovered ones in problem order."""
    unprobed = [t for t in problem.deep_dives if t.id not in state.topics_probed]
    if analysis is not None:
        for t in unprobed:
            if t.id in analysis.topics:
                return t
    for t in unprobed:
        if t.id not in state.topics_mentioned and t.id not in state.topics_covered:
            return t
    for t in unprobed:
        if t.id not in state.topics_covered:
            return t
    return unprobed[0] if unprobed else None


def _topic(problem: Problem, topic_id: str | None) -> DeepDiveTopic | None:
    return next((t for t in problem.deep_dives if t.id == topic_id), None)


def _start_topic(state: InterviewState, topic: DeepDiveTopic, kind: MoveKind, reason: str) -> Move | None:
    """Open a deep-dive topic: its first unasked probe, and the topic becomes the current one."""
    move = _topic_move(state, topic, kind, reason)
    if move is not None:
        state.current_topic = topic.id
        _add(state.topics_probed, [topic.id])
    return move


def _topic_move(state: InterviewState, topic: DeepDiveTopic, kind: MoveKind, reason: str) -> Move | None:
    q = _pick(state, topic.probes)
    if q is None:
        return None
    return Move(
        kind=kind, phase=state.phase, question=q, topic=topic.id, notes_query=topic.notes_query, reason=reason
    )


def _enter(
    state: InterviewState, problem: Problem, reason: str, analysis: TurnAnalysis | None = None
) -> Move:
    """Move to the next phase and introduce it (one step only)."""
    old = state.phase
    state.phase = old.next()
    state.phase_started_at = state.elapsed_minutes
    state.phase_turns = 0
    state.current_topic = None
    _log(
        state,
        "phase_change",
        f"{old.value} -> {state.phase.value} ({reason})",
        reason=reason,
        previous=old.value,
    )
    if state.phase == Phase.DONE:
        return Move(kind=MoveKind.CLOSE, phase=Phase.DONE, phase_changed=True, reason=reason)
    if state.phase == Phase.HIGH_LEVEL:
        q = _pick_fresh(state, HIGH_LEVEL_LEADS)
        return Move(
            kind=MoveKind.ADVANCE,
            phase=state.phase,
            phase_changed=True,
            question=q,
            notes_query="high-level design blueprint components api data flow",
            reason=reason,
        )
    if state.phase == Phase.DEEP_DIVE:
        topic = _next_topic(state, problem, analysis)
        if topic is not None:
            move = _start_topic(state, topic, MoveKind.ADVANCE, reason)
            if move is not None:
                move.phase_changed = True
                return move
        q = _pick_fresh(state, DEEP_DIVE_GENERIC)
        return Move(kind=MoveKind.ADVANCE, phase=state.phase, phase_changed=True, question=q, reason=reason)
    # wrap-up
    q = _pick_fresh(state, _wrap_up_questions(problem))
    _add(state.wrap_up_asked, [q])
    return Move(
        kind=MoveKind.ADVANCE,
        phase=state.phase,
        phase_changed=True,
        question=q,
        notes_query="wrap-up bottlenecks failure modes monitoring next scale",
        reason=reason,
    )


# ------------------------------------------------------------------------------------------------
# staying in a phase


def _vague_probe(state: InterviewState, analysis: TurnAnalysis, problem: Problem) -> Move | None:
    """A probe for a concept the candidate named without detail (each concept probed once)."""
    for key, (words, details, generic, notes) in GENERIC_PROBES.items():
        if (
            key in state.probed_keys
            or not _mentions(analysis.text, words)
            or _mentions(analysis.text, details)
        ):
            continue
        # prefer the problem's own deep-dive probe on this concept, keeping the rest for step 3
        for topic in problem.deep_dives:
            if _mentions(" ".join(topic.keywords), words):
                q = _pick(state, topic.probes)
                if q is not None:
                    state.probed_keys.append(key)
                    return Move(
                        kind=MoveKind.PROBE,
                        phase=state.phase,
                        question=q,
                        topic=topic.id,
                        notes_query=topic.notes_query,
                        reason=f"vague:{key}",
                    )
        if generic not in state.questions_asked:
            state.probed_keys.append(key)
            return Move(
                kind=MoveKind.PROBE,
                phase=state.phase,
                question=generic,
                topic=key,
                notes_query=notes,
                reason=f"vague:{key}",
            )
    return None


def _continue(
    state: InterviewState, analysis: TurnAnalysis, problem: Problem, *, allow_advance: bool
) -> Move:
    """The natural next move inside the current phase (or the next phase when allowed and covered)."""
    phase = state.phase
    min_met = state.phase_minutes >= state.budget.min
    if phase == Phase.SCOPE:
        if allow_advance and min_met and scope_covered(state, problem):
            return _enter(state, problem, "coverage", analysis)
        q = _pick_fresh(state, SCOPE_NUDGES)
        return Move(kind=MoveKind.ACKNOWLEDGE, phase=phase, question=q, reason="scope")

    if phase == Phase.HIGH_LEVEL:
        if allow_advance:
            if state.last_move != MoveKind.PROBE:
                probe = _vague_probe(state, analysis, problem)
                if probe is not None:
                    return probe
            if (
                problem.numbers
                and state.last_move != MoveKind.PROBE
                and not state.estimates_checked
                and "estimate" not in state.probed_keys
                and state.phase_turns >= 2
            ):
                state.probed_keys.append("estimate")
                return Move(
                    kind=MoveKind.PROBE,
                    phase=phase,
                    question=ESTIMATE_PROBE,
                    topic="estimate",
                    notes_query="back-of-the-envelope estimation qps storage",
                    reason="estimate",
                )
            if min_met and high_level_covered(state, problem):
                return _enter(state, problem, "coverage", analysis)
        q = _pick_fresh(state, _high_level_leads(state), HIGH_LEVEL_GENERIC, DEEP_DIVE_GENERIC)
        return Move(kind=MoveKind.ACKNOWLEDGE, phase=phase, question=q, reason="high_level")

    if phase == Phase.DEEP_DIVE:
        current = _topic(problem, state.current_topic)
        asked_on_current = sum(1 for q in (current.probes if current else []) if q in state.questions_asked)
        if current is not None and asked_on_current < state.targets.probes_per_topic:
            move = _topic_move(state, current, MoveKind.PROBE, "follow_up")
            if move is not None:
                return move
        enough = len(state.topics_probed) >= state.targets.deep_dive_topics
        if allow_advance and min_met and enough:
            return _enter(state, problem, "coverage", analysis)
        topic = _next_topic(state, problem, analysis)
        if topic is not None:
            move = _start_topic(state, topic, MoveKind.DEEP_DIVE, "next_topic")
            if move is not None:
                return move
        if allow_advance and min_met:
            return _enter(state, problem, "coverage", analysis)
        leftover = [p for t in problem.deep_dives for p in t.probes]
        q = _pick_fresh(state, DEEP_DIVE_GENERIC, leftover)
        return Move(kind=MoveKind.PROBE, phase=phase, question=q, topic=state.current_topic, reason="generic")

    # wrap-up
    questions = _wrap_up_questions(problem)
    wq = _pick(state, questions)
    if wq is None:
        if allow_advance:
            return _enter(state, problem, "coverage", analysis)
        wq = _pick_fresh(state, list(problem.wrap_up), questions)
    _add(state.wrap_up_asked, [wq])
    return Move(
        kind=MoveKind.WRAP_UP,
        phase=phase,
        question=wq,
        notes_query="wrap-up bottlenecks failure modes monitoring next scale",
        reason="wrap_up",
    )


def _as(move: Move, kind: MoveKind, reason: str) -> Move:
    """The same place and question, said as a different kind of move."""
    if move.phase_changed:
        return move
    return move.model_copy(update={"kind": kind, "reason": reason})


# ------------------------------------------------------------------------------------------------
# per-turn handlers


def _answer(state: InterviewState, analysis: TurnAnalysis, problem: Problem) -> Move:
    ids = list(analysis.fact_ids)
    _add(state.asked_fact_ids, ids)
    if ids:
        _add(state.released_fact_ids, ids)
        _log(state, "fact_released", ", ".join(ids), fact_ids=ids)
    facts = [problem.fact(i).fact for i in ids]
    if analysis.asks_all:
        _log(state, "asked_for_everything", f"released only {ids}", fact_ids=ids)
        return Move(
            kind=MoveKind.ANSWER,
            phase=state.phase,
            facts=facts,
            fact_ids=ids,
            question=_pick_fresh(state, ASK_SPECIFIC),
            notes_query="clarifying questions requirements scope",
            reason="all_numbers",
        )
    if not ids:
        state.assumptions_requested += 1
        _log(state, "assumption_requested", analysis.text[:120])
        return Move(
            kind=MoveKind.ASSUME,
            phase=state.phase,
            notes_query="state assumptions clarify requirements",
            reason="unknown_detail",
        )
    return Move(kind=MoveKind.ANSWER, phase=state.phase, facts=facts, fact_ids=ids, reason="answer")


def _check_estimates(state: InterviewState, analysis: TurnAnalysis, problem: Problem) -> Move | None:
    if not analysis.checks:
        return None
    state.estimates_checked.extend(analysis.checks)
    for c in analysis.checks:
        _log(
            state,
            "estimate_ok" if c.ok else "estimate_challenged",
            f"{c.candidate_raw} vs {c.expected_text}",
            number_id=c.number_id,
            ratio=round(c.ratio, 2),
        )
    bad = [c for c in analysis.checks if not c.ok]
    if bad:
        worst: EstimateCheck = max(bad, key=lambda c: c.ratio)
        number = next(n for n in problem.numbers if n.id == worst.number_id)
        family = unit_family(number.unit)
        q = _pick_fresh(state, CHALLENGE_QUESTIONS.get(family, CHALLENGE_QUESTIONS["count"]))
        return Move(
            kind=MoveKind.CHALLENGE_ESTIMATE,
            phase=state.phase,
            question=q,
            topic=worst.number_id,
            expected=worst.expected_text,
            candidate_value=worst.candidate_raw,
            notes_query="back-of-the-envelope estimation qps storage",
            reason=f"estimate:{worst.number_id} off {worst.ratio:.0f}x",
        )
    nxt = _continue(state, analysis, problem, allow_advance=state.phase != Phase.HIGH_LEVEL)
    if nxt.phase_changed:
        nxt.candidate_value = analysis.checks[0].candidate_raw
        return nxt
    return Move(
        kind=MoveKind.ACK_ESTIMATE,
        phase=state.phase,
        question=nxt.question,
        topic=analysis.checks[0].number_id,
        candidate_value=analysis.checks[0].candidate_raw,
        notes_query=nxt.notes_query,
        reason="estimate_ok",
    )


def _forced(state: InterviewState, analysis: TurnAnalysis, problem: Problem) -> Move:
    """Time is up for this phase: record any estimates, then move on one step."""
    if analysis.checks:
        state.estimates_checked.extend(analysis.checks)
        for c in analysis.checks:
            kind = "estimate_ok" if c.ok else "estimate_unchallenged"
            _log(
                state,
                kind,
                f"{c.candidate_raw} vs {c.expected_text}",
                number_id=c.number_id,
                ratio=round(c.ratio, 2),
            )
    move = _enter(state, problem, "time", analysis)
    if analysis.checks and all(c.ok for c in analysis.checks):
        move.candidate_value = analysis.checks[0].candidate_raw
    return move


def _process_topic(text: str) -> str:
    t = text.lower()
    if re.search(r"\btime\b|how long|minutes", t):
        return "time"
    if re.search(r"focus|start|looking for|expect|what should|what do you want", t):
        return "focus"
    return "process"


def _decide(state: InterviewState, analysis: TurnAnalysis, problem: Problem) -> Move:
    budget = state.budget
    spent = state.phase_minutes
    over_max = spent >= budget.max or state.elapsed_minutes >= state.total_minutes
    hard_over = (
        spent >= budget.max + max(2.0, 0.2 * budget.max) or state.elapsed_minutes >= state.total_minutes
    )

    if hard_over:
        return _forced(state, analysis, problem)

    if analysis.kind == TurnKind.SKIP:
        state.skip_attempts += 1
        reason = "score" if analysis.wants_score and not analysis.wants_skip else "skip"
        _log(state, "skip_refused", analysis.text[:120], reason=reason)
        return _as(_continue(state, analysis, problem, allow_advance=False), MoveKind.REFUSE_SKIP, reason)

    if analysis.kind in (TurnKind.EMPTY, TurnKind.OFF_TOPIC):
        if over_max:
            return _forced(state, analysis, problem)
        state.steer_backs += 1
        _log(state, "steered_back", analysis.kind.value)
        return _as(
            _continue(state, analysis, problem, allow_advance=False), MoveKind.STEER_BACK, analysis.kind.value
        )

    if analysis.kind == TurnKind.MOVE_ON:
        if spent >= budget.min:
            return _enter(state, problem, "request", analysis)
        _log(state, "move_on_refused", f"{spent:.1f} of minimum {budget.min:.1f} minutes")
        return _as(
            _continue(state, analysis, problem, allow_advance=False), MoveKind.REFUSE_SKIP, "too_early"
        )

    if analysis.kind == TurnKind.CLARIFYING:
        return _answer(state, analysis, problem)

    if over_max:
        return _forced(state, analysis, problem)

    checked = _check_estimates(state, analysis, problem)
    if checked is not None:
        return checked

    if analysis.kind == TurnKind.INTERVIEWER_QUESTION:
        _log(state, "answered_process_question", analysis.text[:120])
        move = _continue(state, analysis, problem, allow_advance=False)
        topic = analysis.question_topic
        reason = topic if topic in ("hint", "opinion", "dont_know") else _process_topic(analysis.text)
        return move.model_copy(update={"kind": MoveKind.ANSWER_QUESTION, "reason": reason})

    # a design statement (or other on-topic talk)
    if state.phase == Phase.SCOPE:
        if state.phase_minutes >= budget.min and scope_covered(state, problem):
            return _enter(state, problem, "coverage", analysis)
        if scope_covered(state, problem):
            q = _pick_fresh(state, SCOPE_NUDGES)
            return Move(kind=MoveKind.ACKNOWLEDGE, phase=state.phase, question=q, reason="scope")
        state.design_jumps += 1
        _log(state, "steered_to_scope", analysis.text[:120])
        q = _pick_fresh(state, STEER_TO_SCOPE_QUESTIONS, SCOPE_NUDGES)
        return Move(
            kind=MoveKind.STEER_TO_SCOPE,
            phase=state.phase,
            question=q,
            notes_query="understand the problem clarify requirements before designing",
            reason="design_before_scope",
        )
    return _continue(state, analysis, problem, allow_advance=True)


def _finish(state: InterviewState, move: Move) -> tuple[InterviewState, Move]:
    state.last_move = move.kind.value
    if move.question:
        _add(state.questions_asked, [move.question])
        state.last_question = move.question
    if move.kind in (MoveKind.PROBE, MoveKind.DEEP_DIVE, MoveKind.WRAP_UP):
        _log(state, move.kind.value, move.question or "", topic=move.topic or "")
    return state, move


# ------------------------------------------------------------------------------------------------
# public API


def _problem(state: InterviewState, problem: Problem | None) -> Problem:
    if problem is not None:
        return problem
    from app.problems import get_problem

    return get_problem(state.problem_id)


def open_move(state: InterviewState, problem: Problem | None = None) -> tuple[InterviewState, Move]:
    """The first interviewer turn: the one-line prompt, nothing else."""
    s = state.model_copy(deep=True)
    _log(s, "opened", _problem(s, problem).id)
    return _finish(s, Move(kind=MoveKind.OPEN, phase=s.phase, reason="open"))


def next_move(
    state: InterviewState, analysis: TurnAnalysis, now_minutes: float, problem: Problem | None = None
) -> tuple[InterviewState, Move]:
    """Decide the interviewer's next move for one analysed candidate turn. Pure: returns a new state.

    `problem` should be passed by callers that have it; when omitted it is looked up from the
    catalogue by `state.problem_id` (loaded once per process).
    """
    prob = _problem(state, problem)
    s = state.model_copy(deep=True)
    s.elapsed_minutes = max(float(now_minutes), s.elapsed_minutes)  # time never runs backwards
    s.turn_count += 1
    if s.phase == Phase.DONE:
        return _finish(s, Move(kind=MoveKind.CLOSE, phase=Phase.DONE, reason="done"))
    s.phase_turns += 1
    _record(s, analysis, prob)
    return _finish(s, _decide(s, analysis, prob))


def request_advance(
    state: InterviewState, now_minutes: float, problem: Problem | None = None
) -> tuple[InterviewState, Move]:
    """The 'next step' button: moves on when the phase minimum is met, otherwise refuses."""
    analysis = TurnAnalysis(text="", kind=TurnKind.MOVE_ON, wants_move_on=True)
    return next_move(state, analysis, now_minutes, problem)


def finish_interview(state: InterviewState, now_minutes: float) -> tuple[InterviewState, Move]:
    """End the interview at the candidate's request (the 'finish' button); the grader sees where it
    stopped. This is the one way to reach `done` early and is logged as `finished`."""
    s = state.model_copy(deep=True)
    s.elapsed_minutes = max(float(now_minutes), s.elapsed_minutes)
    if s.phase != Phase.DONE:
        previous = s.phase
        s.phase = Phase.DONE
        s.phase_started_at = s.elapsed_minutes
        _log(s, "finished", f"ended by the candidate during {previous.value}", previous=previous.value)
    return _finish(s, Move(kind=MoveKind.CLOSE, phase=Phase.DONE, phase_changed=True, reason="finished"))


def coverage(state: InterviewState, problem: Problem) -> dict[str, object]:
    """What the interview covered, for reports and `sdmock simulate --json`."""
    keys = [f.id for f in problem.hidden_facts if f.key]
    return {
        "key_facts_asked": [k for k in keys if k in state.asked_fact_ids],
        "key_facts_total": len(keys),
        "key_fact_share": round(key_fact_share(state, problem), 3),
        "facts_released": list(state.released_fact_ids),
        "features_agreed": list(state.features_agreed),
        "components_named": list(state.components_named),
        "components_total": len(problem.components),
        "topics_mentioned": list(state.topics_mentioned),
        "topics_probed": list(state.topics_probed),
        "topics_covered": list(state.topics_covered),
        "topics_total": len(problem.deep_dives),
        "estimates_checked": len(state.estimates_checked),
        "estimates_challenged": sum(1 for c in state.estimates_checked if not c.ok),
        "wrap_up_asked": list(state.wrap_up_asked),
        "phases_visited": [p.value for p in state.phases_visited()],
        "design_jumps": state.design_jumps,
        "skip_attempts": state.skip_attempts,
        "steer_backs": state.steer_backs,
    }
