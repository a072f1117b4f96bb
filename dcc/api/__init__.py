"""The JSON API under ``/api/v1`` for integrations (a dealer's DMS) and scripted checks.

The OpenAPI document at ``/api/v1/openapi.json`` is produced by flask-smorest from the
schemas and views, never written by hand.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/v1"


class DccApi(Api):
    """flask-smorest's Api with the service's own error format."""

    def _register_error_handlers(self) -> None:
        # Registered app-wide by dcc.api.init_app instead, so HTML pages keep HTML errors.
        pass


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="DCC API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    api = DccApi(app)
    from dcc.api import calls, customers, leads, orders, reports, staffing

    blueprints = (customers.blp, leads.blp, orders.blp, calls.blp, reports.blp, reports.exports)
    for blueprint in (*blueprints, staffing.blp):
        api.register_blueprint(blueprint, url_prefix=API_PREFIX + blueprint.url_prefix)
    app.extensions["dcc.api"] = api
    app.register_error_handler(HTTPException, _http_error)


def _http_error(error: HTTPException) -> Any:
    """JSON errors naming the field for API and webhook clients; HTML pages stay HTML."""
    if not request.path.startswith((API_PREFIX, "/webhooks/")):
        return error
    body: dict[str, Any] = {"message": error.description or error.name}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if messages:
        # webargs nests errors by location: {"json": {"phone": ["..."]}}
        flat = {
            field: msgs
            for location in messages.values()
            for field, msgs in (location.items() if isinstance(location, dict) else [])
        }
        if flat:
            field, msgs = next(iter(flat.items()))
            text = msgs[0] if isinstance(msgs, list) and msgs else str(msgs)
            body.update(message=f"{field}: {text}", field=field, errors=flat)
    response = jsonify(error=body)
    response.status_code = error.code or 500
    return response
