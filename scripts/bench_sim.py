#!/usr/bin/env python3
"""Benchmark: simulated dealership days per wall-clock minute.

    .venv/bin/python scripts/bench_sim.py [--days 30] [--seed 1] [--agents N] [--database URL]

Plays the default scenario (the mid-size 4S store) with ``dcc sim dealership``'s machinery on a
fresh database, and prints the wall-clock and CPU seconds, simulated days per wall-clock minute
(and per CPU minute: the machine's other load does not count there), the hotline webhooks the
app served and the jobs it ran. Prints figures; it never passes or fails.
"""

from __future__ import annotations

import argparse
import logging
import time

from dcc.sim import scenario
from dcc.sim.run import simulate
from dcc.sim_cli import fresh_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--database", default=None, help="an empty database (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("telephony.simulator").setLevel(logging.ERROR)
    chosen = scenario.load()
    if args.agents:
        chosen = chosen.with_agents(args.agents)
    app = fresh_app(args.database)
    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(app, chosen, seed=args.seed, days=args.days)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures = result.figures
    print(f"scenario {figures['scenario']}, {args.days} day(s), seed {args.seed}, "
          f"{figures['agents']} agent(s)")  # fmt: skip
    print(f"wall clock: {wall:.1f} s -> {args.days / wall * 60:.1f} simulated days per minute")
    print(f"CPU:        {cpu:.1f} s -> {args.days / cpu * 60:.1f} simulated days per CPU minute")
    print(
        f"leads {figures['kpis']['leads']}, hotline calls {figures['hotline_calls']}, "
        f"jobs run {figures['jobs_run']}, violations {len(figures['violations'])}"
    )


if __name__ == "__main__":
    main()
