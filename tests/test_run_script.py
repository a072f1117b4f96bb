"""Smoke test of ``dcc serve``: real processes on a fresh instance folder, then a clean stop.

It takes a few seconds (gunicorn, an RQ worker, an embedded Redis server), and runs by default.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.redis

DCC = os.path.join(os.path.dirname(sys.executable), "dcc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(instance: Path, port: int, sim_port: int) -> dict[str, str]:
    """Our environment without any service settings: the embedded mode in ``instance``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DCC_", "TWILIO_", "GUNICORN_"))
    }
    env.update(
        DCC_INSTANCE_PATH=str(instance),
        DCC_PORT=str(port),
        DCC_SIM_PORT=str(sim_port),
        PYTHONUNBUFFERED="1",
    )
    return env


def _processes_of(instance: Path) -> list[int]:
    """Live processes whose environment names ``instance``: everything the run started.

    The embedded Redis server daemonises away from the process tree, so the environment (which
    every child inherits) is the reliable mark.
    """
    marker = f"DCC_INSTANCE_PATH={instance}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # a zombie is gone already; only its parent's bookkeeping is left
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # exited while we looked, or not ours to read
    return found


def _health(url: str) -> tuple[int, dict[str, object]] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _start_serve(env: dict[str, str], cwd: Path, port: int, log_path: Path) -> subprocess.Popen:
    """``dcc serve`` in its own process group, its output in ``log_path``."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [DCC, "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )


@pytest.fixture()
def instance(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "instance"
    yield path
    # Whatever the test's outcome, leave no process of this run behind.
    if Path("/proc").is_dir():
        for pid in _processes_of(path):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not os.path.exists(DCC), reason="the dcc console script is not installed")
def test_serve_starts_answers_health_and_stops_cleanly(instance: Path, tmp_path: Path) -> None:
    port, sim_port = _free_port(), _free_port()
    env = _environment(instance, port, sim_port)
    for command in (["db", "upgrade"], ["demo", "seed"]):
        done = subprocess.run(
            [DCC, *command], env=env, cwd=tmp_path, timeout=180, capture_output=True, text=True
        )
        assert done.returncode == 0, f"dcc {' '.join(command)}:\n{done.stdout}{done.stderr[-3000:]}"

    log_path = tmp_path / "serve.log"
    proc = _start_serve(env, tmp_path, port, log_path)
    try:
        answer = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            answer = _health(f"http://127.0.0.1:{port}/healthz")
            if answer is not None and answer[0] == 200:
                break
            time.sleep(0.5)
        assert proc.poll() is None, f"dcc serve exited early:\n{log_path.read_text()}"
        assert answer is not None, f"no answer on /healthz:\n{log_path.read_text()}"
        status, body = answer
        assert status == 200, body
        assert body["database"] == "ok"
        assert body["redis"] == "ok"
        if Path("/proc").is_dir():
            assert len(_processes_of(instance)) >= 4  # supervisor, redis, web, worker at least

        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        assert code == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    if Path("/proc").is_dir():
        deadline = time.monotonic() + 5
        while _processes_of(instance) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_of(instance) == [], log_path.read_text()


def _worker_of(serve_pid: int) -> int | None:
    """The pid of the RQ worker that ``dcc serve`` runs (its direct child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if stat[0] != "Z" and int(stat[1]) == serve_pid and b"rq.cli" in cmdline:
            return int(entry.name)
    return None


@pytest.mark.skipif(not os.path.exists(DCC), reason="the dcc console script is not installed")
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_serve_restarts_a_dead_worker_and_dies_with_everything_it_started(
    instance: Path, tmp_path: Path
) -> None:
    port, sim_port = _free_port(), _free_port()
    env = _environment(instance, port, sim_port)
    done = subprocess.run(
        [DCC, "db", "upgrade"], env=env, cwd=tmp_path, timeout=180, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    log_path = tmp_path / "serve.log"
    proc = _start_serve(env, tmp_path, port, log_path)
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "DCC is ready at" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.5)
        first = _worker_of(proc.pid)
        assert first is not None, log_path.read_text()

        os.kill(first, signal.SIGKILL)  # the worker dies; the rest must go on
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _worker_of(proc.pid) in {None, first}:
            time.sleep(0.2)
        second = _worker_of(proc.pid)
        assert second not in {None, first}, log_path.read_text()
        assert proc.poll() is None
        answer = _health(health)
        assert answer is not None and answer[0] == 200, answer
        assert "worker was killed by signal 9; starting it again" in log_path.read_text()

        started = _processes_of(instance)
        assert len(started) >= 5  # supervisor, redis, web, worker, sweeper (and more)
        proc.kill()  # SIGKILL: no chance to stop anything itself
        proc.wait()
        deadline = time.monotonic() + 20
        while _processes_of(instance) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_of(instance) == [], log_path.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
