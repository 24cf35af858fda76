"""Start page: pick a problem, a level and a duration; see which voice will interview you."""

from __future__ import annotations

import streamlit as st

from app.problems import load_problems
from app.ui import nav
from app.ui.context import AppContext
from app.ui.flow import start_interview

LEVELS = ("mid", "senior", "staff")
_DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}


def render(ctx: AppContext) -> None:
    """Draw the Start page."""
    st.title("Mock system design interview")
    st.write(
        "Four steps: scope the problem, a high-level design, a deep dive, and a wrap-up. "
        "Ask clarifying questions: the interviewer only tells you what you ask for."
    )
    st.info(ctx.voice_line, icon=":material/record_voice_over:")

    problems = sorted(
        load_problems(ctx.settings.problems_dir).values(),
        key=lambda p: (_DIFFICULTY_ORDER.get(p.difficulty, 9), p.title),
    )
    st.subheader("Problems")
    st.dataframe(
        [{"Problem": p.title, "Difficulty": p.difficulty, "Prompt": p.prompt} for p in problems],
        hide_index=True,
        width="stretch",
    )
    with st.form("start_form"):
        problem_id = st.selectbox(
            "Problem",
            [p.id for p in problems],
            format_func=lambda pid: next(f"{p.title} ({p.difficulty})" for p in problems if p.id == pid),
            key="start_problem",
        )
        cols = st.columns(2)
        level = cols[0].selectbox(
            "Level",
            LEVELS,
            index=LEVELS.index(ctx.settings.level) if ctx.settings.level in LEVELS else 1,
            key="start_level",
        )
        minutes = cols[1].number_input(
            "Duration (minutes)",
            min_value=10,
            max_value=120,
            value=int(ctx.settings.interview_minutes),
            step=5,
            key="start_minutes",
        )
        submitted = st.form_submit_button("Start interview", type="primary")
    if submitted and problem_id:
        with st.spinner("Setting up the interview..."):
            record = start_interview(ctx, problem_id, level=str(level), minutes=int(minutes))
        nav.go("interview", record.id)
