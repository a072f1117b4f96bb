"""Hostile input on every path in: the lead webhook (JSON, form, ADF), the API, the pages and
Twilio's callbacks answer 400 or 422 naming the field, never 500, and store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import deliver
from test_lead_webhooks import NOTHING, portal, rows  # noqa: F401 (portal: a fixture)
from test_web import _inbound_call, _lead
from web_support import PASSWORD, csrf_token, login, post

from dcc import untrusted
from dcc.audit import AuditEntry
from dcc.errors import MalformedInput
from dcc.leads.models import Lead
from dcc.sales.models import Order, ShowroomVisit

HUGE_ID = "99999999999999999999"
PHONE = '"phone": "13800138000"'
#: A JSON body (as sent, byte for byte) and the field its refusal must name.
HOSTILE_JSON = [
    (f'{{{PHONE}, "foo": NaN}}', "foo"),
    (f'{{{PHONE}, "foo": Infinity}}', "foo"),
    (f'{{{PHONE}, "foo": {{"bar": -Infinity}}}}', "foo.bar"),
    (f'{{{PHONE}, "foo": 1e400}}', "foo"),
    (f'{{{PHONE}, "model_year": 1e400}}', "model_year"),
    (f'{{{PHONE}, "foo": {"9" * 4301}}}', "foo"),
    (f'{{{PHONE}, "foo": [1, -{"9" * 101}]}}', "foo.1"),
    (f'{{{PHONE}, "name": "王\\u0000先生"}}', "name"),
    (f'{{{PHONE}, "name": "\\ud800"}}', "name"),
    (f'{{{PHONE}, "comments": "x\\udfffy"}}', "comments"),
    (f'{{{PHONE}, "foo": {{"k\\u0000": "v"}}}}', "foo"),
    (f'{{{PHONE}, "tags": ["ok", "\\uDBFF"]}}', "tags.1"),
]
HOSTILE_IDS = [f"{p}" for _, p in HOSTILE_JSON]


def leads(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Lead)) or 0


# --- the reader itself ---------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), HOSTILE_JSON, ids=HOSTILE_IDS)
def test_the_json_reader_refuses_and_names_the_field(body: str, field: str) -> None:
    with pytest.raises(MalformedInput) as refused:
        untrusted.loads(body.encode())
    assert refused.value.field == field
    assert refused.value.status_code == 400
    assert refused.value.message.startswith(f"{field}: ")


def test_the_json_reader_keeps_what_is_fine() -> None:
    body = '{"name": "\\u738b\\u5148\\u751f", "car": "\\ud83d\\ude97", "n": -12, "f": 1.5e10}'
    assert untrusted.loads(body.encode()) == {"name": "王先生", "car": "🚗", "n": -12, "f": 1.5e10}
    assert untrusted.loads('"\\\\u0000"') == "\\u0000"  # an escaped backslash, then text
    with pytest.raises(MalformedInput, match="not valid UTF-8"):
        untrusted.loads(b'{"name": "\xed\xa0\x80"}')  # a surrogate encoded as bytes


def test_ids_from_forms_and_queries() -> None:
    assert untrusted.db_id(" 42 ") == 42
    assert untrusted.optional_db_id("") is None and untrusted.optional_db_id("0") is None
    for bad in (HUGE_ID, str(untrusted.MAX_ID + 1), "-1", "0", "1e3", "٣", "9" * 5000):
        with pytest.raises(ValueError):
            untrusted.db_id(bad)


# --- the lead webhook ----------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), HOSTILE_JSON, ids=HOSTILE_IDS)
@pytest.mark.usefixtures("portal")
def test_lead_webhook_json(client, session, staff, body: str, field: str) -> None:
    staff.user("agent", "dcc_agent")
    answer = deliver(client, body.encode())
    assert answer.status_code == 400, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["field"] == field and field in error["message"]
    assert rows(session) == NOTHING


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("phone=13800138000&name=%E7%8E%8B%00", "name"),
        ("phone=13800138000&fo%00o=1", "body"),
        ("phone=13800138000&name=%ED%A0%80", "body"),  # a surrogate is no UTF-8
    ],
)
@pytest.mark.usefixtures("portal")
def test_lead_webhook_form(client, session, staff, body: str, field: str) -> None:
    staff.user("agent", "dcc_agent")
    answer = deliver(client, body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["field"] == field
    assert rows(session) == NOTHING


@pytest.mark.parametrize("char", ["&#0;", "&#xD800;"])
@pytest.mark.usefixtures("portal")
def test_lead_webhook_adf(client, session, staff, char: str) -> None:
    staff.user("agent", "dcc_agent")
    adf = (
        "<adf><prospect><customer><contact><phone>13800138000</phone>"
        f"<name part='full'>王{char}</name></contact></customer></prospect></adf>"
    )
    answer = deliver(client, adf, content_type="application/xml")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "body"
    assert rows(session) == NOTHING


@pytest.mark.usefixtures("portal")
def test_lead_webhook_still_takes_escaped_chinese_and_emoji(client, session, staff):
    staff.user("agent", "dcc_agent")
    body = json.dumps({"phone": "13800138000", "name": "王先生", "comments": "🚗"}).encode()
    assert b"\\u738b" in body and b"\\ud83d" in body  # ensure_ascii: escapes, as many feeds do
    answer = deliver(client, body)
    assert answer.status_code == 201, answer.get_json()
    lead = session.get(Lead, answer.get_json()["lead_id"])
    assert lead is not None and lead.customer.name == "王先生"


# --- the API -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), HOSTILE_JSON, ids=HOSTILE_IDS)
def test_api_lead_entry(client, session, staff, body: str, field: str) -> None:
    auth = staff.token(staff.user("boss", "manager"))
    answer = client.post(
        "/api/v1/leads", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["field"] == field
    assert leads(session) == 0


def _api(client: Any, method: str, url: str, auth: dict[str, str], body: Any = None) -> Any:
    return client.open(url, method=method, json=body, headers=auth)


def test_api_ids_beyond_the_database_range(client, session, staff) -> None:
    boss = staff.user("boss", "manager")
    auth = staff.token(boss)
    made = _api(client, "POST", "/api/v1/leads", auth, {"phone": "13800138000"})
    assert made.status_code == 201
    lead_id = made.get_json()["lead_id"]
    big = str(untrusted.MAX_ID + 1)
    new = {"phone": "13900000000"}
    cases = [
        ("GET", f"/api/v1/leads/{HUGE_ID}", None, 400, "lead_id"),
        ("GET", f"/api/v1/leads/{big}", None, 400, "lead_id"),
        ("GET", f"/api/v1/leads/{'9' * 5000}", None, 400, "lead_id"),
        ("POST", f"/api/v1/leads/{HUGE_ID}/reassign", {"owner_id": 1}, 400, "lead_id"),
        ("POST", f"/api/v1/customers/{HUGE_ID}/merge", {"customer_ids": [1]}, 400, "customer_id"),
        ("POST", "/api/v1/leads", {**new, "owner_id": int(HUGE_ID)}, 422, "owner_id"),
        ("POST", "/api/v1/leads", {**new, "owner_id": int(big)}, 422, "owner_id"),
        ("POST", f"/api/v1/leads/{lead_id}/reassign", {"owner_id": int(HUGE_ID)}, 422, "owner_id"),
        ("POST", "/api/v1/customers/1/merge", {"customer_ids": [int(big)]}, 422, "customer_ids"),
        ("POST", "/api/v1/calls", {"lead_id": int(HUGE_ID)}, 422, "lead_id"),
        ("GET", f"/api/v1/calls?lead_id={HUGE_ID}", None, 422, "lead_id"),
        ("GET", f"/api/v1/customers/export.xlsx?owner_id={HUGE_ID}", None, 422, "owner_id"),
    ]
    for method, url, body, status, field in cases:
        answer = _api(client, method, url, auth, body)
        assert answer.status_code == status, (url, answer.get_data(as_text=True)[:300])
        assert answer.get_json()["error"]["field"] == field, url
    assert leads(session) == 1
    actions = session.scalars(select(AuditEntry.action)).all()
    assert actions == ["lead.create"]  # no export, no reassign, no merge


def test_api_query_strings_and_paths_hold_no_nul(client, session, staff) -> None:
    auth = staff.token(staff.user("boss", "manager"))
    answer = client.get("/api/v1/customers?phone=%00", headers=auth)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "phone"
    answer = client.get("/api/v1/reports/%00", headers=auth)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"brand": "丰田", "price": NaN}', "price"),
        ('{"brand": "丰田", "deposit": 1e400}', "deposit"),
        ('{"brand": "丰\\u0000田"}', "brand"),
        ('{"brand": "丰田", "extra": {"k": -Infinity}}', "extra.k"),
    ],
)
def test_api_orders_read_json_strictly(client, session, staff, body: str, field: str) -> None:
    boss = staff.user("boss", "manager")
    auth = staff.token(boss)
    lead_id = _api(client, "POST", "/api/v1/leads", auth, {"phone": "13800138000"}).get_json()[
        "lead_id"
    ]
    answer = client.post(
        f"/api/v1/leads/{lead_id}/orders",
        data=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["field"] == field
    assert session.scalar(select(func.count()).select_from(Order)) == 0


@pytest.mark.parametrize("path", ["/api/v1/reports/staffing", "/api/v1/reports/staffing.xlsx"])
@pytest.mark.parametrize(
    ("query", "status"),
    [(f"weeks={HUGE_ID}", 422), ("weeks=%00", 400), ("weeks=NaN", 422), ("weeks=1.5", 422)],
)
def test_api_staffing_refuses_a_hostile_query(
    client, session, staff, path: str, query: str, status: int
) -> None:
    auth = staff.token(staff.user("boss", "manager"))
    answer = client.get(f"{path}?{query}", headers=auth)
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["error"]["field"] == "weeks"
    assert session.scalars(select(AuditEntry.action)).all() == []  # nothing exported


@pytest.mark.usefixtures("portal")
def test_lead_webhook_headers_hold_no_nul(client, session) -> None:
    answer = deliver(client, {"phone": "13800138000"}, headers={"Idempotency-Key": "k\x00"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "Idempotency-Key"
    assert rows(session) == NOTHING


@pytest.mark.usefixtures("portal")
def test_lead_webhook_path_holds_no_nul(client, session) -> None:
    answer = deliver(client, {"phone": "13800138000"}, slug="auto%00home")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "slug"
    assert rows(session) == NOTHING


# --- the pages -----------------------------------------------------------------------------


def test_pages_refuse_nul_and_ids_out_of_range(client, session, staff) -> None:
    staff.user("boss", "manager", password=PASSWORD)
    login(client, "boss")
    assert client.get(f"/leads/{HUGE_ID}").status_code == 400
    assert "lead_id" in client.get(f"/leads/{HUGE_ID}").get_data(as_text=True)
    assert client.get(f"/calls/{HUGE_ID}/panel").status_code == 400
    assert client.get("/manager/customers?q=%00").status_code == 400
    assert client.get("/manager/customers?q=%E7%8E%8B").status_code == 200
    # An id out of range in a query string is no call panel, not an error page.
    assert client.get(f"/?call={HUGE_ID}").status_code == 200
    answer = post(client, f"/manager/leads/{HUGE_ID}/reassign", {"owner_id": "1"})
    assert answer.status_code == 400


def test_page_forms_refuse_nul_and_huge_ids_and_store_nothing(client, session, staff) -> None:
    staff.user("clerk", "clerk", password=PASSWORD)
    consultant = staff.user("consultant", "consultant")
    login(client, "clerk")
    base = {"party_size": "1", "visit": "first", "phone": "139 1234 5678"}
    nul = post(client, "/reception/walk-in", {**base, "name": "李\x00", "consultant": "1"})
    assert nul.status_code == 400
    assert "name" in nul.get_data(as_text=True)
    for consultant_id in (HUGE_ID, "9" * 5000):
        answer = post(client, "/reception/walk-in", {**base, "consultant": consultant_id})
        assert answer.status_code == 422  # the page again, with a message and what was typed
    arrival = post(
        client,
        "/reception/arrival",
        {"appointment_id": HUGE_ID, "consultant": "0", "party_size": "1"},
    )
    assert arrival.status_code == 422
    assert session.scalars(select(ShowroomVisit)).all() == []
    assert leads(session) == 0
    ok = post(client, "/reception/walk-in", {**base, "consultant": str(consultant.id)})
    assert ok.status_code == 302 and leads(session) == 1


def test_an_outcome_naming_a_call_out_of_range_is_refused(client, session, staff) -> None:
    agent = staff.user("agent", "dcc_agent", password=PASSWORD)
    auth = staff.token(agent)
    lead_id = _api(client, "POST", "/api/v1/leads", auth, {"phone": "13800138000"}).get_json()[
        "lead_id"
    ]
    login(client, "agent")
    answer = post(
        client,
        f"/leads/{lead_id}/outcome",
        {"call_id": HUGE_ID, "result": "聊过了", "grade": "A", "action": "none"},
    )
    assert answer.status_code == 422  # refused, the form shown again as typed
    lead = session.get(Lead, lead_id)
    assert lead is not None and lead.grade.value != "A"  # nothing saved


def test_json_posted_by_a_page_is_read_strictly(client, session, staff) -> None:
    agent = staff.user("agent", "dcc_agent", password=PASSWORD)
    call = _inbound_call(session, _lead(session), agent)
    login(client, "agent")
    answer = client.post(
        f"/calls/{call.id}/script-step",
        data='{"step": NaN}',
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf_token(client, "/")},
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "step"
    session.refresh(call)
    assert call.script_step is None


# --- Twilio's callbacks --------------------------------------------------------------------


def test_twilio_callbacks_refuse_nul(twilio) -> None:
    answer = twilio.post(
        "/webhooks/twilio/voice/inbound",
        {"CallSid": "CA" + "0" * 32, "From": "+8613800138000\x00", "To": "+864008123123"},
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "From"
