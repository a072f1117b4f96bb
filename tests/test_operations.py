"""Operating on several nodes: concurrent schema upgrades, a sweeper that outlives a database
outage (PostgreSQL: a database that can go away and come back)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from rq import Queue
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from support import app_config, scratch_database, server_environment, wait_until

from dcc import clock, create_app, migrate
from dcc.db import get_database
from dcc.jobs import outbox, sweeper
from dcc.jobs.models import OutboxJob

postgres_only = pytest.mark.skipif(
    not os.environ.get("DCC_TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DCC_TEST_DATABASE_URL)",
)


@postgres_only
def test_three_concurrent_upgrades_of_an_empty_database_all_succeed(database_url) -> None:
    with scratch_database(database_url, "upgrade_race") as target:
        env = server_environment(target, "")
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "dcc", "db", "upgrade"],
                env={k: v for k, v in env.items() if k != "DCC_REDIS_URL"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [(run.wait(120), *run.communicate()) for run in runs]
        assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
        engine = create_engine(target)
        with engine.connect() as conn:
            versions = {v for (v,) in conn.execute(text("SELECT version_num FROM alembic_version"))}
        engine.dispose()
        assert versions == migrate.heads()


class Proxy:
    """A TCP proxy in front of the database that the test can cut off and restore."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """The database goes away: the listener closes, every open connection drops."""
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@postgres_only
def test_the_sweeper_keeps_running_through_a_database_outage_and_sweeps_after_it(
    committed, database_url, redis_url, redis, tmp_path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    url = make_url(database_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(app_config(proxied, redis_url, tmp_path / "sweeper"))
    due = clock.now() + dt.timedelta(seconds=2)
    with get_database().session_scope() as session:  # the test's own, direct connection
        row = outbox.schedule(session, "system.probe", run_at=due, token="after-outage")

    stop = threading.Event()
    thread = threading.Thread(target=sweeper.run_forever, args=(app, 0.2, stop), daemon=True)
    thread.start()
    try:
        wait_until(lambda: redis.get(sweeper.LAST_PASS_KEY) is not None, 30, "a first pass")
        proxy.cut()
        wait_until(lambda: "the database unavailable" in caplog.text, 30, "a failed pass")
        time.sleep(max(0.0, (due - clock.now()).total_seconds()) + 1)  # due during the outage
        assert thread.is_alive()
        with get_database().session_scope() as session:
            assert session.get(OutboxJob, row.id).enqueued_at is None

        proxy.start()  # the database is back
        job_id = outbox.rq_job_id(row.id)
        wait_until(
            lambda: job_id in Queue("dcc-default", connection=redis).job_ids, 60, "the sweep"
        )
        assert thread.is_alive()
        wait_until(lambda: "sweeper: working again after" in caplog.text, 10, "the recovery line")
        with get_database().session_scope() as session:
            enqueued = session.scalar(select(OutboxJob.enqueued_at).where(OutboxJob.id == row.id))
        assert enqueued is not None
    finally:
        stop.set()
        thread.join(30)
        proxy.cut()
        app.extensions["dcc.db"].engine.dispose()
