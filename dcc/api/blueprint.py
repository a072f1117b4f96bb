"""The API's blueprint: flask-smorest's, reading JSON bodies by :func:`dcc.untrusted.loads`."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from dcc import untrusted


class StrictParser(FlaskParser):
    """webargs' Flask parser with the service's JSON rules (non-finite numbers, NUL …)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return untrusted.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()
