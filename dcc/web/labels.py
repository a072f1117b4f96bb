"""Names of the domain's codes as the agent reads them (translated; the codes stay English)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

GRADES = {
    "N": _l("N · new"),
    "H": _l("H · within 7 days"),
    "A": _l("A · within a month"),
    "B": _l("B · 1-3 months"),
    "C": _l("C · later"),
    "O": _l("O · ordered"),
    "F": _l("F · lost"),
}

LEAD_STATUSES = {
    "new": _l("New"),
    "contacting": _l("Contacting"),
    "invited": _l("Invited"),
    "arrived": _l("Arrived"),
    "ordered": _l("Ordered"),
    "delivered": _l("Delivered"),
    "lost": _l("Lost"),
    "invalid": _l("Invalid"),
    "duplicate": _l("Duplicate"),
    "dormant": _l("Dormant"),
}

CHANNELS = {
    "walk_in": _l("Walk-in"),
    "showroom_phone": _l("Showroom phone-in"),
    "hotline_400": _l("400 hotline"),
    "web": _l("Website / WeChat"),
    "portal": _l("Car portal"),
    "oem": _l("OEM lead"),
    "event": _l("Event"),
    "referral": _l("Referral"),
    "repurchase": _l("Repurchase"),
}

CALL_STATUSES = {
    "queued": _l("Queued"),
    "initiated": _l("Dialling"),
    "ringing": _l("Ringing"),
    "in-progress": _l("Talking"),
    "completed": _l("Ended"),
    "busy": _l("Busy"),
    "failed": _l("Failed"),
    "no-answer": _l("No answer"),
    "canceled": _l("Canceled"),
}

DIRECTIONS = {"inbound": _l("Inbound"), "outbound": _l("Outbound")}

LEGS = {"agent": _l("Agent"), "customer": _l("Customer")}

AGENT_STATUSES = {
    "available": _l("Available"),
    "on_call": _l("On call"),
    "wrap_up": _l("Wrap-up"),
    "away": _l("Away"),
    "offline": _l("Offline"),
}

LOST_REASONS = {
    "budget": _l("Budget too low"),
    "competitor": _l("Bought a competitor"),
    "same_brand_elsewhere": _l("Same brand elsewhere"),
    "price": _l("Price"),
    "configuration": _l("Configuration"),
    "design": _l("Design"),
    "service": _l("Service experience"),
    "financing": _l("Financing"),
    "plan_changed": _l("Plan changed"),
    "delivery_time": _l("Delivery time"),
}

ROLES = {
    "clerk": _l("Information clerk"),
    "consultant": _l("Sales consultant"),
    "dcc_agent": _l("DCC agent"),
    "manager": _l("Sales manager"),
    "supervisor": _l("DCC supervisor"),
    "admin": _l("Admin"),
}

WORK_KINDS = {
    "new_lead": _l("New lead"),
    "callback": _l("Callback"),
    "follow_up": _l("Follow-up"),
}

FOLLOW_UP_STATUSES = {"open": _l("Pending"), "done": _l("Done"), "canceled": _l("Canceled")}

APPOINTMENT_STATUSES = {
    "booked": _l("Booked"),
    "arrived": _l("Arrived"),
    "no_show": _l("No show"),
    "canceled": _l("Canceled"),
}

NOTIFICATION_KINDS = {
    "arrival": _l("Arrival"),
    "new_lead": _l("New lead"),
    "callback_due": _l("Callback due"),
    "callback_open": _l("Callback open to the team"),
    "sla_first_response": _l("First response overdue"),
    "lead_reopened": _l("Dormant lead back"),
    "unassigned_lead": _l("New lead with no owner"),
    "unreachable": _l("Customer unreachable"),
    "follow_up_due": _l("Follow-up due"),
    "follow_up_overdue": _l("Follow-up overdue"),
    "no_show_30d": _l("Invited over 30 days, never came"),
    "no_show": _l("Missed visit: invite again"),
    "invalid_number": _l("Invalid number: lead closed"),
    "loop_violations": _l("Loop check found broken links"),
}

ORDER_STATUSES = {
    "ordered": _l("Ordered"),
    "delivered": _l("Delivered"),
    "canceled": _l("Canceled"),
}

FOLLOW_UP_PURPOSES = {"re_invite": _l("Invite again"), "delivery": _l("Until delivery")}

CLOSE_REASONS = {
    "lost": _l("Lost"),
    "invalid": _l("Invalid"),
    "merged": _l("Merged"),
    "delivered": _l("Delivered"),
    "dormant": _l("Dormant"),
}

LOOP_KINDS = {
    "lead_without_owner": _l("Open lead without an owner"),
    "lead_without_next_action": _l("Open lead without a next action"),
    "callback_overdue": _l("Callback overdue"),
    "appointment_unresolved": _l("Visit passed, neither arrived nor no-show"),
    "order_without_delivery_date": _l("Order without a delivery date"),
    "job_for_closed_lead": _l("Work pending for a closed lead"),
    "customer_with_two_open_leads": _l("Customer with two open leads"),
}

TABLES: dict[str, dict[str, Any]] = {
    "grade": GRADES,
    "lead_status": LEAD_STATUSES,
    "channel": CHANNELS,
    "call_status": CALL_STATUSES,
    "direction": DIRECTIONS,
    "leg": LEGS,
    "agent_status": AGENT_STATUSES,
    "lost_reason": LOST_REASONS,
    "role": ROLES,
    "work": WORK_KINDS,
    "follow_up_status": FOLLOW_UP_STATUSES,
    "appointment_status": APPOINTMENT_STATUSES,
    "notification": NOTIFICATION_KINDS,
    "order_status": ORDER_STATUSES,
    "follow_up_purpose": FOLLOW_UP_PURPOSES,
    "close_reason": CLOSE_REASONS,
    "loop_kind": LOOP_KINDS,
}


def label(value: Any, table: str) -> str:
    """``{{ lead.status | label('lead_status') }}``: the name, or the code when unnamed."""
    code = getattr(value, "value", value)
    if code is None:
        return ""
    return str(TABLES[table].get(code, code))


def js_labels() -> dict[str, dict[str, str]]:
    """The tables the live panel needs in the browser, translated for this request."""
    keep = ("call_status", "leg", "notification", "agent_status")
    return {name: {k: str(v) for k, v in TABLES[name].items()} for name in keep}
