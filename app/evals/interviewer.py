"""Interviewer evals: scripted candidates run through `sdmock simulate`, with checks on the replies.

Each scenario under `evals/interviewer/*.yaml` names a problem, a level, a simulated pace and a list
of candidate messages, plus checks from a small vocabulary (see `CHECK_NAMES`). A scenario runs
through the same code path as `sdmock simulate --json`: the messages go into a temporary file, one
per paragraph, which `read_candidate_file` splits again, and the result is the very document the CLI
prints. `via="function"` calls the functions the command calls (fast: the default); `via="cli"` runs
`python -m app simulate ... --json` in a subprocess (about 2 s a scenario: the smoke run).

Messages are numbered from 1; "reply N" is the interviewer's answer to message N (reply 0 is the
opening). A check may carry `xfail: "reason"` for a known director bug: a failure is then reported as
xfail, and a pass as XPASS, which fails the run so the stale marker gets removed.

    run = run_interviewer_evals()
    write_reports(run, Path("data/eval-reports/interviewer"))
"""

from __future__ import annotations

import fnmatch
import html
import itertools
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from app.errors import KnowledgeError
from app.interview.classify import expected_text, split_sentences
from app.interview.phases import Phase
from app.interview.reading import offline_reader
from app.problems import Problem, get_problem
from app.settings import REPO_ROOT, Settings

SCENARIOS_DIR = REPO_ROOT / "evals" / "interviewer"
REPORT_DIR = Path("data") / "eval-reports" / "interviewer"

Via = Literal["function", "cli"]
Status = Literal["pass", "fail", "xfail", "xpass"]

# check name -> the kind of argument it takes
_ARG_KINDS: dict[str, str] = {
    "facts_only_when_asked": "none",
    "no_unasked_leak": "none",
    "no_number_leak": "none",
    "phases_in_order": "none",
    "no_repeat_in_a_row": "none",
    "no_repeat": "none",
    "reaches": "phase",
    "final_phase": "phase",
    "challenges_estimate": "messages",
    "steers_back": "messages",
    "refuses_skip": "messages",
    "event": "event",
    "no_event": "event",
    "released_facts": "facts",
    "reply_matches": "pattern",
    "reply_not_matches": "pattern",
}
CHECK_NAMES = tuple(_ARG_KINDS)
"""The check vocabulary a scenario may use."""

EVENT_KINDS = {
    "opened",
    "phase_change",
    "fact_released",
    "asked_for_everything",
    "assumption_requested",
    "steered_to_scope",
    "estimate_ok",
    "estimate_challenged",
    "estimate_unchallenged",
    "skip_refused",
    "move_on_refused",
    "steered_back",
    "probe",
    "deep_dive",
    "wrap_up",
    "answered_process_question",
    "finished",
}
"""Event kinds the director logs (app/interview/director.py); a typo in a scenario is an error."""

FILLER_QUESTIONS = re.compile(
    r"^(?:what else|anything else(?: you'd like to know)?|go on|what's next on your list|"
    r"where would you like to start|how would you like to begin)\?$"
)
"""Conversational closers that are not interview questions (never counted as repeats)."""

SCORE_GIVEN = re.compile(
    r"\b(?:your (?:score|grade|rating) (?:is|would be)|you(?:'re| are| would be) a (?:strong )?(?:no )?hire|"
    r"\d+(?:\.\d+)?\s*/\s*(?:4|5|10|100)|i'?d (?:score|grade|rate) (?:you|this))\b",
    re.IGNORECASE,
)
"""A reply that hands out a score or a verdict."""


# --------------------------------------------------------------------------------------------------
# scenarios


class Check(BaseModel):
    """One check on a scenario's run. `arg` depends on the check (see `_ARG_KINDS`)."""

    name: str
    arg: Any = None
    xfail: str | None = Field(None, description="Known bug: the failure is expected; the reason says why.")

    @property
    def label(self) -> str:
        if self.arg is None:
            return self.name
        arg = self.arg if isinstance(self.arg, str | int) else json.dumps(self.arg, sort_keys=True)
        return f"{self.name}: {arg}"


def _parse_check(raw: Any) -> Check:
    if isinstance(raw, str):
        return Check(name=raw)
    if not isinstance(raw, dict):
        raise ValueError(f"a check is a name or a one-key mapping, not {raw!r}")
    names = [k for k in raw if k != "xfail"]
    extra = [k for k in names if k not in _ARG_KINDS]
    if len(names) != 1 or extra:
        raise ValueError(f"a check mapping needs exactly one check name (and optional xfail): {raw!r}")
    xfail = raw.get("xfail")
    if xfail is not None and (not isinstance(xfail, str) or not xfail.strip()):
        raise ValueError("xfail must be a non-empty reason")
    return Check(name=names[0], arg=raw[names[0]], xfail=xfail)


