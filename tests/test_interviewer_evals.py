"""Interviewer evals (issue 7): every scripted scenario passes its checks, and every check can fail.

The scenarios live in evals/interviewer/*.yaml and run through the functions `sdmock simulate` calls;
one scenario also runs through the real CLI in a subprocess and must give the same document. The
second half feeds doctored `simulate --json` documents to each check and asserts it reports them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import app.evals.interviewer as ie
from app.cli import cli
from app.cli.interview import read_candidate_file
from app.errors import KnowledgeError
from app.evals.interviewer import (
    CHECK_NAMES,
    Scenario,
    candidate_file_text,
    evaluate,
    fact_leak_markers,
    load_scenario,
    load_scenarios,
    number_forms,
    reply_questions,
    run_interviewer_evals,
    run_scenario,
    simulate_scenario,
    write_reports,
)
from app.problems import get_problem

SCENARIOS = load_scenarios()
URL = get_problem("url-shortener")


# --------------------------------------------------------------------------------------------------
# the scenarios themselves


def test_scenario_catalogue_covers_the_issue() -> None:
    assert len(SCENARIOS) >= 16
    assert len({s.problem for s in SCENARIOS}) >= 6
    used = {c.name for s in SCENARIOS for c in s.checks}
    assert used == set(CHECK_NAMES), f"checks never used by a scenario: {set(CHECK_NAMES) - used}"
    for s in SCENARIOS:
        assert s.description.strip(), f"{s.id} needs a description"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_passes(scenario: Scenario) -> None:
    result = run_scenario(scenario)
    assert result.error is None, result.error
    assert result.ok, "\n".join(result.failures)


def test_cli_subprocess_gives_the_same_document() -> None:
    """The fast path calls what the command calls: the real `simulate --json` must agree."""
    scenario = next(s for s in SCENARIOS if s.id == "url-shortener-bad-estimator")
    via_cli = simulate_scenario(scenario, via="cli")
    assert via_cli == simulate_scenario(scenario, via="function")
    assert run_scenario(scenario, via="cli").ok


def test_candidate_file_round_trips_through_the_cli_reader(tmp_path: Path) -> None:
    for scenario in SCENARIOS:
        path = tmp_path / f"{scenario.id}.txt"
        path.write_text(candidate_file_text(scenario.messages), encoding="utf-8")
        assert read_candidate_file(path) == [" ".join(m.split()) for m in scenario.messages]


def test_sdmock_eval_interviewer_passes_and_writes_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["eval", "--interviewer", "--case", "url-shortener-*", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "url-shortener-good" in result.output and "PASS" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"report.md", "report.html", "run.json"}
    data = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert data["ok"] is True and len(data["scenarios"]) == 5


def test_sdmock_eval_interviewer_exits_1_on_a_failed_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "broken.yaml").write_text(
        "id: broken\nproblem: url-shortener\nmessages: ['How many URLs are created per day?']\n"
        "checks:\n  - released_facts: [retention]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(ie, "SCENARIOS_DIR", folder)
    result = CliRunner().invoke(cli, ["eval", "--interviewer", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "never released" in result.output
    assert "never released" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# doctored documents: every check can fail


def _doc(exchanges: list[tuple[str, str, str]], events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `simulate --json` document: (candidate, reply, phase) per message; the phase applies to both."""
    turns = [{"role": "interviewer", "content": "Design a URL shortener like TinyURL.", "phase": "scope"}]
    for cand, reply, phase in exchanges:
        turns.append({"role": "candidate", "content": cand, "phase": phase})
        turns.append({"role": "interviewer", "content": reply, "phase": phase})
    events = events or []
    released = [f for e in events if e["kind"] == "fact_released" for f in e["data"]["fact_ids"]]
    return {
        "problem": "url-shortener",
        "level": "senior",
        "turns": turns,
        "events": events,
        "released_facts": released,
        "coverage": {"phases_visited": ["scope"]},
        "final_phase": exchanges[-1][2] if exchanges else "scope",
    }


def _ev(turn: int, kind: str, **data: Any) -> dict[str, Any]:
    return {"turn": turn, "minute": turn * 1.5, "phase": "scope", "kind": kind, "detail": "", "data": data}


