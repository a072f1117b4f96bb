"""Every model, imported once so that the metadata (and Alembic) sees all tables."""

from dcc.audit import AuditEntry
from dcc.calls.models import Call, CallEvent
from dcc.callscripts.models import CallScript, Offer
from dcc.customers.models import Customer, CustomerPhone
from dcc.db import Base
from dcc.jobs.models import OutboxJob
from dcc.leads.models import Callback, FollowUp, Lead, LeadSource, LeadTouch, LostRequest
from dcc.loop.models import LoopAuditRun
from dcc.messaging import SentMessage
from dcc.notifications import Notification
from dcc.reports.models import AgentDay, BuiltDay
from dcc.sales.models import Appointment, CatalogueEntry, Order, ShowroomVisit, Vehicle
from dcc.settings_store import DealerSetting
from dcc.staffing.models import RotaShift
from dcc.users.models import ApiToken, Team, User

__all__ = [
    "AgentDay",
    "ApiToken",
    "Appointment",
    "AuditEntry",
    "Base",
    "BuiltDay",
    "Call",
    "CallEvent",
    "CallScript",
    "Callback",
    "CatalogueEntry",
    "Customer",
    "CustomerPhone",
    "DealerSetting",
    "FollowUp",
    "Lead",
    "LeadSource",
    "LeadTouch",
    "LoopAuditRun",
    "LostRequest",
    "Notification",
    "Offer",
    "Order",
    "OutboxJob",
    "RotaShift",
    "SentMessage",
    "ShowroomVisit",
    "Team",
    "User",
    "Vehicle",
]
