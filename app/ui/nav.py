"""The URL carries the page and the interview id; these helpers read and change them."""

from __future__ import annotations

from typing import Literal

import streamlit as st

Page = Literal["start", "interview", "report", "history"]
PAGES: tuple[Page, ...] = ("start", "interview", "report", "history")


def current_page() -> Page:
    """The page named in the URL (start when absent or unknown)."""
    page = st.query_params.get("page", "start")
    return page if page in PAGES else "start"


def current_id() -> str | None:
    """The interview id in the URL, if any."""
    value = st.query_params.get("id")
    return value or None


def go(page: Page, interview_id: str | None = None) -> None:
    """Switch page (keeping the interview id in the URL) and rerun."""
    st.query_params.clear()
    st.query_params["page"] = page
    if interview_id:
        st.query_params["id"] = interview_id
    st.rerun()
