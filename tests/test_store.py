"""The Store against SQLite and against a real PostgreSQL server started by the fixture."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.errors import StateConflictError, StoreError
from app.settings import Settings
from app.store import Store
from app.store.models import Base
from app.store.store import head_revision


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'sdmock.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    yield s  # type: ignore[misc]
    s.close()


def _new(store: Store, **kw: object) -> str:
    args: dict[str, object] = {
        "problem": "url-shortener",
        "level": "senior",
        "minutes": 45,
        "voice": "offline",
    }
    args.update(kw)
    return store.create_interview(**args).id  # type: ignore[arg-type]


def test_migrated_to_head_and_idempotent(store: Store, store_url: str) -> None:
    assert store.current_revision() == head_revision() is not None
    again = Store(store_url)  # a second process opening the same database
    assert again.current_revision() == head_revision()
    tables = set(inspect(again.engine).get_table_names())
    assert {"interviews", "turns", "reports", "alembic_version"} <= tables
    again.close()


def test_models_match_migrations(store: Store) -> None:
    """Every model change must come with a migration: autogenerate finds nothing to do."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_interview_round_trip(store: Store) -> None:
    state = json.dumps({"phase": "scope", "released": ["users"], "nested": {"x": [1, 2.5, None]}})
    rec = store.create_interview(
        problem="url-shortener", level="staff", minutes=30, voice="offline", state=state
    )
    got = store.get_interview(rec.id)
    assert got.state == state
    assert got.state_dict()["nested"] == {"x": [1, 2.5, None]}
    assert (got.problem, got.level, got.minutes, got.voice, got.status, got.phase) == (
        "url-shortener",
        "staff",
        30,
        "offline",
        "active",
        "scope",
    )
    assert got.created_at.tzinfo is not None
    store.save_state(rec.id, '{"phase": "high_level"}', phase="high_level")
    store.save_scratchpad(rec.id, "digraph { client -> api }")
    got = store.get_interview(rec.id)
    assert (got.phase, got.scratchpad) == ("high_level", "digraph { client -> api }")
    store.set_status(rec.id, "finished")
    assert store.get_interview(rec.id).finished_at is not None


def test_unknown_interview(store: Store) -> None:
    assert store.find_interview("nope") is None
    assert store.find_interview("x" * 200) is None
    with pytest.raises(StoreError, match="no interview"):
        store.get_interview("nope")
    with pytest.raises(StoreError):
        store.add_turn("nope", role="candidate", content="hi")


