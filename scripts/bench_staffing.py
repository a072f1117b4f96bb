"""Staffing planner timing on a busy month: how long ``/reports/staffing`` takes to compute.

    .venv/bin/python scripts/bench_staffing.py [--calls-per-day N] [--leads-per-day M]

Builds four weeks of hotline calls (answered ones with their agent leg and a follow-up result
after the call) and web leads (with a first call) in its own PostgreSQL database
(``DCC_BENCH_DATABASE_URL``, default ``dcc_bench_staffing``), then times, warm (median of 5):
the planner for the whole dealership, the whole page's figures (the planner beside the rota),
and as a baseline the bare reading of the same rows (one SELECT of the calls' and leads'
columns the planner reads). Figures only: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault(
    "DCC_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/dcc_bench_staffing"
)

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from dcc import migrate  # noqa: E402
from dcc.calls.models import Call, CallDirection, CallStatus  # noqa: E402
from dcc.config import Settings  # noqa: E402
from dcc.customers.models import Customer  # noqa: E402
from dcc.db import make_engine  # noqa: E402
from dcc.leads.models import Channel, FollowUp, FollowUpStatus, Lead, ValueTier  # noqa: E402
from dcc.staffing import planner  # noqa: E402
from dcc.staffing.report import staffing_view  # noqa: E402
from dcc.users import service as users  # noqa: E402
from dcc.users.models import User  # noqa: E402
from scripts.benchlib import bench_database_url  # noqa: E402

RUNS = 5
NOW = dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC)


def _median(action: Callable[[], None]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seed(session: Session, calls_per_day: int, leads_per_day: int) -> None:
    agent = users.create_user(session, login="bench-agent", role="dcc_agent", team="DCC")
    users.create_user(session, login="bench-admin", role="admin")
    session.flush()
    rng = random.Random(7)
    start = NOW - dt.timedelta(weeks=4)
    customers, leads, calls, results = [], [], [], []
    n = 0
    for day in range(28):
        base = start + dt.timedelta(days=day)
        for kind, count in (("call", calls_per_day), ("web", leads_per_day)):
            for _ in range(count):
                n += 1
                # Shanghai 08:30-20:00 is 00:30-12:00 UTC
                at = base.replace(hour=0, minute=30) + dt.timedelta(seconds=rng.randrange(41400))
                customers.append({"id": n, "phone": f"+86139{n:08d}", "name": "客户"})
                channel = Channel.HOTLINE if kind == "call" else Channel.PORTAL
                leads.append(
                    {
                        "id": n,
                        "customer_id": n,
                        "channel": channel,
                        "value_tier": ValueTier.VALUE,
                        "owner_id": agent.id,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                talk = rng.randrange(60, 400)
                answered = rng.random() < 0.92
                wait = rng.randrange(1, 40)
                if kind == "call":
                    waited = wait + (talk if answered else 0)
                    calls.append(_leg(n, f"P{n}", at, leg="customer", wait=None, talk=waited))
                    if answered:
                        calls.append(
                            _leg(
                                n, f"A{n}", at, parent=f"P{n}", wait=wait, talk=talk, agent=agent.id
                            )
                        )
                else:
                    placed = at + dt.timedelta(seconds=wait)
                    calls.append(
                        _leg(n, f"W{n}", placed, wait=5, talk=talk, agent=agent.id, outbound=True)
                    )
                done = at + dt.timedelta(seconds=wait + talk + rng.randrange(10, 90))
                results.append(
                    {
                        "lead_id": n,
                        "owner_id": agent.id,
                        "due_at": at,
                        "status": FollowUpStatus.DONE,
                        "result": "已沟通",
                        "done_at": done,
                        "created_at": at,
                    }
                )
    for table, rows in ((Customer, customers), (Lead, leads), (Call, calls), (FollowUp, results)):
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(table), rows[chunk : chunk + 5000])
    session.execute(text("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))"))
    session.execute(text("SELECT setval('leads_id_seq', (SELECT max(id) FROM leads))"))
    session.commit()
    session.execute(text("ANALYZE"))  # as autovacuum would have by now on a live database


def _leg(
    lead_id: int,
    sid: str,
    at: dt.datetime,
    *,
    wait: int | None,
    talk: int,
    leg: str = "agent",
    parent: str | None = None,
    agent: int | None = None,
    outbound: bool = False,
) -> dict[str, object]:
    """A call leg's row: answered ``wait`` s after ``at`` (None: never) and ending ``talk`` s on."""
    answered = at + dt.timedelta(seconds=wait) if wait is not None else None
    ended = (answered or at) + dt.timedelta(seconds=talk)
    return {
        "sid": sid,
        "parent_sid": parent,
        "lead_id": lead_id,
        "agent_id": agent,
        "direction": CallDirection.OUTBOUND if outbound else CallDirection.INBOUND,
        "leg": leg,
        "status": CallStatus.COMPLETED,
        "status_rank": 14,
        "started_at": at,
        "answered_at": answered,
        "ended_at": ended,
        "duration": talk if answered else None,
        "created_at": at,
        "updated_at": ended,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls-per-day", type=int, default=1500)
    parser.add_argument("--leads-per-day", type=int, default=600)
    args = parser.parse_args()
    url = bench_database_url()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(url)
    settings = Settings()
    with Session(engine) as session:
        began = time.perf_counter()
        seed(session, args.calls_per_day, args.leads_per_day)
        rows = session.scalar(select(text("count(*)")).select_from(Call)) or 0
        print(f"seeded 4 weeks: {rows:,} call legs in {time.perf_counter() - began:.1f} s")
        admin = session.scalars(select(User).where(User.login == "bench-admin")).one()
        start = NOW - dt.timedelta(weeks=4)

        def baseline() -> None:
            session.execute(
                select(
                    Call.sid, Call.parent_sid, Call.started_at, Call.answered_at, Call.ended_at
                ).where(Call.created_at >= start, Call.created_at < NOW)
            ).all()
            session.execute(
                select(Lead.id, Lead.created_at).where(
                    Lead.created_at >= start, Lead.created_at < NOW
                )
            ).all()

        def plan() -> None:
            planner.recommend(session, now=NOW, settings=settings)

        def page() -> None:
            staffing_view(session, reader=admin, now=NOW, settings=settings)

        floor = _median(baseline)
        figures = {"planner": _median(plan), "page figures": _median(page)}
    print(f"baseline (read the rows): {floor * 1000:8.1f} ms")
    for name, seconds in figures.items():
        print(f"{name:24s}: {seconds * 1000:8.1f} ms  ({seconds / floor:.1f}× the baseline)")
    engine.dispose()


if __name__ == "__main__":
    main()