class Scenario(BaseModel):
    """A scripted candidate and what the interviewer must (not) do with it."""

    id: str
    problem: str
    level: Literal["mid", "senior", "staff"] = "senior"
    minutes_per_turn: float = Field(1.5, ge=0)
    minutes: int | None = Field(None, ge=5, le=180, description="Interview length (default: settings).")
    description: str = ""
    messages: list[str] = Field(min_length=1)
    checks: list[Check] = Field(min_length=1)
    path: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _checks(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("checks"), list):
            data = {
                **data,
                "checks": [c if isinstance(c, Check) else _parse_check(c) for c in data["checks"]],
            }
        return data

    @model_validator(mode="after")
    def _valid(self) -> Scenario:
        for i, m in enumerate(self.messages, 1):
            if not m.strip():
                raise ValueError(f"message {i} is empty: the candidate file format cannot carry it")
            if re.search(r"\n\s*\n", m):
                raise ValueError(f"message {i} contains a blank line: it would be split into two")
        for c in self.checks:
            _validate_arg(c, len(self.messages))
        return self


def _messages(arg: Any) -> list[int]:
    return [arg] if isinstance(arg, int) else list(arg) if isinstance(arg, list) else []


def _validate_arg(check: Check, n_messages: int) -> None:
    kind = _ARG_KINDS.get(check.name)
    a = check.arg
    if kind is None:
        raise ValueError(f"unknown check {check.name!r}; known: {', '.join(CHECK_NAMES)}")
    if kind == "none" and a is not None:
        raise ValueError(f"{check.name} takes no argument")
    if kind == "phase" and a not in {p.value for p in Phase}:
        raise ValueError(f"{check.name} needs a phase ({', '.join(p.value for p in Phase)}), got {a!r}")
    if kind == "messages":
        nums = _messages(a)
        if not nums or not all(isinstance(n, int) and not isinstance(n, bool) for n in nums):
            raise ValueError(f"{check.name} needs a message number or a list of them, got {a!r}")
        _check_numbers(check.name, nums, n_messages)
    if kind == "event":
        spec = {"kind": a} if isinstance(a, str) else a
        if (
            not isinstance(spec, dict)
            or spec.get("kind") not in EVENT_KINDS
            or set(spec) - {"kind", "message"}
        ):
            raise ValueError(f"{check.name} needs a known event kind (or {{kind, message}}), got {a!r}")
        if "message" in spec:
            _check_numbers(check.name, [spec["message"]], n_messages)
    if kind == "facts" and (not isinstance(a, list) or not all(isinstance(x, str) for x in a)):
        raise ValueError(f"{check.name} needs a list of fact ids, got {a!r}")
    if kind == "pattern":
        if (
            not isinstance(a, dict)
            or not isinstance(a.get("pattern"), str)
            or set(a) - {"pattern", "message"}
        ):
            raise ValueError(f"{check.name} needs {{pattern: REGEX, message: N (optional)}}, got {a!r}")
        try:
            re.compile(a["pattern"])
        except re.error as exc:
            raise ValueError(f"{check.name}: bad regex {a['pattern']!r}: {exc}") from exc
        if "message" in a:
            _check_numbers(check.name, [a["message"]], n_messages)


def _check_numbers(name: str, nums: list[Any], n_messages: int) -> None:
    for n in nums:
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= n_messages:
            raise ValueError(f"{name}: message number {n!r} is not between 1 and {n_messages}")


