"""Report timings on a large PostgreSQL data set: 1M leads and 10M call legs by default.

    .venv/bin/python scripts/bench_reports.py [--leads N] [--call-events M] [--days D]

The data set is built once in its own database (``DCC_BENCH_DATABASE_URL``, default
``dcc_bench_reports``) with ``INSERT … SELECT generate_series`` inside PostgreSQL, and reused
while the requested scale is the same. Each report is then timed warm (median of 5 runs) for
the last 30 days and the last year of the data, as an admin (every team) and as one team's
manager. The first, cold runs of ``daily_work``, ``funnel`` and ``followups`` build the
roll-ups of closed days (agent days, lead days, follow-up days) and commit them, as a served
request would; their times are printed separately. Figures only: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault(
    "DCC_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/dcc_bench_reports"
)

from sqlalchemy import Connection, Index, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from scripts.benchlib import bench_database_url  # noqa: E402

AGENTS, CONSULTANTS, TEAMS = 60, 20, 3
RUNS = 5
# Tables filled by the seed, biggest last; their secondary indexes are dropped while loading
# and rebuilt after (one sort per index beats 10M incremental inserts into each).
BIG_TABLES = (
    "customers",
    "leads",
    "appointments",
    "showroom_visits",
    "orders",
    "follow_ups",
    "calls",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--call-events", type=int, default=10_000_000, help="call legs (rows)")
    parser.add_argument("--days", type=int, default=730, help="days the data set spans")
    parser.add_argument("--reseed", action="store_true", help="rebuild even if the scale matches")
    args = parser.parse_args()

    from dcc import migrate
    from dcc.db import make_engine

    url = bench_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        end_day = seed_if_needed(conn, args.leads, args.call_events, args.days, args.reseed)
    with Session(engine) as session:
        time_reports(session, end_day)
    engine.dispose()


# --- the data set ---------------------------------------------------------------------------


def seed_if_needed(conn: Connection, leads: int, calls: int, days: int, reseed: bool) -> dt.date:
    """Build the data set unless the one in place has the same scale; return its last day."""
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS bench_meta "
            "(leads int, calls int, days int, end_day date, seeded_at timestamptz)"
        )
    )
    conn.commit()
    meta = conn.execute(text("SELECT leads, calls, days, end_day FROM bench_meta")).first()
    if meta is not None and tuple(meta[:3]) == (leads, calls, days) and not reseed:
        print(f"reusing the data set: {leads:,} leads, {calls:,} call legs, {days} days")
        return meta[3]
    end_day = dt.date.today() - dt.timedelta(days=1)
    started = time.perf_counter()
    seed(conn, leads, calls, days, end_day)
    conn.execute(text("DELETE FROM bench_meta"))
    conn.execute(
        text("INSERT INTO bench_meta VALUES (:l, :c, :d, :e, now())"),
        {"l": leads, "c": calls, "d": days, "e": end_day},
    )
    conn.commit()
    print(
        f"seeded {leads:,} leads and {calls:,} call legs in {time.perf_counter() - started:.0f} s"
    )
    return end_day


def seed(conn: Connection, leads: int, calls: int, days: int, end_day: dt.date) -> None:
    names = ", ".join(
        [
            "report_agent_days",
            "report_lead_days",
            "report_follow_up_days",
            "report_built_days",
            "audit_log",
            "notifications",
            "outbox",
            "callbacks",
            "lost_requests",
            "lead_touches",
            "lead_deliveries",
            "call_events",
            "api_tokens",
            "lead_sources",
            "customer_phones",
            "users",
            "teams",
            *BIG_TABLES,
        ]
    )
    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    # Foreign keys are checked by the seed's own construction; skipping their triggers makes
    # the load several times faster.
    conn.execute(text("SET session_replication_role = replica"))
    conn.execute(text("SET maintenance_work_mem = '512MB'"))
    indexes = _drop_secondary_indexes(conn)
    start = dt.datetime.combine(end_day - dt.timedelta(days=days - 1), dt.time(0), dt.UTC)
    params = {
        "n": leads,
        "m": calls // 2,  # conversations: two legs each
        "start": start - dt.timedelta(hours=8),  # local midnight in Asia/Shanghai
        "span": days * 86400,
        "agents": AGENTS,
        "consultants": CONSULTANTS,
    }
    for step, sql in SEED_SQL:
        t0 = time.perf_counter()
        for statement in filter(str.strip, sql.split(";")):
            conn.execute(text(statement), params)
        conn.commit()
        print(f"  {step:<16} {time.perf_counter() - t0:6.1f} s", flush=True)
    t0 = time.perf_counter()
    for index in indexes:
        index.create(conn, checkfirst=True)
    conn.commit()
    print(f"  {'indexes':<16} {time.perf_counter() - t0:6.1f} s", flush=True)
    conn.execute(text("SET session_replication_role = origin"))
    conn.commit()
    t0 = time.perf_counter()
    # VACUUM sets the visibility map, without which PostgreSQL cannot answer from an index only.
    raw = conn.connection.driver_connection
    raw.autocommit = True
    raw.execute("VACUUM ANALYZE")
    raw.autocommit = False
    print(f"  {'vacuum analyze':<16} {time.perf_counter() - t0:6.1f} s", flush=True)


def _drop_secondary_indexes(conn: Connection) -> list[Index]:
    """Drop the big tables' model-declared indexes (constraints stay); return them."""
    from dcc.models import Base

    indexes = [i for name in BIG_TABLES for i in Base.metadata.tables[name].indexes]
    for index in indexes:
        conn.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
    conn.commit()
    return indexes


