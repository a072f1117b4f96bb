"""The RQ worker class for DCC: ``rq worker -w dcc.jobs.worker.Worker dcc-alerts dcc-calls …``.

It builds the app once, before RQ forks a work-horse per job, so a job does not pay for the
app factory every time (building the app also registers every task); bad settings stop it
with exit code 2 and one line per problem, and its log lines follow ``DCC_LOG_FORMAT`` in UTC
like every other process. No RQ scheduler is needed: scheduled work waits in the outbox and
the sweeper enqueues it when due.
"""

from __future__ import annotations

from typing import Any

import rq
from flask import has_app_context

from dcc import logs
from dcc.app import create_app
from dcc.config import get_settings, refuse_to_start
from dcc.errors import ConfigurationError
from dcc.jobs import runner


class Worker(rq.Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_app_context():
            try:
                app = create_app()
            except ConfigurationError as error:
                refuse_to_start(error, "rq worker")
            logs.configure(get_settings(app).log_format)
            runner.serve(app)
