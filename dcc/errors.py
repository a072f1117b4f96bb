"""Named failures of the domain, each with a stable machine code and its parameters.

``raise CallRefused("call.outside_hours", field="lead_id", hours="08:00-21:00", ...)``: the code
picks the text from :data:`TEXTS` (English here, Chinese in the translation catalog), the
parameters fill it in. The API answers ``{"error": {"code", "message", "field", "params"}}``;
pages translate by the code, never by reading the English. Codes under ``field.`` are problems
of the named field and read ``phone: is required``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any


def N_(msgid: str) -> str:
    """Marks a text for the translation catalog (``./scripts/translations`` extracts it)."""
    return msgid


#: Every code an error may carry, and its English text (``%(name)s``: a parameter).
TEXTS: dict[str, str] = {
    # a problem with one input field: shown after the field's name
    "field.required": N_("is required"),
    "field.too_long": N_("at most %(max)s characters"),
    "field.out_of_range": N_("must be from %(min)s to %(max)s"),
    "field.bad_choice": N_("must be one of %(choices)s"),
    "field.not_text": N_("must be text"),
    "field.not_integer": N_("must be a whole number"),
    "field.not_a_number": N_("must be a number"),
    "field.not_boolean": N_("must be true or false"),
    "field.not_email": N_("is not an e-mail address"),
    "field.not_a_date": N_("must be a date like 2026-01-31"),
    "field.not_a_phone": N_("is not a phone number: %(value)s"),
    "field.invalid_phone": N_("is not a valid phone number: %(value)s"),
    "field.phone_not_callable": N_("cannot be called: %(value)s"),
    "field.unknown": N_("is not a field of this request"),
    "field.invalid": N_("is not valid"),
    "field.after_end": N_("must not be after the end date"),
    "field.period_too_long": N_("a period covers at most two years"),
    "field.group_not_offered": N_("this report cannot be grouped that way; it offers: %(choices)s"),
    "field.unknown_time_zone": N_("unknown time zone %(value)s"),
    "field.bad_slug": N_("lowercase letters, digits, - and _ only"),
    "field.nul": N_("contains a NUL character"),
    "field.bad_placeholder": N_("may hold only %(placeholders)s in braces"),
    "field.lone_surrogate": N_("contains a lone surrogate (%(character)s), which is not text"),
    "field.not_a_json_number": N_("%(value)s is not a number JSON allows"),
    "field.number_out_of_range": N_("%(value)s is beyond the range of a number"),
    "field.too_many_digits": N_("an integer of more than %(max)s digits"),
    "field.bad_encoding": N_("is not valid UTF-8"),
    "field.not_json": N_("is not valid JSON: %(detail)s"),
    "field.too_deep": N_("nests deeper than JSON may here"),
    "field.negative": N_("cannot be negative"),
    "field.too_many_yuan": N_("is more than %(max)s yuan"),
    "field.two_decimals": N_("has at most two decimals"),
    "field.not_an_amount": N_("is not an amount"),
    "field.not_in_catalogue": N_("%(value)s is not in the vehicle catalogue"),
    "field.secret_too_short": N_("a secret has at least %(min)s characters"),
    # leads
    "lead.not_found": N_("no lead %(lead)s"),
    "lead.closed": N_("the lead is %(status)s"),
    "lead.bad_transition": N_("the lead cannot go from %(status)s to %(to)s"),
    "lead.not_lost": N_("the lead is %(status)s, not lost"),
    "lead.still_worked": N_("lead %(lead)s is worked: its plan stays"),
    "lead.customer_has_open_lead": N_(
        "the customer has an open lead (%(lead)s); reassign that one"
    ),
    "lead.only_manager_assigns": N_("only a manager assigns a lead to someone else"),
    "lead.only_manager_reassigns": N_("only a manager or an admin reassigns leads"),
    "lead.owner_inactive": N_("%(user)s is not active"),
    "lead.owner_cannot_own": N_("%(user)s cannot own leads"),
    "lead.recipient_other_team": N_(
        "%(user)s is not of your team: leads go only to agents and consultants of your team"
    ),
    "lead.owner_or_manager_only": N_("only the lead's owner or its manager works this lead"),
    "intake.phone_changed_hands": N_("the phone changed hands while it was recorded; resend"),
    "intake.delivery_conflict": N_(
        "the delivery conflicts with stored data (an external id used twice?)"
    ),
    # customers and merges
    "customer.not_found": N_("no customer %(customer)s"),
    "customer.no_such_phone": N_("no customer has this phone"),
    "customer.someone_elses": N_("this number is another agent's customer"),
    "customer.other_team": N_(
        "customer %(customer)s also has leads of another team: an admin decides"
    ),
    "merge.nothing": N_("name at least one customer to merge"),
    "merge.into_itself": N_("a customer cannot be merged into itself"),
    "merge.already_merged": N_("customer %(customer)s was merged already"),
    "merge.fleet": N_(
        "customer %(customer)s is a fleet customer: fleet customers are never merged"
    ),
    "merge.has_order": N_(
        "customer %(customer)s has an order: customers with orders are never merged"
    ),
    # calls
    "call.not_found": N_("no call %(call)s"),
    "call.not_this_leads": N_("the call is not this lead's"),
    "call.no_customer": N_("the call has no customer"),
    "call.not_allowed": N_("only the lead's owner or its manager may call it"),
    "call.agent_only": N_("only the agent who took the call works on it"),
    "call.lead_closed": N_("the lead is %(status)s; it cannot be called"),
    "call.do_not_call": N_("the customer is on the do-not-call list"),
    "call.outside_hours": N_("outside calling hours (%(hours)s %(timezone)s)"),
    "call.no_agent_phone": N_("your user has no phone to ring; ask an admin"),
    "call.provider_refused": N_("the telephony provider refused the call: %(detail)s"),
    "call.provider_rules": N_("the telephony provider would refuse this call: %(reason)s"),
    "agent.not_in_wrap_up": N_("you are not in wrap-up"),
    "call.unknown": N_("unknown call"),
    "recording.none": N_("this call has no recording"),
    "recording.foreign_host": N_("the recording is not on the provider's host"),
    "recording.unavailable": N_("the recording is unavailable: %(detail)s"),
    "recording.missing": N_("the provider has no such recording (%(status)s)"),
    # the call's wrap-up, callbacks and follow-ups
    "outcome.no_visit_time": N_("choose the visit time"),
    "outcome.no_consultant": N_("choose the consultant"),
    "outcome.no_lost_reason": N_("choose the lost reason"),
    "outcome.visit_and_lost": N_("book a visit or request a loss, not both"),
    "callback.not_found": N_("no callback %(callback)s"),
    "callback.taken": N_("the callback was already taken or canceled"),
    "callback.not_yours": N_("this callback is not yours to take yet"),
    "callback.owner_only": N_("only the lead's owner or its manager schedules its callbacks"),
    "callback.in_past": N_("a callback must be in the future"),
    "follow_up.not_found": N_("no follow-up %(follow_up)s"),
    "follow_up.not_open": N_("the follow-up is %(status)s"),
    "follow_up.no_result": N_("a follow-up is done only with its result"),
    "follow_up.next_in_past": N_("the next follow-up must be in the future"),
    "follow_up.manager_only": N_("only a manager comments on follow-ups"),
    # appointments, visits, orders and lost requests
    "appointment.not_found": N_("no such appointment"),
    "appointment.in_past": N_("the appointment must be in the future"),
    "appointment.not_booked": N_("the appointment is %(status)s"),
    "appointment.bad_consultant": N_("the consultant must be an active consultant"),
    "reception.no_consultant": N_("choose the consultant who receives the visitor"),
    "reception.no_booking": N_("no booked visit for this phone: register a walk-in"),
    "reception.already_arrived": N_("this visit was already registered"),
    "vin.length": N_("a VIN has 17 characters, not %(length)s"),
    "vin.bad_characters": N_(
        "a VIN has letters and digits only, never I, O or Q (found %(found)s)"
    ),
    "vin.check_digit": N_(
        "the VIN's check digit (9th character) is %(found)s, it should be %(expected)s"
    ),
    "order.no_vehicle": N_("give the VIN, or brand, series, model and configuration"),
    "order.not_open": N_("the order is %(status)s"),
    "order.not_found": N_("no order %(order)s"),
    "order.consultant_or_manager": N_("only a consultant or a manager records orders"),
    "order.deposit_over_price": N_("the deposit is more than the price"),
    "order.delivered_in_future": N_("the delivery cannot be in the future"),
    "order.delivered_before_order": N_("the delivery cannot be before the order"),
    "order.no_cancel_reason": N_("say why the order is canceled"),
    "order.no_delivery_due": N_("give the expected delivery date"),
    "order.delivery_due_past": N_("the expected delivery date is in the past"),
    "catalogue.exists": N_("this configuration is in the catalogue already"),
    "catalogue.not_found": N_("no catalogue entry %(entry)s"),
    "lost.request_pending": N_("the lead already has a pending lost request"),
    "lost.request_not_found": N_("no lost request %(request)s"),
    "lost.manager_only": N_("only a manager decides lost requests"),
    "lost.request_decided": N_("this request was decided already"),
    # users, access and lead sources
    "user.not_found": N_("no user %(user)s"),
    "user.login_taken": N_("login %(login)s is taken"),
    "token.not_found": N_("%(user)s has no token %(token)s"),
    "account.self": N_("you cannot deactivate your own account"),
    "account.last_admin": N_("the last active admin cannot be deactivated"),
    "account.inactive": N_("%(user)s is deactivated; activate it first"),
    "password.too_short": N_("a password has at least %(min)s characters"),
    "password.too_long": N_("a password has at most %(max)s characters"),
    "password.too_common": N_(
        "the password is too common or too easy to guess: use a few unrelated words, or mix "
        "letters, digits and signs"
    ),
    "login.throttled_account": N_(
        "too many failed logins for this account; try again in %(minutes)s minute(s)"
    ),
    "login.throttled_address": N_(
        "too many failed logins from this address; try again in %(minutes)s minute(s)"
    ),
    "auth.role_required": N_("this needs one of the roles: %(roles)s"),
    "auth.token_required": N_("a bearer token is required"),
    "auth.token_unknown": N_("the token is unknown or revoked"),
    "auth.login_or_token": N_("log in or send a bearer token"),
    "auth.header_required": N_("%(header)s is required"),
    "auth.header_wrong": N_("%(header)s is wrong"),
    "auth.signature_required": N_("%(header)s is required: sha256=<hex HMAC-SHA256 of the body>"),
    "auth.signature_mismatch": N_("%(header)s does not match the body"),
    "auth.signature_mismatch_timestamped": N_(
        "%(header)s does not match the timestamp and the body"
    ),
    "auth.signature_format": N_(
        "%(header)s must be sha256= and 64 lowercase hex digits, nothing more"
    ),
    "auth.timestamp_required": N_(
        "%(header)s is required: the Unix time in seconds, signed with the body"
    ),
    "auth.timestamp_format": N_("%(header)s must be the Unix time in whole seconds"),
    "auth.timestamp_stale": N_(
        "%(header)s is more than %(minutes)s minutes from the server's time: sign each delivery "
        "when it is sent (a replay, or a wrong clock)"
    ),
    "auth.twilio_signature": N_("invalid Twilio signature"),
    "source.not_found": N_("no lead source %(source)s"),
    "source.exists": N_("source %(source)s exists"),
    # a lead delivery's body
    "request.not_found": N_("there is nothing at this address"),
    "request.method_not_allowed": N_("this address does not take this method"),
    "request.too_large": N_("the request is too large"),
    "request.invalid": N_("the request is not valid"),
    "request.failed": N_("the service failed; try again"),
    "body.unsupported_type": N_("Content-Type %(type)s is not supported; send one of %(accepted)s"),
    "body.unreadable": N_("the body cannot be read: %(detail)s"),
    "body.not_an_object": N_("the body must be a JSON object"),
    "body.too_deep": N_("the body nests deeper than %(depth)s levels"),
    # call scripts, reports, exports, the softphone
    "script.no_steps": N_("a script needs at least one step"),
    "script.step_incomplete": N_("step %(step)s needs a title and a text"),
    "script.unknown_placeholder": N_("step %(step)s uses unknown placeholder {%(placeholder)s}"),
    "offer.ends_before_start": N_("an offer must end on or after the day it starts"),
    "offer.not_found": N_("no offer %(offer)s"),
    "report.not_found": N_("no report %(report)s"),
    "rota.not_a_shift": N_("%(value)s is not a shift like 09:00-17:30"),
    "rota.ends_before_start": N_("%(value)s: a shift must end after it starts"),
    "rota.overlap": N_("two shifts of one day overlap"),
    "rota.not_a_time": N_("%(value)s is not a time of day like 09:30"),
    "rota.not_on_half_hour": N_("%(value)s: shifts start and end on the hour or the half hour"),
    "rota.bad_weekday": N_("%(value)s is not a weekday: mon … sun, or 1 … 7 (Monday 1)"),
    "rota.no_agent": N_("no DCC agent %(agent)s to plan"),
    "live.unavailable": N_("live updates are unavailable (Redis cannot be reached)"),
    "live.too_many_streams": N_(
        "this user already has %(limit)s live streams open; close a page and retry"
    ),
    "export.too_large": N_(
        "%(rows)s rows match; an export holds at most %(max)s: narrow the filters"
    ),
    "softphone.not_configured": N_(
        "the browser softphone is not configured (DCC_TWILIO_API_KEY_SID and "
        "DCC_TWILIO_API_KEY_SECRET)"
    ),
    # configuration and the command line
    "config.cannot_start": N_("the service cannot start with these settings:\n  %(problems_text)s"),
    "config.bad_hours": N_("%(value)s: hours must look like 08:00-21:00"),
    "config.hours_not_time_of_day": N_("%(value)s: not a time of day (00:00 to 24:00)"),
    "config.hours_reversed": N_("%(value)s: the start must come before the end"),
    "cli.not_simulator": N_("DCC_TELEPHONY is not 'sim'"),
    "cli.simulator_unreachable": N_("the simulator at %(url)s did not answer: %(detail)s"),
}


def plain(value: Any) -> Any:
    """A parameter as the API and the English text show it: an enum as its code."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(plain(v)) for v in value)
    return value


