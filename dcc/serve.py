"""``dcc serve``: the whole service on one machine, with nothing to set up.

The supervisor starts an embedded Redis server (unless ``DCC_REDIS_URL`` names one), then runs
its children, each in its own process group: the web app under uvicorn, an RQ worker, the
outbox sweeper (the scheduler) and, in simulator mode, the telephony simulator. It waits for
``/healthz``, prints where to log in, and stops everything on Ctrl-C or SIGTERM.

Once the service is up, a child that dies (or the embedded Redis) is started again, after a
pause that grows while it keeps dying (1 s up to 30 s; back to 1 s once it has run for a
minute); the others keep working. A child that fails before the service is first up stops the
run. The children and the embedded Redis get SIGTERM from the kernel if the supervisor itself
is killed (Linux), so nothing outlives it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from dcc.config import Settings
from dcc.demo import LOGINS
from dcc.embedded_redis import EmbeddedRedis
from dcc.processes import tied_to_this_process
from dcc.queues import QUEUE_NAMES

HEALTH_TIMEOUT = 60.0  # seconds for the web app to answer /healthz with 200
STOP_TIMEOUT = 10.0  # seconds the children get between SIGTERM and SIGKILL
POLL_INTERVAL = 0.25
DEFAULT_SIM_PORT = 8089
SIM_ACCOUNT_SID = "AC" + "0" * 32
#: Pauses before restarting a child that died: the n-th death in a row waits the n-th.
RESTART_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)
#: A child that has run this long is well again: its next death waits the first pause.
STABLE_AFTER = 60.0

_output_lock = threading.Lock()


# --- output -------------------------------------------------------------------------------------


def _write(prefix: str, line: bytes) -> None:
    """Write one line to our stdout under ``prefix``; a closed stdout is ignored."""
    data = prefix.encode() + line if line.endswith(b"\n") else prefix.encode() + line + b"\n"
    with _output_lock:
        try:
            out = getattr(sys.stdout, "buffer", None)
            if out is not None:
                out.write(data)
                out.flush()
            else:
                sys.stdout.write(data.decode(errors="replace"))
                sys.stdout.flush()
        except (OSError, ValueError):
            pass  # keep draining the child's pipe even when nobody reads ours


def say(message: str) -> None:
    """A line from the supervisor itself."""
    for line in message.splitlines() or [""]:
        _write("serve  | ", line.encode())


def _pump(name: str, stream: IO[bytes]) -> None:
    """Copy a child's output to ours, each line prefixed with the child's name."""
    prefix = f"{name:<6} | "
    with stream:
        for line in iter(stream.readline, b""):
            _write(prefix, line)


# --- children -----------------------------------------------------------------------------------


@dataclass
class Child:
    """One supervised process, leader of its own process group."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = None
    env: Mapping[str, str] | None = None
    started_at: float = 0.0
    deaths: int = 0  # deaths in a row, without a stable run between them
    restart_at: float | None = None

    def start(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=tied_to_this_process(),  # SIGTERM if the supervisor is killed
        )
        assert self.process.stdout is not None
        self.pump = threading.Thread(
            target=_pump,
            args=(self.name, self.process.stdout),
            name=f"pump-{self.name}",
            daemon=True,
        )
        self.pump.start()

    def exit_code(self) -> int | None:
        """None while the group leader runs, else its exit code (negative: killed by signal)."""
        return None if self.process is None else self.process.poll()

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the whole group (also reaches stragglers of an exited leader)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(self.process.pid, signum)

    def wait(self, deadline: float) -> bool:
        """Wait for the leader until ``deadline`` (monotonic); True when it has exited."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return True


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every group, wait up to ``timeout``, SIGKILL what is left, sweep stragglers."""
    started = [child for child in children if child.process is not None]
    for child in started:
        if child.exit_code() is None:
            say(f"stopping {child.name}")
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in started:
        if not child.wait(deadline):
            say(f"{child.name} did not stop within {timeout:.0f} s; killing it")
            child.signal_group(signal.SIGKILL)
            child.wait(time.monotonic() + 5)
    for child in started:
        child.signal_group(signal.SIGKILL)  # leftovers whose leader has exited
        if child.pump is not None:
            child.pump.join(timeout=2)


def web_command(host: str, port: int) -> list[str]:
    """uvicorn with the ASGI front: live streams wait on its event loop, not in threads."""
    return [
        sys.executable, "-m", "uvicorn",
        "--factory", "dcc.asgi:create_app",
        "--host", host,
        "--port", str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown", "5",  # open event streams must not hold up a stop
    ]  # fmt: skip


def worker_command(redis_url: str) -> list[str]:
    """One RQ worker serving every queue, deadline alerts and calls first. No RQ scheduler:
    the sweeper enqueues scheduled work when it is due."""
    return [
        sys.executable, "-m", "rq.cli", "worker", "--url", redis_url,
        "--worker-class", "dcc.jobs.worker.Worker", *QUEUE_NAMES,
    ]  # fmt: skip


