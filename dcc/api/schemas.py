"""Request and response schemas of the JSON API (they also make the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from dcc.leads.models import Channel, Grade, LeadStatus, LostReason, ValueTier
from dcc.sales.models import OrderStatus

STAFF_CHANNELS = [
    c.value
    for c in (
        Channel.WALK_IN,
        Channel.SHOWROOM_PHONE,
        Channel.HOTLINE,
        Channel.EVENT,
        Channel.REFERRAL,
        Channel.WEB,
        Channel.PORTAL,
        Channel.OEM,
    )
]


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class LeadCreate(Strict):
    """A staff-entered lead: walk-in, phone-in, event. Same dedup as every channel."""

    phone = ma.fields.String(required=True, metadata={"example": "138 0013 8000"})
    channel = ma.fields.String(
        load_default=Channel.SHOWROOM_PHONE.value, validate=validate.OneOf(STAFF_CHANNELS)
    )
    name = ma.fields.String(load_default="", validate=validate.Length(max=120))
    alt_phone = ma.fields.String(load_default=None, allow_none=True)
    email = ma.fields.Email(load_default=None, allow_none=True)
    city = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    brand = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    series = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    model = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    model_year = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1950, 2100)
    )
    budget = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    purchase_timeframe = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=60)
    )
    grade = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(["N", "H", "A", "B", "C"])
    )
    comments = ma.fields.String(load_default=None, allow_none=True)
    consent = ma.fields.Boolean(load_default=False)
    owner_id = ma.fields.Integer(load_default=None, allow_none=True)
    external_id = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=120)
    )


class IntakeOut(ma.Schema):
    lead_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "null: the customer is someone else's"}
    )
    customer_id = ma.fields.Integer(allow_none=True)
    duplicate = ma.fields.Boolean(metadata={"description": "the phone was already known"})
    new_lead = ma.fields.Boolean(metadata={"description": "False: recorded as a touch"})


class PhoneQuery(Strict):
    phone = ma.fields.String(required=True, metadata={"example": "13800138000"})


class Touch(ma.Schema):
    id = ma.fields.Integer()
    channel = ma.fields.String()
    source_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    created_at = ma.fields.DateTime()


class FollowUpOut(ma.Schema):
    id = ma.fields.Integer()
    owner_id = ma.fields.Integer(allow_none=True)
    due_at = ma.fields.DateTime()
    by_rule = ma.fields.Boolean()
    status = ma.fields.String()
    result = ma.fields.String(allow_none=True)
    done_at = ma.fields.DateTime(allow_none=True)
    manager_comment = ma.fields.String(allow_none=True)


class CallOut(ma.Schema):
    """One conversation as a lead's history shows it."""

    id = ma.fields.Integer()
    sid = ma.fields.String(allow_none=True)
    direction = ma.fields.String()
    agent_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    started_at = ma.fields.DateTime(allow_none=True)
    answered_at = ma.fields.DateTime(allow_none=True)
    ended_at = ma.fields.DateTime(allow_none=True)
    duration = ma.fields.Integer(allow_none=True)
    recording_url = ma.fields.String(allow_none=True)
    recording_duration = ma.fields.Integer(allow_none=True)
    script_step = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.String(allow_none=True)


class AppointmentOut(ma.Schema):
    id = ma.fields.Integer()
    consultant_id = ma.fields.Integer(allow_none=True)
    scheduled_at = ma.fields.DateTime()
    status = ma.fields.String()
    arrived_at = ma.fields.DateTime(allow_none=True)


class VisitOut(ma.Schema):
    id = ma.fields.Integer()
    consultant_id = ma.fields.Integer(allow_none=True)
    arrived_at = ma.fields.DateTime()
    party_size = ma.fields.Integer()
    first_visit = ma.fields.Boolean()


