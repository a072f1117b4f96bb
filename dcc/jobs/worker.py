"""The RQ worker class for DCC: ``rq worker -w dcc.jobs.worker.Worker dcc-alerts dcc-calls …``.

It builds the app once, before RQ forks a work-horse per job, so a job does not pay for the
app factory every time; bad settings stop it with exit code 2 and one line per problem, and
its log lines follow ``DCC_LOG_FORMAT`` in UTC like every other process. No RQ scheduler is
needed: scheduled work waits in the outbox and the sweeper enqueues it when due.
"""

from __future__ import annotations

from typing import Any

import rq

from dcc import logs
from dcc.config import get_settings, refuse_to_start
from dcc.errors import ConfigurationError
from dcc.jobs import registry, runner


class Worker(rq.Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            app = runner.warm()
        except ConfigurationError as error:
            refuse_to_start(error, "rq worker")
        if app is not None:
            logs.configure(get_settings(app).log_format)
        registry.load_all()