def sweeper_command() -> list[str]:
    """The outbox sweeper: enqueues work written while Redis was away."""
    return [sys.executable, "-m", "dcc", "jobs", "sweep", "--every", "5"]


def simulator_available() -> bool:
    """True when ``python -m telephony.simulator`` can run (it may not be written yet)."""
    try:
        return importlib.util.find_spec("telephony.simulator.__main__") is not None
    except ImportError:
        return False


def simulator_command(sim: SimulatorConfig, public_base_url: str) -> list[str]:
    return [
        sys.executable, "-m", "telephony.simulator",
        "--host", "127.0.0.1",
        "--port", str(sim.port),
        "--account-sid", sim.account_sid,
        "--auth-token", sim.auth_token,
        "--voice-url", f"{public_base_url}/webhooks/twilio/voice/inbound",
        "--voice-status-url", f"{public_base_url}/webhooks/twilio/voice/status",
        "--voice-fallback-url", f"{public_base_url}/webhooks/twilio/voice/fallback",
        *(["--geo-allow", ",".join(sim.geo_allowed)] if sim.geo_allowed else []),
    ]  # fmt: skip


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatorConfig:
    """Where the telephony simulator listens and the Twilio credentials it signs with."""

    port: int
    account_sid: str
    auth_token: str
    #: Destinations the simulator lets calls reach (E.164 prefixes); empty: everywhere, as a
    #: domestic carrier would, so the demo calls Chinese numbers.
    geo_allowed: tuple[str, ...] = ()

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def instance_path() -> str:
    """``DCC_INSTANCE_PATH``, else the folder the app itself picked, else ``./instance``.

    ``dcc serve`` runs inside the app that the ``dcc`` command built, so without the variable
    the supervisor uses the same folder as ``dcc db upgrade`` and ``dcc demo seed``.
    """
    configured = os.environ.get("DCC_INSTANCE_PATH")
    if configured:
        return os.path.abspath(configured)
    from flask import current_app, has_app_context

    if has_app_context():
        settings = current_app.extensions.get("dcc.settings")
        if settings is not None and settings.instance_path:
            return str(settings.instance_path)
    return os.path.join(os.getcwd(), "instance")


def _sim_auth_token(settings: Settings, instance: str) -> str:
    """TWILIO_AUTH_TOKEN, else one generated once and kept in the instance folder."""
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    path = os.path.join(instance, "sim_auth_token")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(16))
    with open(path) as fh:
        return fh.read().strip()


def simulator_config(settings: Settings, instance: str) -> SimulatorConfig | None:
    """The simulator's settings in ``sim`` mode; None when real Twilio is configured."""
    if settings.telephony != "sim":
        return None
    return SimulatorConfig(
        port=int(os.environ.get("DCC_SIM_PORT") or DEFAULT_SIM_PORT),
        account_sid=settings.twilio_account_sid or SIM_ACCOUNT_SID,
        auth_token=_sim_auth_token(settings, instance),
        geo_allowed=tuple(p.strip() for p in settings.sim_geo_allowed.split(",") if p.strip()),
    )


def local_base_url(host: str, port: int) -> str:
    """The URL this machine reaches the web app on (a wildcard bind is reached on loopback)."""
    if host in {"0.0.0.0", ""}:
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def child_environment(
    instance: str, public_base_url: str, sim: SimulatorConfig | None
) -> dict[str, str]:
    """Our environment plus what every child must agree on. Without ``DCC_REDIS_URL`` the
    children attach to the embedded Redis the supervisor owns, through the instance folder."""
    env = dict(os.environ)
    env.update(
        DCC_INSTANCE_PATH=instance,
        DCC_PUBLIC_BASE_URL=public_base_url,
        PYTHONUNBUFFERED="1",
    )
    if sim is not None:
        env.update(
            DCC_TELEPHONY="sim",
            TWILIO_ACCOUNT_SID=sim.account_sid,
            TWILIO_AUTH_TOKEN=sim.auth_token,
            DCC_TWILIO_API_BASE_URL=sim.api_base_url,
        )
    return env


# --- embedded Redis -----------------------------------------------------------------------------


def start_embedded_redis(instance: str) -> EmbeddedRedis:
    """The instance's Redis server, owned by the supervisor (see :mod:`dcc.embedded_redis`)."""
    server = EmbeddedRedis(instance)
    server.start()
    return server


def stop_embedded_redis(server: EmbeddedRedis) -> None:
    """Save and shut the embedded server down (the children have let go of it by now)."""
    try:
        server.stop()
    except Exception as exc:  # shutting down must go on whatever happens here
        say(f"embedded Redis: {type(exc).__name__}: {exc}")


# --- supervision --------------------------------------------------------------------------------