def _check(doc: dict[str, Any], *checks: Any, messages: list[str] | None = None) -> list[ie.CheckResult]:
    messages = messages or [t["content"] for t in doc["turns"] if t["role"] == "candidate"]
    scenario = Scenario.model_validate(
        {"id": "t", "problem": "url-shortener", "messages": messages or ["x"], "checks": list(checks)}
    )
    return evaluate(scenario, doc, URL)


VOLUME_FACT = URL.fact("volume").fact
RETENTION_FACT = URL.fact("retention").fact
CLEAN = _doc(
    [
        ("How many URLs are created per day?", f"Sure. {VOLUME_FACT}", "scope"),
        ("So about 116,000 writes/s.", "Hmm, 116,000 writes/s seems off. Walk me through it.", "scope"),
        (
            "Did you watch the game?",
            "Let's keep our focus on the design. What does the API look like?",
            "scope",
        ),
        ("Can we skip to the grading?", "No score until the end. What are you assuming so far?", "scope"),
    ],
    [
        _ev(1, "fact_released", fact_ids=["volume"]),
        _ev(2, "estimate_challenged", number_id="write_qps", ratio=100.0),
        _ev(3, "steered_back"),
        _ev(4, "skip_refused", reason="score"),
    ],
)
ALL_ON_CLEAN = [
    "facts_only_when_asked",
    "no_unasked_leak",
    "no_number_leak",
    "phases_in_order",
    "no_repeat_in_a_row",
    "no_repeat",
    {"reaches": "scope"},
    {"final_phase": "scope"},
    {"challenges_estimate": 2},
    {"steers_back": 3},
    {"refuses_skip": 4},
    {"event": "steered_back"},
    {"no_event": "phase_change"},
    {"released_facts": ["volume"]},
    {"reply_matches": {"message": 1, "pattern": "100 million"}},
    {"reply_not_matches": {"pattern": "10 years"}},
]


def _doctored(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CLEAN)
    for key, value in changes.items():
        if key.startswith("reply"):
            doc["turns"][2 * int(key[5:])]["content"] = value
        else:
            doc[key] = value
    return doc


def _failed(results: list[ie.CheckResult]) -> list[str]:
    return [r for res in results if res.status == "fail" for r in res.reasons]


def test_clean_document_passes_every_check() -> None:
    results = _check(CLEAN, *ALL_ON_CLEAN)
    assert [r.check for r in results if r.status != "pass"] == []
    assert {c if isinstance(c, str) else next(iter(c)) for c in ALL_ON_CLEAN} == set(CHECK_NAMES)


def test_facts_only_when_asked_catches_an_unasked_release() -> None:
    doc = copy.deepcopy(CLEAN)
    doc["events"].append(_ev(3, "fact_released", fact_ids=["retention"]))
    reasons = _failed(_check(doc, "facts_only_when_asked"))
    assert len(reasons) == 1 and "'retention'" in reasons[0] and "message 3" in reasons[0]
    doc = copy.deepcopy(CLEAN)
    doc["released_facts"].append("charset")  # released without any event
    assert "charset" in _failed(_check(doc, "facts_only_when_asked"))[0]


@pytest.mark.parametrize(
    "leak",
    [RETENTION_FACT, "We keep them for 10 years.", "Every mapping lives for 10 years, so plan for it."],
)
def test_no_unasked_leak_catches_fact_text_and_numbers(leak: str) -> None:
    reasons = _failed(_check(_doctored(reply3=f"Back to it. {leak}"), "no_unasked_leak"))
    assert reasons and "reply 3" in reasons[0] and "'retention'" in reasons[0]


def test_no_unasked_leak_allows_what_was_released_or_said_by_the_candidate() -> None:
    doc = _doctored(reply0=f"Hello. {VOLUME_FACT}")  # before it was asked: a leak
    assert "reply 0" in _failed(_check(doc, "no_unasked_leak"))[0]
    doc = copy.deepcopy(CLEAN)
    doc["turns"][5]["content"] = "We keep URLs for 10 years, right?"  # the candidate says it first
    doc["turns"][6]["content"] = "Let's keep our focus. Would 10 years change the design?"
    assert _failed(_check(doc, "no_unasked_leak")) == []


def test_no_number_leak_catches_a_derived_number() -> None:
    reasons = _failed(_check(_doctored(reply1="Sure. That's ~11,600 reads/s by the way."), "no_number_leak"))
    assert reasons and "read_qps" in reasons[0]
    assert _failed(_check(_doctored(reply3="Right, 365 billion rows then."), "no_number_leak"))


