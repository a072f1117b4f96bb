"""The RQ worker class for DCC: ``rq worker -w dcc.jobs.worker.Worker --with-scheduler …``.

It builds the app once, before RQ forks a work-horse per job, so a job does not pay for the
app factory every time (building the app also registers every task). Everything else is RQ's
own worker.
"""

from __future__ import annotations

from typing import Any

import rq
from flask import has_app_context

from dcc.app import create_app
from dcc.jobs import runner


class Worker(rq.Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_app_context():
            runner.serve(create_app())
