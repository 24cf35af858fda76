"""Interview page: the chat, a phase tracker with time, the notes behind the last reply, a scratchpad."""

from __future__ import annotations

import streamlit as st

from app.errors import InputRejectedError, SdmockError, StateConflictError
from app.interview.phases import Phase
from app.interview.state import InterviewState
from app.problems import get_problem
from app.store import InterviewRecord, TurnRecord
from app.ui import flow, nav
from app.ui.context import AppContext
from app.ui.mermaid import mermaid_to_dot
from app.ui.render import format_minutes, looks_like_dot, looks_like_mermaid, safe_markdown

_TRACKED = (Phase.SCOPE, Phase.HIGH_LEVEL, Phase.DEEP_DIVE, Phase.WRAP_UP)
_AVATAR = {"interviewer": "assistant", "candidate": "user"}


def _state(record: InterviewRecord) -> InterviewState | None:
    try:
        return InterviewState.model_validate_json(record.state)
    except ValueError:
        return None


def _phase_spans(state: InterviewState, elapsed: float) -> dict[Phase, tuple[float, float | None]]:
    """Phase -> (start minute, end minute or None while it runs)."""
    starts: list[tuple[Phase, float]] = [(Phase.SCOPE, 0.0)]
    for e in state.events:
        if e.kind == "phase_change" and e.phase not in [p for p, _ in starts]:
            starts.append((e.phase, float(e.minute)))
    spans: dict[Phase, tuple[float, float | None]] = {}
    for i, (phase, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else None
        spans[phase] = (start, end)
    del elapsed
    return spans


def render_tracker(record: InterviewRecord, turns: list[TurnRecord], state: InterviewState | None) -> None:
    """Four steps with their time budget, time spent, and where we are."""
    elapsed = flow.interview_minutes(record, turns)
    total = float(record.minutes)
    st.progress(
        min(1.0, elapsed / total) if total else 0.0,
        text=f"Elapsed {format_minutes(elapsed)} of {record.minutes}:00",
    )
    if state is None:
        return
    spans = _phase_spans(state, elapsed)
    cols = st.columns(len(_TRACKED))
    for col, phase in zip(cols, _TRACKED, strict=True):
        budget = state.budgets.get(phase)
        with col.container(border=True):
            if phase in spans:
                start, end = spans[phase]
                spent = (end if end is not None else elapsed) - start
                running = end is None and state.phase == phase
                mark = "▶ now" if running else "✓ done"
            else:
                spent, mark = 0.0, "· to come"
            st.markdown(f"**{phase.label}**")
            st.caption(f"{mark} · {format_minutes(spent)} spent")
            if budget is not None:
                st.caption(f"budget {budget.min:.0f}–{budget.max:.0f} min")


def render_message(turn: TurnRecord) -> None:
    """One stored turn, as Markdown with images and HTML neutralised."""
    with st.chat_message(_AVATAR.get(turn.role, "assistant")):
        st.markdown(safe_markdown(turn.content) or "_(no reply)_")
        if turn.status == "interrupted":
            st.caption("⚠ interrupted: this reply did not complete")


def render_notes(ctx: AppContext, turns: list[TurnRecord]) -> None:
    """The study notes the interviewer used for its last reply, or why notes are off."""
    off = flow.notes_unavailable_reason(ctx.settings)
    if off:
        st.caption(f"Study notes are off: {off}")
        return
    last = next((t for t in reversed(turns) if t.role == "interviewer"), None)
    if last is None or not last.notes:
        st.caption("No study notes were used for the last reply.")
        return
    for note in last.notes:
        title = f"{note.get('source', '?')} — {note.get('heading', '')}".strip(" —")
        with st.expander(f"{title} (score {float(note.get('score', 0.0)):.2f})"):
            st.markdown(safe_markdown(str(note.get("text", ""))))


def render_scratchpad(ctx: AppContext, record: InterviewRecord) -> None:
    """A text diagram (Graphviz DOT preferred, simple Mermaid flowcharts translated), rendered live."""
    key = f"pad_{record.id}"
    if key not in st.session_state:
        st.session_state[key] = record.scratchpad
    msg_key = f"pad_msg_{record.id}"

    def save() -> None:
        try:
            flow.save_scratchpad(ctx, record.id, st.session_state[key])
            st.session_state[msg_key] = ("ok", "Diagram saved.")
        except SdmockError as exc:
            st.session_state[msg_key] = ("error", f"{exc.message} ({exc.hint})" if exc.hint else exc.message)

    st.text_area(
        "Diagram as text: Graphviz DOT (`digraph { client -> api }`) or a Mermaid flowchart",
        key=key,
        height=200,
        on_change=save,
        disabled=record.status != "active",
        placeholder='digraph {\n  client -> "load balancer" -> api -> db\n}',
    )
    if record.status == "active" and st.button("Save diagram", key=f"pad_save_{record.id}"):
        save()
    kind, message = st.session_state.pop(msg_key, (None, None))
    if kind == "error":
        st.error(message)
    elif kind == "ok":
        st.caption(message)
    text = str(st.session_state.get(key, ""))
    if not text.strip():
        st.caption("The interviewer and the grader see the diagram you save here.")
    elif looks_like_dot(text):
        st.graphviz_chart(text)
    elif looks_like_mermaid(text) and (dot := mermaid_to_dot(text)):
        st.graphviz_chart(dot)
    else:
        st.caption("Not a DOT graph or a simple Mermaid flowchart; shown as text.")
        st.code(text, language=None)


def _stream(stream: flow.ReplyStream) -> bool:
    """Stream a reply into a chat bubble; commit it, or save it as interrupted when it breaks."""
    with st.chat_message("assistant"):
        placeholder = st.empty()
        try:
            for _ in stream:
                placeholder.markdown(safe_markdown(stream.text) + " ▌")
        except SdmockError as exc:
            stream.interrupt()
            placeholder.error(
                f"The interviewer could not finish this reply: {exc.message}. Your message is saved; "
                "press **Regenerate reply** to try again."
            )
            return False
        except BaseException:
            # A rerun or stop (new input, closed tab) or an unexpected error: keep what was said.
            stream.interrupt()
            raise
        try:
            stream.commit()
        except StateConflictError as exc:
            placeholder.warning(
                f"This reply was not kept: {exc.message}. Nothing you sent is lost; reload the page "
                "to see the conversation as it is now."
            )
            return False
        placeholder.markdown(safe_markdown(stream.text))
    return True


def render(ctx: AppContext, interview_id: str) -> None:
    """Draw the Interview page for the interview in the URL."""
    record = ctx.store.find_interview(interview_id)
    if record is None:
        st.error(f"There is no interview with id `{interview_id}`.")
        st.info("Start a new interview, or open a past one from History.")
        return
    problem = get_problem(record.problem, ctx.settings.problems_dir)
    turns = ctx.store.turns(record.id)
    state = _state(record)

    st.title(problem.title)
    st.caption(
        f"Level: {record.level} · {record.minutes} minutes · voice: {record.voice} · status: {record.status}"
    )
    render_tracker(record, turns, state)

    active = record.status == "active"
    pending = flow.pending_reply(turns) if active else None
    b1, b2, b3 = st.columns([1, 1, 4])
    next_clicked = b1.button(
        "Next step", key="btn_next", disabled=not active or pending is not None, help="The director decides."
    )
    finish_clicked = b2.button("Finish", key="btn_finish", type="primary", disabled=not active)
    if not active and b3.button("See the report", key="btn_report"):
        nav.go("report", record.id)

    chat_col, side_col = st.columns([3, 2], gap="large")
    with side_col:
        tab_pad, tab_notes = st.tabs(["Scratchpad", "Notes used"])
        with tab_pad:
            render_scratchpad(ctx, record)
        with tab_notes:
            render_notes(ctx, turns)

    with chat_col:
        for turn in turns:
            render_message(turn)
        if pending is not None:
            st.warning(
                "The interviewer's last reply did not complete. Your messages are saved.",
                icon=":material/replay:",
            )
            if st.button("Regenerate reply", key="btn_regen"):
                stream = flow.begin_regenerate(ctx, record.id)
                if stream is not None and _stream(stream):
                    st.rerun()

    prompt = st.chat_input(
        "Ask a clarifying question or describe your design" if active else "This interview is finished",
        key=f"chat_{record.id}",
        disabled=not active,
    )

    if prompt and active:
        with chat_col:
            try:
                turn = flow.submit(ctx, record.id, str(prompt), supersede=pending)
            except InputRejectedError as exc:
                st.error(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
                return
            render_message(turn)
            if _stream(flow.begin(ctx, record.id, "reply", turn.content)):
                st.rerun()
    elif next_clicked and active:
        with chat_col, st.spinner("The interviewer is deciding..."):
            if _stream(flow.begin(ctx, record.id, "advance")):
                st.rerun()
    elif finish_clicked and active:
        with chat_col:
            ok = True
            if pending is None:
                ok = _stream(flow.begin(ctx, record.id, "finish"))
            if ok:
                flow.finish_now(ctx, record.id)
                nav.go("report", record.id)