def load_scenario(path: Path, problems_dir: Path | None = None) -> Scenario:
    """One scenario file, validated (problem and fact ids included)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        scenario = Scenario.model_validate({**(data or {}), "path": str(path)})
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        raise KnowledgeError(f"bad interviewer scenario {path.name}: {exc}", "fix the YAML file") from exc
    if scenario.id != path.stem:
        raise KnowledgeError(f"scenario id {scenario.id!r} does not match its file {path.name}", "rename one")
    problem = get_problem(scenario.problem, problems_dir) if problems_dir else get_problem(scenario.problem)
    fact_ids = {f.id for f in problem.hidden_facts}
    for c in scenario.checks:
        if c.name == "released_facts":
            unknown = set(c.arg) - fact_ids
            if unknown:
                raise KnowledgeError(
                    f"{path.name}: unknown fact ids {sorted(unknown)} for {problem.id}",
                    f"use some of {sorted(fact_ids)}",
                )
    return scenario


def load_scenarios(folder: Path | None = None, pattern: str = "*") -> list[Scenario]:
    """Every scenario in the folder (default `SCENARIOS_DIR`) whose id matches the glob, sorted by id."""
    folder = folder or SCENARIOS_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise KnowledgeError(f"no interviewer scenarios in {folder}", "add evals/interviewer/*.yaml")
    return [load_scenario(p) for p in files if fnmatch.fnmatch(p.stem, pattern)]


# --------------------------------------------------------------------------------------------------
# running a scenario


def candidate_file_text(messages: list[str]) -> str:
    """The `--candidate` file for the messages: one paragraph each."""
    return "\n\n".join(" ".join(m.split()) for m in messages) + "\n"


def simulate_scenario(
    scenario: Scenario, *, via: Via = "function", settings: Settings | None = None
) -> dict[str, Any]:
    """Run the scenario as `sdmock simulate --json` would and return the JSON document.

    `function` calls the same functions the command calls, in this process; `cli` runs the real
    command in a subprocess (it reads the user's settings, like any `sdmock` run).
    """
    with tempfile.TemporaryDirectory(prefix="sdmock-eval-") as tmp:
        path = Path(tmp) / f"{scenario.id}.txt"
        path.write_text(candidate_file_text(scenario.messages), encoding="utf-8")
        if via == "cli":
            return _simulate_subprocess(scenario, path)
        return _simulate_function(scenario, path, settings)


def _simulate_function(scenario: Scenario, path: Path, settings: Settings | None) -> dict[str, Any]:
    from app.cli.interview import read_candidate_file, simulation_report
    from app.interview.session import build_voice
    from app.interview.session import simulate as run_simulation
    from app.settings import default_settings

    settings = settings or default_settings()
    session = run_simulation(
        get_problem(scenario.problem, settings.problems_dir),
        scenario.level,
        read_candidate_file(path),
        minutes=scenario.minutes or settings.interview_minutes,
        minutes_per_turn=scenario.minutes_per_turn,
        voice=build_voice(settings, None),
        retriever=None,
        max_message_chars=settings.max_message_chars,
    )
    # through JSON, exactly as the CLI prints it
    doc: dict[str, Any] = json.loads(json.dumps(simulation_report(session), ensure_ascii=False))
    return doc


def _simulate_subprocess(scenario: Scenario, path: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "app",
        "simulate",
        "--problem",
        scenario.problem,
        "--level",
        scenario.level,
        "--candidate",
        str(path),
        "--minutes-per-turn",
        f"{scenario.minutes_per_turn:g}",
        "--json",
    ]
    if scenario.minutes is not None:
        cmd += ["--minutes", str(scenario.minutes)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"sdmock simulate exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


# --------------------------------------------------------------------------------------------------
# reading a simulate document


class Run:
    """A `simulate --json` document indexed by message number."""

    def __init__(self, doc: dict[str, Any], problem: Problem) -> None:
        self.doc = doc
        self.problem = problem
        self.candidate: dict[int, dict[str, Any]] = {}
        self.replies: dict[int, dict[str, Any]] = {}
        n = 0
        for turn in doc.get("turns", []):
            if turn.get("role") == "candidate":
                n += 1
                self.candidate[n] = turn
            elif n not in self.replies:
                self.replies[n] = turn
        self.sent = n
        self.events: list[dict[str, Any]] = list(doc.get("events", []))

    def reply(self, n: int) -> str:
        return str(self.replies.get(n, {}).get("content", ""))

    def said(self, n: int) -> str:
        """Every candidate message up to and including message n, joined."""
        return "\n".join(
            str(self.candidate[i].get("content", "")) for i in range(1, n + 1) if i in self.candidate
        )

    def events_of(self, kind: str, message: int | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.events if e.get("kind") == kind and (message is None or e.get("turn") == message)
        ]

    def released_by(self, n: int) -> set[str]:
        out: set[str] = set()
        for e in self.events_of("fact_released"):
            if int(e.get("turn", 0)) <= n:
                out.update(_fact_ids(e))
        return out

    def missing(self, n: int) -> str | None:
        """A reason when message n was never answered (the interview ended first)."""
        if n in self.replies and n in self.candidate:
            return None
        return f"message {n} was never answered: the interview ended after message {self.sent}"


def _fact_ids(event: dict[str, Any]) -> list[str]:
    ids = event.get("data", {}).get("fact_ids")
    if isinstance(ids, list):
        return [str(i) for i in ids]
    return [s.strip() for s in str(event.get("detail", "")).split(",") if s.strip()]


def _norm(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def _contains(text: str, phrase: str) -> bool:
    """Phrase in text, case-insensitive, not inside a longer number or word."""
    p = re.escape(_norm(phrase))
    return bool(re.search(rf"(?<![\w.,]){p}(?![\w]|[.,]\d)", _norm(text)))


_MULTIPLIER = r"(?:thousand|million|billion|trillion)"
_FACT_NUMBER = re.compile(
    rf"(?<![\w.])(\$?\d[\d,]*(?:\.\d+)?)"
    rf"(\s*{_MULTIPLIER}\b|\s*:\s*\d+|\s*%|\s*x\b|(?:\s+|-)[a-z]+\b)?",
    re.IGNORECASE,
)


def fact_leak_markers(fact_text: str) -> list[str]:
    """What would give a fact away: its distinctive numbers with their unit ('100 million',
    '10 years', '10:1', '500 KB') and every clause of five words or more, verbatim."""
    markers: list[str] = []
    for m in _FACT_NUMBER.finditer(fact_text):
        num, tail = m.group(1), m.group(2)
        if not tail:
            continue
        marker = num + tail
        markers.append(marker)
        if re.fullmatch(rf"\s*{_MULTIPLIER}", tail, re.IGNORECASE):
            value = float(num.replace(",", "")) * {"thousand": 1e3, "million": 1e6, "billion": 1e9}.get(
                tail.strip().lower(), 1e12
            )
            markers += [f"{value:,.0f}", f"{num}{tail.strip()[0].lower()}"]
    for clause in re.split(r"[.;:,()]\s+|\s+-\s+", fact_text):
        if len(clause.split()) >= 5:
            markers.append(clause.strip(" ."))
    return list(dict.fromkeys(markers))


def number_forms(value: float) -> list[str]:
    """Ways a derived number may be written: '11,600', '11600', '11.6k', '12k', '11.6 thousand'."""
    forms: list[str] = []
    if value >= 100 and float(value).is_integer():
        forms += [f"{value:,.0f}", f"{value:.0f}"]
    elif not float(value).is_integer():
        forms.append(f"{value:g}")
    for scale, words in (
        (1e3, ("k", " thousand")),
        (1e6, ("m", " million")),
        (1e9, ("b", " billion")),
        (1e12, ("t", " trillion")),
    ):
        x = value / scale
        if 1 <= x < 1000:
            for sig in (3, 2):
                digits = max(sig - 1 - math.floor(math.log10(x)), 0)
                s = f"{x:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:.0f}"
                forms += [s + w for w in words]
    return list(dict.fromkeys(forms))


_BANK_CACHE: dict[str, list[str]] = {}


def question_bank(problem: Problem) -> list[str]:
    """Every question the director can ask on this problem, longest first (imperatives included)."""
    if problem.id in _BANK_CACHE:
        return _BANK_CACHE[problem.id]
    from app.interview import director as d

    bank: list[str] = [
        *d.SCOPE_NUDGES,
        *d.STEER_TO_SCOPE_QUESTIONS,
        *d.HIGH_LEVEL_LEADS,
        d.ESTIMATE_PROBE,
        *d.DEEP_DIVE_GENERIC,
        *d.WRAP_UP_GENERIC.values(),
        *d.ASK_SPECIFIC,
        *(q for qs in d.CHALLENGE_QUESTIONS.values() for q in qs),
        *(probe for (_w, _d, probe, _n) in d.GENERIC_PROBES.values()),
        *(p for t in problem.deep_dives for p in t.probes),
        *problem.wrap_up,
    ]
    _BANK_CACHE[problem.id] = sorted(set(bank), key=len, reverse=True)
    return _BANK_CACHE[problem.id]


def reply_questions(reply: str, problem: Problem) -> list[str]:
    """The interview questions a reply asks: known director questions found verbatim, then any other
    sentence ending in '?' that is not a conversational filler. Normalised."""
    text = reply
    found: list[str] = []
    for q in question_bank(problem):
        if q in text:
            found.append(_norm(q))
            text = text.replace(q, " ")
    for s in split_sentences(text):
        n = _norm(s)
        if n.endswith("?") and not FILLER_QUESTIONS.match(n):
            found.append(n)
    return found


def _order(phase: str) -> int:
    try:
        return Phase(phase).order
    except ValueError:
        return -1


# --------------------------------------------------------------------------------------------------
# checks: each returns the reasons it failed (empty = pass)


def _facts_only_when_asked(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    from_events: set[str] = set()
    for e in run.events_of("fact_released"):
        n = int(e.get("turn", 0))
        ids = _fact_ids(e)
        from_events.update(ids)
        text = str(run.candidate.get(n, {}).get("content", ""))
        phase = str(run.candidate.get(n, {}).get("phase") or "scope")
        ph = Phase(phase) if phase in Phase.__members__.values() else Phase.SCOPE
        asked = set(offline_reader().read(text, run.problem, ph).facts) if text else set()
        for fid in ids:
            if fid not in asked:
                out.append(f"reply {n} released {fid!r} but message {n} does not ask for it: {text[:100]!r}")
    released = set(run.doc.get("released_facts", []))
    if released - from_events:
        out.append(f"released_facts {sorted(released - from_events)} have no fact_released event")
    return out


def _no_unasked_leak(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    prompt = run.problem.prompt
    for n in sorted(run.replies):
        reply = run.reply(n)
        released = run.released_by(n)
        said = run.said(n)
        public = " ".join([prompt, said, *(run.problem.fact(f).fact for f in released)])
        for fact in run.problem.hidden_facts:
            if fact.id in released:
                continue
            for marker in fact_leak_markers(fact.fact):
                if _contains(reply, marker) and not _contains(public, marker):
                    out.append(
                        f"reply {n} gives away unreleased fact {fact.id!r} ({marker!r}): {reply[:140]!r}"
                    )
                    break
    return out


def _no_number_leak(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    for n in sorted(run.replies):
        reply = run.reply(n)
        public = " ".join(
            [run.problem.prompt, run.said(n), *(run.problem.fact(f).fact for f in run.released_by(n))]
        )
        for number in run.problem.numbers:
            for form in [expected_text(number), *number_forms(number.value)]:
                if _contains(reply, form) and not _contains(public, form):
                    out.append(
                        f"reply {n} states derived number {number.id!r} ({form!r}) before the candidate did: "
                        f"{reply[:140]!r}"
                    )
                    break
    return out


def _phases_in_order(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    seq: list[tuple[str, str]] = []
    for turn_no, turn in enumerate(run.doc.get("turns", [])):
        seq.append((f"turn {turn_no} ({turn.get('role')})", str(turn.get("phase"))))
    for (_where_a, a), (where_b, b) in itertools.pairwise(seq):
        if _order(b) < 0:
            out.append(f"{where_b}: unknown phase {b!r}")
        elif _order(b) < _order(a):
            out.append(f"{where_b}: phase went back from {a} to {b}")
        elif _order(b) > _order(a) + 1:
            out.append(f"{where_b}: phase skipped from {a} to {b}")
    for e in run.events_of("phase_change"):
        prev = str(e.get("data", {}).get("previous", ""))
        if _order(str(e.get("phase"))) != _order(prev) + 1:
            out.append(f"phase_change at message {e.get('turn')}: {prev} -> {e.get('phase')} is not one step")
    visited = run.doc.get("coverage", {}).get("phases_visited", [])
    if visited != [p.value for p in Phase][: len(visited)]:
        out.append(f"phases_visited out of order: {visited}")
    return out


def _max_phase(run: Run) -> str:
    phases = [str(t.get("phase")) for t in run.doc.get("turns", [])] + [str(run.doc.get("final_phase"))]
    return max(phases, key=_order)


def _reaches(run: Run, check: Check) -> list[str]:
    best = _max_phase(run)
    if _order(best) < _order(str(check.arg)):
        return [f"never reached {check.arg}: got as far as {best} after {run.sent} messages"]
    return []


def _final_phase(run: Run, check: Check) -> list[str]:
    final = run.doc.get("final_phase")
    return [] if final == check.arg else [f"final phase is {final}, expected {check.arg}"]


def _no_repeat_in_a_row(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    nums = sorted(run.replies)
    for a, b in itertools.pairwise(nums):
        if run.reply(a) and _norm(run.reply(a)) == _norm(run.reply(b)):
            out.append(f"replies {a} and {b} are identical: {run.reply(b)[:120]!r}")
            continue
        same = set(reply_questions(run.reply(a), run.problem)) & set(
            reply_questions(run.reply(b), run.problem)
        )
        for q in sorted(same):
            out.append(f"replies {a} and {b} ask the same question: {q!r}")
    return out


def _no_repeat(run: Run, check: Check) -> list[str]:
    first: dict[str, int] = {}
    out: list[str] = []
    for n in sorted(run.replies):
        for q in dict.fromkeys(reply_questions(run.reply(n), run.problem)):
            if q in first:
                out.append(f"reply {n} repeats the question of reply {first[q]}: {q!r}")
            else:
                first[q] = n
    return out


def _phase_kept(run: Run, n: int) -> str | None:
    before = str(run.candidate[n].get("phase"))
    after = str(run.replies[n].get("phase"))
    if before != after:
        return f"message {n} moved the phase from {before} to {after}"
    if run.events_of("phase_change", n):
        return f"message {n} caused a phase_change event"
    return None


def _challenges_estimate(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    for n in _messages(check.arg):
        if (why := run.missing(n)) is not None:
            out.append(why)
            continue
        events = run.events_of("estimate_challenged", n)
        if not events:
            kinds = [e.get("kind") for e in run.events if e.get("turn") == n]
            out.append(f"message {n} was not challenged (events at message {n}: {kinds})")
            continue
        reply = run.reply(n)
        said = run.said(n)
        for e in events:
            number = next(
                (x for x in run.problem.numbers if x.id == e.get("data", {}).get("number_id")), None
            )
            if number is None:
                continue
            for form in [expected_text(number), *number_forms(number.value)]:
                if _contains(reply, form) and not _contains(said, form):
                    out.append(f"reply {n} states the expected {number.id} ({form!r}): {reply[:140]!r}")
                    break
    return out


def _steers_back(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    for n in _messages(check.arg):
        if (why := run.missing(n)) is not None:
            out.append(why)
            continue
        if not run.events_of("steered_back", n):
            kinds = [e.get("kind") for e in run.events if e.get("turn") == n]
            out.append(f"message {n} was not steered back (events at message {n}: {kinds})")
        if (why := _phase_kept(run, n)) is not None:
            out.append(why)
    return out


def _refuses_skip(run: Run, check: Check) -> list[str]:
    out: list[str] = []
    for n in _messages(check.arg):
        if (why := run.missing(n)) is not None:
            out.append(why)
            continue
        if not run.events_of("skip_refused", n):
            kinds = [e.get("kind") for e in run.events if e.get("turn") == n]
            out.append(f"message {n} was not refused as a skip (events at message {n}: {kinds})")
        if (why := _phase_kept(run, n)) is not None:
            out.append(why)
        if SCORE_GIVEN.search(run.reply(n)):
            out.append(f"reply {n} hands out a score: {run.reply(n)[:140]!r}")
    return out


def _event_spec(arg: Any) -> tuple[str, int | None]:
    if isinstance(arg, str):
        return arg, None
    return str(arg["kind"]), arg.get("message")


def _event(run: Run, check: Check) -> list[str]:
    kind, n = _event_spec(check.arg)
    if n is not None and (why := run.missing(n)) is not None:
        return [why]
    if run.events_of(kind, n):
        return []
    return [f"no {kind} event" + (f" at message {n}" if n is not None else "")]


def _no_event(run: Run, check: Check) -> list[str]:
    kind, n = _event_spec(check.arg)
    found = run.events_of(kind, n)
    return [f"unexpected {kind} event at message {e.get('turn')}: {e.get('detail', '')!r}" for e in found]


def _released_facts(run: Run, check: Check) -> list[str]:
    got = set(run.doc.get("released_facts", []))
    want = set(check.arg)
    out = []
    if want - got:
        out.append(f"never released: {sorted(want - got)}")
    if got - want:
        out.append(f"released but not expected: {sorted(got - want)}")
    return out


def _reply_pattern(run: Run, check: Check, *, should_match: bool) -> list[str]:
    pattern = re.compile(check.arg["pattern"], re.IGNORECASE)
    n = check.arg.get("message")
    if n is not None:
        if (why := run.missing(n)) is not None:
            return [why]
        hit = bool(pattern.search(run.reply(n)))
        if hit != should_match:
            verb = "does not match" if should_match else "matches"
            return [f"reply {n} {verb} /{pattern.pattern}/: {run.reply(n)[:160]!r}"]
        return []
    hits = [k for k in sorted(run.replies) if pattern.search(run.reply(k))]
    if should_match and not hits:
        return [f"no reply matches /{pattern.pattern}/"]
    if not should_match:
        return [f"reply {k} matches /{pattern.pattern}/: {run.reply(k)[:160]!r}" for k in hits]
    return []


_CHECKS: dict[str, Callable[[Run, Check], list[str]]] = {
    "facts_only_when_asked": _facts_only_when_asked,
    "no_unasked_leak": _no_unasked_leak,
    "no_number_leak": _no_number_leak,
    "phases_in_order": _phases_in_order,
    "no_repeat_in_a_row": _no_repeat_in_a_row,
    "no_repeat": _no_repeat,
    "reaches": _reaches,
    "final_phase": _final_phase,
    "challenges_estimate": _challenges_estimate,
    "steers_back": _steers_back,
    "refuses_skip": _refuses_skip,
    "event": _event,
    "no_event": _no_event,
    "released_facts": _released_facts,
    "reply_matches": lambda run, c: _reply_pattern(run, c, should_match=True),
    "reply_not_matches": lambda run, c: _reply_pattern(run, c, should_match=False),
}
assert set(_CHECKS) == set(_ARG_KINDS)


# --------------------------------------------------------------------------------------------------
# results


class CheckResult(BaseModel):
    """One check's outcome on one scenario."""

    check: str
    status: Status
    reasons: list[str] = Field(default_factory=list, description="Why it failed (empty on a pass).")
    xfail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "xfail")


