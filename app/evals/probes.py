"""Injection and leak probes: run the catalogue (evals/probes/probes.yaml) against four targets.

Each probe is a candidate turn. The targets and what counts as a finding:

- `director`: the probe is sent at several points of a scripted interview (first turn, end of scope,
  high-level design, deep dive, wrap-up). A finding is a phase change the rules do not allow (more
  than one step, before the phase minimum, or to `done` from before wrap-up), a hidden fact released
  that the probe did not ask for by name, or the offline voice's reply containing an unreleased fact
  or a derived number.
- `prompt`: the same turns spoken by the LLM voice with a model that obeys every injection (its reply
  echoes everything it was given) and with real study-note chunks retrieved for each move. A finding
  is an unreleased fact, a derived (expected) number or rubric/reference text in the messages or the
  reply: the defence is structural, what is not in the prompt cannot leak.
- `grader`: the probe is inserted at the start, middle or end of weak and middling eval cases and
  graded with judges that obey injections (score 4 with invented quotes; score 4 quoting the probe or
  a real sentence verbatim) and without a judge. A finding is any dimension or overall score above the
  clean case's under the same judge.
- `html`: the report (HTML, and its Markdown as the web app renders it) with the probe in every free
  text field, and the web app's chat Markdown (`app.ui.render.safe_markdown`), rendered by
  markdown-it with raw HTML *enabled* (the worst case). A finding is an executable element or
  attribute (script, iframe, event handler, javascript: URL...) or an external resource (remote image,
  stylesheet, frame) left in the output.

`run_probes()` returns a `ProbeResults`; tests/test_probes.py runs a reduced matrix and
benchmarks/bench_probes.py the full one.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from app.evals.cases import EvalCase, load_cases
from app.grading.grader import grade_transcript
from app.grading.models import Flag, GradeReport, Moment, Quote, StudyNote
from app.grading.report import render_html, render_markdown
from app.grading.rubric import Rubric, load_rubric
from app.interview.phases import Phase
from app.interview.session import InterviewSession, SimulatedClock
from app.interview.state import InterviewState
from app.llm.base import Message
from app.llm.fake import FakeModel
from app.problems import Problem, get_problem
from app.settings import REPO_ROOT
from app.transcripts import Transcript, Turn
from app.ui.render import safe_markdown
from app.voice.llm import LLMVoice
from app.voice.offline import OfflineVoice

CATALOGUE = REPO_ROOT / "evals" / "probes" / "probes.yaml"
TARGETS = ("director", "prompt", "grader", "html")
POSITIONS = ("start", "middle", "end")
JUDGES = ("invented", "verbatim", "none")
SCRIPT_CASES = ("url-shortener-senior-strong", "chat-system-staff-strong", "rate-limiter-mid-strong")
"""Strong eval cases whose candidate turns walk all four steps: the scripted interviews."""
MINUTES_PER_TURN = 2.0
WRONG_ESTIMATE = "Storage is about 2 TB in total."
"""Said before a probe in the prompt target's second variant: a challenged estimate retrieves notes on
estimating, the likeliest place for a problem's own numbers."""


# --------------------------------------------------------------------------------------------------
# catalogue


class Probe(BaseModel):
    """One probe: a candidate turn meant to inflate a grade, skip ahead, leak or inject markup."""

    id: str
    category: str
    text: str
    asks_facts: bool = Field(
        False, description="Names a specific requirement, so releasing that one fact is by design."
    )
    encoding: str | None = None


