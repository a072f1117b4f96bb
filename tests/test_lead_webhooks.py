"""Lead deliveries: ``POST /webhooks/leads/<source>`` in JSON, form and ADF XML; auth, replay
safety, dedup by phone, and refusals that store nothing. Also the ``dcc sources`` commands."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import LEAD_SECRET as SECRET
from support import deliver, post_json_at_once

from dcc.customers.models import Customer, CustomerPhone
from dcc.leads import deliveries, sources
from dcc.leads.models import Grade, Lead, LeadDelivery, LeadSource, LeadTouch
from webhooks import lead_payload

TOKEN = "yiche-token-0123456789abcdef"
STORED = (Customer, CustomerPhone, Lead, LeadTouch, LeadDelivery)

ADF = """<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf>
  <prospect status="{status}">
    <id sequence="1" source="autohome">AH-20261128-0001</id>
    <requestdate>2026-11-28T09:30:00+08:00</requestdate>
    <vehicle interest="buy" status="new">
      <year>2026</year><make>丰田</make><model>凯美瑞</model><trim>2.0E 精英版</trim>
      <vin>LVGBE40K8RG000001</vin>
    </vehicle>
    <customer>
      <contact>
        <name part="first">先生</name><name part="last">王</name>
        <email>wang@example.cn</email>
        <phone type="voice" time="morning">+86 138-0013-8000</phone>
        <phone type="cellphone">139 1234 5678</phone>
      </contact>
      <timeframe><description>一个月内</description></timeframe>
      <comments>想试驾</comments>
    </customer>
    <vendor><vendorname>DCC 演示 4S 店</vendorname></vendor>
    <provider><name part="full">汽车之家</name><service>询底价</service></provider>
  </prospect>