def test_phases_in_order_catches_skips_and_going_back() -> None:
    doc = copy.deepcopy(CLEAN)
    doc["turns"][4]["phase"] = "deep_dive"  # scope -> deep_dive skips high_level
    assert any("skipped" in r for r in _failed(_check(doc, "phases_in_order")))
    doc = copy.deepcopy(CLEAN)
    for t in doc["turns"][3:5]:
        t["phase"] = "high_level"  # ... and back to scope afterwards
    assert any("went back" in r for r in _failed(_check(doc, "phases_in_order")))
    doc = copy.deepcopy(CLEAN)
    doc["events"].append({**_ev(2, "phase_change", previous="scope"), "phase": "wrap_up"})
    assert any("not one step" in r for r in _failed(_check(doc, "phases_in_order")))


def test_no_repeat_in_a_row_catches_the_same_question_twice() -> None:
    q = "Sketch the main components and walk me through how a request flows through them."  # imperative
    doc = _doctored(reply2=f"Okay. {q}", reply3=f"Let's keep our focus. {q}")
    reasons = _failed(_check(doc, "no_repeat_in_a_row"))
    assert reasons == [f"replies 2 and 3 ask the same question: {q.lower()!r}"]
    doc = _doctored(reply3="Sure. Go on.", reply4="Sure. Go on.")  # identical replies
    assert "identical" in _failed(_check(doc, "no_repeat_in_a_row"))[0]


def test_no_repeat_catches_a_question_asked_again_later() -> None:
    doc = _doctored(reply1="Sure. What does the API look like?")  # reply 3 asks it again
    reasons = _failed(_check(doc, "no_repeat"))
    assert reasons == ["reply 3 repeats the question of reply 1: 'what does the api look like?'"]
    assert _failed(_check(doc, "no_repeat_in_a_row")) == []  # not in a row


def test_filler_questions_are_not_interview_questions() -> None:
    assert reply_questions("Sure. What else?", URL) == []
    assert reply_questions("Okay. Anything else you'd like to know?", URL) == []
    assert reply_questions("Hmm. How many shards would you use?", URL) == ["how many shards would you use?"]


def test_reaches_and_final_phase() -> None:
    assert "never reached done" in _failed(_check(CLEAN, {"reaches": "done"}))[0]
    assert "final phase is scope" in _failed(_check(CLEAN, {"final_phase": "wrap_up"}))[0]


def test_challenges_estimate_catches_no_challenge_and_a_stated_answer() -> None:
    doc = copy.deepcopy(CLEAN)
    doc["events"] = [e for e in doc["events"] if e["kind"] != "estimate_challenged"]
    assert "was not challenged" in _failed(_check(doc, {"challenges_estimate": 2}))[0]
    for said in ("It should be ~1,160 writes/s.", "It's more like 1160.", "Closer to 1.16k writes/s."):
        reasons = _failed(
            _check(_doctored(reply2=f"Hmm, that seems off. {said}"), {"challenges_estimate": 2})
        )
        assert reasons and "states the expected write_qps" in reasons[0], said


def test_steers_back_catches_no_event_and_a_moved_phase() -> None:
    doc = copy.deepcopy(CLEAN)
    doc["turns"][6]["phase"] = "high_level"
    doc["turns"][7]["phase"] = doc["turns"][8]["phase"] = "high_level"
    assert any("moved the phase" in r for r in _failed(_check(doc, {"steers_back": 3})))
    assert "not steered back" in _failed(_check(CLEAN, {"steers_back": 2}))[0]


def test_refuses_skip_catches_a_score_and_a_missing_refusal() -> None:
    reasons = _failed(_check(_doctored(reply4="Honestly? Your score is 3/4 so far."), {"refuses_skip": 4}))
    assert reasons and "hands out a score" in reasons[0]
    assert "not refused as a skip" in _failed(_check(CLEAN, {"refuses_skip": 3}))[0]


def test_event_no_event_and_released_facts() -> None:
    assert "no phase_change event" in _failed(_check(CLEAN, {"event": "phase_change"}))[0]
    assert "at message 1" in _failed(_check(CLEAN, {"event": {"kind": "steered_back", "message": 1}}))[0]
    assert "unexpected fact_released event" in _failed(_check(CLEAN, {"no_event": "fact_released"}))[0]
    reasons = _failed(_check(CLEAN, {"released_facts": ["retention"]}))
    assert reasons == ["never released: ['retention']", "released but not expected: ['volume']"]


