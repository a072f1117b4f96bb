"""``GET /healthz``: is the service able to do its work (database and Redis reachable)?"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from dcc.broker import get_broker
from dcc.db import get_session


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        checks = {"database": _database_ok(), "redis": "ok" if get_broker().ping() else "down"}
        healthy = all(state == "ok" for state in checks.values())
        return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503


def _database_ok() -> str:
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "down"; the message helps the operator
        return f"down: {type(exc).__name__}"
    return "ok"
