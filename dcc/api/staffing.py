"""``/api/v1/reports/staffing``: the staffing planner as JSON and as Excel.

For managers, supervisors and admins (403 for others), scoped like the other reports: a team's
supervisor gets the team's work and the team's rota. The Excel export is audit-logged.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from marshmallow import validate

from dcc import access, clock
from dcc.api.auth import authenticate_request, current_user
from dcc.api.blueprint import Blueprint
from dcc.api.reports import report_download
from dcc.api.schemas import Strict
from dcc.db import get_session
from dcc.staffing.report import StaffingView, staffing_view
from dcc.staffing.targets import LIMITS
from dcc.users.models import User

blp = Blueprint("staffing", __name__, url_prefix="/reports", description="Staffing planner")
blp.before_request(authenticate_request)

_WEEKS = LIMITS["weeks"]


class StaffingQuery(Strict):
    weeks = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(min=int(_WEEKS[0]), max=int(_WEEKS[1])),
        metadata={"example": 4},
    )


def _view(query: dict[str, Any], user: User) -> StaffingView:
    access.require(user, access.OVERSEEING)
    return staffing_view(get_session(), reader=user, now=clock.now(), weeks=query.get("weeks"))


@blp.route("/staffing")
class StaffingPlanView(MethodView):
    @blp.arguments(StaffingQuery, location="query")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The agents each half hour of the week needs, the rota's head-count beside it, and
        the inputs of each half hour (``slots``: Monday 00:00 first, 336 of them).

        ``weeks`` overrides how many past weeks are measured (the dealer's setting otherwise).
        """
        return _view(query, current_user()).to_dict()


@blp.route("/staffing.xlsx")
class StaffingExport(MethodView):
    @blp.arguments(StaffingQuery, location="query")
    def get(self, query: dict[str, Any]) -> Response:
        """The half hours with work or shifts as an Excel workbook; audit-logged."""
        user = current_user()
        view = _view(query, user)
        return report_download(view.report(), user, {"weeks": view.plan.weeks})
