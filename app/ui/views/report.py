"""Report page: grade the interview (with a visible progress indicator), then show and offer the report."""

from __future__ import annotations

import streamlit as st

from app.store import InterviewRecord, ReportRecord
from app.ui import flow, nav
from app.ui.context import AppContext
from app.ui.render import safe_markdown


def _grade(ctx: AppContext, record: InterviewRecord) -> ReportRecord:
    with st.status("Grading the interview...", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")

        def progress(value: float, text: str) -> None:
            bar.progress(min(1.0, max(0.0, value)), text=text)

        report = flow.grade(ctx, record.id, progress=progress)
        status.update(label="Graded", state="complete", expanded=False)
    return report


def render_report(ctx: AppContext, record: InterviewRecord, rep: ReportRecord) -> None:
    """The scores chart, the verdict, and the full report with downloads."""
    names = flow.dimension_names(ctx.settings)
    graded = flow.load_report(rep)
    cols = st.columns(3)
    cols[0].metric("Overall (1-4)", f"{rep.overall:.2f}" if rep.overall is not None else "not scored")
    if graded is not None:
        cols[1].metric("Verdict", graded.verdict or "none")
        cols[2].metric("Grader", graded.grader)
    st.subheader("Six dimensions")
    chart = [
        {"dimension": names.get(dim, dim), "score": score if score is not None else 0.0}
        for dim, score in rep.scores.items()
    ]
    st.vega_lite_chart(
        {
            "data": {"values": chart},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "dimension", "type": "nominal", "sort": None, "title": None},
                "x": {
                    "field": "score",
                    "type": "quantitative",
                    "scale": {"domain": [0, 4]},
                    "axis": {"tickCount": 5},
                    "title": "score (1-4)",
                },
            },
        },
        width="stretch",
    )
    unscored = [names.get(d, d) for d, s in rep.scores.items() if s is None]
    if unscored:
        st.warning(
            "Not scored (grading failed): " + ", ".join(unscored) + ". The reasons are in the report below; "
            "**Grade again** retries."
        )

    dl1, dl2, _ = st.columns([1, 1, 3])
    base = f"sdmock-{record.problem}-{record.created_at:%Y%m%d-%H%M}"
    dl1.download_button(
        "Download Markdown", rep.markdown, file_name=f"{base}.md", mime="text/markdown", key="dl_md"
    )
    dl2.download_button("Download HTML", rep.html, file_name=f"{base}.html", mime="text/html", key="dl_html")

    st.divider()
    # The report quotes the candidate: rendered as Markdown with images and HTML neutralised.
    st.markdown(safe_markdown(rep.markdown))


def render(ctx: AppContext, interview_id: str) -> None:
    """Draw the Report page for the interview in the URL, grading it first when needed."""
    record = ctx.store.find_interview(interview_id)
    if record is None:
        st.error(f"There is no interview with id `{interview_id}`.")
        return
    title = flow.problem_title(ctx.settings, record.problem)
    st.title(f"Report: {title} ({record.level})")
    rep = ctx.store.get_report(record.id)
    if rep is None and record.status == "active":
        st.info("This interview is still in progress. Finish it to get the report.")
        c1, c2 = st.columns(2)
        if c1.button("Back to the interview", key="rep_back"):
            nav.go("interview", record.id)
        if c2.button("Finish and grade now", key="rep_finish"):
            flow.finish_now(ctx, record.id)
            st.rerun()
        return
    if rep is None:
        rep = _grade(ctx, record)
        record = ctx.store.get_interview(record.id)
    render_report(ctx, record, rep)
    if st.button(
        "Grade again", key="rep_regrade", help="Re-run the grader (e.g. after configuring a model)."
    ):
        _grade(ctx, record)
        st.rerun()
