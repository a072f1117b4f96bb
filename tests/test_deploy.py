"""The operations kit under scripts/deploy/ agrees with the code: the alert rules name metrics
that /metrics serves, the units run the queues the code has, and a backup restores."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from support import scratch_database, server_environment

from dcc import migrate
from dcc.jobs import sweeper
from dcc.queues import QUEUE_NAMES

DEPLOY = Path(__file__).resolve().parent.parent / "scripts" / "deploy"


def test_every_metric_in_the_alert_rules_is_served(app, client) -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "dcc-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    named = {m for expr in exprs for m in re.findall(r"\bdcc_[a-z_]+", expr)}
    assert named, exprs
    client.post("/webhooks/twilio/voice/status", data={})  # a webhook answer to count
    sweeper.sweep_once(app)  # a sweeper pass to report
    served = client.get("/metrics").get_data(as_text=True)
    missing = sorted(m for m in named if not re.search(rf"^{m}(\{{| )", served, re.M))
    assert missing == []
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"].startswith("Dcc") and rule["annotations"]["summary"]


def test_the_worker_unit_serves_every_queue_in_the_codes_order() -> None:
    unit = (DEPLOY / "systemd" / "dcc-worker@.service").read_text()
    assert " ".join(QUEUE_NAMES) + "'" in unit
    assert "--with-scheduler" not in unit


@pytest.mark.skipif(
    not os.environ.get("DCC_TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DCC_TEST_DATABASE_URL)",
)
def test_a_backup_restores_into_an_empty_database(committed, database_url, staff, tmp_path) -> None:
    from dcc.db import get_database
    from dcc.users import service as users

    with get_database().session_scope() as session:
        users.create_user(session, login="kept", role="dcc_agent", phone="13900000009")
    source = make_url(database_url).render_as_string(hide_password=False)
    env = server_environment(
        database_url, "", DCC=os.path.join(os.path.dirname(sys.executable), "dcc")
    )
    env.pop("DCC_DATABASE_URL"), env.pop("DCC_REDIS_URL")
    dump = tmp_path / "dcc.dump"
    with scratch_database(database_url, "restore") as target:
        for argv in ([DEPLOY / "backup.sh", source, dump], [DEPLOY / "restore.sh", dump, target]):
            done = subprocess.run(
                [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stderr
        engine = create_engine(target)
        with engine.connect() as conn:
            versions = {v for (v,) in conn.execute(text("SELECT version_num FROM alembic_version"))}
            kept = conn.scalar(
                select(func.count()).select_from(text("users")).where(text("login = 'kept'"))
            )
        engine.dispose()
        assert versions == migrate.heads() and kept == 1