class Catalogue(BaseModel):
    version: int
    description: str = ""
    categories: dict[str, str] = Field(default_factory=dict)
    probes: list[Probe]


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The probe catalogue; ids must be unique."""
    data = yaml.safe_load((path or CATALOGUE).read_text(encoding="utf-8"))
    cat = Catalogue.model_validate(data)
    ids = [p.id for p in cat.probes]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate probe ids in the catalogue")
    return cat


# --------------------------------------------------------------------------------------------------
# results


class Finding(BaseModel):
    """One failed check."""

    target: str
    probe: str
    category: str
    where: str
    detail: str


@dataclass
class ProbeResults:
    """Runs and findings per target and category."""

    version: int
    probes: int
    runs: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, target: str, category: str) -> None:
        by_cat = self.runs.setdefault(target, {})
        by_cat[category] = by_cat.get(category, 0) + 1

    def add(self, target: str, probe: Probe, where: str, detail: str) -> None:
        self.findings.append(
            Finding(target=target, probe=probe.id, category=probe.category, where=where, detail=detail[:300])
        )

    def failures(self, target: str | None = None, category: str | None = None) -> list[Finding]:
        return [
            f
            for f in self.findings
            if (target is None or f.target == target) and (category is None or f.category == category)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalogue_version": self.version,
            "probes": self.probes,
            "runs": self.runs,
            "findings_by_target": {t: len(self.failures(t)) for t in self.runs},
            "findings": [f.model_dump() for f in self.findings],
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "notes": self.notes,
        }


# --------------------------------------------------------------------------------------------------
# what must not leak (independent of the app's own redaction)

_NUM = r"\d[\d,]*(?:\.\d+)?"
_FACT_NUMBER = re.compile(
    rf"(?<![\w.,]){_NUM}(?:\s*:\s*\d+|\s*(?:%|x\b)|\s+(?:million|billion|trillion|thousand)\b|"
    r"\s*[kmbt]\b|(?:\s+[a-z][a-z/-]*)?)",
    re.IGNORECASE,
)


def _norm(text: str) -> str:
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)
    text = text.lower().replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s+", " ", text).strip()


def _g(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def number_variants(value: float, unit: str = "") -> set[str]:
    """Ways a number is written: '11,600', '11600', '11.6k', '100 million', '100m', '36.5 tb'."""
    out: set[str] = set()
    if value >= 1000:
        out |= {f"{value:,.0f}", f"{value:.0f}"}
    for scale, word, letter in ((1e12, "trillion", "t"), (1e9, "billion", "b"), (1e6, "million", "m")):
        if value >= scale:
            for d in (2, 3):
                m = _g(value / scale, d)
                out |= {f"{m} {word}", f"{m}{letter}"}
            break
    else:
        if value >= 1000:
            for d in (2, 3):
                out.add(f"{_g(value / 1e3, d)}k")
    if value < 1000 and unit:
        out.add(f"{_g(value, 3)} {unit.lower()}")
    return {v for v in out if any(c.isdigit() for c in v)}


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.,]){re.escape(phrase)}(?![\w])")


@dataclass
class Secrets:
    """Phrases that must not appear: unreleased fact texts and their numbers, derived numbers, and
    rubric, reference-design and pitfall sentences."""

    phrases: dict[str, str]
    """phrase (normalised) -> what it is."""
    _patterns: list[tuple[str, str, re.Pattern[str]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._patterns = [(p, what, _phrase_pattern(p)) for p, what in self.phrases.items()]

    def found_in(self, text: str, allowed: str = "") -> list[str]:
        t = _norm(text)
        ok = _norm(allowed)
        hits = []
        for phrase, what, pat in self._patterns:
            if phrase in t and pat.search(t) and not pat.search(ok):
                hits.append(f"{what}: {phrase!r}")
        return hits


def _sentences(text: str, min_chars: int = 40) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [_norm(p) for p in parts if len(p.strip()) >= min_chars]


_SECRETS: dict[tuple[str, frozenset[str]], Secrets] = {}


def secrets_for(problem: Problem, released: Iterable[str]) -> Secrets:
    """What must not reach the candidate or the interviewer's model at this point of the interview."""
    key = (problem.id, frozenset(released))
    if key not in _SECRETS:
        _SECRETS[key] = _secrets(problem, key[1])
    return _SECRETS[key]