def healthy(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _failure_code(child: Child, code: int) -> int:
    """Our exit code for a child that exited by itself with ``code``."""
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    say(f"{child.name} {how}; stopping the rest")
    if code < 0:
        return 128 - code
    return code or 1


def _first_exited(children: list[Child]) -> tuple[Child, int] | None:
    for child in children:
        code = child.exit_code()
        if code is not None:
            return child, code
    return None


def wait_until_healthy(children: list[Child], stop: threading.Event, url: str) -> int | None:
    """None once ``url`` answers 200; else the exit code to end the run with (0: asked to)."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while not stop.is_set():
        exited = _first_exited(children)
        if exited is not None:
            return _failure_code(*exited)
        if healthy(url):
            return None
        if time.monotonic() > deadline:
            say(f"{url} did not answer 200 within {HEALTH_TIMEOUT:.0f} s; stopping")
            return 1
        stop.wait(0.5)
    return 0


def supervise(
    children: list[Child], stop: threading.Event, redis_server: EmbeddedRedis | None = None
) -> int:
    """Keep every child (and the embedded Redis) running until we are asked to stop (0)."""
    while not stop.wait(POLL_INTERVAL):
        now = time.monotonic()
        if redis_server is not None and not redis_server.running():
            say("embedded Redis exited; starting it again")
            try:
                redis_server.restart()
            except Exception as exc:  # try again on the next round
                say(f"embedded Redis did not start: {exc}")
        for child in children:
            _look_after(child, now)
    return 0


def _look_after(child: Child, now: float) -> None:
    """Restart ``child`` when its pause is over; notice when it dies."""
    if child.restart_at is not None:
        if now >= child.restart_at and child.env is not None:
            child.restart_at = None
            say(f"starting {child.name} again")
            child.start(child.env)
        return
    code = child.exit_code()
    if code is None:
        if child.deaths and now - child.started_at >= STABLE_AFTER:
            child.deaths = 0
        return
    child.signal_group(signal.SIGKILL)  # what its group left behind (a work-horse, workers)
    if child.pump is not None:
        child.pump.join(timeout=1)
    pause = RESTART_PAUSES[min(child.deaths, len(RESTART_PAUSES) - 1)]
    child.deaths += 1
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    say(f"{child.name} {how}; starting it again in {pause:.0f} s")
    child.restart_at = now + pause


def print_ready(base_url: str) -> None:
    lines = [
        f"DCC is ready at {base_url}/  (Ctrl-C stops it)",
        "demo logins (role, login, password):",
    ]
    lines += [f"  {role:<11} {login:<12} {password}" for login, role, password in LOGINS]
    say("\n".join(lines))


def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C and SIGTERM set ``stop``; returns the handlers to put back afterwards."""

    def _on_signal(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            say(f"{signal.Signals(signum).name} received; shutting down")
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, _on_signal)
    return previous


def _restore_signal_handlers(previous: Mapping[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def plan_children(
    host: str, port: int, redis_url: str, sim: SimulatorConfig | None, public_base_url: str
) -> list[Child]:
    """The processes to run: web, worker and, in simulator mode when it exists, the simulator."""
    children = [
        Child("web", web_command(host, port)),
        Child("worker", worker_command(redis_url)),
        Child("sweep", sweeper_command()),
    ]
    if sim is not None:
        if simulator_available():
            children.append(Child("sim", simulator_command(sim, public_base_url)))
        else:
            say("note: telephony.simulator is not available; running without the simulator")
    return children


def run(host: str = "127.0.0.1", port: int | None = None) -> None:
    """Run the service until Ctrl-C or SIGTERM; exit non-zero if a piece fails."""
    settings = Settings.from_env()
    port = port or settings.port
    instance = instance_path()
    os.makedirs(instance, exist_ok=True)
    base_url = local_base_url(host, port)
    public_base_url = os.environ.get("DCC_PUBLIC_BASE_URL") or base_url

    stop = threading.Event()
    previous = _install_signal_handlers(stop)
    redis_server: EmbeddedRedis | None = None
    children: list[Child] = []
    code: int | None = 0
    try:
        redis_url = os.environ.get("DCC_REDIS_URL", "")
        if not redis_url:
            redis_server = start_embedded_redis(instance)
            redis_url = redis_server.url
            say(f"embedded Redis on {redis_url}")
        sim = simulator_config(settings, instance)
        env = child_environment(instance, public_base_url, sim)
        say(f"instance folder {instance}")
        children = plan_children(host, port, redis_url, sim, public_base_url)
        for child in children:
            child.start(env)
        code = wait_until_healthy(children, stop, f"{base_url}/healthz")
        if code is None:
            print_ready(base_url)
            code = supervise(children, stop, redis_server)
    finally:
        stop_children(children)
        if redis_server is not None:
            stop_embedded_redis(redis_server)
        _restore_signal_handlers(previous)
    say("stopped")
    if code:
        sys.exit(code)