class ScenarioResult(BaseModel):
    """A scenario's run and its checks."""

    id: str
    problem: str
    level: str
    via: str
    messages: int
    answered: int = Field(0, description="Candidate messages the interview took before it ended.")
    final_phase: str | None = None
    checks: list[CheckResult] = Field(default_factory=list)
    error: str | None = Field(None, description="The run itself failed (crash, bad exit).")
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def failures(self) -> list[str]:
        if self.error is not None:
            return [f"{self.id}: run failed: {self.error}"]
        out = []
        for c in self.checks:
            if c.status == "fail":
                out += [f"{self.id}: {c.check}: {r}" for r in c.reasons] or [f"{self.id}: {c.check} failed"]
            elif c.status == "xpass":
                out.append(f"{self.id}: {c.check}: passed but is marked xfail ({c.xfail}); remove the marker")
        return out


class InterviewerRun(BaseModel):
    """All scenarios of one interviewer eval run."""

    via: str
    scenarios: list[ScenarioResult]
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.scenarios)

    @property
    def failures(self) -> list[str]:
        return [f for s in self.scenarios for f in s.failures]

    @property
    def xfails(self) -> list[str]:
        return [
            f"{s.id}: {c.check}: {c.xfail}" for s in self.scenarios for c in s.checks if c.status == "xfail"
        ]