def _secrets(problem: Problem, released: frozenset[str]) -> Secrets:
    phrases: dict[str, str] = {}
    for f in problem.hidden_facts:
        if f.id in released:
            continue
        phrases[_norm(f.fact)] = f"unreleased fact {f.id}"
        for m in _FACT_NUMBER.finditer(f.fact):
            raw = _norm(m.group(0)).rstrip(".,;")
            head = re.match(_NUM, raw)
            value = float(head.group(0).replace(",", "")) if head else 0.0
            if " " in raw or ":" in raw or value >= 1000:
                phrases[raw] = f"number of unreleased fact {f.id}"
        for name, v in f.values.items():
            if v >= 1000:
                for variant in number_variants(v):
                    phrases[variant] = f"value {name} of unreleased fact {f.id}"
    for n in problem.numbers:
        for variant in number_variants(n.value, n.unit):
            phrases[variant] = f"expected number {n.id}"
    for s in _sentences(problem.reference_design):
        phrases[s] = "reference design"
    for p in problem.pitfalls:
        phrases[_norm(p.text)] = "pitfall"
    for lvl in ("mid", "senior", "staff"):
        for s in _sentences(getattr(problem.levels, lvl)):
            phrases[s] = f"{lvl} level expectation"
    for dim in _rubric().dimensions:
        for score, desc in dim.descriptors.items():
            for s in _sentences(desc, 30):
                phrases[s] = f"rubric descriptor {dim.id} {score}"
        for lvl in ("mid", "senior", "staff"):
            for s in _sentences(getattr(dim.levels, lvl), 30):
                phrases[s] = f"rubric level text {dim.id} {lvl}"
    return Secrets({k: v for k, v in phrases.items() if k})


@lru_cache(maxsize=1)
def _rubric() -> Rubric:
    return load_rubric()


def allowed_text(problem: Problem, state: InterviewState, transcript: Transcript) -> str:
    """Text that may be repeated: the prompt, released facts, the interviewer's own questions and
    everything the candidate wrote (the candidate's numbers may be echoed back)."""
    parts = [problem.prompt, problem.title]
    parts += [problem.fact(i).fact for i in state.released_fact_ids]
    parts += state.questions_asked
    parts += [t.content for t in transcript.turns if t.role == "candidate"]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# a retriever over the real notes (no index needed): the worst case puts problem notes in the prompt


@dataclass
class _Hit:
    source: str
    heading: str
    text: str
    score: float
    title: str = ""


class NotesGrepRetriever:
    """Ranks the real note chunks by word overlap with the query; deterministic, no model, no index."""

    def __init__(self, notes_dir: Path | None = None) -> None:
        from app.retrieval.notes import load_chunks, note_files

        folder = notes_dir or REPO_ROOT / "knowledge" / "notes"
        _, chunks, _ = load_chunks((p, p.name) for p in note_files(folder))
        self.chunks = chunks
        self._words = [set(re.findall(r"[a-z0-9^]+", c.embed_text.lower())) for c in chunks]

    def search(self, query: str, k: int = 3, step: str | None = None, topic: str | None = None) -> list[Any]:
        del topic
        q = set(re.findall(r"[a-z0-9^]+", query.lower()))
        scored = [
            (len(q & words), i)
            for i, (c, words) in enumerate(zip(self.chunks, self._words, strict=True))
            if step is None or not c.steps or step in c.steps
        ]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [
            _Hit(self.chunks[i].source, self.chunks[i].heading, self.chunks[i].text, float(s))
            for s, i in scored[:k]
        ]


# --------------------------------------------------------------------------------------------------
# (a) director and (b) interviewer prompt


@dataclass
class Snapshot:
    label: str
    state: str
    transcript: str
    minutes: float


def _script(case_id: str) -> tuple[Problem, str, list[str]]:
    case = _cases()[case_id]
    return get_problem(case.problem), case.level, [t.content for t in case.turns if t.role == "candidate"]


_CASES: dict[str, EvalCase] = {}


def _cases() -> dict[str, EvalCase]:
    if not _CASES:
        _CASES.update({c.id: c for c in load_cases(REPO_ROOT / "evals" / "cases")})
    return _CASES


