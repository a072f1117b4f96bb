"""Request and response schemas of the JSON API (they also make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import validate

from dcc.errors import DCCError, ValidationError
from dcc.fields import Rule
from dcc.leads import fields as lead_fields
from dcc.leads.models import Channel, Grade, LeadStatus, LostReason, ValueTier
from dcc.sales.models import OrderStatus
from dcc.untrusted import MAX_ID

#: A marshmallow error key -> the code of the refusal (``Field.error_messages``' keys).
FIELD_ERRORS = {
    "required": "field.required",
    "null": "field.required",
    "unknown": "field.unknown",
    "invalid": "field.invalid",
}
#: A field type's "invalid" refusal, more precisely.
INVALID_BY_TYPE = {
    ma.fields.Integer: "field.not_integer",
    ma.fields.Boolean: "field.not_boolean",
    ma.fields.Date: "field.not_a_date",
    ma.fields.Email: "field.not_email",
    ma.fields.String: "field.not_text",
}


def coded(error: DCCError) -> dict[str, Any]:
    """A refusal as a marshmallow error message that keeps its code and parameters."""
    return {"code": error.code, "problem": error.problem, "params": error.to_dict().get("params")}


def _refusal(code: str) -> dict[str, Any]:
    return coded(ValidationError(code))


class Id(ma.fields.Integer):
    """A database id in a body or a query: 1 to the database's largest integer."""

    def __init__(self, **kwargs: Any) -> None:
        range_ = validate.Range(1, MAX_ID, error=f"must be an id from 1 to {MAX_ID}")
        super().__init__(validate=range_, **kwargs)


class Strict(ma.Schema):
    """Unknown fields are refused, and every refusal carries its code (see ``FIELD_ERRORS``)."""

    class Meta:
        unknown = ma.RAISE

    error_messages: ClassVar[dict[str, Any]] = {  # type: ignore[misc]
        "unknown": _refusal("field.unknown")
    }

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        invalid = next(
            (code for kind, code in INVALID_BY_TYPE.items() if isinstance(field_obj, kind)),
            "field.invalid",
        )
        codes = {**FIELD_ERRORS, "invalid": invalid}
        field_obj.error_messages = {
            **field_obj.error_messages,
            **{key: _refusal(code) for key, code in codes.items()},
        }


class Ruled(ma.fields.Field):
    """A field checked by its rule (:mod:`dcc.fields`), as the webhook and the forms check it."""

    def __init__(self, rule: Rule, *, load_default: Any = None, **kwargs: Any) -> None:
        self.rule = rule
        if rule.required:
            kwargs["required"] = True
        else:
            kwargs.update(load_default=load_default, allow_none=True)
        super().__init__(metadata={**rule.openapi(), **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            cleaned = self.rule.clean(value)
        except DCCError as error:
            raise ma.ValidationError(coded(error)) from error
        return self.load_default if cleaned is None else cleaned


class LeadCreate(Strict):
    """A staff-entered lead: walk-in, phone-in, event. Same dedup as every channel."""

    phone = ma.fields.String(required=True, metadata={"example": "138 0013 8000"})
    channel = Ruled(lead_fields.STAFF_CHANNEL, load_default=Channel.SHOWROOM_PHONE.value)
    name = Ruled(lead_fields.NAME, load_default="")
    alt_phone = ma.fields.String(load_default=None, allow_none=True)
    email = Ruled(lead_fields.EMAIL)
    city = Ruled(lead_fields.CITY)
    brand = Ruled(lead_fields.BRAND)
    series = Ruled(lead_fields.SERIES)
    model = Ruled(lead_fields.MODEL)
    model_year = Ruled(lead_fields.MODEL_YEAR)
    budget = Ruled(lead_fields.BUDGET)
    purchase_timeframe = Ruled(lead_fields.PURCHASE_TIMEFRAME)
    grade = Ruled(lead_fields.INTAKE_GRADE)
    comments = Ruled(lead_fields.COMMENTS)
    consent = Ruled(lead_fields.CONSENT, load_default=False)
    owner_id = Id(load_default=None, allow_none=True)
    external_id = Ruled(lead_fields.EXTERNAL_ID)


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
    owner_id = Id(required=True)


class Merge(Strict):
    customer_ids = ma.fields.List(Id(), required=True, validate=validate.Length(min=1))


class CallCreate(Strict):
    lead_id = Id(required=True)


class CallPlaced(ma.Schema):
    call_id = ma.fields.Integer()
    sid = ma.fields.String(allow_none=True)
    status = ma.fields.String()


class CallQuery(Strict):
    lead_id = Id(required=True)


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
