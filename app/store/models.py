"""The tables. Schema changes go through an Alembic migration in migrations/versions/, never create_all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every sdmock table."""


class InterviewRow(Base):
    """One interview: its settings, the director's state and the scratchpad."""

    __tablename__ = "interviews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    problem: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    voice: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(Text, default="{}")
    """The director's InterviewState as JSON text (kept verbatim so it round-trips exactly)."""
    phase: Mapped[str] = mapped_column(String(20), default="scope")
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    """active | finished | graded."""
    scratchpad: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TurnRow(Base):
    """One message. `seq` orders the turns of an interview and is unique within it."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("interview_id", "seq", name="uq_turns_interview_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(String(20), nullable=True)
    facts: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Ids of the hidden facts released by this (interviewer) turn."""
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Study-note snippets the interviewer used for this reply: source, heading, text, score."""
    tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="complete")
    """complete | interrupted."""
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """What produced an interviewer turn: open | reply | advance | finish (to regenerate it exactly)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportRow(Base):
    """The grading report of an interview (the latest one wins)."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("interviews.id", ondelete="CASCADE"), unique=True
    )
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    scores: Mapped[dict[str, float | None]] = mapped_column(JSON, default=dict)
    """Score per rubric dimension; None when the dimension could not be scored."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The full report object as JSON."""
    markdown: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