</adf>
"""


def rows(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in STORED
    }


NOTHING = {model.__name__: 0 for model in STORED}


@pytest.fixture()
def portal(session: Session) -> LeadSource:
    source = sources.create(
        session, slug="autohome", name="汽车之家", channel="portal", secret=SECRET
    )
    session.commit()
    return source


@pytest.fixture()
def token_portal(session: Session) -> LeadSource:
    source = sources.create(
        session, slug="yiche", name="易车", channel="portal", secret=TOKEN, auth_mode="token"
    )
    session.commit()
    return source


def touches_of(session: Session, lead_id: int) -> list[LeadTouch]:
    return list(
        session.scalars(
            select(LeadTouch).where(LeadTouch.lead_id == lead_id).order_by(LeadTouch.id)
        )
    )


# --- formats ------------------------------------------------------------------------------


def test_adf_with_a_vehicle_of_interest_creates_a_lead_with_make_model_and_year(
    client, session, staff, portal
) -> None:
    agent = staff.user("agent", "dcc_agent")
    answer = deliver(client, ADF.format(status="new"), content_type="application/xml")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["duplicate"] is False and body["new_lead"] is True
    lead = session.get_one(Lead, body["lead_id"])
    assert (lead.brand, lead.series, lead.model, lead.model_year) == (
        "丰田",
        "凯美瑞",
        "凯美瑞 2.0E 精英版",
        2026,
    )
    assert lead.external_id == "AH-20261128-0001"
    assert lead.source_id == portal.id and lead.channel.value == "portal"
    assert lead.purchase_timeframe == "一个月内" and lead.grade == Grade.A
    assert lead.owner_id == agent.id
    customer = session.get_one(Customer, body["customer_id"])
    assert customer.name == "王先生" and customer.email == "wang@example.cn"
    assert customer.phone == "+8613800138000"
    assert {p.phone for p in customer.phones} == {"+8613800138000", "+8613912345678"}
    [touch] = touches_of(session, lead.id)
    assert touch.note == "想试驾"
    adf = touch.details["adf"]
    assert adf["provider"]["name"]["#text"] == "汽车之家"
    assert adf["vehicles"][0]["vin"] == "LVGBE40K8RG000001"
    assert adf["phones"][0]["time"] == "morning"


def test_json_delivery_sets_grade_consent_and_keeps_unknown_fields(client, session, portal) -> None:
    answer = deliver(
        client,
        {
            "name": "李女士",
            "phone": "13912345678",
            "alt_phone": "010-6552 9988",
            "email": "li@example.cn",
            "city": "北京",
            "brand": "丰田",
            "series": "RAV4荣放",
            "model": "2026款 2.0L 两驱风尚版",
            "budget": 200000,
            "purchase_timeframe": "7天内",
            "comments": "周末看车",
            "consent": True,
            "external_id": 98765,
            "utm_campaign": "双十一",
            "dealer": {"code": "BJ01"},
        },
    )
    assert answer.status_code == 201, answer.get_json()
    lead = session.get_one(Lead, answer.get_json()["lead_id"])
    assert lead.grade == Grade.H
    assert (lead.series, lead.budget, lead.external_id) == ("RAV4荣放", "200000", "98765")
    customer = lead.customer
    assert (customer.name, customer.city, customer.email) == ("李女士", "北京", "li@example.cn")
    assert customer.consent_at is not None
    assert {p.phone for p in customer.phones} == {"+8613912345678", "+861065529988"}
    [touch] = touches_of(session, lead.id)
    assert touch.details["format"] == "json"
    assert touch.details["extra"] == {"utm_campaign": "双十一", "dealer": {"code": "BJ01"}}


def test_form_delivery_in_utf8_and_in_gbk(client, session, portal) -> None:
    answer = deliver(
        client,
        {"name": "赵先生", "phone": "186 1111 2222", "series": "汉兰达", "consent": "on"},
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 201, answer.get_json()
    lead = session.get_one(Lead, answer.get_json()["lead_id"])
    assert (lead.customer.name, lead.series) == ("赵先生", "汉兰达")
    assert lead.customer.consent_at is not None

    gbk = urllib.parse.urlencode({"name": "孙女士", "phone": "13700001111"}, encoding="gbk")
    answer = deliver(client, gbk, content_type="application/x-www-form-urlencoded; charset=GBK")
    assert answer.status_code == 201, answer.get_json()
    assert session.get_one(Customer, answer.get_json()["customer_id"]).name == "孙女士"


def test_known_phone_in_another_format_is_a_duplicate_of_the_same_customer(
    client, session, portal
) -> None:
    first = deliver(client, {"phone": "13800138000", "name": "王先生"}).get_json()
    again = deliver(
        client,
        {"phone": "+86 138-0013-8000", "comments": "再次询价"},
        content_type="application/x-www-form-urlencoded",
    )
    assert again.status_code == 201
    second = again.get_json()
    assert second["duplicate"] is True and second["new_lead"] is False
    assert second["customer_id"] == first["customer_id"]
    assert second["lead_id"] == first["lead_id"]
    assert rows(session)["Customer"] == 1 and rows(session)["Lead"] == 1
    assert [t.note for t in touches_of(session, first["lead_id"])] == [None, "再次询价"]


def test_speed_to_lead_job_is_scheduled_for_new_leads_only(client, session, portal) -> None:
    from sqlalchemy import select

    from dcc.jobs.models import OutboxJob

    first = deliver(client, {"phone": "13800138000", "external_id": "a-1"}).get_json()
    deliver(client, {"phone": "0086 138 0013 8000", "external_id": "a-2"})  # a touch
    deliver(client, {"phone": "13800138000", "external_id": "a-1"})  # a replay
    jobs = session.scalars(select(OutboxJob).where(OutboxJob.task == "lead.first_contact")).all()
    assert [job.args for job in jobs] == [{"lead_id": first["lead_id"]}]


# --- idempotency --------------------------------------------------------------------------


def test_replay_of_the_same_external_id_returns_the_original_answer(
    client, session, portal
) -> None:
    first = deliver(client, ADF.format(status="new"), content_type="text/xml")
    stored = rows(session)
    assert stored["LeadDelivery"] == 1
    for body in (ADF.format(status="resend"), ADF.format(status="new")):
        replay = deliver(client, body, content_type="application/x-adf+xml")
        assert replay.status_code == first.status_code == 201
        assert replay.get_json() == first.get_json()
        assert replay.headers["Idempotent-Replayed"] == "true"
    json_replay = deliver(client, {"phone": "13500000000", "external_id": "AH-20261128-0001"})
    assert json_replay.get_json() == first.get_json()
    assert rows(session) == stored


def test_replay_of_the_same_idempotency_key_returns_the_original_answer(
    client, session, portal
) -> None:
    key = {"Idempotency-Key": "form-7f3a9c"}
    first = deliver(client, {"phone": "13800138000"}, headers=key)
    assert first.status_code == 201
    stored = rows(session)
    assert stored["LeadDelivery"] == 1
    replay = deliver(client, {"phone": "13800138000", "comments": "retry"}, headers=key)
    assert (replay.status_code, replay.get_json()) == (201, first.get_json())
    assert rows(session) == stored
    # A delivery with a key and an external id is known by either afterwards.
    both = deliver(
        client, {"phone": "13900139000", "external_id": "x-1"}, headers={"Idempotency-Key": "k2"}
    ).get_json()
    assert deliver(client, {"phone": "13900139000", "external_id": "x-1"}).get_json() == both
    assert (
        deliver(client, {"phone": "1", "x": 1}, headers={"Idempotency-Key": "k2"}).status_code
        == 422
    )
    assert (
        deliver(client, {"phone": "13700000000"}, headers={"Idempotency-Key": "k2"}).get_json()
        == both
    )


def test_long_idempotency_keys_are_not_cut(client, session, portal) -> None:
    prefix = "k" * 150
    first = deliver(client, {"phone": "13800138000"}, headers={"Idempotency-Key": prefix + "1"})
    second = deliver(client, {"phone": "13900139000"}, headers={"Idempotency-Key": prefix + "2"})
    assert first.get_json()["lead_id"] != second.get_json()["lead_id"]
    again = deliver(client, {"phone": "13900139000"}, headers={"Idempotency-Key": prefix + "2"})
    assert again.get_json() == second.get_json() and rows(session)["LeadDelivery"] == 2


def test_keys_are_per_source(client, session, portal, token_portal) -> None:
    first = deliver(client, {"phone": "13800138000", "external_id": "1001"}).get_json()
    other = deliver(
        client,
        {"phone": "13800138000", "external_id": "1001"},
        slug="yiche",
        secret=None,
        headers={"X-DCC-Token": TOKEN},
    ).get_json()
    assert other["customer_id"] == first["customer_id"]
    assert other["duplicate"] is True
    assert rows(session)["LeadDelivery"] == 2


def test_a_racing_duplicate_gets_the_stored_answer(session, portal) -> None:
    """The loser of the unique-key race (the winner committed between its lookup and its
    insert) rolls its transaction back, leaves no trace and answers with the winner's answer."""
    winner = {"lead_id": 7, "customer_id": 3, "duplicate": False, "new_lead": True}
    session.add(
        LeadDelivery(
            source_id=portal.id, key="ext:race-1", response_status=201, response_body=winner
        )
    )
    session.commit()
    data = lead_payload.build({"phone": "13800138000", "external_id": "race-1"})
    answer = deliveries.record(session, portal, data, ["key:abc", "ext:race-1"])
    assert (answer.status, answer.body, answer.replayed) == (201, winner, True)
    assert rows(session) == {**NOTHING, "LeadDelivery": 1}
    # The session is still usable: the next delivery goes through.
    assert deliveries.receive(session, portal, data, idempotency_key="other").status == 201