def evaluate(scenario: Scenario, doc: dict[str, Any], problem: Problem | None = None) -> list[CheckResult]:
    """Run the scenario's checks over a `simulate --json` document."""
    run = Run(doc, problem or get_problem(scenario.problem))
    results = []
    for check in scenario.checks:
        try:
            reasons = _CHECKS[check.name](run, check)
        except Exception as exc:  # a malformed document is a failure of this check, not a crash
            reasons = [f"check crashed: {type(exc).__name__}: {exc}"]
        if check.xfail:
            status: Status = "xfail" if reasons else "xpass"
        else:
            status = "fail" if reasons else "pass"
        results.append(CheckResult(check=check.label, status=status, reasons=reasons, xfail=check.xfail))
    return results


def run_scenario(
    scenario: Scenario, *, via: Via = "function", settings: Settings | None = None
) -> ScenarioResult:
    """Simulate one scenario and evaluate its checks."""
    t0 = time.perf_counter()
    result = ScenarioResult(
        id=scenario.id,
        problem=scenario.problem,
        level=scenario.level,
        via=via,
        messages=len(scenario.messages),
    )
    try:
        problem = (
            get_problem(scenario.problem, settings.problems_dir)
            if settings
            else get_problem(scenario.problem)
        )
        doc = simulate_scenario(scenario, via=via, settings=settings)
    except Exception as exc:  # the report says which scenario broke and how
        result.error = f"{type(exc).__name__}: {exc}"
    else:
        result.answered = sum(1 for t in doc.get("turns", []) if t.get("role") == "candidate")
        result.final_phase = doc.get("final_phase")
        result.checks = evaluate(scenario, doc, problem)
    result.elapsed_s = round(time.perf_counter() - t0, 3)
    return result


