"""The application factory: nothing is built at import time."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Flask, jsonify

import webhooks
from dcc import (
    api,
    broker,
    cli,
    db,
    health,
    instance,
    logs,
    metrics,
    untrusted,
    voice,
    wallboard,
    web,
)
from dcc.config import Settings
from dcc.errors import DCCError

# Imported for its effect: every task registers itself, so the outbox knows each task's queue
# in the web app, the CLI and the worker alike.
from dcc.jobs import loop_tasks, tasks  # noqa: F401

SIM_ACCOUNT_SID = "AC" + "0" * 32


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service from ``DCC_*`` environment variables plus ``config`` overrides.

    ``config`` keys are :class:`~dcc.config.Settings` field names (``database_url``,
    ``redis_url``, ``testing`` …); anything else is kept in ``settings.extra``.
    """
    app = Flask(__name__, instance_relative_config=True)
    settings = Settings.from_env(overrides=config)
    instance_path = (
        settings.instance_path or os.environ.get("DCC_INSTANCE_PATH") or app.instance_path
    )
    settings = _with_instance(settings, instance_path).checked()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SECRET_KEY_FALLBACKS=settings.previous_secret_keys,
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions["dcc.settings"] = settings
    if not settings.testing and not logging.getLogger().handlers:
        logs.configure(settings.log_format)  # a process that set up no logging of its own
    untrusted.init_app(app)  # before any route, so that every id in a URL is checked

    logs.init_app(app)  # first: its access line is written after the request's commit
    db.init_app(app, settings.database_url or db.default_sqlite_url(instance_path))
    broker.init_app(app, settings.redis_url, instance_path)

    voice.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    api.init_app(app)
    webhooks.init_app(app)
    web.init_app(app)
    wallboard.init_app(app)
    cli.init_app(app)
    _register_error_handlers(app)
    return app


def _with_instance(settings: Settings, instance_path: str) -> Settings:
    instance.prepare(instance_path)  # 0700, and its secrets and data 0600
    settings = replace(settings, instance_path=instance_path)
    if not settings.secret_key and settings.embedded and not settings.testing:
        # Embedded mode keeps one generated key, so logins survive a restart.
        settings = replace(settings, secret_key=instance.secret(instance_path, "secret_key"))
    if settings.telephony == "sim":
        settings = _with_simulator(settings, instance_path)
    return settings


def _with_simulator(settings: Settings, instance_path: str) -> Settings:
    """The simulator's credentials: shared with the simulator process through the instance."""
    sid = settings.twilio_account_sid or SIM_ACCOUNT_SID
    token = settings.twilio_auth_token
    if not token:
        token = instance.secret(instance_path, "sim_auth_token")
    base = (
        settings.twilio_api_base_url or f"http://127.0.0.1:{os.environ.get('DCC_SIM_PORT', 8089)}"
    )
    return replace(
        settings, twilio_account_sid=sid, twilio_auth_token=token, twilio_api_base_url=base
    )


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DCCError)
    def _domain_error(error: DCCError) -> Any:
        return jsonify(error=error.to_dict()), error.status_code
