"""The router: sidebar navigation, shared resources, and one view per page."""

from __future__ import annotations

import streamlit as st

from app.errors import SdmockError
from app.settings import get_settings
from app.store import get_store
from app.ui import nav
from app.ui.context import AppContext
from app.ui.views import history, interview, report, start


def _sidebar(ctx: AppContext, page: nav.Page, interview_id: str | None) -> None:
    with st.sidebar:
        st.markdown("### sdmock")
        if st.button("New interview", key="nav_start", width="stretch", type="secondary"):
            nav.go("start")
        if st.button("History", key="nav_history", width="stretch"):
            nav.go("history")
        if interview_id and page in ("interview", "report"):
            if page == "report" and st.button("Back to the interview", key="nav_interview", width="stretch"):
                nav.go("interview", interview_id)
            st.caption(f"Interview `{interview_id}`")
        st.caption(ctx.voice_line)


def main() -> None:
    """Render the page the URL names."""
    st.set_page_config(page_title="sdmock: mock system design interview", layout="wide")
    page = nav.current_page()
    interview_id = nav.current_id()
    try:
        settings = get_settings()
        ctx = AppContext(settings=settings, store=get_store(settings))
        _sidebar(ctx, page, interview_id)
        if page in ("interview", "report") and not interview_id:
            st.warning("No interview id in the address. Start a new interview or open one from History.")
            start.render(ctx)
        elif page == "interview":
            interview.render(ctx, interview_id or "")
        elif page == "report":
            report.render(ctx, interview_id or "")
        elif page == "history":
            history.render(ctx)
        else:
            start.render(ctx)
    except SdmockError as exc:
        st.error(exc.message)
        if exc.hint:
            st.info(exc.hint)
