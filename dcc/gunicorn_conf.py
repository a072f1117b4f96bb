"""gunicorn settings for DCC: ``gunicorn -c python:dcc.gunicorn_conf 'dcc:create_app()'``.

- Bad settings stop the master before any worker starts: exit code 2 and one line per
  problem, instead of a traceback and "Worker failed to boot" from every worker.
- Metrics are correct across the worker processes (prometheus_client's multiprocess mode):
  samples go to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder when it is not set),
  emptied when the master starts; a dead worker's files are marked so its live gauges go.
- gunicorn's own lines (start, stop, a worker's death) have the app's format: UTC, text or
  ``DCC_LOG_FORMAT=json``. The access log is the app's (``dcc.access``, with the request id),
  so gunicorn's own access log stays off.

Options given on the command line (``--workers``, ``--bind`` …) win over these.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dcc import logs
from dcc.config import Settings, refuse_to_start
from dcc.errors import ConfigurationError

# Before any worker imports prometheus_client: the variable picks its multiprocess mode.
_own_metrics_dir: str | None = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = tempfile.mkdtemp(prefix="dcc-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir

worker_class = "gthread"
threads = 16
accesslog = None
logs.install_record_factory()
_formatter: dict[str, Any] = (
    {"()": "dcc.logs.JSONFormatter"}
    if os.environ.get("DCC_LOG_FORMAT") == "json"
    else {"()": "dcc.logs.UTCFormatter", "format": logs.TEXT_FORMAT}
)
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "dcc",
            "stream": "ext://sys.stderr",
        }
    },
    "formatters": {"dcc": _formatter},
}


def on_starting(server: Any) -> None:
    """In the master, before the first worker: check every setting, empty the metrics."""
    try:
        Settings.from_env().checked()
    except ConfigurationError as error:
        refuse_to_start(error, "gunicorn")
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):  # samples of an earlier run would be summed in
        leftover.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _own_metrics_dir is not None:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
