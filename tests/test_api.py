"""The JSON API: staff-entered leads with dedup, lookups by phone, visibility, errors."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc.customers.models import Customer
from dcc.leads.models import Lead


def rows(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_three_formats_give_one_customer_with_touches(client, session, staff) -> None:
    staff.user("agent", "dcc_agent")
    auth = staff.token(staff.user("boss", "manager"))
    answers = [
        client.post("/api/v1/leads", json={"phone": phone, "name": "王先生"}, headers=auth)
        for phone in ("138 0013 8000", "+86 138-0013-8000", "008613800138000")
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    bodies = [a.get_json() for a in answers]
    assert len({b["customer_id"] for b in bodies}) == 1
    assert len({b["lead_id"] for b in bodies}) == 1
    assert [b["duplicate"] for b in bodies] == [False, True, True]

    found = client.get("/api/v1/customers?phone=13800138000", headers=auth)
    assert found.status_code == 200
    customer = found.get_json()
    assert customer["id"] == bodies[0]["customer_id"]
    assert customer["phone"] == "+8613800138000"
    assert len(customer["leads"]) == 1
    assert len(customer["leads"][0]["touches"]) == 3


def test_invalid_phone_is_422_naming_phone_and_stores_nothing(client, session, staff) -> None:
    auth = staff.token(staff.user("boss", "manager"))
    answer = client.post("/api/v1/leads", json={"phone": "12345"}, headers=auth)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "phone"
    assert "phone" in answer.get_json()["error"]["message"]
    assert rows(session, Customer) == 0
    assert rows(session, Lead) == 0


def test_missing_and_unknown_fields_are_422_naming_them(client, staff) -> None:
    auth = staff.token(staff.user("boss", "manager"))
    missing = client.post("/api/v1/leads", json={"name": "x"}, headers=auth)
    assert missing.status_code == 422
    assert missing.get_json()["error"]["field"] == "phone"
    unknown = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "colour": "red"}, headers=auth
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["field"] == "colour"
    bad_channel = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "channel": "fax"}, headers=auth
    )
    assert bad_channel.status_code == 422
    assert bad_channel.get_json()["error"]["field"] == "channel"


def test_no_token_or_a_bad_one_is_401(client) -> None:
    assert client.get("/api/v1/leads/1").status_code == 401
    answer = client.get("/api/v1/leads/1", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["field"] == "Authorization"


def test_an_agent_cannot_read_another_agents_lead(client, staff) -> None:
    alice = staff.user("alice", "dcc_agent")
    bob = staff.user("bob", "dcc_agent")
    boss = staff.token(staff.user("boss", "manager"))
    created = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "owner_id": alice.id}, headers=boss
    ).get_json()
    lead_url = f"/api/v1/leads/{created['lead_id']}"
    assert client.get(lead_url, headers=staff.token(alice)).status_code == 200
    refused = client.get(lead_url, headers=staff.token(bob))
    assert refused.status_code == 404
    lookup = client.get("/api/v1/customers?phone=13800138000", headers=staff.token(bob))
    assert lookup.status_code == 404


def test_managers_see_their_teams_leads_only(client, staff) -> None:
    north = staff.user("north", "dcc_agent", team="北区")
    south = staff.user("south", "dcc_agent", team="南区")
    boss = staff.token(staff.user("boss", "manager"))
    north_lead = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "owner_id": north.id}, headers=boss
    ).get_json()["lead_id"]
    south_lead = client.post(
        "/api/v1/leads", json={"phone": "13900139000", "owner_id": south.id}, headers=boss
    ).get_json()["lead_id"]
    north_boss = staff.token(staff.user("nb", "supervisor", team="北区"))
    assert client.get(f"/api/v1/leads/{north_lead}", headers=north_boss).status_code == 200
    assert client.get(f"/api/v1/leads/{south_lead}", headers=north_boss).status_code == 404


def test_lead_detail_has_history_and_the_owning_consultant_reads_the_number(client, staff) -> None:
    consultant = staff.user("c1", "consultant")
    auth = staff.token(consultant)
    created = client.post(
        "/api/v1/leads",
        json={"phone": "13800138000", "channel": "walk_in", "series": "凯美瑞"},
        headers=auth,
    ).get_json()
    detail = client.get(f"/api/v1/leads/{created['lead_id']}", headers=auth).get_json()
    assert detail["owner_id"] == consultant.id
    assert detail["customer"]["phone"] == "+8613800138000"  # their own lead
    assert detail["series"] == "凯美瑞"
    assert len(detail["follow_ups"]) == 1
    assert detail["calls"] == [] and detail["appointments"] == [] and detail["visits"] == []


def test_reassign_moves_open_follow_ups(client, session, staff) -> None:
    alice = staff.user("alice", "dcc_agent")
    bob = staff.user("bob", "dcc_agent")
    boss = staff.token(staff.user("boss", "manager"))
    lead_id = client.post(
        "/api/v1/leads", json={"phone": "13800138000", "owner_id": alice.id}, headers=boss
    ).get_json()["lead_id"]
    moved = client.post(
        f"/api/v1/leads/{lead_id}/reassign", json={"owner_id": bob.id}, headers=boss
    )
    assert moved.status_code == 200
    body = moved.get_json()
    assert body["owner_id"] == bob.id
    assert {f["owner_id"] for f in body["follow_ups"] if f["status"] == "open"} == {bob.id}
    refused = client.post(
        f"/api/v1/leads/{lead_id}/reassign",
        json={"owner_id": alice.id},
        headers=staff.token(bob),
    )
    assert refused.status_code == 403


def test_merge_through_the_api(client, staff) -> None:
    staff.user("agent", "dcc_agent")
    boss = staff.token(staff.user("boss", "manager"))
    a = client.post("/api/v1/leads", json={"phone": "13800138000"}, headers=boss).get_json()
    b = client.post("/api/v1/leads", json={"phone": "13900139000"}, headers=boss).get_json()
    merged = client.post(
        f"/api/v1/customers/{a['customer_id']}/merge",
        json={"customer_ids": [b["customer_id"]]},
        headers=boss,
    )
    assert merged.status_code == 200
    found = client.get("/api/v1/customers?phone=13900139000", headers=boss).get_json()
    assert found["id"] == a["customer_id"]
    assert {lead["id"] for lead in found["leads"]} == {a["lead_id"], b["lead_id"]}


def test_openapi_document_is_generated(client, staff) -> None:
    token = staff.token(staff.user("agent", "dcc_agent"))
    spec = client.get("/api/v1/openapi.json", headers=token).get_json()
    assert spec["info"]["title"] == "DCC API"
    assert "/api/v1/leads" in spec["paths"]
    assert "phone" in spec["components"]["schemas"]["LeadCreate"]["required"]


def test_healthz_reports_database_and_redis(client) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["database"], body["schema"], body["redis"]) == ("ok",) * 4
    assert body["reasons"] == [] and body["overdue_work_seconds"] == 0


def test_new_leads_are_dealt_in_turn_to_agents_on_shift(client, staff) -> None:
    a = staff.user("a", "dcc_agent")
    b = staff.user("b", "dcc_agent")
    away = staff.user("c", "dcc_agent")
    away.on_shift = False
    staff.session.commit()
    boss = staff.token(staff.user("boss", "manager"))
    owners = []
    for n in range(4):
        created = client.post(
            "/api/v1/leads", json={"phone": f"1390000000{n}"}, headers=boss
        ).get_json()
        owners.append(
            client.get(f"/api/v1/leads/{created['lead_id']}", headers=boss).get_json()["owner_id"]
        )
    assert set(owners) == {a.id, b.id}
    assert owners[0] != owners[1] and owners[0::2] == [owners[0]] * 2


def test_one_new_number_entered_at_once_from_many_desks_gives_one_customer(live) -> None:
    """Real commits on separate connections: six staff enter the same new number at once, in
    several formats. Each gets 201 on one customer and one lead; every entry is a touch."""
    import json

    from support import post_json_at_once

    from dcc.leads.models import LeadTouch
    from dcc.users import service as users

    with live.session() as s:
        users.create_user(s, login="agent", role="dcc_agent")
        token = users.create_token(s, users.create_user(s, login="boss", role="manager"))
        s.commit()
    formats = ["13800138000", "138 0013 8000", "+86 138-0013-8000", "008613800138000"]
    answers = post_json_at_once(
        f"{live.base_url}/api/v1/leads",
        [json.dumps({"phone": formats[n % 4], "name": "王先生"}).encode() for n in range(6)],
        [{"Content-Type": "application/json", "Authorization": f"Bearer {token}"}] * 6,
    )
    assert [status for status, _ in answers] == [201] * 6, answers
    assert len({(b["customer_id"], b["lead_id"]) for _, b in answers}) == 1
    assert sorted(b["new_lead"] for _, b in answers) == [False] * 5 + [True]
    with live.session() as s:
        assert (rows(s, Customer), rows(s, Lead), rows(s, LeadTouch)) == (1, 1, 6)
