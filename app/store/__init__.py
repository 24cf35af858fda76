"""Durable storage of interviews, turns and reports (SQLAlchemy 2; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from app.store.store import InterviewRecord, ReportRecord, Store, TurnRecord, get_store

__all__ = ["InterviewRecord", "ReportRecord", "Store", "TurnRecord", "get_store"]
