"""Scale-out load run: 50 simulated candidates through nginx against 2, then 4, app processes.

    .venv/bin/python -m benchmarks.bench_scale_out                     # 50 candidates, 2 and 4 processes
    .venv/bin/python -m benchmarks.bench_scale_out --candidates 20 --procs 2,4,8 --turns 3

Not part of CI (it takes a few minutes and needs PostgreSQL and nginx: .ci/system-deps.sh). Each
configuration is a fresh database on one throwaway PostgreSQL server (tests/postgres.py), one shared
`chroma run` holding the full knowledge/notes index (built once by the launcher's index job), and the
team launcher (deploy/team.py) with N app processes behind nginx, all on 127.0.0.1.

The model is tests/fakes/openai_server.py's FakeOpenAIServer in its own process, reached through
OPENAI_BASE_URL (the real openai client path): every reply is the same 14 words streamed at 15 ms a
word, about 0.2 s of model latency per turn.

A simulated candidate is a Streamlit websocket client (the protobuf BackMsg/ForwardMsg protocol the
browser speaks, on /_stcore/stream through nginx with its own sticky-route cookie), not a browser: 50
chromium pages would use the same two cores the servers need. It opens the Start page, submits the
form, then sends TURNS chat messages with a short think time between them (arrivals spread over 15 s).
Turn latency is from sending a message to the end of the run that shows the committed reply (Streamlit's
FINISHED_SUCCESSFULLY after the app's st.rerun). An error is a turn that failed, timed out, or whose
reply is not the model's (a fallback notice), or an interview whose stored turns do not add up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import write_results

ROOT = Path(__file__).resolve().parent.parent
OPT_IN = "needs PostgreSQL and nginx, and takes several minutes"
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT / "tests"))

MODEL_REPLY = "Good. What happens to the redirect path when one of those shards is unavailable right now?"
WORD_DELAY_S = 0.015
MESSAGES = (
    "How many new URLs are created per day?",
    "What is the read to write ratio?",
    "How long do we keep the links?",
    "High level: a stateless API tier behind a load balancer, a key-value store and a cache.",
    "For IDs I would use a counter-based generator and base62-encode the number.",
    "Cache with LRU eviction in front of the store; hot URLs stay in memory.",
)
TURN_TIMEOUT_S = 120.0
THINK_S = (0.5, 1.5)
RAMP_S = 15.0

_FAKE_SERVER = """
import sys, threading
sys.path.insert(0, sys.argv[1])
from fakes.openai_server import FakeOpenAIServer, reply
server = FakeOpenAIServer()
server.queue(*[reply(sys.argv[2], chunk_delay_s=float(sys.argv[3])) for _ in range(int(sys.argv[4]))])
server.start()
print(server.port, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
print("unexpected", server.unexpected, "requests", len(server.requests), file=sys.stderr, flush=True)
server.stop()
"""


# --- the simulated candidate ---------------------------------------------------------------------------


@dataclass
class CandidateResult:
    """What one simulated candidate saw."""

    interview_id: str | None = None
    latencies: list[float] = field(default_factory=list)
    start_s: float | None = None
    errors: list[str] = field(default_factory=list)


class StreamlitClient:
    """Just enough of the Streamlit websocket protocol to press a button and send chat messages."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.query_string = ""

    async def run(self, widgets: list[Any] | None = None) -> list[tuple[str, Any]]:
        """Ask for a rerun (with these widget states); return the elements of the final run."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_script_hash = ""
        for w in widgets or []:
            msg.rerun_script.widget_states.widgets.append(w)
        await self.ws.send(msg.SerializeToString())
        elements: list[tuple[str, Any]] = []
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "page_info_changed":
                self.query_string = fwd.page_info_changed.query_string
            elif kind == "new_session":
                elements = []  # a rerun started over
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                name = el.WhichOneof("type") or ""
                elements.append((name, getattr(el, name)))
            elif kind == "script_finished" and fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return elements


def _widget_id(elements: list[tuple[str, Any]], kind: str, label: str | None = None) -> str:
    for name, el in elements:
        if name == kind and (label is None or label in getattr(el, "label", "")):
            return str(el.id)
    raise RuntimeError(f"no {kind} {label or ''} on the page")


def _model_replies(elements: list[tuple[str, Any]]) -> int:
    return sum(MODEL_REPLY in getattr(el, "body", "") for name, el in elements if name == "markdown")


async def candidate(url: str, turns: int, seed: int, ramp_s: float = RAMP_S) -> CandidateResult:
    """Open the app, start an interview, send `turns` messages; time each turn."""
    import websockets
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from websockets.typing import Subprotocol

    rng = random.Random(seed)
    result = CandidateResult()
    await asyncio.sleep(rng.uniform(0, ramp_s))  # arrivals spread over the first RAMP_S seconds
    cookie = f"sdmock_route={uuid.uuid4().hex}"
    try:
        async with websockets.connect(
            url,
            subprotocols=[Subprotocol("streamlit")],
            additional_headers={"Cookie": cookie},
            max_size=None,
            open_timeout=TURN_TIMEOUT_S,  # a loaded server accepts late; a browser waits too
            ping_interval=None,  # the browser does not ping either
        ) as ws:
            client = StreamlitClient(ws)
            page = await asyncio.wait_for(client.run(), TURN_TIMEOUT_S)
            start = WidgetState(id=_widget_id(page, "button", "Start interview"), trigger_value=True)
            t0 = time.perf_counter()
            page = await asyncio.wait_for(client.run([start]), TURN_TIMEOUT_S)
            result.start_s = time.perf_counter() - t0
            result.interview_id = dict(
                p.split("=", 1) for p in client.query_string.split("&") if "=" in p
            ).get("id")
            chat = _widget_id(page, "chat_input")
            replies_before = _model_replies(page)
            for i in range(turns):
                await asyncio.sleep(rng.uniform(*THINK_S))
                state = WidgetState(id=chat)
                state.chat_input_value.data = MESSAGES[i % len(MESSAGES)]
                t0 = time.perf_counter()
                try:
                    page = await asyncio.wait_for(client.run([state]), TURN_TIMEOUT_S)
                except TimeoutError:
                    result.errors.append(f"turn {i + 1}: no reply within {TURN_TIMEOUT_S:.0f} s")
                    return result
                result.latencies.append(time.perf_counter() - t0)
                if _model_replies(page) != replies_before + i + 1:
                    result.errors.append(f"turn {i + 1}: the reply is not the model's")
    except Exception as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
    return result


async def load(url: str, candidates: int, turns: int) -> tuple[list[CandidateResult], float]:
    """Run every candidate concurrently; return their results and the wall time."""
    t0 = time.perf_counter()
    results = await asyncio.gather(*(candidate(url, turns, seed) for seed in range(candidates)))
    return list(results), time.perf_counter() - t0


async def _warm_up(urls: list[str]) -> None:
    for result in await asyncio.gather(*(candidate(u, 1, -1 - i, ramp_s=0) for i, u in enumerate(urls))):
        if result.errors:
            raise RuntimeError(f"warm-up failed: {result.errors}")


# --- the deployment ------------------------------------------------------------------------------------


def _start_fake_model(replies: int, log: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _FAKE_SERVER,
            str(ROOT / "tests"),
            MODEL_REPLY,
            str(WORD_DELAY_S),
            str(replies),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _roomy_postgres() -> Any:
    """The test PostgreSQL server, restarted with room for N processes x SQLAlchemy's pool of 15."""
    from postgres import start_postgres

    server = start_postgres()
    opts = (
        f"-p {server.port} -k {server.root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c full_page_writes=off -c max_connections=300"
    )
    done = server.pg_ctl("-o", opts, "-l", str(server.root / "server.log"), "-w", "-t", "60", "restart")
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed: {done.stderr}")
    return server


def _run_team(env: dict[str, str], prefix: Path) -> subprocess.Popen[bytes]:
    out = (prefix.parent / f"{prefix.name}.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "team.py")],
        env=env,
        cwd=str(ROOT),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    state = prefix / "team.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the launcher exited: {(prefix.parent / f'{prefix.name}.out').read_text()}")
        if state.exists() and json.loads(state.read_text()).get("ready"):
            return proc
        time.sleep(0.5)
    raise RuntimeError("the deployment did not become ready within 600 s")


def _stop_team(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _check_store(url: str, results: list[CandidateResult], turns: int) -> int:
    """Interviews whose stored turns do not add up (opening + 2 per acknowledged turn, all complete)."""
    from app.store import Store

    store = Store(url, migrate=False)
    bad = 0
    try:
        for r in results:
            if r.interview_id is None:
                continue
            stored = store.turns(r.interview_id)
            want = 1 + 2 * len(r.latencies)
            if len(stored) != want or any(t.status != "complete" for t in stored):
                bad += 1
                r.errors.append(f"store holds {len(stored)} turns, expected {want}")
    finally:
        store.close()
    return bad


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(procs: int, candidates: int, turns: int, base_env: dict[str, str], work: Path, pg: Any) -> dict:
    """One configuration: a fresh database, the launcher with `procs` apps, the load, the numbers."""
    from postgres import free_port

    database_url = pg.url(pg.create_database())
    prefix = work / f"team-{procs}"
    env = {
        **base_env,
        "SDMOCK_DATABASE_URL": database_url,
        "SDMOCK_TEAM_PORT": str(free_port()),
        "SDMOCK_TEAM_APP_PORTS": ",".join(str(free_port()) for _ in range(procs)),
        "SDMOCK_TEAM_DIR": str(prefix),
    }
    load_before = os.getloadavg()[0]
    print(f"-- {procs} app processes: starting the deployment", flush=True)
    team = _run_team(env, prefix)
    try:
        state = json.loads((prefix / "team.json").read_text())
        # Warm-up, straight to each process: its first interview pays for imports and model loading.
        warm = [f"ws://127.0.0.1:{a['port']}/_stcore/stream" for a in state["apps"]]
        asyncio.run(_warm_up(warm))
        url = state["url"].replace("http://", "ws://")
        print(f"-- {procs} app processes: {candidates} candidates x {turns} turns", flush=True)
        results, wall = asyncio.run(load(f"{url}/_stcore/stream", candidates, turns))
    finally:
        _stop_team(team)
    bad_store = _check_store(database_url, results, turns)
    latencies = [s for r in results for s in r.latencies]
    starts = [r.start_s for r in results if r.start_s is not None]
    errors = [e for r in results for e in r.errors]
    access = (prefix / "logs" / "access.log").read_text(errors="replace")
    spread = Counter(
        ln.split("upstream=")[1].split()[0].split(",")[-1]
        for ln in access.splitlines()
        if "/_stcore/stream" in ln and "upstream=" in ln
    )
    return {
        "processes": procs,
        "candidates": candidates,
        "turns_per_candidate": turns,
        "turns_ok": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "bad_interviews_in_store": bad_store,
        "turn_p50_s": _percentile(latencies, 0.5),
        "turn_p95_s": _percentile(latencies, 0.95),
        "turn_max_s": max(latencies, default=float("nan")),
        "start_p50_s": statistics.median(starts) if starts else float("nan"),
        "wall_s": wall,
        "turns_per_s": len(latencies) / wall if wall else 0.0,
        "sessions_per_upstream": dict(sorted(spread.items())),
        "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: list[str] | None = None) -> None:
    """Run the load against each process count; print a table; write benchmarks/results/scale_out.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--procs", default="2,4", help="comma-separated app process counts")
    args = parser.parse_args(argv or [])
    counts = [int(p) for p in args.procs.split(",")]
    from postgres import find_pg_bin
    from team import TeamConfig

    nginx = TeamConfig.from_env({"SDMOCK_DATABASE_URL": "-"}).nginx
    if find_pg_bin() is None or not Path(nginx).exists():
        print("bench_scale_out skipped: needs the PostgreSQL server and nginx (bash .ci/system-deps.sh)")
        return

    from postgres import free_port

    work = Path(tempfile.mkdtemp(prefix="sdmock-bench-scale-"))
    replies = len(counts) * args.candidates * (args.turns + 2) + 3 * sum(counts) + 100
    fake, fake_port = _start_fake_model(replies, work / "fake-model.log")
    pg = _roomy_postgres()
    base_env = {
        **os.environ,
        "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "OPENAI_API_KEY": "fake",
        "SDMOCK_MODEL": "openai/gpt-4o-mini",
        "SDMOCK_DATA_DIR": str(work / "data"),
        "SDMOCK_CHROMA_HOST": "127.0.0.1",
        "SDMOCK_CHROMA_PORT": str(free_port()),
        "SDMOCK_TEAM_CHROMA_PATH": str(work / "chroma"),
    }
    base_env.pop("SDMOCK_LOCAL_MODEL", None)
    rows = []
    try:
        for procs in counts:
            rows.append(measure(procs, args.candidates, args.turns, base_env, work, pg))
    finally:
        from postgres import stop_postgres

        stop_postgres(pg)
        assert fake.stdin is not None
        fake.stdin.close()
        fake.wait(timeout=30)

    base = rows[0]
    print(f"\nScale-out: {args.candidates} candidates x {args.turns} turns through nginx, fake model "
          f"(~{WORD_DELAY_S * len(MODEL_REPLY.split()):.2f} s a reply), {os.cpu_count()} cores")  # fmt: skip
    header = (
        f"{'procs':>5} {'turns ok':>8} {'errors':>6} {'p50 s':>6} {'p95 s':>6} {'max s':>6} "
        f"{'turns/s':>7} {'x thru':>6} {'x p95':>6}  sessions per process"
    )
    print(header)
    for row in rows:
        row["throughput_ratio"] = row["turns_per_s"] / base["turns_per_s"] if base["turns_per_s"] else 0.0
        row["p95_ratio"] = row["turn_p95_s"] / base["turn_p95_s"] if base["turn_p95_s"] else 0.0
        print(
            f"{row['processes']:>5} {row['turns_ok']:>8} {row['errors']:>6} {row['turn_p50_s']:>6.2f} "
            f"{row['turn_p95_s']:>6.2f} {row['turn_max_s']:>6.2f} {row['turns_per_s']:>7.2f} "
            f"{row['throughput_ratio']:>6.2f} {row['p95_ratio']:>6.2f}  "
            f"{' '.join(str(v) for v in row['sessions_per_upstream'].values())}"
        )
        print(f"      load average (1 min) before/after: {row['loadavg_1m_before_after']}")
        for sample in row["error_samples"]:
            print(f"      error: {sample}")
    path = write_results(
        "scale_out",
        {
            "candidates": args.candidates,
            "turns": args.turns,
            "cores": os.cpu_count(),
            "model": f"FakeOpenAIServer, {len(MODEL_REPLY.split())} words at {WORD_DELAY_S * 1000:.0f} ms",
            "rows": rows,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
