#!/usr/bin/env python3
"""Benchmark: simulated dealership days per wall-clock minute.

    .venv/bin/python scripts/bench_sim.py [--days 30] [--seed 1] [--agents N] [--database URL]

Plays the default scenario (the mid-size 4S store) with ``dcc sim dealership``'s machinery on a
fresh database, and prints the wall-clock and CPU seconds, simulated days per wall-clock minute
(and per CPU minute: the machine's other load does not count there), the webhooks, jobs and
leads of the run. The baseline measured in the same run is the first simulated day: each later
day is shown as a ratio to it (days cost more as follow-ups build up), and the whole run as a
share of its budget (the default scenario's 30 days in 5 minutes). Prints figures; it never
passes or fails.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import time

from dcc.sim import scenario
from dcc.sim.run import simulate
from dcc.sim_cli import fresh_app

#: The target: the default scenario's 30 days within 5 minutes.
BUDGET_SECONDS_PER_DAY = 300 / 30


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
    marks: list[tuple[float, float]] = []
    wall, cpu = time.perf_counter(), time.process_time()

    def lap(_played: int) -> None:
        marks.append((time.perf_counter() - wall, time.process_time() - cpu))

    result = simulate(app, chosen, seed=args.seed, days=args.days, on_day=lap)
    wall, cpu = marks[-1]
    figures = result.figures
    print(f"scenario {figures['scenario']}, {args.days} day(s), seed {args.seed}, "
          f"{figures['agents']} agent(s)")  # fmt: skip
    print(f"wall clock: {wall:.1f} s -> {args.days / wall * 60:.1f} simulated days per minute")
    print(f"CPU:        {cpu:.1f} s -> {args.days / cpu * 60:.1f} simulated days per CPU minute")
    days = [marks[0][0]] + [b[0] - a[0] for a, b in itertools.pairwise(marks)]
    first = days[0]
    print(
        f"per day (wall): first {first:.1f} s (baseline), mean {wall / len(days):.1f} s "
        f"({wall / len(days) / first:.2f}x), slowest {max(days):.1f} s ({max(days) / first:.2f}x)"
    )
    print(
        f"budget: {wall:.0f} s of {BUDGET_SECONDS_PER_DAY * args.days:.0f} s "
        f"({wall / (BUDGET_SECONDS_PER_DAY * args.days):.2f} of the 5-minutes-per-30-days target)"
    )
    print(
        f"leads {figures['kpis']['leads']}, hotline calls {figures['hotline_calls']}, "
        f"jobs run {figures['jobs_run']}, violations {len(figures['violations'])}, "
        f"web leads within 60 s {figures['speed_to_lead']['within_60s_share']}"
    )


if __name__ == "__main__":
    main()
