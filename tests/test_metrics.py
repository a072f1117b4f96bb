"""``/metrics``: Prometheus text, parsed back; the optional bearer token."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rq.registry import FailedJobRegistry
from support import app_config, server_environment

from dcc import clock, create_app
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.jobs.models import OutboxJob


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_metrics_report_calls_outbox_queues_and_webhook_latency(client, session, redis) -> None:
    now = clock.now()
    calls_queue = Queue("dcc-calls", connection=redis)
    for outbox_id in (1, 2):  # waiting: nothing works the queues in this test
        calls_queue.enqueue("dcc.jobs.runner.run", outbox_id)
    low = Queue("dcc-low", connection=redis)
    gave_up = low.enqueue("dcc.jobs.runner.run", 3)
    low.remove(gave_up)  # taken by a worker, failed for good
    FailedJobRegistry(queue=low).add(gave_up, exc_string="boom")
    for status in (CallStatus.COMPLETED, CallStatus.COMPLETED, CallStatus.NO_ANSWER):
        session.add(Call(direction=CallDirection.OUTBOUND, status=status, created_at=now))
    session.add_all(
        [
            OutboxJob(task="t", queue="dcc-default"),
            OutboxJob(task="t", queue="dcc-default", last_error="boom"),
            OutboxJob(task="t", queue="dcc-default", done_at=now),
            OutboxJob(task="t", queue="dcc-default", canceled_at=now),
        ]
    )
    session.commit()
    client.post("/webhooks/twilio/voice/status", data={})  # unsigned: refused, still timed
    answer = client.get("/metrics")
    assert answer.status_code == 200
    found = samples(answer.get_data(as_text=True))
    assert found[("dcc_calls_today", (("status", "completed"),))] == 2
    assert found[("dcc_calls_today", (("status", "no-answer"),))] == 1
    assert found[("dcc_calls_today", (("status", "busy"),))] == 0
    assert found[("dcc_outbox_backlog", ())] == 2
    assert found[("dcc_outbox_failing", ())] == 1
    assert found[("dcc_redis_up", ())] == 1
    depth = {q: found[("dcc_queue_depth", (("queue", q),))] for q in ("dcc-calls", "dcc-low")}
    assert depth == {"dcc-calls": 2, "dcc-low": 0}
    failed = {q: found[("dcc_jobs_failed", (("queue", q),))] for q in ("dcc-calls", "dcc-low")}
    assert failed == {"dcc-calls": 0, "dcc-low": 1}
    count = found[("dcc_webhook_duration_seconds_count", (("endpoint", "twilio_voice.status"),))]
    assert count == 1


def test_metrics_token_is_required_when_set(database_url, redis_url, tmp_path) -> None:
    app = create_app(app_config(database_url, redis_url, tmp_path / "i", metrics_token="s3cret"))
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_each_app_has_its_own_registry(database_url, redis_url, tmp_path) -> None:
    first = create_app(app_config(database_url, redis_url, tmp_path / "a"))
    second = create_app(app_config(database_url, redis_url, tmp_path / "b"))
    assert first.extensions["dcc.metrics"] is not second.extensions["dcc.metrics"]


def test_metrics_have_one_clean_content_type(client) -> None:
    answer = client.get("/metrics")
    assert answer.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert answer.headers["Content-Type"].count("charset") == 1


T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def test_metrics_show_overdue_work_the_outbox_by_state_and_the_sweepers_last_pass(
    app, client, session, redis
) -> None:
    session.add_all(
        [
            OutboxJob(task="t", queue="dcc-default", run_at=T0 - dt.timedelta(minutes=5)),
            OutboxJob(task="t", queue="dcc-default", run_at=T0, enqueued_at=T0),
            OutboxJob(task="t", queue="dcc-default", run_at=T0 + dt.timedelta(hours=1)),
            OutboxJob(
                task="t", queue="dcc-default", run_at=T0 + dt.timedelta(minutes=1), last_error="x"
            ),
            OutboxJob(task="t", queue="dcc-default", run_at=T0, failed_at=T0, last_error="x"),
        ]
    )
    session.commit()
    with clock.frozen(T0):
        found = samples(client.get("/metrics").get_data(as_text=True))
    states = {
        state: found[("dcc_outbox_jobs", (("state", state),))]
        for state in ("scheduled", "due", "queued", "retrying", "failed")
    }
    assert states == {"scheduled": 1, "due": 1, "queued": 1, "retrying": 1, "failed": 1}
    assert found[("dcc_overdue_work_age_seconds", ())] == 300
    assert found[("dcc_schema_at_head", ())] == 1
    assert ("dcc_sweeper_last_pass_age_seconds", ()) not in found  # no sweeper has run yet

    from dcc.jobs import sweeper

    with clock.frozen(T0):
        sweeper.sweep_once(app)
    with clock.frozen(T0 + dt.timedelta(seconds=42)):
        found = samples(client.get("/metrics").get_data(as_text=True))
    assert found[("dcc_sweeper_last_pass_age_seconds", ())] == 42
    assert found[("dcc_rq_workers", ())] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_gunicorn_workers_serve_three_deliveries_and_one_scrape_counts_three(
    committed, database_url, redis_url, tmp_path
) -> None:
    from dcc.db import get_database
    from dcc.leads import sources

    with get_database().session_scope() as s:
        sources.create(s, slug="portal", name="Portal", channel="portal", secret="s" * 32,
                       auth_mode="token")  # fmt: skip
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = _free_port()
    env = server_environment(
        database_url,
        redis_url,
        DCC_METRICS_TOKEN="scrape",
        DCC_INSTANCE_PATH=str(tmp_path / "instance"),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-c", "python:dcc.gunicorn_conf", "--worker-class", "sync", "--threads", "1",
         "--workers", "2", "--bind", f"127.0.0.1:{port}", "dcc:create_app()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    body = b'{"phone": "%s"}'
    head = "POST /webhooks/leads/portal HTTP/1.1\r\nHost: x\r\nX-DCC-Token: " + "s" * 32

    def deliver(phone: str) -> int:
        request = urllib.request.Request(
            f"{base}/webhooks/leads/portal",
            data=body % phone.encode(),
            headers={"Content-Type": "application/json", "X-DCC-Token": "s" * 32},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        # A sync worker serves one connection at a time: hold one worker on a request whose
        # headers are not complete yet, so the next delivery must go to the other worker.
        held = socket.create_connection(("127.0.0.1", port))
        held.sendall(head.encode())
        time.sleep(0.5)
        assert deliver("13800138001") == 201
        rest = body % b"13800138002"
        held.sendall(
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(rest)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + rest
        )
        assert held.recv(64).startswith(b"HTTP/1.1 201")
        held.close()
        assert deliver("13800138003") == 201

        scrape = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": "Bearer scrape"}
        )
        with urllib.request.urlopen(scrape, timeout=30) as answer:
            found = samples(answer.read().decode())
        endpoint = (("endpoint", "lead_webhooks.deliver"),)
        assert found[("dcc_webhook_duration_seconds_count", endpoint)] == 3
        assert found[("dcc_webhook_responses_total", (*endpoint, ("status", "201")))] == 3
        # Both workers served deliveries: each left samples of its own.
        assert len(list(metrics_dir.glob("histogram_*.db"))) == 2
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
