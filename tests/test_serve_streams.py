"""``dcc serve`` in the embedded mode: the pages and the live streams on one port, and a stop
that does not wait for open streams to end."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from stream_support import StreamClient, log_in
from test_run_script import DCC, _environment, _free_port, instance

from dcc import demo

pytestmark = pytest.mark.redis
__all__ = ["instance"]  # the fixture: leaves no process of the run behind


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.skipif(not os.path.exists(DCC), reason="the dcc console script is not installed")
def test_serve_relays_streams_on_the_pages_port_and_stops_with_streams_open(
    instance: Path, tmp_path: Path
) -> None:
    port, sim_port = _free_port(), _free_port()
    env = _environment(instance, port, sim_port)
    for command in (["db", "upgrade"], ["demo", "seed"]):
        done = subprocess.run(
            [DCC, *command], env=env, cwd=tmp_path, timeout=180, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [DCC, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    base_url = f"http://127.0.0.1:{port}"
    streams: list[StreamClient] = []
    try:
        deadline = time.monotonic() + 90
        while not _healthy(f"{base_url}/healthz"):
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        cookie = log_in(base_url, "agent1", demo.PASSWORD)
        streams = [StreamClient(base_url, "/stream", cookie) for _ in range(3)]
        assert [s.status for s in streams] == [200, 200, 200]
        assert [s.event()[0] for s in streams] == ["ready"] * 3
        assert _healthy(f"{base_url}/healthz")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()
        # Open streams are cut after the web server's grace period: it stops by itself, and
        # the supervisor never has to kill it.
        assert "did not stop" not in log_path.read_text()
    finally:
        for stream in streams:
            stream.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
