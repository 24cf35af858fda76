"""Run sdmock for a team on one machine: a Chroma server, the index job, N app processes, nginx.

    SDMOCK_DATABASE_URL=postgresql+psycopg://sdmock:secret@db.internal/sdmock deploy/run-team.sh

In order: start `chroma run` (unless a Chroma server already answers at SDMOCK_CHROMA_HOST:PORT),
run `sdmock index` once against it, start N `sdmock web --port P` processes and wait until each
answers /_stcore/health, render deploy/nginx.conf.template with their ports into a prefix folder, and
start nginx in the foreground. Ctrl-C (or SIGTERM) stops everything. An app process that dies is
reported and not restarted: nginx sends its candidates to the others (they reload the page and carry
on, because every turn is in the database). When every app process or nginx is gone, the rest stop.

Configuration is by environment only:

| variable | meaning | default |
|---|---|---|
| SDMOCK_DATABASE_URL | the shared database (PostgreSQL for a team); required | - |
| SDMOCK_TEAM_APPS | number of app processes | 2 |
| SDMOCK_TEAM_APP_PORT | port of the first app process (the others follow) | 8501 |
| SDMOCK_TEAM_APP_PORTS | explicit comma-separated app ports (overrides the two above) | - |
| SDMOCK_TEAM_APP_HOST | address the app processes bind | 127.0.0.1 |
| SDMOCK_TEAM_HOST | address nginx listens on (0.0.0.0 to serve the network) | 127.0.0.1 |
| SDMOCK_TEAM_PORT | port nginx listens on | 8080 |
| SDMOCK_CHROMA_HOST, SDMOCK_CHROMA_PORT | the Chroma server | 127.0.0.1, 8000 |
| SDMOCK_TEAM_CHROMA_PATH | data folder of a Chroma server started here | DATA_DIR/chroma-server |
| SDMOCK_TEAM_SKIP_INDEX | 1: do not run the index job | 0 |
| SDMOCK_TEAM_DIR | nginx prefix, logs of every process, team.json | a new temp folder |
| SDMOCK_NGINX | the nginx binary | nginx on PATH, else /usr/sbin/nginx |

Every other variable (SDMOCK_MODEL, OPENAI_*, SDMOCK_DATA_DIR...) is passed to the app processes as
is. `team.json` in SDMOCK_TEAM_DIR lists the pid and port of every process (for scripts and tests).

`team.py nginx-conf` only prints the nginx.conf for app processes on other hosts (SDMOCK_TEAM_UPSTREAMS).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEPLOY_DIR = Path(__file__).resolve().parent
REPO_ROOT = DEPLOY_DIR.parent
TEMPLATE = DEPLOY_DIR / "nginx.conf.template"
MAX_FAILS = 1
FAIL_TIMEOUT = "10s"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class TeamError(RuntimeError):
    """A piece of the deployment could not start; the message says which and where its log is."""


# --- configuration -----------------------------------------------------------------------------------


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class TeamConfig:
    """What to run, read from the environment (see the module docstring)."""

    database_url: str
    app_ports: list[int]
    app_host: str = "127.0.0.1"
    host: str = "127.0.0.1"
    port: int = 8080
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    chroma_path: Path = field(default_factory=lambda: REPO_ROOT / "data" / "chroma-server")
    skip_index: bool = False
    team_dir: Path | None = None
    nginx: str = "nginx"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TeamConfig:
        """Read the configuration; TeamError names the variable that is missing or wrong."""
        url = env.get("SDMOCK_DATABASE_URL", "").strip()
        if not url:
            raise TeamError(
                "SDMOCK_DATABASE_URL is not set: every app process must share one database "
                "(postgresql+psycopg://USER:PASSWORD@HOST:5432/DB)"
            )
        try:
            if env.get("SDMOCK_TEAM_APP_PORTS"):
                ports = [int(p) for p in env["SDMOCK_TEAM_APP_PORTS"].split(",") if p.strip()]
            else:
                first = int(env.get("SDMOCK_TEAM_APP_PORT", "8501"))
                ports = [first + i for i in range(int(env.get("SDMOCK_TEAM_APPS", "2")))]
            port = int(env.get("SDMOCK_TEAM_PORT", "8080"))
            chroma_port = int(env.get("SDMOCK_CHROMA_PORT", "8000"))
        except ValueError as exc:
            raise TeamError(f"a port or count in the environment is not a number: {exc}") from exc
        if not ports:
            raise TeamError("no app processes: set SDMOCK_TEAM_APPS to 1 or more")
        data_dir = Path(env.get("SDMOCK_DATA_DIR") or REPO_ROOT / "data")
        nginx = env.get("SDMOCK_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
        return cls(
            database_url=url,
            app_ports=ports,
            app_host=env.get("SDMOCK_TEAM_APP_HOST", "127.0.0.1"),
            host=env.get("SDMOCK_TEAM_HOST", "127.0.0.1"),
            port=port,
            chroma_host=env.get("SDMOCK_CHROMA_HOST") or "127.0.0.1",
            chroma_port=chroma_port,
            chroma_path=Path(env.get("SDMOCK_TEAM_CHROMA_PATH") or data_dir / "chroma-server"),
            skip_index=_flag(env.get("SDMOCK_TEAM_SKIP_INDEX")),
            team_dir=Path(env["SDMOCK_TEAM_DIR"]) if env.get("SDMOCK_TEAM_DIR") else None,
            nginx=nginx,
        )


# --- nginx -------------------------------------------------------------------------------------------


def render_template(template: str, values: Mapping[str, object]) -> str:
    """Replace every `{{ name }}`; a name without a value is an error naming all such names."""
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise TeamError(f"nginx template: no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def render_nginx_conf(
    prefix: Path,
    listen: str,
    upstreams: list[str],
    *,
    worker_processes: int | str = "auto",
    template: str | None = None,
) -> str:
    """nginx.conf for app processes at `upstreams` ("host:port" each), listening on `listen`."""
    servers = "\n".join(
        f"        server {addr} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT};" for addr in upstreams
    )
    return render_template(
        template if template is not None else TEMPLATE.read_text(encoding="utf-8"),
        {
            "prefix": prefix,
            "listen": listen,
            "upstream_servers": servers,
            "worker_processes": worker_processes,
            "max_fails": MAX_FAILS,
            "fail_timeout": FAIL_TIMEOUT,
        },
    )


def write_nginx_conf(prefix: Path, listen: str, upstreams: list[str], **kwargs: Any) -> Path:
    """Create the prefix folder (logs/, tmp/) and write nginx.conf into it; returns its path."""
    for sub in ("logs", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    # nginx workers drop root to `nobody`; they must reach tmp/ under the prefix.
    for folder in (prefix, prefix / "tmp"):
        folder.chmod(0o755)
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx_conf(prefix, listen, upstreams, **kwargs), encoding="utf-8")
    return conf


def nginx_command(nginx: str, prefix: Path, conf: Path) -> list[str]:
    """nginx in the foreground (a child process, not a daemon), everything under `prefix`."""
    return [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs" / "error.log"),
            "-g", "daemon off;"]  # fmt: skip


def check_nginx_conf(nginx: str, prefix: Path, conf: Path) -> None:
    """`nginx -t`: TeamError with nginx's own message when the rendered config is wrong."""
    cmd = [nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs" / "error.log")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise TeamError(f"nginx rejected {conf}:\n{out.stderr.strip()}")


# --- processes ---------------------------------------------------------------------------------------


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= int(resp.status) < 300
    except OSError:
        return False


def wait_until_healthy(
    url: str, proc: subprocess.Popen[bytes] | None, log: Path | None, timeout_s: float, what: str
) -> None:
    """Poll `url` until it answers; TeamError (with the log's tail) if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise TeamError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        if http_ok(url):
            return
        time.sleep(0.3)
    raise TeamError(f"{what} did not answer {url} within {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def sdmock_command() -> list[str]:
    """The `sdmock` entry point of this Python environment."""
    exe = Path(sys.executable).with_name("sdmock")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "app"]


def chroma_command(host: str, port: int, path: Path) -> list[str]:
    """`chroma run` for a server keeping its data in `path`."""
    exe = Path(sys.executable).with_name("chroma")
    cli = str(exe) if exe.exists() else (shutil.which("chroma") or "chroma")
    return [cli, "run", "--path", str(path), "--host", host, "--port", str(port)]


@dataclass
class Child:
    """One process the launcher started."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    reported: bool = False

    def alive(self) -> bool:
        return self.proc.poll() is None


def spawn(name: str, cmd: list[str], log: Path, env: Mapping[str, str], port: int | None = None) -> Child:
    """Start a child with its output in `log` (it stays in our process group: Ctrl-C reaches it too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
        )
    return Child(name, proc, log, port)


def stop_children(children: list[Child], grace_s: float = 10.0) -> None:
    """SIGTERM every live child, wait up to `grace_s`, then SIGKILL what is left."""
    for child in children:
        if child.alive():
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()


class Team:
    """The running deployment: start it, watch it, stop it."""

    def __init__(self, config: TeamConfig, env: Mapping[str, str], out: Any = sys.stdout) -> None:
        self.config = config
        self.env = dict(env)
        self.out = out
        self.prefix = config.team_dir or Path(tempfile.mkdtemp(prefix="sdmock-team-"))
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.logs = self.prefix / "logs"
        self.chroma: Child | None = None
        self.apps: list[Child] = []
        self.nginx: Child | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "::") else self.config.host
        return f"http://{host}:{self.config.port}"

    def say(self, message: str) -> None:
        print(f"[team] {message}", file=self.out, flush=True)

    @property
    def children(self) -> list[Child]:
        return [c for c in (self.nginx, *self.apps, self.chroma) if c is not None]

    def app_env(self) -> dict[str, str]:
        env = {
            **self.env,
            "SDMOCK_DATABASE_URL": self.config.database_url,
            "SDMOCK_CHROMA_HOST": self.config.chroma_host,
            "SDMOCK_CHROMA_PORT": str(self.config.chroma_port),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            "ANONYMIZED_TELEMETRY": "False",
        }
        return env

    def start(self) -> None:
        """Start every piece in order; on any failure stop what was started and raise TeamError."""
        try:
            self._start_chroma()
            self._run_index()
            self._start_apps()
            self._start_nginx()
        except BaseException:
            stop_children(self.children)
            raise
        self.write_state(ready=True)
        self.say(f"sdmock for a team: {self.url}  (logs and nginx.conf in {self.prefix}; Ctrl-C stops)")

    def _start_chroma(self) -> None:
        cfg = self.config
        heartbeat = f"http://{cfg.chroma_host}:{cfg.chroma_port}/api/v2/heartbeat"
        if http_ok(heartbeat):
            self.say(f"using the Chroma server already at {cfg.chroma_host}:{cfg.chroma_port}")
            return
        cfg.chroma_path.mkdir(parents=True, exist_ok=True)
        self.say(f"starting chroma run on {cfg.chroma_host}:{cfg.chroma_port} (data in {cfg.chroma_path})")
        self.chroma = spawn(
            "chroma",
            chroma_command(cfg.chroma_host, cfg.chroma_port, cfg.chroma_path),
            self.logs / "chroma.log",
            {**self.env, "ANONYMIZED_TELEMETRY": "False"},
            cfg.chroma_port,
        )
        wait_until_healthy(heartbeat, self.chroma.proc, self.chroma.log, 120, "chroma run")

    def _run_index(self) -> None:
        if self.config.skip_index:
            self.say("SDMOCK_TEAM_SKIP_INDEX set: not running the index job")
            return
        self.say("index job: sdmock index (embeds only what changed; the first build takes a minute)")
        log = self.logs / "index.log"
        with log.open("ab") as fh:
            done = subprocess.run(
                [*sdmock_command(), "index"],
                env=self.app_env(),
                cwd=str(REPO_ROOT),
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        if done.returncode != 0:
            raise TeamError(f"the index job failed ({done.returncode}):\n{_tail(log)}")
        self.say(f"index job: {_tail(log, 1)}")

    def _start_apps(self) -> None:
        cfg = self.config
        env = self.app_env()
        for port in cfg.app_ports:
            cmd = [*sdmock_command(), "web", "--port", str(port), "--host", cfg.app_host]
            self.apps.append(spawn(f"app:{port}", cmd, self.logs / f"app-{port}.log", env, port))
        self.say(f"started {len(self.apps)} app processes on ports {', '.join(map(str, cfg.app_ports))}")
        for app in self.apps:
            probe_host = "127.0.0.1" if cfg.app_host in ("0.0.0.0", "::") else cfg.app_host
            url = f"http://{probe_host}:{app.port}/_stcore/health"
            wait_until_healthy(url, app.proc, app.log, 180, app.name)

    def _start_nginx(self) -> None:
        cfg = self.config
        upstream_host = "127.0.0.1" if cfg.app_host in ("0.0.0.0", "::") else cfg.app_host
        upstreams = [f"{upstream_host}:{p}" for p in cfg.app_ports]
        conf = write_nginx_conf(self.prefix, f"{cfg.host}:{cfg.port}", upstreams)
        check_nginx_conf(cfg.nginx, self.prefix, conf)
        self.nginx = spawn(
            "nginx", nginx_command(cfg.nginx, self.prefix, conf), self.logs / "nginx.out", self.env, cfg.port
        )
        wait_until_healthy(f"{self.url}/nginx-health", self.nginx.proc, self.nginx.log, 30, "nginx")
        wait_until_healthy(f"{self.url}/_stcore/health", self.nginx.proc, self.nginx.log, 30, "nginx -> app")

    def write_state(self, ready: bool) -> Path:
        """team.json: url, prefix and the pid/port/liveness of every process."""

        def entry(c: Child) -> dict[str, Any]:
            return {"pid": c.proc.pid, "port": c.port, "alive": c.alive(), "log": str(c.log)}

        state = {
            "ready": ready,
            "url": self.url,
            "prefix": str(self.prefix),
            "launcher_pid": os.getpid(),
            "nginx": entry(self.nginx) if self.nginx else None,
            "chroma": entry(self.chroma) if self.chroma else None,
            "apps": [entry(a) for a in self.apps],
        }
        path = self.prefix / "team.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def watch(self, poll_s: float = 1.0) -> int:
        """Report processes that exit; return when nginx or every app process is gone (exit code)."""
        while True:
            changed = False
            for child in self.children:
                if not child.alive() and not child.reported:
                    child.reported, changed = True, True
                    self.say(f"{child.name} exited ({child.proc.returncode}); see {child.log}")
            if changed:
                alive = [a.name for a in self.apps if a.alive()]
                self.say(f"still serving: {', '.join(alive) or 'nothing'}")
                self.write_state(ready=bool(alive))
            if self.nginx is not None and not self.nginx.alive():
                return 1
            if not any(a.alive() for a in self.apps):
                return 1
            time.sleep(poll_s)

    def stop(self) -> None:
        """Stop nginx first (no new requests), then the apps, then Chroma."""
        stop_children([c for c in (self.nginx,) if c is not None])
        stop_children(self.apps)
        stop_children([c for c in (self.chroma,) if c is not None])
        self.write_state(ready=False)


def print_nginx_conf(env: Mapping[str, str]) -> int:
    """`team.py nginx-conf`: print nginx.conf for app processes on other hosts (no process started).

    SDMOCK_TEAM_UPSTREAMS lists them (host:port,host:port); SDMOCK_TEAM_DIR is the nginx prefix on
    the balancer host; SDMOCK_TEAM_HOST/PORT where it listens.
    """
    upstreams = [u.strip() for u in env.get("SDMOCK_TEAM_UPSTREAMS", "").split(",") if u.strip()]
    if not upstreams:
        print("run-team: set SDMOCK_TEAM_UPSTREAMS=host:port,host:port", file=sys.stderr)
        return 2
    prefix = Path(env.get("SDMOCK_TEAM_DIR") or "/var/lib/sdmock-nginx")
    listen = f"{env.get('SDMOCK_TEAM_HOST', '0.0.0.0')}:{env.get('SDMOCK_TEAM_PORT', '8080')}"
    print(render_nginx_conf(prefix, listen, upstreams), end="")
    return 0


def main(env: Mapping[str, str] | None = None, argv: list[str] | None = None) -> int:
    """Start the team, watch it until Ctrl-C/SIGTERM (or it falls apart), stop everything."""
    env = dict(os.environ if env is None else env)
    if argv and argv[0] == "nginx-conf":
        return print_nginx_conf(env)
    if argv:
        print("usage: team.py [nginx-conf]   (everything else is configured by environment)", file=sys.stderr)
        return 2
    try:
        config = TeamConfig.from_env(env)
    except TeamError as exc:
        print(f"run-team: {exc}", file=sys.stderr)
        return 2
    team = Team(config, env)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        team.start()
        code = team.watch()
    except KeyboardInterrupt:
        team.say("stopping")
    except TeamError as exc:
        print(f"run-team: {exc}", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        team.stop()
    return code


if __name__ == "__main__":
    sys.exit(main(argv=sys.argv[1:]))
