"""Streamlit entry point: `streamlit run app/ui/main.py` (or `sdmock web`).

The URL is the state: `?page=interview&id=<interview id>`. Everything else is read from the store on
each run, so a reload, a second tab, a restarted server or another app process shows the same thing.
"""

from __future__ import annotations

from app.ui.router import main

main()
