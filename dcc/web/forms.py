"""The pages' forms (Flask-WTF: every POST carries the session's CSRF token)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    Optional,
    StopValidation,
)

from dcc.errors import DCCError
from dcc.fields import Choice, Rule
from dcc.leads import fields as lead_fields
from dcc.sales import fields as sales_fields
from dcc.untrusted import optional_db_id
from dcc.web import labels
from dcc.web.messages import problem_of

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def aware(value: dt.datetime | None, timezone: str) -> dt.datetime | None:
    """A ``datetime-local`` input means the dealer's local time; the domain wants UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def local_input(value: dt.datetime | None, timezone: str) -> str:
    """The value a ``datetime-local`` input shows for an aware moment."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime(LOCAL_FORMAT)


def choices(pairs: Sequence[tuple[Any, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class Checked:
    """A field's rule (:mod:`dcc.fields`) as a validator: the page accepts and refuses what the
    API and the lead webhook do, and says why in the reader's language, by the refusal's code.
    The field's data becomes the clean value (trimmed; None when left blank)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.field_flags = {"required": True} if rule.required else {}

    def __call__(self, form: Any, field: Any) -> None:
        try:
            field.data = self.rule.clean(field.data)
        except DCCError as error:
            raise StopValidation(problem_of(error)) from error


def rule_choices(rule: Choice, table: str) -> list[SelectChoice]:
    """A select's options: the rule's choices, named by the label table."""
    return labels.choices(table, rule.choices)


class LoginForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class OutcomeForm(FlaskForm):
    """Wrap-up: the result is required; a visit or a lost request may follow."""

    call_id = HiddenField(filters=[optional_db_id])
    result = TextAreaField(
        _l("Result"),
        validators=[
            DataRequired(message=_l("Write the result: a follow-up is done only with it.")),
            Checked(lead_fields.RESULT),
        ],
    )
    grade = SelectField(_l("Grade"), choices=[])
    next_due_at = DateTimeLocalField(
        _l("Next follow-up"), format=LOCAL_FORMAT, validators=[Optional()]
    )
    # "1" once the agent changed the date: a custom plan. Otherwise the grade's rule decides
    # (the date shown is only its preview), so the follow-up is recorded as by rule.
    next_due_custom = HiddenField(default="0")
    action = RadioField(
        _l("Next step"),
        choices=[
            SelectChoice("none", _l("Keep following up")),
            SelectChoice("appointment", _l("Book a visit")),
            SelectChoice("lost", _l("Request lost")),
        ],
        default="none",
    )
    appointment_at = DateTimeLocalField(
        _l("Visit time"), format=LOCAL_FORMAT, validators=[Optional()]
    )
    consultant = SelectField(
        _l("Consultant"), coerce=optional_db_id, choices=[], validate_choice=False
    )
    lost_reason = SelectField(
        _l("Lost reason"),
        choices=[SelectChoice("", "—"), *rule_choices(lead_fields.LOST_REASON, "lost_reason")],
    )
    lost_note = StringField(_l("Lost note"), validators=[Checked(lead_fields.LOST_NOTE)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.grade.choices = rule_choices(lead_fields.CALL_GRADE, "grade")


class SmsForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=500)])


class NewCustomerForm(FlaskForm):
    """The pop of a caller the system could not identify."""

    name = StringField(_l("Name"), validators=[Checked(lead_fields.NAME)])
    phone = StringField(_l("Phone"), validators=[DataRequired()])
    series = StringField(_l("Model of interest"), validators=[Checked(lead_fields.SERIES)])


class OfferForm(FlaskForm):
    """A current offer or showroom event, with the days the scripts mention it."""

    title = StringField(_l("Offer or event, as the agent says it"), validators=[DataRequired()])
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("Until"), validators=[DataRequired()])


