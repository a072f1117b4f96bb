#!/usr/bin/env python3
"""Benchmark: leads per second through the lead webhook, deduplicated against N customers.

The app runs under gunicorn (gthread) on PostgreSQL (``DCC_BENCH_DATABASE_URL``, default a
``dcc_bench`` database on the local server) holding N customers with an open lead each (default
1,000,000; seeded once with COPY and set-based inserts, and only what is missing is added).
50 concurrent clients send signed JSON deliveries: half from new numbers, half from known
customers written in another format (``13700000042``, ``+86 137 0000 0042``,
``0086137…``), each with its own external id. Prints leads/s, p50, p99 and errors, then checks
in the database that every new number opened one lead and every known one became a touch.
A second pass replays a sample of the deliveries (the idempotent answer path). Before them, a
floor endpoint (bare Flask writing only the rows a deduplicated lead needs) takes the same
kind of load: how many leads/s this machine allows at all.

A last phase measures speed-to-lead with the source set to auto-dial: RQ workers run, the
telephony simulator stands in for Twilio, and for each new lead the time from sending the
delivery to the simulator receiving the agent leg's REST request is taken (p50/p95).

    python scripts/bench_intake.py [--customers 1000000] [--requests 4000] [--clients 50]
                                   [--speed-leads 100]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib

SLUG = "bench-portal"
SECRET = "bench-intake-secret-0123456789"
AGENTS = 5
SERIES = ["凯美瑞", "卡罗拉", "RAV4荣放", "汉兰达", "亚洲龙"]
TIMEFRAMES = ["7天内", "一个月内", "1-3个月", "3个月以上", None]


def known_number(i: int) -> str:
    """The E.164 number of seeded customer ``i`` (shared with bench_webhooks.py's data set)."""
    return f"+86137{i:08d}"


def seed(url: str, customers: int) -> None:
    """Schema, agents, the source, and customers 0..N-1 with an open lead each; adds only what
    is missing, in one transaction (a run that dies leaves nothing half-done)."""
    from sqlalchemy import func, insert, select, text

    from dcc import clock, migrate
    from dcc.customers.models import CustomerPhone
    from dcc.db import make_engine
    from dcc.leads.models import LeadSource
    from dcc.users.models import User

    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        if not conn.execute(select(LeadSource.id).where(LeadSource.slug == SLUG)).first():
            conn.execute(
                insert(LeadSource).values(
                    slug=SLUG,
                    name="压测门户",
                    channel="portal",
                    secret=SECRET,
                    auth_mode="hmac",
                    auto_dial=False,
                    enabled=True,
                    created_at=clock.now(),
                )
            )
        benchlib.ensure_agents(conn, AGENTS)
        known = CustomerPhone.phone.between(known_number(0), known_number(10**8 - 1))
        have = conn.execute(select(func.count()).where(known)).scalar() or 0
        last = conn.execute(
            select(CustomerPhone.id).where(CustomerPhone.phone == known_number(customers - 1))
        ).first()
        if have >= customers and last:
            print(f"data set: {customers} customers present ({have} in the known range)")
            return
        started = time.perf_counter()
        print(f"data set: adding up to {customers - have} customers …", flush=True)
        agent_ids = [
            r[0]
            for r in conn.execute(
                select(User.id).where(User.login.like("bench-agent-%")).order_by(User.id)
            )
        ]
        raw = conn.connection.driver_connection  # psycopg 3, inside this transaction
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE bench_numbers (phone varchar(20)) ON COMMIT DROP")
            with cur.copy("COPY bench_numbers (phone) FROM STDIN") as copy:
                for start in range(0, customers, 100_000):
                    stop = min(start + 100_000, customers)
                    copy.write("".join(known_number(i) + "\n" for i in range(start, stop)))
            cur.execute("DELETE FROM bench_numbers b USING customers c WHERE c.phone = b.phone")
            cur.execute(
                "INSERT INTO customers (phone, name, kind, do_not_call, created_at) "
                "SELECT phone, '', 'individual', false, now() FROM bench_numbers"
            )
            added = cur.rowcount
            cur.execute(
                "INSERT INTO customer_phones (customer_id, phone, is_primary, created_at) "
                "SELECT c.id, c.phone, true, now() FROM bench_numbers b "
                "JOIN customers c ON c.phone = b.phone"
            )
            cur.execute(
                "INSERT INTO leads (customer_id, channel, value_tier, grade, status, owner_id, "
                "attempt_count, is_repurchase, created_at, updated_at) "
                "SELECT c.id, 'portal', 'value', 'N', 'contacting', "
                "(%s::int[])[1 + c.id %% %s], 0, false, now(), now() "
                "FROM bench_numbers b JOIN customers c ON c.phone = b.phone",
                (agent_ids, len(agent_ids)),
            )
        conn.execute(text("ANALYZE customers"))
        conn.execute(text("ANALYZE customer_phones"))
        conn.execute(text("ANALYZE leads"))
        print(f"data set: {added} customers added in {time.perf_counter() - started:.1f} s")
    engine.dispose()


def floor_app() -> Any:
    """The floor: a bare Flask endpoint that writes the least a deduplicated lead needs.

    It parses the JSON, normalises the phone, looks the customer up, and writes a new
    customer, its number and its lead, or a touch on the known customer's open lead, plus the
    delivery row; one transaction, prebuilt SQL, no signature, grading, assignment, follow-up
    or jobs. It shows how many leads/s the database and Python allow here at all.
    """
    import phonenumbers
    from flask import Flask, jsonify, request
    from sqlalchemy import text

    from dcc.db import make_engine

    app = Flask("floor")
    engine = make_engine(os.environ["DCC_DATABASE_URL"])
    lookup = text(
        "SELECT c.id, (SELECT l.id FROM leads l WHERE l.customer_id = c.id "
        "AND l.status IN ('new', 'contacting', 'invited', 'arrived', 'ordered', 'dormant') "
        "ORDER BY l.id DESC LIMIT 1) "
        "FROM customer_phones p JOIN customers c ON c.id = p.customer_id WHERE p.phone = :phone"
    )
    new_customer = text(
        "INSERT INTO customers (phone, name, kind, do_not_call, created_at) "
        "VALUES (:phone, :name, 'individual', false, now()) RETURNING id"
    )
    new_phone = text(
        "INSERT INTO customer_phones (customer_id, phone, is_primary, created_at) "
        "VALUES (:customer_id, :phone, true, now())"
    )
    new_lead = text(
        "INSERT INTO leads (customer_id, channel, value_tier, grade, status, external_id, "
        "series, attempt_count, is_repurchase, created_at, updated_at) VALUES (:customer_id, "
        "'portal', 'value', 'N', 'new', :external_id, :series, 0, false, now(), now()) "
        "RETURNING id"
    )
    touch = text(
        "INSERT INTO lead_touches (lead_id, channel, details, created_at) "
        "VALUES (:lead_id, 'portal', '{}', now())"
    )
    with engine.connect() as conn:
        source_id = conn.execute(
            text("SELECT id FROM lead_sources WHERE slug = :slug"), {"slug": SLUG}
        ).scalar_one()
    delivery = text(
        "INSERT INTO lead_deliveries (source_id, key, response_status, response_body, lead_id, "
        "created_at) VALUES (:source_id, :key, 201, '{}', :lead_id, now())"
    )

    @app.post(f"/webhooks/leads/{SLUG}")
    def deliver() -> Any:
        data = request.get_json()
        phone = phonenumbers.format_number(
            phonenumbers.parse(data["phone"], "CN"), phonenumbers.PhoneNumberFormat.E164
        )
        with engine.begin() as conn:
            found = conn.execute(lookup, {"phone": phone}).first()
            if found is not None and found[1] is not None:
                customer_id, lead_id = found
            else:
                customer_id = found[0] if found else None
                if customer_id is None:
                    params = {"phone": phone, "name": data.get("name", "")}
                    customer_id = conn.execute(new_customer, params).scalar_one()
                    conn.execute(new_phone, {"customer_id": customer_id, "phone": phone})
                lead_id = conn.execute(
                    new_lead,
                    {
                        "customer_id": customer_id,
                        "external_id": data.get("external_id"),
                        "series": data.get("series"),
                    },
                ).scalar_one()
            conn.execute(touch, {"lead_id": lead_id})
            key = f"floor:{data.get('external_id')}"
            conn.execute(delivery, {"source_id": source_id, "key": key, "lead_id": lead_id})
        return jsonify(lead_id=lead_id, customer_id=customer_id), 201

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def other_format(e164: str, n: int) -> str:
    """The same number as a web form or a portal might write it."""
    national = e164.removeprefix("+86")
    spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
    return [national, f"+86 {spaced}", f"0086{national}", f"+86-{spaced.replace(' ', '-')}"][n % 4]


def deliveries(count: int, customers: int, run: str) -> list[benchlib.Request]:
    """Signed JSON deliveries: even ones from known customers, odd ones from new numbers."""
    from dcc.leads.sources import sign

    rng = random.Random(int(run))
    out: list[benchlib.Request] = []
    for n in range(count):
        if n % 2 == 0:
            phone = other_format(known_number(rng.randrange(customers)), n // 2)
        else:
            phone = other_format(f"+86150{run}{n:04d}", n // 2)
        payload = {
            "name": f"客户{n}",
            "phone": phone,
            "brand": "丰田",
            "series": rng.choice(SERIES),
            "purchase_timeframe": rng.choice(TIMEFRAMES),
            "comments": "想了解优惠",
            "consent": True,
            "external_id": f"bench-{run}-{n}",
            "utm_source": "bench",
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-DCC-Signature": sign(SECRET, body)}
        out.append(("POST", f"/webhooks/leads/{SLUG}", body, headers))
    return out


def check(url: str, run: str, count: int) -> str:
    """What the run stored: new leads for the new numbers, one delivery row per request."""
    from sqlalchemy import func, select

    from dcc.db import make_engine
    from dcc.leads.models import Lead, LeadDelivery

    engine = make_engine(url)
    with engine.connect() as conn:
        leads = conn.execute(
            select(func.count()).where(Lead.external_id.like(f"bench-{run}-%"))
        ).scalar()
        stored = conn.execute(
            select(func.count()).where(LeadDelivery.key.like(f"ext:bench-{run}-%"))
        ).scalar()
    engine.dispose()
    return (
        f"stored: {leads} new leads (expected {count // 2}: one per new number), "
        f"{stored} deliveries recorded (expected {count})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--speed-leads", type=int, default=100)
    benchlib.load_options(parser)
    args = parser.parse_args()

    url = benchlib.bench_database_url()
    seed(url, args.customers)
    env = benchlib.app_env(url)
    run = f"{int(time.time()) % 10000:04d}"
    requests = deliveries(args.requests, args.customers, run)
    warmup = deliveries(200, args.customers, f"{(int(run) + 5000) % 10000:04d}")
    replays = requests[: max(1, len(requests) // 4)]

    floor = benchlib.measure(
        "floor (fewest rows a lead needs)",
        "bench_intake:floor_app()",
        env,
        deliveries(args.requests, args.customers, f"{(int(run) + 2500) % 10000:04d}"),
        warmup=warmup,
        clients=args.clients,
        ok=lambda status: status == 201,
        chdir=os.path.dirname(os.path.abspath(__file__)),
        workers=args.workers,
        threads=args.threads,
    )
    server = benchlib.start_gunicorn(
        "dcc:create_app()", env, workers=args.workers, threads=args.threads
    )
    try:
        benchlib.hammer("warm-up", server.base_url, warmup, clients=args.clients)
        created = benchlib.hammer(
            "new + known deliveries",
            server.base_url,
            requests,
            clients=args.clients,
            ok=lambda status: status == 201,
        )
        replayed = benchlib.hammer(
            "replayed deliveries",
            server.base_url,
            replays,
            clients=args.clients,
            ok=lambda status: status == 201,
        )
    finally:
        server.stop()

    print(
        f"\n{args.requests} signed JSON deliveries (half new numbers, half known customers in "
        f"other formats), {args.clients} clients, gunicorn gthread {args.workers}x"
        f"{args.threads}, {args.customers} customers in {url.split('@')[-1]}"
    )
    print(floor.line().replace("req/s", "leads/s"))
    print(created.line().replace("req/s", "leads/s") + "   target >= 500 leads/s")
    print(replayed.line())
    print(check(url, run, args.requests))
    if args.speed_leads:
        latencies = speed_to_lead(url, env, args.speed_leads, run, args)
        figures = benchlib.Figures("speed-to-lead", len(latencies), 0, 1.0, latencies)
        print(
            f"speed-to-lead (delivery sent -> agent leg requested at the simulator), "
            f"{len(latencies)} new leads, auto-dial on: p50 {figures.percentile(50):.0f} ms   "
            f"p95 {figures.percentile(95):.0f} ms   target p95 < 2000 ms"
        )
    return 0


def speed_to_lead(url: str, env: dict[str, str], count: int, run: str, args) -> list[float]:
    """Deliver new leads one by one to an auto-dial source; time until the agent is rung."""
    import http.client
    import subprocess

    import redis
    from sqlalchemy import text

    from dcc.db import make_engine
    from dcc.leads.sources import sign
    from dcc.queues import QUEUE_NAMES
    from telephony.simulator import Simulator

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE lead_sources SET auto_dial = true WHERE slug = :s"), {"s": SLUG})
    redis.Redis.from_url(env["DCC_REDIS_URL"]).flushdb()  # nothing left over from phase one
    port = benchlib.free_port()
    sim = Simulator(
        account_sid=env["TWILIO_ACCOUNT_SID"],
        auth_token=env["TWILIO_AUTH_TOKEN"],
        voice_url=f"http://127.0.0.1:{port}/webhooks/twilio/voice/inbound",
        speed=0.01,
    )
    sim.start()
    env = {
        **env,
        "DCC_TWILIO_API_BASE_URL": sim.base_url,
        "DCC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DCC_CALLING_HOURS": "00:00-24:00",
    }
    server = benchlib.start_gunicorn(
        "dcc:create_app()", env, workers=args.workers, threads=args.threads, port=port
    )
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    workers = [
        subprocess.Popen(
            [
                rq,
                "worker",
                "--worker-class",
                "dcc.jobs.worker.Worker",
                "--url",
                env["DCC_REDIS_URL"],
                *QUEUE_NAMES,
            ],
            env={**os.environ, "PYTHONPATH": benchlib.ROOT, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    latencies: list[float] = []
    try:
        time.sleep(3)  # the workers build the app before they take work
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(count):
            with engine.begin() as db:  # every agent free again, as after their wrap-up
                db.execute(text("UPDATE users SET agent_status = 'available'"))
            body = json.dumps(
                {"phone": f"+86151{run}{n:04d}", "name": f"速度{n}", "external_id": f"s-{run}-{n}"}
            ).encode()
            legs_before = len(sim.calls())
            started = time.monotonic()
            conn.request(
                "POST",
                f"/webhooks/leads/{SLUG}",
                body=body,
                headers={"Content-Type": "application/json", "X-DCC-Signature": sign(SECRET, body)},
            )
            conn.getresponse().read()
            deadline = started + 10
            while time.monotonic() < deadline:
                agent_legs = [
                    c for c in sim.calls()[legs_before:] if c["direction"] == "outbound-api"
                ]
                if agent_legs:
                    latencies.append((agent_legs[0]["requested_at"] - started) * 1000)
                    break
                time.sleep(0.002)
            sim.wait_idle(timeout=30)
    finally:
        for worker in workers:
            os.killpg(worker.pid, 15)
        server.stop()
        sim.stop()
        engine.dispose()
    return latencies


if __name__ == "__main__":
    raise SystemExit(main())
