"""``/metrics``: Prometheus text, parsed back; the optional bearer token."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rq.registry import FailedJobRegistry
from support import app_config

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