def test_turns_in_order_with_metadata(store: Store) -> None:
    iid = _new(store)
    store.add_turn(iid, role="interviewer", content="Design a URL shortener.", phase="scope")
    store.add_turn(iid, role="candidate", content="How many users? — ünïcode ✓", phase="scope")
    notes = [{"source": "caching.md", "heading": "Cache aside", "text": "...", "score": 0.8}]
    store.add_turn(
        iid,
        role="interviewer",
        content="100M DAU.",
        phase="scope",
        facts=["users"],
        notes=notes,
        tokens=12,
        state='{"released": ["users"]}',
    )
    turns = store.turns(iid)
    assert [t.seq for t in turns] == [1, 2, 3]
    assert [t.role for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert turns[1].content.endswith("ünïcode ✓")
    assert turns[2].facts == ["users"] and turns[2].notes == notes and turns[2].tokens == 12
    assert store.get_interview(iid).state == '{"released": ["users"]}'
    tr = store.transcript(iid)
    assert tr.problem == "url-shortener" and tr.candidate_turns() == ["How many users? — ünïcode ✓"]


def test_interrupted_turn_can_be_regenerated_in_place(store: Store) -> None:
    iid = _new(store)
    store.add_turn(iid, role="candidate", content="q", phase="scope")
    cut = store.add_turn(iid, role="interviewer", content="partial rep", status="interrupted")
    assert store.turns(iid)[-1].status == "interrupted"
    done = store.update_turn(cut.id, content="full reply", status="complete", facts=["f"], phase="scope")
    assert (done.seq, done.status, done.content, done.facts) == (cut.seq, "complete", "full reply", ["f"])
    store.delete_turn(done.id)
    assert [t.role for t in store.turns(iid)] == ["candidate"]


def test_reply_over_a_stale_state_is_refused_and_writes_nothing(store: Store) -> None:
    """Two tabs answer from the same state: the first reply lands, the second would overwrite it."""
    iid = _new(store)
    store.save_state(iid, '{"v": 0}')
    store.add_turn(iid, role="candidate", content="from tab one")
    store.add_turn(iid, role="candidate", content="from tab two")
    store.add_turn(iid, role="interviewer", content="reply one", state='{"v": 1}', expect_state='{"v": 0}')
    with pytest.raises(StateConflictError, match="another tab"):
        store.add_turn(iid, role="interviewer", content="two", state='{"v": 2}', expect_state='{"v": 0}')
    assert store.get_interview(iid).state == '{"v": 1}'
    assert [t.content for t in store.turns(iid)] == ["from tab one", "from tab two", "reply one"]

    broken = store.add_turn(iid, role="interviewer", content="par", status="interrupted")
    with pytest.raises(StateConflictError):
        store.update_turn(broken.id, content="partial, redone", state='{"v": 3}', expect_state='{"v": 0}')
    assert store.turns(iid)[-1].content == "par" and store.turns(iid)[-1].status == "interrupted"
    store.update_turn(broken.id, content="redone", state='{"v": 3}', expect_state='{"v": 1}')
    assert store.get_interview(iid).state == '{"v": 3}'
    with pytest.raises(StoreError, match="no interview"):
        store.add_turn("nope", role="interviewer", content="x", state="{}", expect_state="{}")


def test_interviews_never_share_turns(store: Store) -> None:
    a, b = _new(store), _new(store)
    store.add_turn(a, role="candidate", content="marker-A")
    store.add_turn(b, role="candidate", content="marker-B")
    store.add_turn(a, role="candidate", content="marker-A2")
    assert [t.content for t in store.turns(a)] == ["marker-A", "marker-A2"]
    assert [t.content for t in store.turns(b)] == ["marker-B"]
    assert [t.seq for t in store.turns(b)] == [1]


def test_concurrent_appends_get_unique_contiguous_seqs(store: Store) -> None:
    iid = _new(store)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                store.add_turn(iid, role="candidate", content=f"w{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    turns = store.turns(iid)
    assert [t.seq for t in turns] == list(range(1, 41))
    assert len({t.content for t in turns}) == 40


def test_reports(store: Store) -> None:
    a, b = _new(store), _new(store)
    assert store.get_report(a) is None
    store.save_report(
        a,
        overall=2.5,
        scores={"scope": 3.0, "design": None},
        data={"k": 1},
        markdown="# R",
        html="<h1>R</h1>",
    )
    rep = store.save_report(
        a, overall=3.0, scores={"scope": 4.0, "design": 2.0}, data={"k": 2}, markdown="# R2", html="<p>"
    )
    assert rep.overall == 3.0
    got = store.get_report(a)
    assert got is not None and got.scores == {"scope": 4.0, "design": 2.0} and got.data == {"k": 2}
    assert store.get_interview(a).status == "graded"
    assert store.get_interview(b).status == "active"
    listed = store.list_reports()
    assert [i.id for i, _ in listed] == [a]
    assert [i.id for i in store.list_interviews()] == [b, a]
    assert [i.id for i in store.list_interviews(status="graded")] == [a]
    store.delete_interview(a)
    assert store.find_interview(a) is None and store.get_report(a) is None


def test_sqlite_defaults(tmp_settings: Settings) -> None:
    store = Store.from_settings(tmp_settings)
    db = tmp_settings.data_dir / "sdmock.db"
    assert db.exists()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert store.integrity_check() == "ok"
    store.close()


def test_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "db").mkdir()
    with pytest.raises(StoreError, match="SDMOCK_DATABASE_URL"):
        Store(f"sqlite:///{tmp_path / 'db'}")


def test_migrations_downgrade_and_upgrade(store: Store, store_url: str) -> None:
    from alembic import command

    from app.store.store import alembic_config

    cfg = alembic_config(store_url)
    command.downgrade(cfg, "base")
    assert store.current_revision() is None
    assert "turns" not in set(inspect(store.engine).get_table_names())
    store.migrate()
    assert store.current_revision() == head_revision()


def test_unreachable_postgres_is_a_store_error(loopback: None) -> None:
    del loopback
    with pytest.raises(StoreError, match="cannot migrate"):
        Store("postgresql+psycopg://nobody@127.0.0.1:9/nothing?connect_timeout=2")
