"""Lead-webhook signatures: the header read strictly, timestamped signatures inside a tolerance
window, replays refused outside it and answered once inside it, the untimed scheme kept."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_lead_webhooks import NOTHING, SECRET, portal, rows  # noqa: F401 (portal: a fixture)

from dcc import clock
from dcc.leads import sources
from dcc.leads.models import Lead, LeadTouch

NOW = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)
BODY = json.dumps({"phone": "13800138000", "name": "王先生"}, ensure_ascii=False).encode()


@pytest.fixture()
def agent(staff: Any) -> Any:
    return staff.user("agent", "dcc_agent")


def post(client: FlaskClient, headers: dict[str, str], body: bytes = BODY) -> Any:
    return client.post(
        "/webhooks/leads/autohome",
        data=body,
        headers={"Content-Type": "application/json", **headers},
    )


def timed(at: dt.datetime, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    return {"X-DCC-Timestamp": stamp, "X-DCC-Signature": sources.sign(secret, body, stamp)}


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.replace("sha256=", "SHA256="),
        lambda s: s.upper(),
        lambda s: s + " ",
        lambda s: " " + s,
        lambda s: s + ",sha256=" + "0" * 64,
        lambda s: s.replace("sha256=", "sha256 ="),
        lambda s: s.replace("sha256=", "sha1="),
        lambda s: s[:-1],
    ],
    ids=[
        "scheme-caps",
        "hex-caps",
        "trailing-space",
        "leading-space",
        "list",
        "space",
        "sha1",
        "short",
    ],
)
@pytest.mark.usefixtures("portal")
def test_the_signature_header_is_read_strictly(client, session, agent, mangle) -> None:
    answer = post(client, {"X-DCC-Signature": mangle(sources.sign(SECRET, BODY))})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["field"] == "X-DCC-Signature"
    assert rows(session) == NOTHING


@pytest.mark.usefixtures("portal")
def test_the_untimed_signature_still_works(client, session, agent) -> None:
    answer = post(client, {"X-DCC-Signature": sources.sign(SECRET, BODY)})
    assert answer.status_code == 201


@pytest.mark.usefixtures("portal")
def test_a_timestamped_delivery_replayed_inside_the_window_is_one_touch(
    client, session, agent
) -> None:
    headers = timed(NOW)
    with clock.frozen(NOW + dt.timedelta(seconds=20)):
        first = post(client, headers)
        assert first.status_code == 201, first.get_json()
        for _ in range(7):  # a captured copy, replayed
            again = post(client, headers)
            assert again.status_code == 201
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.get_json() == first.get_json()
    assert count(session, Lead) == 1
    assert count(session, LeadTouch) == 1


@pytest.mark.usefixtures("portal")
def test_a_replay_outside_the_window_is_refused(client, session, agent) -> None:
    headers = timed(NOW)
    with clock.frozen(NOW):
        assert post(client, headers).status_code == 201
    before = rows(session)
    for later in (dt.timedelta(minutes=5, seconds=1), dt.timedelta(days=30)):
        with clock.frozen(NOW + later):
            answer = post(client, headers)
        assert answer.status_code == 401
        error = answer.get_json()["error"]
        assert error["field"] == "X-DCC-Timestamp" and "5 minutes" in error["message"]
    assert rows(session) == before


@pytest.mark.usefixtures("portal")
def test_the_window_holds_both_ways_for_clocks_that_drift(client, session, agent) -> None:
    with clock.frozen(NOW):
        early = post(client, timed(NOW + dt.timedelta(minutes=4)))
        assert early.status_code == 201
        too_early = post(client, timed(NOW + dt.timedelta(minutes=6)))
        assert too_early.status_code == 401
        assert too_early.get_json()["error"]["field"] == "X-DCC-Timestamp"


@pytest.mark.usefixtures("portal")
def test_the_timestamp_is_part_of_what_is_signed(client, session, agent) -> None:
    headers = timed(NOW)
    with clock.frozen(NOW):
        stripped = post(client, {"X-DCC-Signature": headers["X-DCC-Signature"]})
        assert stripped.status_code == 401  # signed with a time: no good without it
        moved = post(client, {**headers, "X-DCC-Timestamp": str(int(NOW.timestamp()) + 1)})
        assert moved.status_code == 401
        assert moved.get_json()["error"]["field"] == "X-DCC-Signature"
        for stamp in ("1.7e9", "-1", f" {int(NOW.timestamp())}", "", "1" * 13):
            sent = {"X-DCC-Timestamp": stamp, "X-DCC-Signature": sources.sign(SECRET, BODY, stamp)}
            answer = post(client, sent)
            assert answer.status_code == 401, stamp
            assert answer.get_json()["error"]["field"] == "X-DCC-Timestamp"
    assert rows(session) == NOTHING


@pytest.mark.usefixtures("portal")
def test_a_source_may_require_the_timestamp(client, session, agent) -> None:
    sources.update(sources.get_by_slug(session, "autohome"), auth_mode="hmac_ts")
    session.commit()
    with clock.frozen(NOW):
        untimed = post(client, {"X-DCC-Signature": sources.sign(SECRET, BODY)})
        assert untimed.status_code == 401
        assert untimed.get_json()["error"]["field"] == "X-DCC-Timestamp"
        assert rows(session) == NOTHING
        assert post(client, timed(NOW)).status_code == 201


@pytest.mark.usefixtures("portal")
def test_a_resend_signed_anew_is_a_new_delivery(client, session, agent) -> None:
    """A portal's own resend is signed at its own time: it is a touch on the open lead, as
    any second enquiry is (an external id or an Idempotency-Key makes it a replay)."""
    with clock.frozen(NOW):
        first = post(client, timed(NOW - dt.timedelta(seconds=30)))
        second = post(client, timed(NOW))
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.get_json()["lead_id"] == first.get_json()["lead_id"]
    assert second.get_json()["new_lead"] is False
    assert count(session, LeadTouch) == 2


@pytest.mark.usefixtures("portal")
def test_dcc_sources_set_auth_hmac_ts(app, session) -> None:
    runner = app.test_cli_runner()
    changed = runner.invoke(args=["sources", "set", "autohome", "--auth", "hmac_ts"])
    assert changed.exit_code == 0, changed.output
    source = sources.get_by_slug(session, "autohome")
    session.refresh(source)
    assert source.auth_mode == "hmac_ts"
