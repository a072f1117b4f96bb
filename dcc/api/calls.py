"""``/api/v1/calls``: click-to-dial, and a lead's call history."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dcc.access import get_visible_lead
from dcc.api.auth import authenticate_request, current_user
from dcc.api.blueprint import Blueprint
from dcc.api.schemas import CallCreate, CallPlaced, CallQuery, CallSummaryOut
from dcc.calls import dialer, history
from dcc.config import get_settings
from dcc.db import get_session
from dcc.voice import get_telephony

blp = Blueprint("calls", __name__, url_prefix="/calls", description="Calls")
blp.before_request(authenticate_request)


@blp.route("")
class Calls(MethodView):
    @blp.arguments(CallCreate)
    @blp.response(201, CallPlaced)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Click-to-dial: ring the agent first, then bridge to the customer.

        Refused with 409 and a reason for a do-not-call number, outside calling hours, or a
        closed lead.
        """
        session, user, settings = get_session(), current_user(), get_settings()
        lead = get_visible_lead(session, user, body["lead_id"])
        call = dialer.dial(session, lead, agent=user, settings=settings, telephony=get_telephony())
        return {"call_id": call.id, "sid": call.sid, "status": call.status.value}

    @blp.arguments(CallQuery, location="query")
    @blp.response(200, CallSummaryOut(many=True))
    def get(self, query: dict[str, Any]) -> list[Any]:
        """Every call of a lead, inbound and outbound, with status, times and recording."""
        session, user = get_session(), current_user()
        lead = get_visible_lead(session, user, query["lead_id"])
        return list(history.lead_history(session, lead.id))
