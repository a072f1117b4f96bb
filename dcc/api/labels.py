"""``/api/v1/labels``: the display name of every code the API returns, in Chinese and English.

The API speaks in codes (``"channel": "portal"``); a client shows them by this table, the same
one the pages, the reports and the Excel exports use (:mod:`dcc.labels`).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from dcc import labels
from dcc.api.auth import authenticate_request

blp = Blueprint("labels", __name__, url_prefix="/labels", description="Display names")
blp.before_request(authenticate_request)


@blp.route("")
class Labels(MethodView):
    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """``{table: {code: {"zh", "en"}}}``: channels, statuses, grades, lost reasons, roles …"""
        return labels.display_names()
