#!/usr/bin/env python3
"""Benchmark: /healthz and /metrics stay cheap enough to be polled often.

    DCC_BENCH_DATABASE_URL=… DCC_BENCH_REDIS_URL=… .venv/bin/python scripts/bench_health.py

On an outbox of --done finished rows and --open open ones (scheduled ahead, a few overdue),
/healthz (schema version, the oldest overdue work, Redis ping and the sweeper's last pass) is
compared, in the same run and server setup, with a bare Flask endpoint answering "ok" and with a
naive floor (SELECT 1 and a Redis PING). /metrics is timed one scrape at a time, as Prometheus
scrapes. Prints figures and ratios; it never passes or fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from flask import Flask

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib


def floor_app() -> Flask:
    """The least a health check that asks both servers can do: SELECT 1 and PING."""
    import redis
    from sqlalchemy import text

    from dcc.db import make_engine

    app = Flask("floor")
    engine = make_engine(os.environ["DCC_DATABASE_URL"])
    conn = redis.Redis.from_url(os.environ["DCC_REDIS_URL"])

    @app.get("/healthz")
    def healthz() -> str:
        with engine.connect() as db:
            db.execute(text("SELECT 1"))
        conn.ping()
        return "ok"

    return app


def bare_app() -> Flask:
    app = Flask("bare")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def seed(url: str, done: int, open_rows: int) -> None:
    """The outbox as a year of service leaves it: many finished rows, some open ones."""
    from sqlalchemy import text

    from dcc import migrate
    from dcc.db import make_engine

    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox WHERE task = 'bench.health'"))
        conn.execute(
            text(
                "INSERT INTO outbox (task, args, queue, run_at, done_at, attempts, created_at) "
                "SELECT 'bench.health', '{}', 'dcc-default', now() - n * interval '1 second', "
                "now(), 1, now() FROM generate_series(1, :n) AS n"
            ),
            {"n": done},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (task, args, queue, run_at, attempts, created_at) "
                "SELECT 'bench.health', '{}', 'dcc-default', now() + n * interval '1 second', "
                "0, now() FROM generate_series(1, :n) AS n"
            ),
            {"n": open_rows},
        )
        conn.execute(text("ANALYZE outbox"))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--done", type=int, default=500_000)
    parser.add_argument("--open", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()

    url = benchlib.bench_database_url()
    seed(url, args.done, args.open)
    env = {
        "DCC_DATABASE_URL": url,
        "DCC_REDIS_URL": os.environ.get("DCC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "DCC_SECRET_KEY": "bench-secret-key-0123456789",
        "DCC_METRICS_TOKEN": "bench-metrics",
        "DCC_TELEPHONY": "sim",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench",
        "DCC_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "DCC_OVERDUE_AFTER_SECONDS": str(10**9),  # the seeded rows are not an outage here
        "DCC_LOG_FORMAT": "json",
    }
    health = [("GET", "/healthz", b"", {})] * args.requests
    warmup = health[:200]
    here = os.path.dirname(__file__)
    common = {"warmup": warmup, "clients": args.clients, "workers": 2, "threads": 8}
    bare = benchlib.measure("bare Flask /healthz", "bench_health:bare_app()", env, health,
                            chdir=here, **common)  # fmt: skip
    floor = benchlib.measure("floor (SELECT 1 + PING)", "bench_health:floor_app()", env, health,
                             chdir=here, **common)  # fmt: skip
    dcc = benchlib.measure("DCC /healthz", "dcc:create_app()", env, health, **common)

    server = benchlib.start_gunicorn("dcc:create_app()", env, workers=2, threads=8)
    try:
        auth = {"Authorization": "Bearer bench-metrics"}
        scrape = [("GET", "/metrics", b"", auth)] * args.scrapes
        benchlib.hammer("warm-up", server.base_url, scrape[:20], clients=1)
        metrics = benchlib.hammer("DCC /metrics, 1 scraper", server.base_url, scrape, clients=1)
    finally:
        server.stop()

    print(
        f"\n{args.requests} requests, {args.clients} clients, gunicorn gthread 2x8; outbox "
        f"{args.done} done + {args.open} open rows in {url.split('@')[-1]}"
    )
    for figures in (bare, floor, dcc, metrics):
        print(figures.line())
    print(
        f"/healthz throughput: DCC / bare {dcc.rps / bare.rps:.2f}, DCC / floor "
        f"{dcc.rps / floor.rps:.2f}; p50 DCC {dcc.percentile(50):.2f} ms vs floor "
        f"{floor.percentile(50):.2f} ms"
    )
    print(f"/metrics: p50 {metrics.percentile(50):.1f} ms, p99 {metrics.percentile(99):.1f} ms")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
