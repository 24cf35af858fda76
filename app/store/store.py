"""The Store API: every write is its own committed transaction, so nothing that matters lives in memory.

SQLite (the default, under DATA_DIR) runs in WAL mode with `synchronous=FULL`: a turn acknowledged by
`add_turn` survives a SIGKILL of the process. PostgreSQL is selected by a `postgresql+psycopg://` URL.
Migrations (Alembic, in migrations/) are applied when a Store opens; several processes opening the
same database at once serialise on a lock (a file lock for SQLite, an advisory lock for PostgreSQL).
"""

from __future__ import annotations

import fcntl
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import StateConflictError, StoreError
from app.settings import Settings
from app.store.models import InterviewRow, ReportRow, TurnRow, utcnow
from app.transcripts import Transcript, Turn

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
WRITE_QUEUE_TIMEOUT_S = 30.0
"""Longest a write waits behind this process's other SQLite writes (each also has busy_timeout)."""
_PG_MIGRATION_LOCK = 0x5D30C4  # any constant; shared by every sdmock process on the server

Role = Literal["interviewer", "candidate"]
TurnStatus = Literal["complete", "interrupted"]
InterviewStatus = Literal["active", "finished", "graded"]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class InterviewRecord(BaseModel):
    """An interview as stored (a detached copy: safe to keep after the session closes)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    problem: str
    level: str
    minutes: int
    voice: str
    state: str = Field(description="The director's InterviewState as JSON text.")
    phase: str
    status: str
    scratchpad: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    def state_dict(self) -> dict[str, Any]:
        """The director state parsed from JSON ({} when empty)."""
        return json.loads(self.state) if self.state else {}


class TurnRecord(BaseModel):
    """One stored turn."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    interview_id: str
    seq: int
    role: str
    content: str
    phase: str | None
    facts: list[str]
    notes: list[dict[str, Any]]
    tokens: int | None
    status: str
    kind: str | None = None
    created_at: datetime


class ReportRecord(BaseModel):
    """A stored grading report."""

    model_config = ConfigDict(from_attributes=True)

    interview_id: str
    overall: float | None
    scores: dict[str, float | None]
    data: dict[str, Any]
    markdown: str
    html: str
    created_at: datetime