def test_concurrent_duplicates_create_one_lead(live) -> None:
    """Real commits on separate connections: eight copies of one delivery at once."""
    with live.session() as s:
        sources.create(s, slug="autohome", name="汽车之家", channel="portal", secret=SECRET)
        s.commit()
    body = json.dumps({"phone": "13800138000", "external_id": "burst-1"}).encode()
    headers = {"Content-Type": "application/json", "X-DCC-Signature": sources.sign(SECRET, body)}
    url = f"{live.base_url}/webhooks/leads/autohome"
    answers = post_json_at_once(url, [body] * 8, [headers] * 8)
    assert [status for status, _ in answers] == [201] * 8, answers
    assert len({json.dumps(b, sort_keys=True) for _, b in answers}) == 1
    with live.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
        assert s.scalar(select(func.count()).select_from(LeadTouch)) == 1
        assert s.scalar(select(func.count()).select_from(LeadDelivery)) == 1


def test_different_deliveries_from_one_new_number_at_once_share_one_customer(live) -> None:
    """Six portals' deliveries of one new number at once: one customer, one lead, six touches."""
    with live.session() as s:
        sources.create(s, slug="autohome", name="汽车之家", channel="portal", secret=SECRET)
        s.commit()
    bodies = [
        json.dumps({"phone": "+86 138 0013 8000", "external_id": f"portal-{n}"}).encode()
        for n in range(6)
    ]
    headers = [
        {"Content-Type": "application/json", "X-DCC-Signature": sources.sign(SECRET, body)}
        for body in bodies
    ]
    answers = post_json_at_once(f"{live.base_url}/webhooks/leads/autohome", bodies, headers)
    assert [status for status, _ in answers] == [201] * 6, answers
    assert len({(b["customer_id"], b["lead_id"]) for _, b in answers}) == 1
    with live.session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
        assert s.scalar(select(func.count()).select_from(LeadTouch)) == 6
        assert s.scalar(select(func.count()).select_from(LeadDelivery)) == 6


