"""The JSON API under ``/api/v1`` for integrations (a dealer's DMS) and scripted checks.

The OpenAPI document at ``/api/v1/openapi.json`` is produced by flask-smorest from the
schemas and views, never written by hand; outside the embedded mode it needs a signed-in user
or a bearer token.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from dcc.api import calls, customers, labels, leads, orders, reports, staffing
from dcc.api.auth import authenticate_request
from dcc.config import get_settings

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
    blueprints = (
        customers.blp,
        leads.blp,
        orders.blp,
        calls.blp,
        reports.blp,
        reports.exports,
        labels.blp,
        staffing.blp,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=API_PREFIX + blueprint.url_prefix)
    app.extensions["dcc.api"] = api
    app.register_error_handler(HTTPException, _http_error)
    if not get_settings(app).embedded:
        app.before_request(_api_map_needs_a_user)


def _api_map_needs_a_user() -> None:
    """The OpenAPI document lists every route and field: outside the embedded mode only a
    signed-in user or a token holder may read it."""
    if request.endpoint == "api-docs.openapi_json":
        authenticate_request()


#: The code of an HTTP refusal that is not the domain's (a wrong URL, a body too large …).
HTTP_CODES = {
    404: "request.not_found",
    405: "request.method_not_allowed",
    413: "request.too_large",
    415: "body.unsupported_type",
}


def _http_error(error: HTTPException) -> Any:
    """JSON errors with a code, naming the field, for API and webhook clients; HTML pages
    stay HTML. A schema's refusals keep the code each field's check gave them."""
    if not request.path.startswith((API_PREFIX, "/webhooks/")):
        page = current_app.extensions.get("dcc.error_page")  # the pages' own, translated
        return page(error) if page is not None else error
    status = error.code or 500
    code = HTTP_CODES.get(status, "request.invalid" if status < 500 else "request.failed")
    body: dict[str, Any] = {"code": code, "message": error.description or error.name}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if messages:
        # webargs nests errors by location: {"json": {"phone": [{"code", "problem", ...}]}}
        found = {
            field: _field_refusal(msgs)
            for location in messages.values()
            for field, msgs in (location.items() if isinstance(location, dict) else [])
        }
        if found:
            field, first = next(iter(found.items()))
            body.update(
                code=first["code"],
                message=f"{field}: {first['problem']}",
                field=field,
                errors={name: [refusal["problem"]] for name, refusal in found.items()},
                codes={name: refusal["code"] for name, refusal in found.items()},
            )
            if first.get("params"):
                body["params"] = first["params"]
    response = jsonify(error=body)
    response.status_code = error.code or 500
    return response


def _field_refusal(messages: Any) -> dict[str, Any]:
    """A field's first refusal as ``{"code", "problem", "params"}``; a plain message (a check
    written with marshmallow's own validators) is ``field.invalid``."""
    first = messages[0] if isinstance(messages, list) and messages else messages
    if isinstance(first, dict) and "code" in first:
        return first
    return {"code": "field.invalid", "problem": str(first), "params": None}