# Pseudo-random draws that are the same for both legs of a conversation: h(k, salt) in [0, 1).
H = "((({k} * {a}::bigint + {b}) % 1000003) / 1000003.0)"


def h(k: str, a: int, b: int) -> str:
    return H.format(k=k, a=a, b=b)


SEED_SQL: list[tuple[str, str]] = [
    (
        "users",
        """
        INSERT INTO teams (name) VALUES ('北区'), ('南区'), ('大客户');
        INSERT INTO users (login, name, role, team_id, phone, is_active, on_shift, takes_inbound,
                           agent_status, created_at)
        SELECT 'agent' || i, '坐席' || i, 'dcc_agent', 1 + i % 3,
               '+86139' || lpad(i::text, 8, '0'), true, true, true, 'offline', now()
        FROM generate_series(1, :agents) i;
        INSERT INTO users (login, name, role, team_id, is_active, on_shift, takes_inbound,
                           agent_status, created_at)
        SELECT 'consultant' || i, '顾问' || i, 'consultant', 1 + i % 3, true, true, false,
               'offline', now()
        FROM generate_series(1, :consultants) i;
        INSERT INTO users (login, name, role, team_id, is_active, on_shift, takes_inbound,
                           agent_status, created_at)
        VALUES ('manager1', '经理1', 'manager', 2, true, true, false, 'offline', now()),
               ('supervisor', '主管', 'supervisor', NULL, true, true, false, 'offline', now()),
               ('admin', '管理员', 'admin', NULL, true, true, false, 'offline', now());
        INSERT INTO lead_sources (slug, name, channel, secret, auth_mode, auto_dial, enabled,
                                  created_at)
        VALUES ('autohome', '汽车之家', 'portal', 's', 'hmac', false, true, now()),
               ('yiche', '易车', 'portal', 's', 'hmac', false, true, now()),
               ('dongchedi', '懂车帝', 'portal', 's', 'hmac', false, true, now()),
               ('oem', '厂家', 'oem', 's', 'hmac', false, true, now()),
               ('site', '官网', 'web', 's', 'hmac', false, true, now()),
               ('hotline', '400热线', 'hotline_400', 's', 'hmac', false, true, now());
        """,
    ),
    (
        "customers",
        """
        INSERT INTO customers (phone, name, kind, do_not_call, created_at)
        SELECT '+86138' || lpad(i::text, 8, '0'), '', 'individual', false,
               :start + make_interval(secs => (i - 1)::float8 * :span / :n)
        FROM generate_series(1, :n) i
        """,
    ),
    (
        "leads",
        f"""
        INSERT INTO leads (customer_id, source_id, channel, value_tier, grade, status, owner_id,
                           team_id, series, is_repurchase, attempt_count, first_response_at,
                           invited_at, arrived_at, closed_at, lost_reason, created_at, updated_at)
        SELECT i, src, ch, 'value', grade, status, owner, 1 + owner % 3, series, false, 1,
               CASE WHEN status <> 'invalid' AND ch <> 'walk_in'
                    THEN created + make_interval(secs => 20 + (r_frt ^ 3) * 7200) END,
               CASE WHEN invited THEN created + interval '1 day' END,
               CASE WHEN arrived THEN created + interval '3 days' END,
               CASE WHEN status IN ('lost', 'invalid', 'duplicate', 'delivered')
                    THEN created + interval '20 days' END,
               CASE WHEN status = 'lost' THEN (ARRAY['budget', 'competitor',
                   'same_brand_elsewhere', 'price', 'configuration', 'design', 'service',
                   'financing', 'plan_changed', 'delivery_time'])[1 + (i % 10)] END,
               created, created
        FROM (
            SELECT i, created, owner, ch, src, series, r_frt, status,
                   status IN ('invited', 'arrived', 'ordered', 'delivered')
                       OR (status = 'lost' AND i % 3 = 0) AS invited,
                   status IN ('arrived', 'ordered', 'delivered') AS arrived,
                   CASE status WHEN 'ordered' THEN 'O' WHEN 'delivered' THEN 'O'
                        WHEN 'lost' THEN 'F' WHEN 'new' THEN 'N'
                        ELSE (ARRAY['H', 'A', 'B', 'C'])[1 + i % 4] END AS grade
            FROM (
                SELECT i, created, 1 + (i * 7) % :agents AS owner, ch,
                       CASE ch WHEN 'portal' THEN 1 + i % 3 WHEN 'oem' THEN 4 WHEN 'web' THEN 5
                               WHEN 'hotline_400' THEN 6 END AS src,
                       (ARRAY['凯美瑞', '卡罗拉', '雷凌', '汉兰达', 'RAV4', '亚洲龙',
                              '威兰达', '皇冠', '赛那', '凌放', '锋兰达', 'bZ4X'])
                           [1 + (i * 13) % 12] AS series,
                       {h("i", 48271, 11)} AS r_frt,
                       CASE WHEN r < 0.07 THEN 'invalid' WHEN r < 0.10 THEN 'duplicate'
                            WHEN r < 0.16 THEN 'lost' WHEN r < 0.22 THEN 'new'
                            WHEN r < 0.48 THEN 'contacting' WHEN r < 0.66 THEN 'invited'
                            WHEN r < 0.90 THEN 'arrived' WHEN r < 0.96 THEN 'ordered'
                            ELSE 'delivered' END AS status
                FROM (
                    SELECT i,
                           :start + make_interval(secs => (i - 1)::float8 * :span / :n) AS created,
                           {h("i", 16807, 3)} AS r,
                           (ARRAY['portal', 'portal', 'portal', 'oem', 'web', 'hotline_400',
                                  'walk_in', 'walk_in', 'showroom_phone', 'event', 'referral'])
                               [1 + (i * 31) % 11] AS ch
                    FROM generate_series(1, :n) i
                ) a
            ) b
        ) c
        """,
    ),
    (
        "appointments",
        """
        INSERT INTO appointments (lead_id, consultant_id, booked_by_id, scheduled_at, status,
                                  arrived_at, created_at)
        SELECT id, :agents + 1 + id % :consultants, owner_id, invited_at + interval '2 days',
               CASE WHEN arrived_at IS NOT NULL THEN 'arrived'
                    WHEN invited_at + interval '2 days' > now() THEN 'booked'
                    WHEN id % 5 = 0 THEN 'canceled' ELSE 'no_show' END,
               CASE WHEN arrived_at IS NOT NULL THEN invited_at + interval '2 days' END,
               invited_at
        FROM leads WHERE invited_at IS NOT NULL
        """,
    ),
    (
        "visits",
        """
        INSERT INTO showroom_visits (customer_id, lead_id, appointment_id, consultant_id,
                                     arrived_at, party_size, first_visit, left_contact,
                                     closed_on_visit)
        SELECT l.customer_id, l.id, CASE WHEN l.channel <> 'walk_in' THEN a.id END,
               :agents + 1 + l.id % :consultants, l.arrived_at,
               1 + l.id % 4, l.id % 7 <> 0, l.id % 19 <> 0,
               l.status IN ('ordered', 'delivered') AND l.id % 4 = 0
        FROM leads l LEFT JOIN appointments a ON a.lead_id = l.id AND a.status = 'arrived'
        WHERE l.arrived_at IS NOT NULL
        """,
    ),
    (
        "orders",
        """
        INSERT INTO orders (lead_id, customer_id, consultant_id, brand, series, model, status,
                            ordered_at, delivered_at)
        SELECT id, customer_id, :agents + 1 + id % :consultants, '丰田', series, series,
               CASE status WHEN 'delivered' THEN 'delivered' ELSE 'ordered' END,
               arrived_at + interval '1 day',
               CASE status WHEN 'delivered' THEN arrived_at + interval '20 days' END
        FROM leads WHERE status IN ('ordered', 'delivered')
        """,
    ),
    (
        "follow_ups",
        """
        INSERT INTO follow_ups (lead_id, owner_id, due_at, by_rule, status, result, done_at,
                                created_at)
        SELECT l.id, l.owner_id, l.created_at + make_interval(days => 2 + 7 * k),
               true, fs, CASE WHEN fs = 'done' THEN '已联系，继续跟进' END,
               CASE WHEN fs = 'done'
                    THEN l.created_at + make_interval(days => 2 + 7 * k, hours => (l.id % 30)) END,
               l.created_at
        FROM leads l CROSS JOIN generate_series(0, 1) k
        CROSS JOIN LATERAL (SELECT CASE
            WHEN l.created_at + make_interval(days => 2 + 7 * k) > now() THEN 'open'
            WHEN l.status IN ('lost', 'invalid', 'duplicate') THEN 'canceled'
            WHEN (l.id + k) % 9 = 0 THEN 'open' ELSE 'done' END AS fs) s
        WHERE l.status NOT IN ('invalid', 'duplicate') OR k = 0
        """,
    ),
    (
        "calls",
        f"""
        INSERT INTO calls (sid, parent_sid, lead_id, customer_id, agent_id, direction, leg,
                           status, status_rank, started_at, answered_at, ended_at, duration,
                           created_at, updated_at)
        SELECT CASE WHEN leg = 0 THEN 'CA' || lpad(to_hex(k), 32, '0')
                    ELSE 'CB' || lpad(to_hex(k), 32, '0') END,
               CASE WHEN leg = 1 THEN 'CA' || lpad(to_hex(k), 32, '0') END,
               lead, lead, agent, dir,
               CASE WHEN (dir = 'outbound') = (leg = 0) THEN 'agent' ELSE 'customer' END,
               CASE WHEN answered THEN 'completed' WHEN r_ans < 0.75 THEN 'no-answer'
                    ELSE 'busy' END,
               5, at, CASE WHEN answered THEN at + interval '15 seconds' END,
               at + make_interval(secs => CASE WHEN answered THEN 15 + talk ELSE 30 END),
               CASE WHEN answered THEN talk ELSE 0 END, at, at
        FROM (
            SELECT k, :start + make_interval(secs => (k - 1)::float8 * :span / :m) AS at,
                   greatest(1, least(:n, ((k::float8 / :m) * :n)::bigint - (k % 500))) AS lead,
                   1 + (k * 11) % :agents AS agent,
                   CASE WHEN k % 4 = 0 THEN 'inbound' ELSE 'outbound' END AS dir,
                   {h("k", 69621, 5)} AS r_ans,
                   {h("k", 69621, 5)} < 0.55 AS answered,
                   (30 + {h("k", 48271, 7)} * 400)::int AS talk
            FROM generate_series(1, :m) k
        ) c CROSS JOIN (VALUES (0), (1)) legs(leg)
        """,
    ),
]