def run_interviewer_evals(
    pattern: str = "*",
    *,
    folder: Path | None = None,
    via: Via = "function",
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> InterviewerRun:
    """Run every scenario whose id matches the glob."""
    t0 = time.perf_counter()
    results = []
    for scenario in load_scenarios(folder, pattern):
        results.append(run_scenario(scenario, via=via, settings=settings))
        if progress is not None:
            progress(scenario.id)
    return InterviewerRun(via=via, scenarios=results, elapsed_s=round(time.perf_counter() - t0, 2))


# --------------------------------------------------------------------------------------------------
# reports


def summary_rows(run: InterviewerRun) -> list[tuple[str, ...]]:
    """One row per scenario, in the order of `SUMMARY_HEADERS`."""
    rows: list[tuple[str, ...]] = []
    for s in run.scenarios:
        result = "ERROR" if s.error else "PASS" if s.ok else "FAIL"
        rows.append(
            (
                s.id,
                s.problem,
                s.level,
                s.final_phase or "-",
                f"{s.answered}/{s.messages}",
                str(s.count("pass")),
                str(s.count("fail") + s.count("xpass")),
                str(s.count("xfail")),
                result,
            )
        )
    return rows


SUMMARY_HEADERS = (
    "scenario",
    "problem",
    "level",
    "final phase",
    "messages",
    "passed",
    "failed",
    "xfail",
    "result",
)


def render_markdown(run: InterviewerRun) -> str:
    """The interviewer eval report as Markdown."""
    checks = sum(len(s.checks) for s in run.scenarios)
    lines = [
        "# Interviewer eval report",
        "",
        f"{len(run.scenarios)} scenarios, {checks} checks, run via {run.via}, {run.elapsed_s} s. "
        f"Result: **{'PASS' if run.ok else 'FAIL'}**.",
        "",
        "| " + " | ".join(SUMMARY_HEADERS) + " |",
        "|" + "---|" * len(SUMMARY_HEADERS),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in summary_rows(run)]
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in run.failures] or ["None."]
    lines += ["", "## Known bugs (xfail)", ""]
    lines += [f"- {x}" for x in run.xfails] or ["None."]
    lines += ["", "## Checks", ""]
    for s in run.scenarios:
        lines.append(f"### {s.id}")
        if s.error:
            lines.append(f"- ERROR: {s.error}")
        for c in s.checks:
            lines.append(f"- {c.status.upper()} `{c.check}`" + (f" ({c.xfail})" if c.xfail else ""))
            lines += [f"  - {r}" for r in c.reasons]
        lines.append("")
    return "\n".join(lines) + "\n"