class LeadOut(ma.Schema):
    id = ma.fields.Integer()
    customer_id = ma.fields.Integer()
    channel = ma.fields.String(validate=validate.OneOf([c.value for c in Channel]))
    sub_source = ma.fields.String(allow_none=True)
    source_id = ma.fields.Integer(allow_none=True)
    value_tier = ma.fields.String(validate=validate.OneOf([v.value for v in ValueTier]))
    grade = ma.fields.String(validate=validate.OneOf([g.value for g in Grade]))
    status = ma.fields.String(validate=validate.OneOf([s.value for s in LeadStatus]))
    owner_id = ma.fields.Integer(allow_none=True)
    brand = ma.fields.String(allow_none=True)
    series = ma.fields.String(allow_none=True)
    model = ma.fields.String(allow_none=True)
    model_year = ma.fields.Integer(allow_none=True)
    purchase_timeframe = ma.fields.String(allow_none=True)
    is_repurchase = ma.fields.Boolean()
    next_action = ma.fields.String(allow_none=True)
    next_action_at = ma.fields.DateTime(allow_none=True)
    first_response_at = ma.fields.DateTime(allow_none=True)
    attempt_count = ma.fields.Integer()
    lost_reason = ma.fields.String(
        allow_none=True, validate=validate.OneOf([r.value for r in LostReason])
    )
    created_at = ma.fields.DateTime()
    touches = ma.fields.List(ma.fields.Nested(Touch))


class LeadDetail(LeadOut):
    customer = ma.fields.Dict()
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpOut))
    calls = ma.fields.List(ma.fields.Nested(CallOut))
    appointments = ma.fields.List(ma.fields.Nested(AppointmentOut))
    visits = ma.fields.List(ma.fields.Nested(VisitOut))


class CustomerOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    phone = ma.fields.String(
        metadata={"description": "E.164, or masked for roles without the right"}
    )
    phones = ma.fields.List(ma.fields.String())
    kind = ma.fields.String()
    owner_id = ma.fields.Integer(allow_none=True)
    do_not_call = ma.fields.Boolean()
    merged_into_id = ma.fields.Integer(allow_none=True)
    leads = ma.fields.List(ma.fields.Nested(LeadOut))


class Reassign(Strict):
    owner_id = ma.fields.Integer(required=True)


class Merge(Strict):
    customer_ids = ma.fields.List(
        ma.fields.Integer(), required=True, validate=validate.Length(min=1)
    )


class CallCreate(Strict):
    lead_id = ma.fields.Integer(required=True)


class CallPlaced(ma.Schema):
    call_id = ma.fields.Integer()
    sid = ma.fields.String(allow_none=True)
    status = ma.fields.String()


class CallQuery(Strict):
    lead_id = ma.fields.Integer(required=True)


CallSummaryOut = CallOut


class OrderCreate(Strict):
    """An order: the vehicle by ``vin``, or by brand, series, model and configuration."""

    vin = ma.fields.String(
        load_default=None, allow_none=True, metadata={"example": "1HGCM82633A004352"}
    )
    brand = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    series = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    model = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    configuration = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=120)
    )
    price = ma.fields.Decimal(
        load_default=None, allow_none=True, metadata={"description": "yuan", "example": 199800}
    )
    deposit = ma.fields.Decimal(
        load_default=None, allow_none=True, metadata={"description": "yuan", "example": 5000}
    )
    delivery_due = ma.fields.Date(
        load_default=None, allow_none=True, metadata={"description": "expected delivery date"}
    )


class OrderOut(ma.Schema):
    order_id = ma.fields.Integer()
    lead_id = ma.fields.Integer()
    customer_id = ma.fields.Integer()
    status = ma.fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    vin = ma.fields.String(allow_none=True)
    brand = ma.fields.String(allow_none=True)
    series = ma.fields.String(allow_none=True)
    model = ma.fields.String(allow_none=True)
    configuration = ma.fields.String(allow_none=True)
    price = ma.fields.Float(allow_none=True, metadata={"description": "yuan"})
    deposit = ma.fields.Float(allow_none=True, metadata={"description": "yuan"})
    delivery_due = ma.fields.Date(allow_none=True)
    ordered_at = ma.fields.DateTime()
    delivered_at = ma.fields.DateTime(allow_none=True)
    canceled_at = ma.fields.DateTime(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)


class DeliveryIn(Strict):
    delivered_at = ma.fields.DateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "default now; without an offset, the dealer's local time"},
    )


class OrderCancel(Strict):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class VehicleOut(ma.Schema):
    id = ma.fields.Integer()
    order_id = ma.fields.Integer(allow_none=True)
    vin = ma.fields.String(allow_none=True)
    brand = ma.fields.String(allow_none=True)
    series = ma.fields.String(allow_none=True)
    model = ma.fields.String(allow_none=True)
    configuration = ma.fields.String(allow_none=True)
    delivered_at = ma.fields.DateTime()