class CaptureForm(FlaskForm):
    """The script's questions in the call panel: what the agent learns, written at once."""

    name = StringField(_l("Surname or name"), validators=[Checked(lead_fields.NAME)])
    title = SelectField(
        _l("Title"),
        choices=[
            SelectChoice("", "—"),
            SelectChoice("先生", _l("Mr")),
            SelectChoice("女士", _l("Ms")),
        ],
        validate_choice=False,
    )
    series = StringField(_l("Model of interest"), validators=[Checked(lead_fields.SERIES)])
    budget = StringField(_l("Budget"), validators=[Checked(lead_fields.BUDGET)])
    timeframe = StringField(
        _l("Purchase timeframe"), validators=[Checked(lead_fields.PURCHASE_TIMEFRAME)]
    )
    city = StringField(_l("City"), validators=[Checked(lead_fields.CITY)])
    trade_in = SelectField(
        _l("Car to trade in"),
        choices=[
            SelectChoice("", _l("Not asked")),
            SelectChoice("yes", _l("Yes")),
            SelectChoice("no", _l("No")),
        ],
        validate_choice=False,
    )
    consent = BooleanField(_l("Agrees to be contacted"))


class ArrivalForm(FlaskForm):
    """An invited customer came: found by phone (any format) or picked from today's list."""

    appointment_id = HiddenField(filters=[optional_db_id])
    phone = StringField(_l("Phone"), validators=[Optional()])
    consultant = SelectField(
        _l("Receiving consultant"), coerce=optional_db_id, choices=[], validate_choice=False
    )
    party_size = IntegerField(
        _l("Party size"), default=1, validators=[Checked(sales_fields.PARTY_SIZE)]
    )


class WalkInForm(FlaskForm):
    """A visitor without an appointment; without a phone it is anonymous traffic."""

    name = StringField(_l("Name"), validators=[Checked(lead_fields.NAME)])
    phone = StringField(_l("Phone"), validators=[Optional()])
    series = StringField(_l("Model of interest"), validators=[Checked(lead_fields.SERIES)])
    consultant = SelectField(
        _l("Receiving consultant"), coerce=optional_db_id, choices=[], validate_choice=False
    )
    party_size = IntegerField(
        _l("Party size"), default=1, validators=[Checked(sales_fields.PARTY_SIZE)]
    )
    visit = RadioField(
        _l("Visit"),
        choices=labels.choices("visit_kind"),
        default="first",
    )
    # kept as the lead's comments when the visitor leaves a phone
    note = StringField(_l("Note"), validators=[Checked(lead_fields.COMMENTS)])


class StepForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=40)])
    text = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=2000)])


class SourceSettingsForm(FlaskForm):
    """What an admin may change of a lead source (the slug is its address; it stays)."""

    name = StringField(_l("Source name"), validators=[Checked(lead_fields.SOURCE_NAME)])
    channel = SelectField(_l("Channel"), choices=labels.choices("channel"))
    sub_source = StringField(_l("Sub-source"), validators=[Checked(lead_fields.SUB_SOURCE)])
    auth_mode = SelectField(
        _l("Authentication"),
        choices=[
            SelectChoice("hmac", cast(str, _l("Signed (X-DCC-Signature)"))),
            SelectChoice(
                "hmac_ts",
                cast(str, _l("Signed with a timestamp (X-DCC-Signature + X-DCC-Timestamp)")),
            ),
            SelectChoice("token", cast(str, _l("Static token (X-DCC-Token)"))),
        ],
    )
    auto_dial = BooleanField(_l("Call new leads at once (auto-dial)"))


class SourceForm(SourceSettingsForm):
    slug = StringField(
        _l("Slug (in the webhook URL)"), validators=[Checked(lead_fields.SOURCE_SLUG)]
    )


class ScriptForm(FlaskForm):
    steps = FieldList(FormField(StepForm), min_entries=1, max_entries=12)


class PasswordForm(FlaskForm):
    """A new password, typed twice (the policy is the domain's: dcc.users.passwords)."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=72)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
    )


class UserForm(PasswordForm):
    """A new staff account with its password (``dcc users create --no-password`` makes an
    account that only holds API tokens)."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=80)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=80)])
    role = SelectField(_l("Role"), choices=labels.choices("role"))
    team = StringField(_l("Team"), validators=[Optional(), Length(max=80)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[Optional(), Length(max=80)])