class Params(dict[str, Any]):
    """A text's parameters; one the raise left out shows as ``?`` instead of failing."""

    def __missing__(self, key: str) -> str:
        return "?"


class DCCError(Exception):
    """Base of every domain error: a code from :data:`TEXTS`, parameters, maybe a field."""

    status_code = 400

    def __init__(self, code: str, /, *, field: str | None = None, **params: Any) -> None:
        if code not in TEXTS:
            raise LookupError(f"unknown error code {code!r}: add it to dcc.errors.TEXTS")
        self.code = code
        self.field = field
        #: As given: an enum stays an enum, so that a page can show its label.
        self.params = params
        #: The code's text filled in (for a ``field.`` code: without the field's name).
        self.problem = TEXTS[code] % Params({k: plain(v) for k, v in params.items()})
        #: In English, for the API and the logs: ``phone: is required`` for a field's problem.
        self.message = f"{field}: {self.problem}" if self.about_field else self.problem
        super().__init__(self.message)

    @property
    def about_field(self) -> bool:
        """The text is a problem of :attr:`field` (``phone: is required``)."""
        return self.code.startswith("field.") and self.field is not None

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.params:
            body["params"] = {k: plain(v) for k, v in self.params.items()}
        return body


class ConfigurationError(DCCError):
    """Settings that are missing or malformed; the service refuses to start.

    ``problems`` holds one line per problem, each naming its setting
    (``"DCC_TIMEZONE: 'Mars/Base' is not a time zone"``).
    """

    def __init__(
        self, code: str, /, *, field: str | None = None, problems: Sequence[str] = (), **params: Any
    ) -> None:
        super().__init__(code, field=field, **params)
        self.problems = list(problems) or [f"{field}: {self.message}" if field else self.message]


class MalformedInput(DCCError):
    """Input that cannot be read or stored at all (bad JSON, a NUL, an id out of range)."""


class ValidationError(DCCError):
    """Input that cannot be accepted as it is; names the field."""

    status_code = 422


class InvalidPhoneNumber(ValidationError):
    """A phone number that phonenumbers cannot parse or that is not a valid number."""


class NotFound(DCCError):
    status_code = 404


class PermissionDenied(DCCError):
    status_code = 403


class Conflict(DCCError):
    """The request is well-formed but the current state forbids it."""

    status_code = 409


class InvalidTransition(Conflict):
    """A lead, appointment or request cannot move from its current state to the asked one."""


class MergeRefused(Conflict):
    """Customers that may not be merged (fleet customers, customers with orders)."""


class CallRefused(Conflict):
    """A call may not be placed now (do-not-call list, calling hours, closed lead)."""
