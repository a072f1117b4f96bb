#!/usr/bin/env python3
"""Benchmark: the inbound-call webhook against a bare Flask endpoint returning fixed TwiML.

Both run under the same gunicorn setup (gthread) in the same run; the database is PostgreSQL
holding 100k customers (``DCC_BENCH_DATABASE_URL``, default a ``dcc_bench`` database on the
local server). 50 concurrent clients send signed requests: half from known customers in other
formats, half from new numbers. Prints requests/s, p50 and p99 of each, and the ratio.
Target: the real webhook keeps at least half the bare endpoint's throughput, p99 under 50 ms.

A third endpoint, the floor, adds to the bare one the least a webhook that keeps anything must
do (one INSERT and its COMMIT); it shows how much of the gap is the database's and how much
is DCC's.

    python scripts/bench_webhooks.py [--customers 100000] [--requests 4000] [--clients 50]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import urllib.parse

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib

TOKEN = "bench-auth-token"
PUBLIC = "http://bench.dcc.test"
HOTLINE = "+864008123123"
FIXED_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="cmn-CN">您好</Say>'
    "<Dial><Number>+8613900000001</Number></Dial></Response>"
)


def bare_app() -> Flask:
    """The baseline: a Flask endpoint that answers fixed TwiML and touches nothing."""
    app = Flask("bare")

    @app.post("/webhooks/twilio/voice/inbound")
    def inbound() -> Response:
        return Response(FIXED_TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def floor_app() -> Flask:
    """The floor: the bare endpoint plus the least a webhook that keeps anything must do, one
    INSERT and its COMMIT (same engine settings as DCC). No webhook that records the call in
    the request can beat it; it shows how much of the gap to the bare endpoint is DCC's."""
    from sqlalchemy import text

    from dcc.db import make_engine

    app = Flask("floor")
    engine = make_engine(os.environ["DCC_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_floor "
                "(id BIGSERIAL PRIMARY KEY, call_sid TEXT, received_at TIMESTAMPTZ DEFAULT now())"
            )
        )
    insert = text("INSERT INTO bench_floor (call_sid) VALUES (:sid)")

    @app.post("/webhooks/twilio/voice/inbound")
    def inbound() -> Response:
        with engine.begin() as conn:
            conn.execute(insert, {"sid": request.form.get("CallSid", "")})
        return Response(FIXED_TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def seed(url: str, customers: int) -> None:
    """Schema, agents, and ``customers`` customers with an open lead each (once)."""
    from sqlalchemy import func, insert, select, text

    from dcc import clock, migrate
    from dcc.customers.models import Customer, CustomerPhone
    from dcc.db import make_engine
    from dcc.leads.models import Channel, Lead, LeadStatus, ValueTier
    from dcc.users.models import Role, User

    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        have = conn.execute(select(func.count()).select_from(Customer)).scalar() or 0
        if have >= customers:
            print(f"data set: {have} customers already present")
            return
        conn.execute(text("DELETE FROM call_events"))
        print(f"data set: adding {customers - have} customers …", flush=True)
        benchlib.ensure_agents(conn, 5)
        agent_ids = [r[0] for r in conn.execute(select(User.id).where(User.role == Role.DCC_AGENT))]
        now = clock.now()
        batch = 5000
        for start in range(have, customers, batch):
            numbers = [known_number(i) for i in range(start, min(start + batch, customers))]
            ids = (
                conn.execute(
                    insert(Customer).returning(Customer.id),
                    [{"phone": n, "name": "", "created_at": now} for n in numbers],
                )
                .scalars()
                .all()
            )
            conn.execute(
                insert(CustomerPhone),
                [
                    {"customer_id": cid, "phone": n, "is_primary": True, "created_at": now}
                    for cid, n in zip(ids, numbers, strict=True)
                ],
            )
            conn.execute(
                insert(Lead),
                [
                    {
                        "customer_id": cid,
                        "channel": Channel.PORTAL,
                        "value_tier": ValueTier.VALUE,
                        "status": LeadStatus.CONTACTING,
                        "owner_id": agent_ids[cid % len(agent_ids)],
                        "attempt_count": 0,
                        "is_repurchase": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for cid in ids
                ],
            )
    engine.dispose()


def known_number(i: int) -> str:
    return f"+86137{i:08d}"


def signed_requests(count: int, customers: int, run: str) -> list[benchlib.Request]:
    validator = RequestValidator(TOKEN)
    path = "/webhooks/twilio/voice/inbound"
    rng = random.Random(7)
    out: list[benchlib.Request] = []
    for n in range(count):
        if n % 2 == 0:  # a known customer, dialling in the national format
            caller = "137" + f"{rng.randrange(customers):08d}"
        else:  # a new number
            caller = f"+86136{run}{n:04d}"
        params = {
            "CallSid": f"CA{run}{n:028d}",
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": HOTLINE,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            "Caller": caller,
            "Called": HOTLINE,
        }
        signature = validator.compute_signature(PUBLIC + path, params)
        body = urllib.parse.urlencode(params).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        out.append(("POST", path, body, headers))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    benchlib.load_options(parser)
    args = parser.parse_args()

    url = benchlib.bench_database_url()
    seed(url, args.customers)
    env = benchlib.app_env(
        url,
        TWILIO_AUTH_TOKEN=TOKEN,
        DCC_PUBLIC_BASE_URL=PUBLIC,
        DCC_OPENING_HOURS="00:00-24:00",
    )
    sizing = {"workers": args.workers, "threads": args.threads}
    run = f"{int(time.time()) % 10000:04d}"
    requests = signed_requests(args.requests, args.customers, run)
    warmup = signed_requests(200, args.customers, f"{(int(run) + 5000) % 10000:04d}")

    here = os.path.dirname(__file__)
    common = {"warmup": warmup, "clients": args.clients, **sizing}
    base = benchlib.measure(
        "bare Flask (fixed TwiML)", "bench_webhooks:bare_app()", env, requests, chdir=here, **common
    )
    floor = benchlib.measure(
        "floor (TwiML + 1 INSERT)",
        "bench_webhooks:floor_app()",
        env,
        requests,
        chdir=here,
        **common,
    )
    dcc = benchlib.measure("DCC inbound webhook", "dcc:create_app()", env, requests, **common)

    print(
        f"\n{args.requests} signed inbound-call requests, {args.clients} clients, "
        f"gunicorn gthread {args.workers}x{args.threads}, {args.customers} customers "
        f"in {url.split('@')[-1]}"
    )
    print(base.line())
    print(floor.line())
    print(dcc.line())
    ratio = dcc.rps / base.rps if base.rps else float("nan")
    floor_ratio = floor.rps / base.rps if base.rps else float("nan")
    print(f"throughput ratio (DCC / bare): {ratio:.2f}   target >= 0.50")
    print(f"DCC p99: {dcc.percentile(99):.2f} ms   target < 50 ms")
    print(
        f"for reference, the floor (one INSERT + COMMIT, nothing else) / bare: "
        f"{floor_ratio:.2f}, p99 {floor.percentile(99):.2f} ms; DCC / floor: "
        f"{dcc.rps / floor.rps if floor.rps else float('nan'):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