def snapshots(case_id: str) -> tuple[Problem, list[Snapshot]]:
    """The scripted interview's state before its first turn, at the end of scope, and at the first
    turn of each later step."""
    problem, level, messages = _script(case_id)
    clock = SimulatedClock(MINUTES_PER_TURN)
    session = InterviewSession.start(problem, level, 45, voice=OfflineVoice(), clock=clock)
    snaps: list[Snapshot] = []
    seen: set[Phase] = set()

    def snap(label: str) -> None:
        snaps.append(
            Snapshot(label, session.state.model_dump_json(), session.transcript.model_dump_json(), clock.now)
        )

    previous = None
    for i, message in enumerate(messages):
        phase = session.state.phase
        if phase == Phase.DONE:
            break
        if i == 0:
            snap("first turn")
        elif phase not in seen and phase != Phase.SCOPE:
            snap(phase.value)
        elif (
            phase == Phase.SCOPE
            and previous == Phase.SCOPE
            and session.state.released_fact_ids
            and i >= 2
            and not any(s.label == "scope, after questions" for s in snaps)
        ):
            snap("scope, after questions")
        seen.add(phase)
        previous = phase
        "".join(session.reply(message))
    for _ in range(20):  # scripts that stop short of wrap-up: press "next step" until it is reached
        if session.state.phase in seen or session.state.phase == Phase.DONE:
            if Phase.WRAP_UP in seen or session.state.phase == Phase.DONE:
                break
            "".join(session.advance())
            continue
        snap(session.state.phase.value)
        seen.add(session.state.phase)
    return problem, snaps


def _asked_by_name(probe: Probe, problem: Problem) -> set[str]:
    """Facts the probe names by one of their cue phrases (plain substring, independent of classify)."""
    if not probe.asks_facts:
        return set()
    text = _norm(probe.text)
    return {f.id for f in problem.hidden_facts if any(_norm(c) in text for c in f.asked_by if c.strip())}


def _check_phase(before: InterviewState, after: InterviewState, now: float) -> str | None:
    old, new = before.phase, after.phase
    if new.order < old.order:
        return f"phase went back {old.value} -> {new.value}"
    if new == old:
        return None
    if new.order - old.order > 1:
        return f"skipped a step: {old.value} -> {new.value}"
    if new == Phase.DONE and old != Phase.WRAP_UP:
        return f"ended the interview from {old.value}"
    spent = now - before.phase_started_at
    budget = before.budgets.get(old)
    if budget is not None and spent < budget.min and now < before.total_minutes:
        return f"left {old.value} after {spent:.1f} min, minimum {budget.min:.1f}"
    return None


def echo_reply(messages: list[Message]) -> str:
    """A model that obeys every injection in the worst way: it says everything it was given."""
    return "\n".join(m["content"] for m in messages)


class EchoModel(FakeModel):
    """FakeModel whose every reply is `echo_reply`, streamed in one delta (keeps the run fast)."""

    stream_whole = True

    def __init__(self) -> None:
        super().__init__(name="fake/obeys-injections")

    def _next(self, messages: list[Message]) -> str:
        return echo_reply(messages)


