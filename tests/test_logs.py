"""Logs an operator can follow: a request id in the access line and in the jobs the request
scheduled, UTC timestamps, JSON on request, provider errors with call and lead ids."""

from __future__ import annotations

import dataclasses
import json
import logging
import re

from sqlalchemy import select
from support import RecordingTelephony, run_due

from dcc.jobs.models import OutboxJob
from dcc.logs import TEXT_FORMAT, JSONFormatter, UTCFormatter


def _with_id(caplog, logger: str, request_id: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == logger and getattr(r, "request_id", "") == request_id
    ]


def test_a_requests_id_is_in_its_access_line_and_in_the_log_of_the_job_it_scheduled(
    client, session, staff, caplog
) -> None:
    caplog.set_level(logging.INFO)
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    auth = staff.token(staff.user("boss", "manager"))
    answer = client.post(
        "/api/v1/leads",
        json={"phone": "13800138000", "owner_id": agent.id},
        headers={**auth, "X-Request-ID": "portal-7f3a-0001"},
    )
    assert answer.status_code == 201
    assert answer.headers["X-Request-ID"] == "portal-7f3a-0001"
    [access] = _with_id(caplog, "dcc.access", "portal-7f3a-0001")
    assert '"POST /api/v1/leads" 201' in access.getMessage()
    assert access.status == 201 and access.path == "/api/v1/leads"

    first = session.scalars(select(OutboxJob).where(OutboxJob.task == "lead.first_contact")).one()
    assert first.request_id == "portal-7f3a-0001"
    caplog.clear()
    run_due(session)  # what a worker does with the jobs
    jobs = _with_id(caplog, "dcc.jobs.runner", "portal-7f3a-0001")
    assert any(r.getMessage().startswith("job lead.first_contact") for r in jobs), caplog.text
    line = UTCFormatter(TEXT_FORMAT).format(jobs[0])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO ", line), line
    assert "[portal-7f3a-0001]" in line


def test_a_request_without_a_usable_id_gets_a_new_one(client, caplog) -> None:
    caplog.set_level(logging.INFO)
    given = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\u2028with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["X-Request-ID"])
    assert any(r.request_id == given for r in caplog.records if r.name == "dcc.access")


def test_json_lines_carry_a_utc_timestamp_the_request_id_and_the_extras() -> None:
    record = logging.LogRecord("dcc.calls.dialer", logging.ERROR, __file__, 1, "refused", (), None)
    record.request_id, record.call_id, record.lead_id = "abc", 7, 9
    line = json.loads(JSONFormatter().format(record))
    assert line["level"] == "ERROR" and line["logger"] == "dcc.calls.dialer"
    assert line["message"] == "refused" and line["request_id"] == "abc"
    assert (line["call_id"], line["lead_id"]) == (7, 9)
    assert line["timestamp"].endswith("+00:00")


def test_a_provider_error_is_logged_with_the_call_and_the_lead(
    app, client, session, staff, caplog
) -> None:
    caplog.set_level(logging.INFO)
    phone = RecordingTelephony(outages=1)
    app.extensions["dcc.telephony"] = phone
    app.extensions["dcc.settings"] = dataclasses.replace(
        app.extensions["dcc.settings"], calling_hours="00:00-24:00"
    )
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    auth = staff.token(agent)
    lead_id = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "owner_id": agent.id}, headers=auth
    ).get_json()["lead_id"]
    answer = client.post("/api/v1/calls", json={"lead_id": lead_id}, headers=auth)
    assert answer.status_code == 502
    [record] = [r for r in caplog.records if r.name == "dcc.calls.dialer"]
    assert record.levelno == logging.ERROR
    assert record.lead_id == lead_id and record.call_id
    assert f"(lead {lead_id})" in record.getMessage()
