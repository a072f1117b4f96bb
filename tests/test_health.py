"""/healthz tells the truth: schema at the head, Redis, and scheduled work that is overdue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from dcc import clock
from dcc.jobs.models import OutboxJob

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def test_a_database_behind_the_migration_head_is_degraded_naming_the_schema(
    client, session
) -> None:
    assert client.get("/healthz").status_code == 200
    session.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok" and body["schema"].startswith("at 0005")
    assert any(r.startswith("schema: database at 0005") for r in body["reasons"])

    session.execute(text("DROP TABLE alembic_version"))  # what `dcc db downgrade base` leaves
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded"
    assert any(r.startswith("schema: database at no schema") for r in body["reasons"])


def test_overdue_scheduled_work_is_degraded_naming_it(client, session) -> None:
    session.add(OutboxJob(task="callback.fire", queue="dcc-calls", run_at=T0, args={}))
    session.add(
        OutboxJob(task="callback.fire", queue="dcc-calls", run_at=T0 - dt.timedelta(hours=1),
                  args={}, done_at=T0)
    )  # fmt: skip
    session.commit()
    with clock.frozen(T0 + dt.timedelta(seconds=90)):  # due 90 s ago: within the 120 s allowed
        body = client.get("/healthz").get_json()
        assert body["status"] == "ok" and body["overdue_work_seconds"] == 90
    with clock.frozen(T0 + dt.timedelta(minutes=8)):
        answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["overdue_work_seconds"] == 480
    assert any(r.startswith("overdue work: scheduled work due 480 s ago") for r in body["reasons"])


def test_work_that_gave_up_or_waits_for_a_retry_is_not_overdue(client, session) -> None:
    session.add_all(
        [
            OutboxJob(task="t", queue="dcc-default", run_at=T0, failed_at=T0, args={}),
            OutboxJob(task="t", queue="dcc-default", run_at=T0 + dt.timedelta(hours=1),
                      last_error="boom", args={}),
        ]
    )  # fmt: skip
    session.commit()
    with clock.frozen(T0 + dt.timedelta(minutes=30)):
        assert client.get("/healthz").status_code == 200


def test_redis_down_is_degraded(database_url, connection, tmp_path) -> None:
    from support import app_config, bind_to

    from dcc import create_app

    app = bind_to(
        create_app(app_config(database_url, "redis://127.0.0.1:1/0", tmp_path)), connection
    )
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["redis"].startswith("down") and body["database"] == "ok"
    assert any(r.startswith("redis: not reachable") for r in body["reasons"])