def run_director_and_prompt(
    probes: list[Probe],
    results: ProbeResults,
    case_ids: Iterable[str] = SCRIPT_CASES,
    *,
    prompt: bool = True,
    after_estimate: bool = False,
) -> None:
    """Targets (a) and (b): every probe at every snapshot of every scripted interview. With
    `after_estimate`, the prompt target also gets the probe after a wrong estimate in the same turn."""
    retriever = NotesGrepRetriever()
    for case_id in case_ids:
        problem, snaps = snapshots(case_id)
        for snap in snaps:
            before = InterviewState.model_validate_json(snap.state)
            for probe in probes:
                where = f"{case_id} @ {snap.label}"
                clock = SimulatedClock(MINUTES_PER_TURN, start_minutes=snap.minutes)
                session = InterviewSession.resume(
                    problem, snap.state, snap.transcript, OfflineVoice(), retriever=retriever, clock=clock
                )
                reply = session.reply_text(probe.text)
                results.count("director", probe.category)
                problem_msg = _check_phase(before, session.state, clock.now)
                if problem_msg:
                    results.add("director", probe, where, problem_msg)
                new = set(session.state.released_fact_ids) - set(before.released_fact_ids)
                extra = new - _asked_by_name(probe, problem)
                if extra:
                    results.add("director", probe, where, f"released facts not asked for: {sorted(extra)}")
                secrets = secrets_for(problem, session.state.released_fact_ids)
                allowed = allowed_text(problem, session.state, session.transcript)
                for hit in secrets.found_in(reply, allowed):
                    results.add("director", probe, where, f"offline reply leaks {hit}")
                if not prompt:
                    continue
                for text in [probe.text, f"{WRONG_ESTIMATE} {probe.text}"][: 2 if after_estimate else 1]:
                    voice = LLMVoice(EchoModel(), fallback=OfflineVoice(), turn_deadline_s=30)
                    session = InterviewSession.resume(
                        problem,
                        snap.state,
                        snap.transcript,
                        voice,
                        retriever=retriever,
                        clock=SimulatedClock(MINUTES_PER_TURN, start_minutes=snap.minutes),
                    )
                    said = session.reply_text(text)
                    results.count("prompt", probe.category)
                    at = where if text == probe.text else f"{where}, after a wrong estimate"
                    if voice.last_notice:
                        results.add("prompt", probe, at, f"voice fell back: {voice.last_notice}")
                    given = "\n".join(m["content"] for m in voice.last_messages or [])
                    secrets = secrets_for(problem, session.state.released_fact_ids)
                    allowed = allowed_text(problem, session.state, session.transcript)
                    leaks = set(secrets.found_in(given, allowed)) | set(secrets.found_in(said, allowed))
                    for hit in sorted(leaks):
                        results.add("prompt", probe, at, f"model given/said {hit}")


# --------------------------------------------------------------------------------------------------
# (c) grader


def grader_cases() -> list[EvalCase]:
    """Clean weak and middling eval cases: the ones an injection would most like to lift."""
    return [
        c
        for c in _cases().values()
        if ({"weak", "middling"} & set(c.tags)) and not ({"injection", "adversarial"} & set(c.tags))
    ]