# --- timings --------------------------------------------------------------------------------


def time_reports(session: Session, end_day: dt.date) -> None:
    from dcc import reports
    from dcc.reports.period import Period
    from dcc.users.models import User

    readers = [
        session.scalar(select(User).where(User.login == login)) for login in ("admin", "manager1")
    ]
    ranges = {"30 days": 30, "1 year": 365}
    period = Period(end_day - dt.timedelta(days=364), end_day, "Asia/Shanghai")
    print()
    for name in ("daily_work", "funnel", "followups"):  # the reports with roll-ups
        cold = time.perf_counter()
        reports.run(session, name, reader=readers[0], period=period)
        session.commit()
        cold_ms = (time.perf_counter() - cold) * 1000
        print(f"{name} roll-up of 365 closed days, cold: {cold_ms:.0f} ms")
    print(f"\n{'report':<16} {'reader':<9}" + "".join(f"{name:>12}" for name in ranges))
    for name in reports.REPORTS:
        for reader in readers:
            figures = []
            for days in ranges.values():
                period = Period(end_day - dt.timedelta(days=days - 1), end_day, "Asia/Shanghai")
                runs = []
                for _ in range(RUNS + 1):  # the first run warms caches and is not counted
                    t0 = time.perf_counter()
                    reports.run(session, name, reader=reader, period=period)
                    runs.append((time.perf_counter() - t0) * 1000)
                    session.rollback()
                figures.append(statistics.median(runs[1:]))
            print(f"{name:<16} {reader.login:<9}" + "".join(f"{ms:>9.1f} ms" for ms in figures))


if __name__ == "__main__":
    main()
