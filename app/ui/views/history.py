"""History page: past interviews with scores, a trend per dimension, and the weakest dimension."""

from __future__ import annotations

import streamlit as st

from app.store import InterviewRecord, ReportRecord
from app.ui import nav
from app.ui.context import AppContext
from app.ui.flow import dimension_names, weakest_dimension

RECENT = 5
"""How many of the latest reports decide the weakest dimension."""


def _count(n: int) -> str:
    return "graded interview" if n == 1 else f"{n} graded interviews"


def _label(rec: InterviewRecord) -> str:
    return f"{rec.created_at:%Y-%m-%d %H:%M} · {rec.problem} · {rec.level} · {rec.status}"


def render(ctx: AppContext) -> None:
    """Draw the History page."""
    st.title("History")
    interviews = ctx.store.list_interviews()
    if not interviews:
        st.info("No interviews yet. Start one from the Start page.")
        return
    reports: list[tuple[InterviewRecord, ReportRecord]] = ctx.store.list_reports()
    by_id = {i.id: r for i, r in reports}
    names = dimension_names(ctx.settings)

    st.dataframe(
        [
            {
                "Date": f"{i.created_at:%Y-%m-%d %H:%M}",
                "Problem": i.problem,
                "Level": i.level,
                "Minutes": i.minutes,
                "Status": i.status,
                "Overall": by_id[i.id].overall if i.id in by_id else None,
                "Id": i.id,
            }
            for i in interviews
        ],
        hide_index=True,
        width="stretch",
    )

    if reports:
        st.subheader("Trend per dimension")
        points = [
            {
                "interview": n,
                "date": f"{i.created_at:%Y-%m-%d %H:%M}",
                "dimension": names.get(d, d),
                "score": s,
            }
            for n, (i, r) in enumerate(reports, start=1)
            for d, s in r.scores.items()
            if s is not None
        ]
        st.vega_lite_chart(
            {
                "data": {"values": points},
                "mark": {"type": "line", "point": True, "tooltip": True},
                "encoding": {
                    "x": {"field": "interview", "type": "ordinal", "title": "interview #"},
                    "y": {"field": "score", "type": "quantitative", "scale": {"domain": [1, 4]}},
                    "color": {"field": "dimension", "type": "nominal"},
                },
            },
            width="stretch",
        )
        weakest = weakest_dimension([r for _, r in reports[-RECENT:]])
        if weakest:
            dim, mean = weakest
            st.warning(
                f"Weakest dimension over your last {_count(min(RECENT, len(reports)))}: "
                f"**{names.get(dim, dim)}** (average {mean:.1f} of 4).",
                icon=":material/trending_down:",
            )

    st.subheader("Open")
    chosen = st.selectbox(
        "Interview",
        [i.id for i in interviews],
        format_func=lambda iid: _label(next(i for i in interviews if i.id == iid)),
        key="history_pick",
    )
    cols = st.columns(2)
    if cols[0].button("Open interview", key="history_open_interview") and chosen:
        nav.go("interview", chosen)
    if cols[1].button("Open report", key="history_open_report") and chosen:
        nav.go("report", chosen)