def render_html(run: InterviewerRun) -> str:
    """The interviewer eval report as a standalone HTML page; every string is escaped."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in SUMMARY_HEADERS)
    rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in summary_rows(run))
    fails = "".join(f"<li>{e(f)}</li>" for f in run.failures) or "<li>None.</li>"
    xfails = "".join(f"<li>{e(x)}</li>" for x in run.xfails) or "<li>None.</li>"
    details = ""
    for s in run.scenarios:
        items = "".join(
            f"<li><b>{e(c.status.upper())}</b> <code>{e(c.check)}</code>"
            + (f" ({e(c.xfail)})" if c.xfail else "")
            + ("<ul>" + "".join(f"<li>{e(r)}</li>" for r in c.reasons) + "</ul>" if c.reasons else "")
            + "</li>"
            for c in s.checks
        )
        err = f"<li><b>ERROR</b> {e(s.error)}</li>" if s.error else ""
        details += f"<h3>{e(s.id)}</h3><ul>{err}{items}</ul>"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Interviewer eval report</title>
<style>body{{font-family:sans-serif;max-width:70rem;margin:2rem auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem}}</style></head><body>
<h1>Interviewer eval report</h1><p>{len(run.scenarios)} scenarios, run via {e(run.via)}, {run.elapsed_s} s.
Result: <b>{"PASS" if run.ok else "FAIL"}</b></p>
<table><tr>{head}</tr>{rows}</table><h2>Failures</h2><ul>{fails}</ul>
<h2>Known bugs (xfail)</h2><ul>{xfails}</ul><h2>Checks</h2>{details}
</body></html>
"""


def write_reports(run: InterviewerRun, out_dir: Path | None = None) -> list[Path]:
    """Write report.md, report.html and run.json into out_dir (default `REPORT_DIR`)."""
    out_dir = out_dir or REPORT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.md", out_dir / "report.html", out_dir / "run.json"]
    paths[0].write_text(render_markdown(run), encoding="utf-8")
    paths[1].write_text(render_html(run), encoding="utf-8")
    data = {**run.model_dump(), "ok": run.ok, "failures": run.failures, "xfails": run.xfails}
    paths[2].write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