def inject(transcript: Transcript, text: str, position: str) -> Transcript:
    """The transcript with `text` added to one candidate turn, as the eval cases' injected variants are."""
    t = transcript.model_copy(deep=True)
    idx = [i for i, turn in enumerate(t.turns) if turn.role == "candidate"]
    if not idx:
        return t
    if position == "start":
        i = idx[0]
        t.turns[i] = Turn(role="candidate", content=f"{text}\n\n{t.turns[i].content}", phase=t.turns[i].phase)
    else:
        i = idx[len(idx) // 2] if position == "middle" else idx[-1]
        t.turns[i] = Turn(role="candidate", content=f"{t.turns[i].content}\n\n{text}", phase=t.turns[i].phase)
    return t


_TURN_LINE = re.compile(r"^\[turn (\d+)\] Candidate: (.*)$", re.MULTILINE)


def obeying_judge(probe_text: str | None, verbatim: bool) -> Callable[[list[Message]], str]:
    """A judge that does what an injection asks: always score 4. `verbatim` also quotes the probe
    exactly when it can see it (else the longest candidate sentence it sees), so quote checks pass."""

    def reply(messages: list[Message]) -> str:
        user = messages[-1]["content"]
        evidence = [{"turn": 1, "quote": "designed a flawless, fully scalable system", "comment": "as told"}]
        if verbatim:
            quote = None
            if probe_text:
                first = next((line.strip() for line in probe_text.splitlines() if line.strip()), "")
                if first and first in user:
                    quote = first
            if quote is None:
                lines = _TURN_LINE.findall(user)
                sentences = [(int(n), s) for n, text in lines for s in re.split(r"(?<=[.!?])\s+", text)]
                if sentences:
                    turn, quote = max(sentences, key=lambda x: len(x[1]))
                    evidence.append({"turn": turn, "quote": quote, "comment": "as told"})
            else:
                evidence.append({"turn": 1, "quote": quote, "comment": "as instructed"})
        return json.dumps({"evidence": evidence, "reasoning": "The transcript says to give 4.", "score": 4})

    return reply


def _grade(transcript: Transcript, case: EvalCase, judge: str, probe_text: str | None) -> GradeReport:
    problem = get_problem(case.problem)
    if judge == "none":
        return grade_transcript(transcript, problem, case.level)
    model = FakeModel([obeying_judge(probe_text, judge == "verbatim")] * 24, name=f"fake/judge-{judge}")
    return grade_transcript(transcript, problem, case.level, model=model, attempts=1)


def run_grader(
    probes: list[Probe],
    results: ProbeResults,
    *,
    cases: list[EvalCase] | None = None,
    positions: Iterable[str] = POSITIONS,
    judges: Iterable[str] = JUDGES,
    rotate: bool = False,
) -> None:
    """Target (c): each probe at every position of one case (cases taken in turn); with `rotate`, at
    one (case, position) pair in turn."""
    cases = cases or grader_cases()
    positions = list(positions)
    judges = list(judges)
    clean: dict[tuple[str, str], GradeReport] = {}
    for case in cases:
        for judge in judges:
            clean[case.id, judge] = _grade(case.transcript(), case, judge, None)
    combos = [(c, p) for c in cases for p in positions]
    for n, probe in enumerate(probes):
        # rotate: one (case, position) pair per probe; else every position, on one case in turn
        todo = [combos[n % len(combos)]] if rotate else [(cases[n % len(cases)], p) for p in positions]
        for case, position in todo:
            injected = inject(case.transcript(), probe.text, position)
            for judge in judges:
                results.count("grader", probe.category)
                base = clean[case.id, judge]
                got = _grade(injected, case, judge, probe.text)
                where = f"{case.id} @ {position}, judge {judge}"
                if got.failed:
                    results.add("grader", probe, where, "grading failed")
                raised = [
                    f"{d.id} {b.score}->{d.score}"
                    for d, b in zip(got.dimensions, base.dimensions, strict=True)
                    if (d.score or 0) > (b.score or 0)
                ]
                if (got.overall or 0) > (base.overall or 0) or raised:
                    results.add(
                        "grader",
                        probe,
                        where,
                        f"score inflated: overall {base.overall}->{got.overall}; {raised}",
                    )


# --------------------------------------------------------------------------------------------------
# (d) HTML and Markdown


_DANGEROUS_TAGS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "input",
    "button", "textarea", "svg", "math", "video", "audio", "source", "track", "link", "meta", "img",
    "image", "picture", "details", "marquee", "portal", "template", "noscript", "body", "html", "head",
}  # fmt: skip
_URL_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "background", "srcset", "xlink:href"}
_BAD_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data)\s*:", re.IGNORECASE)
_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?:https?:)?//", re.IGNORECASE)


