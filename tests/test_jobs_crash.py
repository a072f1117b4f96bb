"""Jobs survive crashes on time: a worker killed mid-run (real Redis, real RQ, real processes)
does not delay a callback due 30 s later. Scheduled work waits in the outbox and the sweeper
hands it to whichever worker is alive when it falls due; no RQ scheduler lock is involved."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import time

import psutil
from rq.job import Job, JobStatus
from support import server_environment

from dcc import clock
from dcc.jobs import outbox
from dcc.leads import callbacks, intake
from dcc.leads.models import Callback, CallbackStatus, Channel
from dcc.queues import QUEUE_NAMES
from dcc.users import service as users
from dcc.users.models import AgentStatus

AGENT_PHONE = "+8613900000001"
CUSTOMER = "+8613800138000"


def _environment(live, database_url: str, redis_url: str) -> dict[str, str]:
    return server_environment(
        database_url,
        redis_url,
        DCC_TWILIO_API_BASE_URL=live.sim.base_url,
        DCC_PUBLIC_BASE_URL=live.base_url,
        DCC_CALLING_HOURS="00:00-24:00",
        DCC_OPENING_HOURS="00:00-24:00",
    )


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _worker(env: dict[str, str], redis_url: str) -> subprocess.Popen[bytes]:
    """An RQ worker as production runs it (no scheduler: the sweeper is the scheduler)."""
    return _start(
        [sys.executable, "-m", "rq.cli", "worker", "--url", redis_url,
         "--worker-class", "dcc.jobs.worker.Worker", *QUEUE_NAMES],
        env,
    )  # fmt: skip


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and what it started (a worker's work-horse)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        victims = [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]
        for victim in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.kill()
        psutil.wait_procs(victims, timeout=10)
    process.wait()


def test_a_worker_killed_mid_run_does_not_delay_a_callback_due_30_s_later(
    live, database_url, redis_url, redis
) -> None:
    live.sim.set_behaviour(AGENT_PHONE, answer_after=1, press="1", hangup_after=5)
    live.sim.set_behaviour(CUSTOMER, answer_after=1, hangup_after=4)
    with live.session() as session:
        agent = users.create_user(session, login="agent", role="dcc_agent", phone=AGENT_PHONE)
        agent.agent_status = AgentStatus.AVAILABLE
        lead = intake.receive(
            session,
            intake.LeadInput(phone=CUSTOMER, channel=Channel.WALK_IN, owner_id=agent.id),
        ).lead
        session.commit()
        due = clock.now() + dt.timedelta(seconds=30)
        callback = callbacks.schedule(session, lead, due_at=due, actor=agent)
        # The worker is busy with a long job when it is killed.
        busy = outbox.schedule(session, "system.probe", token="busy", seconds=25)
        session.commit()
        callback_id = callback.id

    env = _environment(live, database_url, redis_url)
    sweeper = _start([sys.executable, "-m", "dcc", "jobs", "sweep", "--every", "1"], env)
    first = _worker(env, redis_url)
    second = None
    try:
        deadline = time.monotonic() + 30
        job_id = outbox.rq_job_id(busy.id)
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if Job.fetch(job_id, connection=redis).get_status() == JobStatus.STARTED:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the worker never started the long job")
        _kill(first)  # kill -9 mid-run, before the callback is due
        assert clock.now() < due
        second = _worker(env, redis_url)  # what systemd or `dcc serve` does: start another

        fired = None
        while clock.now() < due + dt.timedelta(seconds=60):
            with live.session() as session:
                row = session.get(Callback, callback_id)
                if row is not None and row.status == CallbackStatus.DONE:
                    fired = row
                    break
            time.sleep(0.25)
        assert fired is not None, "the callback did not fire within 60 s of its due time"
        assert fired.done_at is not None and fired.done_at - due <= dt.timedelta(seconds=60)
        assert fired.placed_call_id is not None
        print(f"callback fired {(fired.done_at - due).total_seconds():.1f} s after its due time")
        # The attempt is committed before the provider is asked: wait for the agent's leg.
        deadline = time.monotonic() + 30
        while AGENT_PHONE not in [leg["to"] for leg in live.sim.calls()]:
            assert time.monotonic() < deadline, "the agent was never rung"
            time.sleep(0.1)
    finally:
        for process in (sweeper, first, second):
            if process is not None and process.poll() is None:
                _kill(process)
