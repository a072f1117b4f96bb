"""``/api/v1/leads``: staff-entered leads, a lead's full history, reassignment."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dcc import access
from dcc.access import get_visible_lead
from dcc.api import serialize
from dcc.api.auth import authenticate_request, current_user
from dcc.api.blueprint import Blueprint
from dcc.api.schemas import IntakeOut, LeadCreate, LeadDetail, Reassign
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import ValidationError
from dcc.leads import intake, reassignment
from dcc.leads.models import Channel, Grade
from dcc.users.models import Role, User

blp = Blueprint("leads", __name__, url_prefix="/leads", description="Leads")
blp.before_request(authenticate_request)


@blp.route("")
class Leads(MethodView):
    @blp.arguments(LeadCreate)
    @blp.response(201, IntakeOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Enter a lead (walk-in, phone-in, event). A known phone attaches to its customer.

        When that customer is someone else's, the enquiry is recorded on its lead for its
        owner, and the answer names neither the lead nor the customer (``null`` ids).
        """
        session, user = get_session(), current_user()
        access.require(user, access.LEAD_ENTRY)
        grade = body.pop("grade", None)
        data = intake.LeadInput(
            **{**body, "channel": Channel(body["channel"])},
            grade=Grade(grade) if grade else None,
        )
        if data.owner_id is not None:
            named = session.get(User, data.owner_id)
            if named is None:
                raise ValidationError("user.not_found", field="owner_id", user=data.owner_id)
            access.check_may_assign_at_entry(session, user, named)
        if data.owner_id is None and user.role == Role.CONSULTANT:
            data.owner_id = user.id  # the consultant who received the walk-in keeps it
        result = intake.receive(session, data, region=get_settings().default_region, actor=user)
        seen = access.may_see_lead(session, user, result.lead_id)
        return {
            "lead_id": result.lead_id if seen else None,
            "customer_id": result.customer_id if seen else None,
            "duplicate": result.duplicate,
            "new_lead": result.new_lead,
        }


@blp.route("/<int:lead_id>")
class LeadDetailView(MethodView):
    @blp.response(200, LeadDetail)
    def get(self, lead_id: int) -> dict[str, Any]:
        """The lead with its touches, follow-ups, calls, appointments and visits."""
        session, user = get_session(), current_user()
        lead = get_visible_lead(session, user, lead_id)
        return serialize.lead_detail(session, lead, user)


@blp.route("/<int:lead_id>/reassign")
class LeadReassign(MethodView):
    @blp.arguments(Reassign)
    @blp.response(200, LeadDetail)
    def post(self, body: dict[str, Any], lead_id: int) -> dict[str, Any]:
        """Give the lead and its open follow-ups and callbacks to another owner (managers: to
        one of the team); the lead leaves any escalation queue."""
        session, user = get_session(), current_user()
        access.require(user, access.MANAGING, "lead.only_manager_reassigns")
        lead = get_visible_lead(session, user, lead_id)
        new_owner = session.get(User, body["owner_id"])
        if new_owner is None:
            raise ValidationError("user.not_found", field="owner_id", user=body["owner_id"])
        reassignment.reassign(session, lead, new_owner, actor=user)
        return serialize.lead_detail(session, lead, user)
