"""Logs an operator can follow: UTC timestamps, a request id on every line, text or JSON.

Every web request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one),
answers with it, writes one access-log line with it, and stores it with the jobs it schedules
(``outbox.request_id``); a worker running such a job logs under the same id, so one grep finds
a delivery, its first call and its alerts. ``DCC_LOG_FORMAT=json`` writes one JSON object a
line (python-json-logger) with the same fields plus whatever ids a line carries (``call_id``,
``lead_id``, ``outbox_id``).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

access_log = logging.getLogger("dcc.access")

_request_id: ContextVar[str | None] = ContextVar("dcc_request_id", default=None)
#: An incoming X-Request-ID is kept only when it is this tame (ids end up in log queries).
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
#: Loggers of libraries that install handlers of their own; ours take their lines instead.
_ADOPTED = ("rq.worker", "rq.scheduler", "rq.queue", "rq.job", "rq.registry")


def current_request_id() -> str | None:
    """The id of the request or job this code runs for, if any."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def request_id(value: str | None) -> Iterator[None]:
    """Run the block under ``value`` (a job carries the id of the request that scheduled it)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def install_record_factory() -> None:
    """Every log record carries ``request_id``, whichever handler formats it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "dcc_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return record

    factory.dcc_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class UTCFormatter(logging.Formatter):
    """``2026-12-01T18:30:00.123Z INFO dcc.access [id] …``: UTC whatever the host's zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


class JSONFormatter(JsonFormatter):
    """One JSON object a line: timestamp (UTC), level, logger, message, request_id, extras."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            json_ensure_ascii=False,
        )


def formatter(log_format: str) -> logging.Formatter:
    return JSONFormatter() if log_format == "json" else UTCFormatter(TEXT_FORMAT)


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every log line of this process to stderr in ``log_format`` (entry points call it)."""
    install_record_factory()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "dcc", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.dcc = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _ADOPTED:
        adopted = logging.getLogger(name)
        adopted.handlers.clear()
        adopted.propagate = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up chatter


def init_app(app: Flask) -> None:
    """Request ids and the access log. Registered before the database's hooks, so that the
    access line is written after the request's commit."""
    install_record_factory()

    @app.before_request
    def _begin() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.dcc_request_id = given if _SANE_ID.match(given) else new_request_id()
        g.dcc_request_token = _request_id.set(g.dcc_request_id)
        g.dcc_request_started = time.perf_counter()

    @app.after_request
    def _access(response: Any) -> Any:
        started = g.get("dcc_request_started")
        if started is None:
            return response
        response.headers["X-Request-ID"] = g.dcc_request_id
        elapsed = (time.perf_counter() - started) * 1000
        access_log.info(
            '%s "%s %s" %s %.1fms',
            request.remote_addr or "-",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            elapsed,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed, 1),
                "remote_addr": request.remote_addr,
            },
        )
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("dcc_request_token", None)
        if token is not None:
            _request_id.reset(token)
