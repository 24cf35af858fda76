"""SIGKILL a process mid-interview: no acknowledged candidate turn is lost and SQLite stays sound.

The child drives the interview through `app.ui.flow` (the code path of the web pages): each candidate
turn is committed, then acknowledged on stdout, then the interviewer's reply is streamed and saved.
The parent kills the child with SIGKILL at a random point, restarts it on the same database, and
checks every acknowledged turn is there, in order, once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.settings import REPO_ROOT, get_settings
from app.store import Store

CHILD = r"""
import sys
from app.settings import get_settings
from app.store import Store
from app.ui import flow
from app.ui.context import AppContext

settings = get_settings(data_dir=sys.argv[1], model="offline", _env_file=None)
ctx = AppContext(settings=settings, store=Store.from_settings(settings))
flow.build_retriever = lambda s: None
iid = sys.argv[2] if len(sys.argv) > 2 else None
if not iid:
    iid = flow.start_interview(ctx, "url-shortener", level="senior", minutes=45).id
    print("ID", iid, flush=True)
stream = flow.begin_regenerate(ctx, iid)  # a reply the previous process never finished
if stream is not None:
    list(stream)
    stream.commit()
questions = ["How many new URLs per day?", "What is the read/write ratio?", "How long do we keep links?",
             "Can links be deleted?", "How short should codes be?", "What characters are allowed?"]
n = 0
while True:
    text = f"{questions[n % len(questions)]} [msg {sys.argv[3]}-{n}]"
    turn = flow.submit(ctx, iid, text)
    print("ACK", turn.seq, text, flush=True)
    stream = flow.begin(ctx, iid, "reply", turn.content)
    for _ in stream:
        pass
    stream.commit()
    n += 1
"""


def _run_child(
    data_dir: Path, iid: str, round_no: int, acks: int, rng: random.Random
) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), iid, str(round_no)],
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    acked: list[tuple[int, str]] = []
    assert proc.stdout is not None
    try:
        while len(acked) < acks:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"child ended early: {proc.stderr.read() if proc.stderr else ''}")
            if line.startswith("ACK "):
                _, seq, text = line.rstrip("\n").split(" ", 2)
                acked.append((int(seq), text))
        # Let it run on into a reply (or the next commit) for a random moment, then kill it hard.
        time.sleep(rng.uniform(0.0, 0.05))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return acked


@pytest.mark.slow
def test_sigkill_mid_interview_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = get_settings(data_dir=data_dir, model="offline", _env_file=None)
    start = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from app.settings import get_settings; from app.store import Store; "
            "from app.ui import flow; from app.ui.context import AppContext; "
            "s = get_settings(data_dir=sys.argv[1], model='offline', _env_file=None); "
            "print(flow.start_interview(AppContext(settings=s, store=Store.from_settings(s)), "
            "'url-shortener', level='senior', minutes=45).id)",
            str(data_dir),
        ],
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        check=True,
    )
    iid = start.stdout.strip().splitlines()[-1]
    rng = random.Random(1234)
    acked: list[tuple[int, str]] = []
    for round_no in range(4):
        acked += _run_child(data_dir, iid, round_no, acks=rng.randint(3, 8), rng=rng)

        store = Store.from_settings(settings)
        assert store.integrity_check() == "ok"
        turns = store.turns(iid)
        by_seq = {t.seq: t for t in turns}
        for seq, text in acked:
            assert seq in by_seq, f"acknowledged turn {seq} lost"
            assert by_seq[seq].role == "candidate" and by_seq[seq].content == text
        candidate_texts = [t.content for t in turns if t.role == "candidate"]
        assert len(candidate_texts) == len(set(candidate_texts)), "a turn was duplicated"
        assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
        store.close()

    # After the last kill the interview can still be continued (pending reply regenerated).
    final = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), iid, "final"],
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert final.stdout is not None
    line = final.stdout.readline()
    final.send_signal(signal.SIGKILL)
    final.wait(timeout=30)
    assert line.startswith("ACK "), line
    store = Store.from_settings(settings)
    roles = [t.role for t in store.turns(iid)]
    # every candidate turn but possibly the last has its interviewer reply right after it
    for i, role in enumerate(roles[:-2]):
        if role == "candidate":
            assert roles[i + 1] == "interviewer"
    assert store.integrity_check() == "ok"