def alembic_config(url: str | None = None) -> Config:
    """The alembic.ini equivalent, built in code: migrations live inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest migration revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before add_turn returns, so a SIGKILL never loses an acknowledged turn.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Store:
    """Interviews, turns and reports in one SQL database."""

    def __init__(self, url: str, *, migrate: bool = True, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._db_path: Path | None = None
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                self._db_path = Path(parsed.database)
                self._db_path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 10, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(
                f"cannot open the database {parsed.render_as_string(hide_password=True)}: {exc}",
                "check SDMOCK_DATABASE_URL; PostgreSQL needs the `postgres` extra (psycopg)",
            ) from exc
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock()
        if migrate:
            self.migrate()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Store:
        """Open the database the settings name (SQLite under DATA_DIR by default)."""
        return cls(settings.resolved_database_url, **kwargs)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    # --- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error, errors as StoreError.

        SQLite has one writer at a time. Writes from this process queue on a lock here instead of
        polling SQLite's busy handler: with dozens of threads writing at once, the busy handler's
        sleep-and-retry starved some writers past busy_timeout ("database is locked").
        """
        lock = self._writer() if write and self.dialect == "sqlite" else nullcontext()
        try:
            with lock, self._sessions.begin() as session:
                yield session
        except IntegrityError:
            raise
        except OperationalError as exc:
            raise StoreError(
                f"the database is unreachable or locked: {exc.orig}",
                "check SDMOCK_DATABASE_URL and that the database server is running; your last "
                "saved turn is kept",
            ) from exc

    @contextmanager
    def _writer(self) -> Iterator[None]:
        if not self._write_lock.acquire(timeout=WRITE_QUEUE_TIMEOUT_S):
            raise StoreError(
                "the database is busy: other writes did not finish in time",
                "try again in a moment; your last saved turn is kept",
            )
        try:
            yield
        finally:
            self._write_lock.release()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self._db_path is None:
            yield
            return
        lock_path = self._db_path.with_name(self._db_path.name + ".migrate.lock")
        with lock_path.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is there already)."""
        cfg = alembic_config(self.url)
        try:
            with self._migration_lock(), self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot migrate the database schema: {exc}",
                "check SDMOCK_DATABASE_URL and that the database is reachable and writable",
            ) from exc

    def current_revision(self) -> str | None:
        """The schema revision the database is at."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def integrity_check(self) -> str:
        """`PRAGMA integrity_check` on SQLite ('ok' when sound); a trivial query elsewhere."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
                return "\n".join(str(r[0]) for r in rows)
            conn.execute(text("SELECT 1"))
            return "ok"

    # --- interviews -------------------------------------------------------------------------------

    def create_interview(
        self,
        *,
        problem: str,
        level: str,
        minutes: int,
        voice: str,
        state: str = "{}",
        phase: str = "scope",
        scratchpad: str = "",
        interview_id: str | None = None,
    ) -> InterviewRecord:
        """Create and commit a new interview; returns it with its id."""
        now = utcnow()
        row = InterviewRow(
            id=interview_id or uuid.uuid4().hex,
            problem=problem,
            level=level,
            minutes=minutes,
            voice=voice,
            state=state,
            phase=phase,
            status="active",
            scratchpad=scratchpad,
            created_at=now,
            updated_at=now,
        )
        with self._session(write=True) as s:
            s.add(row)
            s.flush()
            return self._interview(row)

    def find_interview(self, interview_id: str) -> InterviewRecord | None:
        """The interview with this id, or None."""
        if not interview_id or len(interview_id) > 32:
            return None
        with self._session() as s:
            row = s.get(InterviewRow, interview_id)
            return self._interview(row) if row else None

    def get_interview(self, interview_id: str) -> InterviewRecord:
        """The interview with this id; StoreError when there is none."""
        rec = self.find_interview(interview_id)
        if rec is None:
            raise StoreError(
                f"no interview with id {interview_id!r}", "start a new one or pick one in History"
            )
        return rec

    def list_interviews(self, *, limit: int = 200, status: str | None = None) -> list[InterviewRecord]:
        """Interviews, newest first."""
        stmt = select(InterviewRow).order_by(InterviewRow.created_at.desc(), InterviewRow.id).limit(limit)
        if status:
            stmt = stmt.where(InterviewRow.status == status)
        with self._session() as s:
            return [self._interview(r) for r in s.scalars(stmt)]

    def save_state(self, interview_id: str, state: str, *, phase: str | None = None) -> None:
        """Replace the director state (JSON text), and the phase when given."""
        values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
        if phase is not None:
            values["phase"] = phase
        self._update_interview(interview_id, values)

    def save_scratchpad(self, interview_id: str, scratchpad: str) -> None:
        """Replace the scratchpad text."""
        self._update_interview(interview_id, {"scratchpad": scratchpad, "updated_at": utcnow()})

    def set_status(self, interview_id: str, status: InterviewStatus) -> None:
        """Mark the interview active, finished or graded."""
        now = utcnow()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status != "active":
            with self._session() as s:
                row = s.get(InterviewRow, interview_id)
                if row is None:
                    raise StoreError(f"no interview with id {interview_id!r}")
                if row.finished_at is None:
                    values["finished_at"] = now
        self._update_interview(interview_id, values)

    def delete_interview(self, interview_id: str) -> None:
        """Remove an interview with its turns and report."""
        with self._session(write=True) as s:
            s.execute(delete(ReportRow).where(ReportRow.interview_id == interview_id))
            s.execute(delete(TurnRow).where(TurnRow.interview_id == interview_id))
            s.execute(delete(InterviewRow).where(InterviewRow.id == interview_id))

    def _update_interview(self, interview_id: str, values: dict[str, Any]) -> None:
        with self._session(write=True) as s:
            row = s.get(InterviewRow, interview_id)
            if row is None:
                raise StoreError(f"no interview with id {interview_id!r}")
            for key, value in values.items():
                setattr(row, key, value)

    # --- turns ------------------------------------------------------------------------------------

    def add_turn(
        self,
        interview_id: str,
        *,
        role: Role,
        content: str,
        phase: str | None = None,
        facts: Sequence[str] = (),
        notes: Sequence[dict[str, Any]] = (),
        tokens: int | None = None,
        status: TurnStatus = "complete",
        kind: str | None = None,
        state: str | None = None,
        interview_phase: str | None = None,
        interview_status: InterviewStatus | None = None,
        expect_state: str | None = None,
    ) -> TurnRecord:
        """Append a turn and commit it before returning.

        `state`, `interview_phase` and `interview_status` update the interview in the same transaction,
        so a reply and the director state it produced are saved together or not at all. With
        `expect_state` (the state the reply was computed from) the write happens only if the stored
        state is still that one; otherwise nothing is written and StateConflictError is raised.

        The next `seq` is computed in the same transaction; a concurrent writer that took the same
        number makes the unique constraint fail and the insert is retried.
        """
        for attempt in range(5):
            try:
                with self._session(write=True) as s:
                    now = utcnow()
                    # Write the parent row first: this takes the write lock (SQLite) or the row lock
                    # (PostgreSQL) before the next seq is read, so concurrent appends queue up.
                    self._update_guarded(s, interview_id, {"updated_at": now}, expect_state)
                    last = s.scalar(select(func.max(TurnRow.seq)).where(TurnRow.interview_id == interview_id))
                    row = TurnRow(
                        interview_id=interview_id,
                        seq=(last or 0) + 1,
                        role=role,
                        content=content,
                        phase=phase,
                        facts=list(facts),
                        notes=[dict(n) for n in notes],
                        tokens=tokens,
                        status=status,
                        kind=kind,
                        created_at=now,
                    )
                    s.add(row)
                    values = self._interview_values(state, interview_phase, interview_status, now)
                    if values:
                        s.execute(
                            update(InterviewRow).where(InterviewRow.id == interview_id).values(**values)
                        )
                    s.flush()
                    return self._turn(row)
            except IntegrityError as exc:
                if attempt == 4:
                    raise StoreError(f"cannot append a turn to {interview_id}: {exc.orig}") from exc
        raise AssertionError("unreachable")

    def update_turn(
        self,
        turn_id: int,
        *,
        content: str,
        status: TurnStatus = "complete",
        phase: str | None = None,
        facts: Sequence[str] | None = None,
        notes: Sequence[dict[str, Any]] | None = None,
        tokens: int | None = None,
        state: str | None = None,
        interview_phase: str | None = None,
        interview_status: InterviewStatus | None = None,
        expect_state: str | None = None,
    ) -> TurnRecord:
        """Rewrite a turn in place (a regenerated interrupted reply keeps its seq); see `add_turn`."""
        with self._session(write=True) as s:
            row = s.get(TurnRow, turn_id)
            if row is None:
                raise StoreError(f"no turn with id {turn_id}")
            row.content = content
            row.status = status
            if phase is not None:
                row.phase = phase
            if facts is not None:
                row.facts = list(facts)
            if notes is not None:
                row.notes = [dict(n) for n in notes]
            if tokens is not None:
                row.tokens = tokens
            now = utcnow()
            values = self._interview_values(state, interview_phase, interview_status, now)
            values["updated_at"] = now
            self._update_guarded(s, row.interview_id, values, expect_state)
            s.flush()
            return self._turn(row)

    @staticmethod
    def _update_guarded(
        s: Session, interview_id: str, values: dict[str, Any], expect_state: str | None
    ) -> None:
        """Update the interview row; with `expect_state`, only while its state is still that one.

        No row touched: StateConflictError if the interview exists (the write is rolled back),
        StoreError if it does not.
        """
        stmt = update(InterviewRow).where(InterviewRow.id == interview_id)
        if expect_state is not None:
            stmt = stmt.where(InterviewRow.state == expect_state)
        if s.execute(stmt.values(**values)).rowcount > 0:  # type: ignore[attr-defined]
            return
        if expect_state is not None and s.get(InterviewRow, interview_id) is not None:
            raise StateConflictError(
                "the interview moved on in another tab or window while this reply was written",
                "reload to see the conversation as it is now",
            )
        raise StoreError(f"no interview with id {interview_id!r}")

    @staticmethod
    def _interview_values(
        state: str | None, phase: str | None, status: InterviewStatus | None, now: datetime
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if state is not None:
            values["state"] = state
        if phase is not None:
            values["phase"] = phase
        if status is not None:
            values["status"] = status
            if status != "active":
                values["finished_at"] = func.coalesce(InterviewRow.finished_at, now)
        return values

    def delete_turn(self, turn_id: int) -> None:
        """Drop one turn (used to discard an interrupted reply before regenerating it)."""
        with self._session(write=True) as s:
            s.execute(delete(TurnRow).where(TurnRow.id == turn_id))

    def turns(self, interview_id: str) -> list[TurnRecord]:
        """Every turn of an interview, in order."""
        stmt = select(TurnRow).where(TurnRow.interview_id == interview_id).order_by(TurnRow.seq)
        with self._session() as s:
            return [self._turn(r) for r in s.scalars(stmt)]

    def transcript(self, interview_id: str) -> Transcript:
        """The interview as a Transcript (problem, level and every turn with content)."""
        rec = self.get_interview(interview_id)
        turns = [
            Turn(role=t.role, content=t.content, phase=t.phase) for t in self.turns(interview_id) if t.content
        ]
        return Transcript(problem=rec.problem, level=rec.level, turns=turns)

    # --- reports ----------------------------------------------------------------------------------

    def save_report(
        self,
        interview_id: str,
        *,
        overall: float | None,
        scores: dict[str, float | None],
        data: dict[str, Any],
        markdown: str,
        html: str,
    ) -> ReportRecord:
        """Store (or replace) the report and mark the interview graded, in one transaction."""
        now = utcnow()
        with self._session(write=True) as s:
            interview = s.get(InterviewRow, interview_id)
            if interview is None:
                raise StoreError(f"no interview with id {interview_id!r}")
            row = s.scalar(select(ReportRow).where(ReportRow.interview_id == interview_id))
            if row is None:
                row = ReportRow(interview_id=interview_id)
                s.add(row)
            row.overall = overall
            row.scores = dict(scores)
            row.data = data
            row.markdown = markdown
            row.html = html
            row.created_at = now
            interview.status = "graded"
            interview.updated_at = now
            if interview.finished_at is None:
                interview.finished_at = now
            s.flush()
            return self._report(row)

    def get_report(self, interview_id: str) -> ReportRecord | None:
        """The report of an interview, or None when it has not been graded."""
        with self._session() as s:
            row = s.scalar(select(ReportRow).where(ReportRow.interview_id == interview_id))
            return self._report(row) if row else None

    def list_reports(self, *, limit: int = 500) -> list[tuple[InterviewRecord, ReportRecord]]:
        """Graded interviews with their reports, oldest first (for trends)."""
        stmt = (
            select(InterviewRow, ReportRow)
            .join(ReportRow, ReportRow.interview_id == InterviewRow.id)
            .order_by(InterviewRow.created_at, InterviewRow.id)
            .limit(limit)
        )
        with self._session() as s:
            return [(self._interview(i), self._report(r)) for i, r in s.execute(stmt)]

    @staticmethod
    def _interview(row: InterviewRow) -> InterviewRecord:
        rec = InterviewRecord.model_validate(row)
        rec.created_at = _aware(rec.created_at) or rec.created_at
        rec.updated_at = _aware(rec.updated_at) or rec.updated_at
        rec.finished_at = _aware(rec.finished_at)
        return rec

    @staticmethod
    def _turn(row: TurnRow) -> TurnRecord:
        rec = TurnRecord.model_validate(row)
        rec.created_at = _aware(rec.created_at) or rec.created_at
        return rec

    @staticmethod
    def _report(row: ReportRow) -> ReportRecord:
        rec = ReportRecord.model_validate(row)
        rec.created_at = _aware(rec.created_at) or rec.created_at
        return rec


_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def get_store(settings: Settings) -> Store:
    """One Store (engine and pool) per database URL per process; migrated on first use."""
    url = settings.resolved_database_url
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = Store(url)
        return store
