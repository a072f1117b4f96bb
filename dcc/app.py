"""The application factory: nothing is built at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify

from dcc import broker, db
from dcc.config import Settings


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
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions["dcc.settings"] = settings

    db.init_app(app, settings.database_url or db.default_sqlite_url(instance_path))
    broker.init_app(app, settings.redis_url, instance_path)

    from dcc import api, cli, health

    health.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    _register_error_handlers(app)
    return app


def _with_instance(settings: Settings, instance_path: str) -> Settings:
    from dataclasses import replace

    os.makedirs(instance_path, exist_ok=True)
    settings = replace(settings, instance_path=instance_path)
    if not settings.secret_key and not settings.database_url and not settings.testing:
        # Embedded mode keeps one generated key, so logins survive a restart.
        key_file = os.path.join(instance_path, "secret_key")
        if not os.path.exists(key_file):
            import secrets

            with open(key_file, "w") as fh:
                fh.write(secrets.token_hex(32))
        with open(key_file) as fh:
            settings = replace(settings, secret_key=fh.read().strip())
    return settings


def _register_error_handlers(app: Flask) -> None:
    from dcc.errors import DCCError

    @app.errorhandler(DCCError)
    def _domain_error(error: DCCError) -> Any:
        return jsonify(error=error.to_dict()), error.status_code


def get_settings(app: Flask | None = None) -> Settings:
    from flask import current_app

    return (app or current_app).extensions["dcc.settings"]
