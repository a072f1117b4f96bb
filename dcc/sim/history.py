"""The demo's recent past: a short simulated history, so that the reports, the wallboard's
history and the staffing planner show real-looking data on the first start.

It plays the small ``demo`` scenario with the demo's own staff over the days before today
(dealer time), on the service's own database, through the same simulation as ``dcc sim
dealership``. Afterwards the staff are back at their desks, as the demo seeds them.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from sqlalchemy import select

from dcc import clock
from dcc.config import get_settings
from dcc.db import get_database
from dcc.sim import scenario as scenarios
from dcc.sim.run import Result, simulate
from dcc.users.models import AgentStatus, Role, User

DEMO_SCENARIO = scenarios.DEFAULT.with_name("demo.toml")


def seed_history(app: Flask, days: int, *, password: str, seed: int = 1) -> Result:
    """Play the ``days`` days before today on ``app``'s database."""
    settings = get_settings(app)
    now = clock.local(clock.now(), settings.timezone)
    # The run ends with the night after its last day (to 03:30): never later than now.
    today = now.date() if now.hour >= 4 else now.date() - dt.timedelta(days=1)
    telephony = app.extensions.get("dcc.telephony")
    # Each simulated job and request would log a line: only warnings while the past plays.
    loggers = [logging.getLogger(name) for name in ("dcc", "telephony", "webhooks")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        result = simulate(
            app,
            scenarios.load(DEMO_SCENARIO),
            seed=seed,
            days=days,
            first_day=today - dt.timedelta(days=days),
            password=password,
        )
    finally:
        app.extensions["dcc.telephony"] = telephony  # the service's own provider again
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    with app.app_context(), get_database(app).session_scope() as session:
        for user in session.scalars(
            select(User).where(User.role.in_([Role.DCC_AGENT, Role.CONSULTANT]))
        ):
            user.on_shift, user.agent_status = True, AgentStatus.AVAILABLE
    return result