def test_reply_patterns() -> None:
    assert (
        "does not match" in _failed(_check(CLEAN, {"reply_matches": {"message": 2, "pattern": "1,160"}}))[0]
    )
    assert "no reply matches" in _failed(_check(CLEAN, {"reply_matches": {"pattern": "strong hire"}}))[0]
    reasons = _failed(_check(CLEAN, {"reply_not_matches": {"pattern": "what"}}))
    assert [r.split(" matches")[0] for r in reasons] == ["reply 3", "reply 4"]


def test_a_message_the_interview_never_answered_fails() -> None:
    doc = copy.deepcopy(CLEAN)
    doc["turns"] = doc["turns"][:5]  # the interview ended after message 2 of 4
    sent = [t["content"] for t in CLEAN["turns"] if t["role"] == "candidate"]
    for check in ({"steers_back": 3}, {"refuses_skip": 4}, {"challenges_estimate": 4}):
        reasons = _failed(_check(doc, check, messages=sent))
        assert reasons and "never answered" in reasons[0]


def test_xfail_and_xpass() -> None:
    failing = _check(CLEAN, {"reaches": "done", "xfail": "known bug"})[0]
    assert failing.status == "xfail" and failing.ok
    passing = _check(CLEAN, {"reaches": "scope", "xfail": "fixed already"})[0]
    assert passing.status == "xpass" and not passing.ok


def test_a_crashing_run_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("simulate blew up")

    monkeypatch.setattr(ie, "simulate_scenario", boom)
    result = run_scenario(SCENARIOS[0])
    assert not result.ok and result.failures == [
        f"{SCENARIOS[0].id}: run failed: RuntimeError: simulate blew up"
    ]


# --------------------------------------------------------------------------------------------------
# scenario validation, helpers and reports


@pytest.mark.parametrize(
    ("checks", "messages", "error"),
    [
        (["no_such_check"], ["hi"], "unknown check"),
        ([{"steers_back": 3}], ["hi"], "not between 1 and 1"),
        ([{"event": "no_such_event"}], ["hi"], "known event kind"),
        ([{"reply_matches": {"pattern": "("}}], ["hi"], "bad regex"),
        ([{"reaches": "the_end"}], ["hi"], "needs a phase"),
        (["phases_in_order"], ["one\n\ntwo"], "blank line"),
        (["phases_in_order"], ["  "], "is empty"),
        ([{"reaches": "done", "final_phase": "done"}], ["hi"], "exactly one check name"),
        ([{"no_repeat": None, "xfail": ""}], ["hi"], "non-empty reason"),
        ([{"released_facts": ["nope"]}], ["hi"], "unknown fact ids"),
    ],
)
def test_bad_scenarios_are_rejected(
    tmp_path: Path, checks: list[Any], messages: list[str], error: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        json.dumps({"id": "bad", "problem": "url-shortener", "messages": messages, "checks": checks}),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as exc:
        load_scenario(path)
    assert error in str(exc.value)


def test_scenario_id_must_match_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text('{"id": "bad", "problem": "url-shortener", "messages": ["hi"], "checks": ["no_repeat"]}')
    with pytest.raises(KnowledgeError, match="does not match its file"):
        load_scenario(path)


def test_leak_markers_and_number_forms() -> None:
    markers = fact_leak_markers(VOLUME_FACT)
    assert {"100 million", "100,000,000", "100m"} <= set(markers)
    assert "10 years" in fact_leak_markers(RETENTION_FACT)
    assert "10:1" in fact_leak_markers(URL.fact("read_write_ratio").fact)
    assert {"11,600", "11600", "11.6k", "12k", "11.6 thousand"} <= set(number_forms(11600))
    assert "36.5" in number_forms(36.5)
    assert "10" not in number_forms(10)  # too common to count as a leak


def test_reports_are_written_and_escaped(tmp_path: Path) -> None:
    run = run_interviewer_evals("url-shortener-fact-by-fact")
    run.scenarios[0].checks[0].reasons.append("<script>alert(1)</script>")
    run.scenarios[0].checks[0].status = "fail"
    paths = write_reports(run, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "**FAIL**" in md and "url-shortener-fact-by-fact" in md
    assert json.loads(paths[2].read_text(encoding="utf-8"))["ok"] is False