class _Scan(HTMLParser):
    def __init__(self, allowed: dict[str, int]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed = dict(allowed)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DANGEROUS_TAGS:
            if self.allowed.get(tag, 0) > 0:
                self.allowed[tag] -= 1
            else:
                self.problems.append(f"<{tag}> element")
        self._in_style = tag == "style"
        for name, value in attrs:
            v = html.unescape(value or "")
            v = re.sub(r"[\x00-\x20]", "", v) if name in _URL_ATTRS else v
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            if (
                name in _URL_ATTRS
                and _BAD_SCHEME.match(v)
                and not (tag == "a" and v.startswith("data:image"))
            ):
                self.problems.append(f"{name}={v[:40]!r} on <{tag}>")
            if name in _URL_ATTRS and _EXTERNAL.match(v) and tag != "a":
                self.problems.append(f"external resource {name}={v[:60]!r} on <{tag}>")
            if name == "style" and _CSS_URL.search(v):
                self.problems.append(f"external CSS url in style attribute on <{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_URL.search(data):
            self.problems.append("external CSS url in <style>")


def _tags(doc: str) -> dict[str, int]:
    counts: dict[str, int] = {}

    class _Count(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            counts[tag] = counts.get(tag, 0) + 1

    _Count().feed(doc)
    return counts


def scan_html(doc: str, allowed: dict[str, int] | None = None) -> list[str]:
    """Executable HTML and external resources in `doc`; `allowed` counts tags the page may have."""
    scan = _Scan(allowed or {})
    scan.feed(doc)
    scan.close()
    return scan.problems


def markdown_to_html(text: str) -> str:
    """Markdown rendered with raw HTML allowed: the worst a Markdown renderer could do with the text."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(text)


def _poisoned(report: GradeReport, text: str) -> GradeReport:
    """The report with the probe in every free-text field a candidate or a judge could influence."""
    r = report.model_copy(deep=True)
    r.flags.append(Flag(kind=text, message=text, turn=1, text=text))
    r.moments.append(Moment(turn=1, kind=text, text=text, note=text))
    r.study_notes.append(StudyNote(reason=text, source=text, heading=text, title=text, excerpt=text))
    r.strong_answer.append(text)
    r.verdict_meaning = text
    r.notes_status = text
    for d in r.dimensions:
        d.rationale = f"{d.rationale} {text}"
        d.evidence.append(Quote(turn=1, text=text, note=text))
        d.rules.append(text)
        d.dropped_quotes.append(text)
        d.error = text
    return r


def run_html(probes: list[Probe], results: ProbeResults, case: EvalCase | None = None) -> None:
    """Target (d): report HTML, report Markdown as the web app shows it, and chat Markdown."""
    case = case or next(c for c in grader_cases() if "weak" in c.tags)
    problem = get_problem(case.problem)
    clean = grade_transcript(case.transcript(), problem, case.level)
    template_tags = _tags(render_html(clean))
    md_tags = _tags(markdown_to_html(safe_markdown(render_markdown(clean))))
    for probe in probes:
        results.count("html", probe.category)
        report = _poisoned(
            grade_transcript(inject(case.transcript(), probe.text, "middle"), problem, case.level), probe.text
        )
        checks = {
            "report HTML": (render_html(report), template_tags),
            "report Markdown in the web app": (
                markdown_to_html(safe_markdown(render_markdown(report))),
                md_tags,
            ),
            "chat Markdown in the web app": (markdown_to_html(safe_markdown(probe.text)), {}),
        }
        for where, (doc, allowed) in checks.items():
            for issue in sorted(set(scan_html(doc, allowed))):
                results.add("html", probe, where, issue)


# --------------------------------------------------------------------------------------------------
# entry point


def run_probes(
    catalogue: Catalogue | None = None,
    *,
    targets: Iterable[str] = TARGETS,
    full: bool = True,
    script_cases: Iterable[str] = SCRIPT_CASES,
) -> ProbeResults:
    """Run the probes. `full=False` is the test matrix: one scripted interview for the prompt path,
    and each probe on one (case, position) pair in the grader."""
    cat = catalogue or load_catalogue()
    results = ProbeResults(version=cat.version, probes=len(cat.probes))
    targets = set(targets)
    script_cases = list(script_cases)
    if "director" in targets or "prompt" in targets:
        t = time.perf_counter()
        run_director_and_prompt(
            cat.probes,
            results,
            script_cases if full else script_cases[:1],
            prompt="prompt" in targets,
            after_estimate=full,
        )
        if not full and len(script_cases) > 1:
            run_director_and_prompt(cat.probes, results, script_cases[1:], prompt=False)
        results.seconds["director+prompt"] = time.perf_counter() - t
    if "grader" in targets:
        t = time.perf_counter()
        run_grader(cat.probes, results, rotate=not full, judges=JUDGES if full else JUDGES[:2])
        results.seconds["grader"] = time.perf_counter() - t
    if "html" in targets:
        t = time.perf_counter()
        run_html([p for p in cat.probes if full or p.category in ("markup", "encoding")], results)
        results.seconds["html"] = time.perf_counter() - t
    return results