# --- authentication -----------------------------------------------------------------------


def test_bad_or_missing_signature_is_401_and_stores_nothing(client, session, portal) -> None:
    payload = {"phone": "13800138000"}
    wrong_secret = deliver(client, payload, secret="not-the-secret-at-all")
    assert wrong_secret.status_code == 401
    assert wrong_secret.get_json()["error"]["field"] == "X-DCC-Signature"
    missing = deliver(client, payload, secret=None)
    assert missing.status_code == 401
    assert missing.get_json()["error"]["field"] == "X-DCC-Signature"
    body = json.dumps(payload).encode()
    tampered = client.post(
        "/webhooks/leads/autohome",
        data=body.replace(b"8000", b"8001"),
        headers={"Content-Type": "application/json", "X-DCC-Signature": sources.sign(SECRET, body)},
    )
    assert tampered.status_code == 401
    token_instead = deliver(client, payload, secret=None, headers={"X-DCC-Token": SECRET})
    assert token_instead.status_code == 401
    assert rows(session) == NOTHING


def test_token_mode_source(client, session, token_portal) -> None:
    payload = {"phone": "13800138000"}
    wrong = deliver(client, payload, slug="yiche", secret=None, headers={"X-DCC-Token": "nope"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["field"] == "X-DCC-Token"
    assert deliver(client, payload, slug="yiche", secret=None).status_code == 401
    assert rows(session) == NOTHING
    right = deliver(client, payload, slug="yiche", secret=None, headers={"X-DCC-Token": TOKEN})
    assert right.status_code == 201
    assert rows(session)["Lead"] == 1


def test_unknown_and_disabled_sources_are_404_and_store_nothing(client, session, portal) -> None:
    assert deliver(client, {"phone": "13800138000"}, slug="nobody").status_code == 404
    sources.set_enabled(portal, False)
    session.commit()
    answer = deliver(client, {"phone": "13800138000"})
    assert answer.status_code == 404
    assert answer.get_json()["error"]["field"] == "source"
    assert rows(session) == NOTHING


# --- refusals -----------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE adf [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<adf><prospect><customer><contact><name part="full">&lol3;</name>
<phone>13800138000</phone></contact></customer></prospect></adf>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE adf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<adf><prospect><customer><contact><name part="full">&xxe;</name>
<phone>13800138000</phone></contact></customer></prospect></adf>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE adf SYSTEM "http://attacker.example/adf.dtd">
<adf><prospect><customer><contact><phone>13800138000</phone></contact></customer></prospect></adf>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_xml_with_a_dtd_or_entities_is_400_and_stores_nothing(
    client, session, portal, document
) -> None:
    answer = deliver(client, document, content_type="application/xml")
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["field"] == "body"
    assert "body" in error["message"]
    assert rows(session) == NOTHING


def test_malformed_bodies_are_400(client, session, portal) -> None:
    assert deliver(client, b"{not json", content_type="application/json").status_code == 400
    assert deliver(client, b"[1, 2]", content_type="application/json").status_code == 400
    assert deliver(client, b"<adf><prospect>", content_type="text/xml").status_code == 400
    assert deliver(client, b"<html></html>", content_type="text/xml").status_code == 400
    assert rows(session) == NOTHING


def test_oversized_body_is_413_json_and_stores_nothing(client, session, portal) -> None:
    answer = deliver(client, {"phone": "13800138000", "comments": "长" * 30_000})
    assert answer.status_code == 413
    assert "KiB" in answer.get_json()["error"]["message"]
    assert rows(session) == NOTHING


def test_missing_phone_is_422_naming_phone(client, session, portal) -> None:
    answer = deliver(client, {"name": "王先生", "brand": "丰田"})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["field"] == "phone"
    assert error["errors"] == {"phone": ["is required"]}
    assert error["code"] == error["codes"]["phone"] == "field.required"
    assert error["message"] == "phone: is required"
    adf_without_phone = ADF.replace("<phone", "<fax").replace("</phone>", "</fax>")
    answer = deliver(client, adf_without_phone.format(status="new"), content_type="text/xml")
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "phone"
    assert rows(session) == NOTHING


def test_invalid_phone_is_422_naming_phone(client, session, portal) -> None:
    answer = deliver(client, {"phone": "12345"})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["field"] == "phone"
    assert "12345" in error["errors"]["phone"][0]
    assert rows(session) == NOTHING


def test_every_bad_field_is_named_at_once(client, session, portal) -> None:
    answer = deliver(
        client,
        {
            "phone": "12345",
            "alt_phone": "999",
            "email": "not-an-address",
            "model_year": "next year",
            "consent": "maybe",
            "brand": "x" * 61,
            "city": ["北京"],
        },
    )
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert set(error["errors"]) == {
        "phone",
        "alt_phone",
        "email",
        "model_year",
        "consent",
        "brand",
        "city",
    }
    assert error["message"].startswith(f"{error['field']}: ")
    assert rows(session) == NOTHING


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", ""])
def test_unsupported_content_type_is_415(client, session, portal, content_type) -> None:
    answer = deliver(client, b'{"phone": "13800138000"}', content_type=content_type)
    assert answer.status_code == 415
    assert answer.get_json()["error"]["field"] == "Content-Type"
    assert rows(session) == NOTHING


# --- the sources commands -----------------------------------------------------------------


def test_sources_commands(app, client, session) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["sources", "create", "dongchedi", "--name", "懂车帝", "--auth", "token"]
    )
    assert created.exit_code == 0, created.output
    first_secret = created.output.strip().splitlines()[-1]

    listed = runner.invoke(args=["sources", "list"])
    assert listed.exit_code == 0 and "dongchedi" in listed.output and "token" in listed.output
    assert first_secret not in listed.output

    changed = runner.invoke(
        args=[
            "sources",
            "set",
            "dongchedi",
            "--auth",
            "hmac",
            "--auto-dial",
            "--sub-source",
            "询价",
        ]
    )
    assert changed.exit_code == 0, changed.output
    source = sources.get_by_slug(session, "dongchedi")
    session.refresh(source)
    assert (source.auth_mode, source.auto_dial, source.sub_source) == ("hmac", True, "询价")

    rotated = runner.invoke(args=["sources", "rotate", "dongchedi"])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.output.strip().splitlines()[-1]
    assert new_secret != first_secret
    payload = {"phone": "13800138000"}
    assert deliver(client, payload, slug="dongchedi", secret=first_secret).status_code == 401
    assert deliver(client, payload, slug="dongchedi", secret=new_secret).status_code == 201

    assert runner.invoke(args=["sources", "disable", "dongchedi"]).exit_code == 0
    assert deliver(client, payload, slug="dongchedi", secret=new_secret).status_code == 404
    assert runner.invoke(args=["sources", "enable", "dongchedi"]).exit_code == 0
    assert deliver(client, payload, slug="dongchedi", secret=new_secret).status_code == 201

    unknown = runner.invoke(args=["sources", "rotate", "nobody"])
    assert unknown.exit_code == 2 and "nobody" in unknown.output
    bad = runner.invoke(args=["sources", "set", "dongchedi", "--channel", "fax"])
    assert bad.exit_code == 2 and "channel" in bad.output
