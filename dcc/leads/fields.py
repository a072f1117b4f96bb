"""The rules of a lead's input fields, taken from the columns that store them and the enums.

The JSON API (:mod:`dcc.api.schemas`), the lead webhook (:mod:`webhooks.lead_payload`, ADF
included) and the pages' forms (:mod:`dcc.web.forms`) are built from these, so a value one of
them refuses the others refuse too. The phone is checked by :func:`dcc.phones.normalize`.
"""

from __future__ import annotations

from dcc.customers.models import Customer
from dcc.fields import Boolean, Choice, Email, Integer, Rule, Text, column_length, column_range
from dcc.leads.models import Channel, FollowUp, Grade, Lead, LeadSource, LostReason, LostRequest

NAME = Text("name", max_length=column_length(Customer.name))
EMAIL = Email("email", max_length=column_length(Customer.email))
CITY = Text("city", max_length=column_length(Customer.city))
BRAND = Text("brand", max_length=column_length(Lead.brand))
SERIES = Text("series", max_length=column_length(Lead.series))
MODEL = Text("model", max_length=column_length(Lead.model))
_FIRST_YEAR, _LAST_YEAR = column_range(Lead.model_year)
MODEL_YEAR = Integer("model_year", minimum=_FIRST_YEAR, maximum=_LAST_YEAR)
BUDGET = Text("budget", max_length=column_length(Lead.budget))
PURCHASE_TIMEFRAME = Text("purchase_timeframe", max_length=column_length(Lead.purchase_timeframe))
COMMENTS = Text("comments", max_length=column_length(Lead.comments))
EXTERNAL_ID = Text("external_id", max_length=column_length(Lead.external_id))
CONSENT = Boolean("consent")

#: Channels staff enter a lead for (a lead source's channel comes with the source).
STAFF_CHANNEL = Choice.of(
    "channel",
    (
        Channel.WALK_IN,
        Channel.SHOWROOM_PHONE,
        Channel.HOTLINE,
        Channel.EVENT,
        Channel.REFERRAL,
        Channel.WEB,
        Channel.PORTAL,
        Channel.OEM,
    ),
)
#: A grade given at intake: ordered (O) and lost (F) come from an order and a manager.
INTAKE_GRADE = Choice.of("grade", (Grade.N, Grade.H, Grade.A, Grade.B, Grade.C))
#: A grade an agent gives after a call: a deposit paid makes O; lost (F) needs the manager.
CALL_GRADE = Choice.of("grade", (Grade.N, Grade.H, Grade.A, Grade.B, Grade.C, Grade.O))
LOST_REASON = Choice.of("lost_reason", LostReason)

#: After a call: what came of it, and why the customer is lost (the lost request's note).
RESULT = Text("result", max_length=column_length(FollowUp.result))
LOST_NOTE = Text("lost_note", max_length=column_length(LostRequest.note))
#: A manager's review: the comment on a follow-up (批复), the note on a lost decision.
MANAGER_COMMENT = Text("comment", max_length=column_length(FollowUp.manager_comment))
DECISION_NOTE = Text("note", max_length=column_length(LostRequest.decision_note))
#: A lead source, as an admin enters it on the page or with ``dcc sources``.
SOURCE_SLUG = Text("slug", required=True, max_length=column_length(LeadSource.slug))
SOURCE_NAME = Text("name", required=True, max_length=column_length(LeadSource.name))
SUB_SOURCE = Text("sub_source", max_length=column_length(LeadSource.sub_source))

#: What any channel may tell about an enquiry besides the phones, by field name.
ENQUIRY: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        NAME,
        EMAIL,
        CITY,
        BRAND,
        SERIES,
        MODEL,
        MODEL_YEAR,
        BUDGET,
        PURCHASE_TIMEFRAME,
        COMMENTS,
        EXTERNAL_ID,
        CONSENT,
    )
}
