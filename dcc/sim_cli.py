"""``dcc sim dealership`` and ``dcc sim staffing``: a dealership's days on a virtual clock.

Each run builds its own app on its own database (a fresh SQLite file in a new folder unless
``--database`` names an empty one) with its own embedded Redis, so a simulation never touches
the service's data or queues.
"""

from __future__ import annotations

import gc
import logging
import re
import sys
import tempfile
import time

import click
from flask import Flask
from sqlalchemy import func, select

from dcc import migrate
from dcc.app import create_app
from dcc.db import get_database
from dcc.leads.models import Lead
from dcc.sim import output, scenario, world
from dcc.sim import staffing as what_if
from dcc.sim.run import simulate


def fresh_app(database: str | None) -> Flask:
    """An app for one run: the schema brought up to date; refused on a database with leads."""
    instance = tempfile.mkdtemp(prefix="dcc-sim-")
    app = create_app(world.sim_settings(database or "", instance))
    world.without_durability(app)
    url = get_database(app).url
    migrate.upgrade(url)
    with app.app_context(), get_database(app).session_scope() as session:
        if session.scalar(select(func.count()).select_from(Lead)):
            raise click.UsageError("--database must be empty: it holds leads already")
    return app


def _prepare() -> None:
    """Warnings only: the jobs' and requests' lines would drown the report. And the modules
    loaded so far live as long as the process: the collector need not walk them again and
    again during a run of millions of short-lived objects."""
    gc.collect()
    gc.freeze()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("telephony.simulator").setLevel(logging.ERROR)


def _scenario(path: str | None, agents: int | None) -> scenario.Scenario:
    try:
        loaded = scenario.load(path)
        return loaded.with_agents(agents) if agents else loaded
    except scenario.ScenarioError as error:
        raise click.BadParameter(str(error), param_hint="--scenario") from error


def _counts(text: str) -> list[int]:
    """``2..8`` or ``2,4,6``."""
    found = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    if found:
        low, high = int(found.group(1)), int(found.group(2))
        counts = list(range(low, high + 1))
    else:
        try:
            counts = [int(part) for part in text.split(",")]
        except ValueError:
            counts = []
    if not counts or min(counts) < 1 or max(counts) > 50:
        raise click.BadParameter("give a range such as 2..8 or a list such as 2,4,6 (1 to 50)")
    return counts


DEALERSHIP_HELP = (
    "Play a dealership's days on a virtual clock through the real webhooks, domain and jobs; "
    "print the KPIs, the hotline, speed to lead and the loop audit. Exit 1 when the audit "
    "finds a violation."
)
STAFFING_HELP = (
    "Play the same days with each head-count; then play the staffing planner's advice (the "
    "agents each half hour needs) as a rota, and say whether it reaches the target service "
    "level (exit 1 if not)."
)


@click.command("dealership", help=DEALERSHIP_HELP)
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--agents", type=click.IntRange(1, 50), default=None, help="DCC agents (default: scenario's)."
)
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="A scenario TOML file (default: the mid-size 4S store).",
)
@click.option("--database", default=None, help="An empty database (default: a new SQLite file).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def dealership_command(
    days: int,
    seed: int,
    agents: int | None,
    scenario_path: str | None,
    database: str | None,
    as_json: bool,
) -> None:
    _prepare()
    chosen = _scenario(scenario_path, agents)
    app = fresh_app(database)
    started = time.perf_counter()

    def progress(played: int) -> None:
        click.echo(f"day {played}/{days} played ({time.perf_counter() - started:.0f} s)", err=True)

    # A progress line for a person at a terminal; scripts read stdout only.
    result = simulate(
        app, chosen, seed=seed, days=days, on_day=progress if sys.stderr.isatty() else None
    )
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(output.as_json(result.figures))
    else:
        for line in output.as_text(result.figures):
            click.echo(line)
        click.echo(
            f"simulated {days} day(s) in {elapsed:.0f} s ({days / elapsed * 60:.1f} simulated "
            f"days per minute); database: {get_database(app).url}"
        )
    sys.exit(1 if result.violations else 0)


@click.command("staffing", help=STAFFING_HELP)
@click.option("--agents", "counts", default="2..8", show_default=True, help="2..8 or 2,4,6.")
@click.option("--days", type=click.IntRange(1, 28), default=7, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def staffing_command(
    counts: str, days: int, seed: int, scenario_path: str | None, as_json: bool
) -> None:
    _prepare()
    chosen = _scenario(scenario_path, None)
    report = what_if.what_if(lambda: fresh_app(None), chosen, _counts(counts), seed=seed, days=days)
    if as_json:
        click.echo(output.as_json(report))
    else:
        for line in what_if.as_text(report):
            click.echo(line)
    sys.exit(0 if report["planner"]["reaches_target"] else 1)


def add_to(group: click.Group) -> None:
    """Put the simulation's commands into the ``dcc sim`` group."""
    group.add_command(dealership_command)
    group.add_command(staffing_command)
