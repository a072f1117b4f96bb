"""A lead's fields have one rule each (:mod:`dcc.leads.fields`): the JSON API, the lead webhook
(and its ADF reading) and the pages' forms accept and refuse the same values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from web_support import PASSWORD, login, post

from dcc.fields import Boolean, Email, Integer, Rule, Text
from dcc.leads import fields as lead_fields
from dcc.leads import sources
from dcc.sales.models import ShowroomVisit
from dcc.web.forms import OutcomeForm
from webhooks import lead_payload

SECRET = "autohome-secret-0123456789"
PHONE = "13800138000"
#: The walk-in form's name for a rule's field (the visitor's note is the lead's comments).
WALK_IN = {"name": "name", "series": "series", "comments": "note", "phone": "phone"}


def _cases(rule: Rule) -> list[tuple[Any, bool]]:
    """Values at and past the rule's edges, each with whether it is accepted."""
    if isinstance(rule, Email):
        local = "w" * (rule.max_length - len("@example.cn"))
        return [
            ("wang@example.cn", True),
            (f"{local}@example.cn", True),
            (f"w{local}@example.cn", False),  # too long
            ("wang at example.cn", False),
        ]
    if isinstance(rule, Text):
        longest = "长" * rule.max_length
        return [(longest, True), (f" {longest} ", True), (longest + "长", False), (1001, True)]
    if isinstance(rule, Integer):
        low, high = rule.minimum, rule.maximum
        edges = [(low, True), (str(high), True), (low - 1, False), (str(high + 1), False)]
        return [*edges, ("next year", False), (2026.5, False)]
    if isinstance(rule, Boolean):
        return [(True, True), ("是", True), ("no", True), ("maybe", False), ([1], False)]
    raise AssertionError(f"no cases for {rule}")


CASES = [
    pytest.param(name, value, accepted, id=f"{name}-{str(value)[:10]}-{accepted}")
    for name, rule in lead_fields.ENQUIRY.items()
    for value, accepted in _cases(rule)
] + [
    pytest.param("phone", value, accepted, id=f"phone-{value}-{accepted}")
    for value, accepted in (("138 0013 8000", True), ("12345", False), ("", False))
]
#: What a form can send (text), for the fields the walk-in form has; a walk-in without a
#: phone is anonymous traffic, not a refusal.
FORM_CASES = [
    case
    for case in CASES
    if case.values[0] in WALK_IN and isinstance(case.values[1], str) and case.values[1]
]


@pytest.fixture()
def token(session, staff) -> dict[str, str]:
    sources.create(session, slug="autohome", name="汽车之家", channel="portal", secret=SECRET)
    session.commit()
    return staff.token(staff.user("boss", "manager"))


def _body(name: str, value: Any) -> dict[str, Any]:
    return {"phone": value} if name == "phone" else {"phone": PHONE, name: value}


def _refusal_names(answer: Any, name: str) -> bool:
    error = answer.get_json()["error"]
    return bool(error["field"] == name and error["code"].startswith("field."))


@pytest.mark.parametrize(("name", "value", "accepted"), CASES)
def test_the_api_and_the_lead_webhook_agree(client, token, name, value, accepted) -> None:
    api = client.post("/api/v1/leads", json=_body(name, value), headers=token)
    body = json.dumps(_body(name, value), ensure_ascii=False).encode()
    signed = {"Content-Type": "application/json", "X-DCC-Signature": sources.sign(SECRET, body)}
    webhook = client.post("/webhooks/leads/autohome", data=body, headers=signed)
    expected = 201 if accepted else 422
    assert (api.status_code, webhook.status_code) == (expected, expected), (
        api.get_json(),
        webhook.get_json(),
    )
    if not accepted:
        assert _refusal_names(api, name) and _refusal_names(webhook, name)
        assert api.get_json()["error"]["code"] == webhook.get_json()["error"]["code"]


@pytest.mark.parametrize(("name", "value", "accepted"), FORM_CASES)
def test_the_walk_in_form_agrees(client, session, staff, name, value, accepted) -> None:
    staff.user("clerk", "clerk", password=PASSWORD)
    consultant = staff.user("consultant", "consultant", name="刘强")
    login(client, "clerk")
    form = {"consultant": consultant.id, "party_size": "1", "visit": "first", "phone": PHONE}
    answer = post(client, "/reception/walk-in", {**form, WALK_IN[name]: value})
    # Accepted: back to the register; refused: the register again, with what was typed.
    assert answer.status_code == (302 if accepted else 422)
    registered = session.scalar(
        select(func.count()).select_from(ShowroomVisit).where(ShowroomVisit.left_contact)
    )
    assert registered == (1 if accepted else 0)


@pytest.mark.parametrize(("name", "value", "accepted"), CASES)
def test_adf_keeps_only_what_the_rules_accept(name, value, accepted) -> None:
    """ADF is read liberally: a refused optional value is set aside, over-long text is cut to
    the rule's length; the phone still decides."""
    if name == "phone":
        found = [value] if value else []
        if not accepted:
            with pytest.raises(lead_payload.InvalidFields):
                lead_payload.build({}, phones_found=found, lenient=True)
        return
    lead = lead_payload.build({name: value}, phones_found=[PHONE], lenient=True)
    kept = getattr(lead, name)
    rule = lead_fields.ENQUIRY[name]
    if accepted:
        assert kept == rule.clean(value)
    elif isinstance(rule, Text) and isinstance(value, str) and len(value) > rule.max_length:
        assert len(kept) <= rule.max_length
    else:
        assert name in lead.details["rejected"] and kept in (None, False)


def test_choices_come_from_the_rules(client, app, token) -> None:
    for name, rule in (("channel", lead_fields.STAFF_CHANNEL), ("grade", lead_fields.INTAKE_GRADE)):
        for choice in rule.choices:
            body = {"phone": PHONE, name: choice}
            assert client.post("/api/v1/leads", json=body, headers=token).status_code == 201
        for outside in ("F", "fax", "new"):
            answer = client.post(
                "/api/v1/leads", json={"phone": PHONE, name: outside}, headers=token
            )
            assert answer.get_json()["error"]["code"] == "field.bad_choice", (name, outside)
    document = client.get("/api/v1/openapi.json", headers=token).get_json()
    spec = document["components"]["schemas"]["LeadCreate"]
    assert spec["properties"]["grade"]["enum"] == list(lead_fields.INTAKE_GRADE.choices)
    assert spec["properties"]["name"]["maxLength"] == lead_fields.NAME.max_length
    assert spec["properties"]["model_year"]["minimum"] == lead_fields.MODEL_YEAR.minimum
    with app.test_request_context():
        form = OutcomeForm(meta={"csrf": False})
        assert [c.value for c in form.grade.choices] == list(lead_fields.CALL_GRADE.choices)
        assert [c.value for c in form.lost_reason.choices][1:] == list(
            lead_fields.LOST_REASON.choices
        )
