"""Forms of the manager's pages: the customer list's filters and actions, the review queues.

Action forms carry the session's CSRF token (Flask-WTF); filter forms are GET forms without
one. :func:`flash_errors` names the field of every bad input.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from dcc import access
from dcc.errors import ValidationError
from dcc.leads import fields as lead_fields
from dcc.untrusted import db_id
from dcc.users.models import User
from dcc.web import labels
from dcc.web.forms import Checked, choices
from dcc.web.messages import field_message, say


def optional_id(value: Any) -> int | None:
    """A select's id; the empty placeholder as None (``ValueError`` beyond the id range)."""
    if value is None or value == "":
        return None
    return db_id(value)


def _any(table: str) -> list[SelectChoice]:
    """``—`` (any) first, then the table's codes with their names in the reader's language."""
    return [SelectChoice("", "—"), *labels.choices(table)]


def owners(session: Session, reader: User) -> list[User]:
    """Who may be given leads by the reader (:func:`dcc.access.lead_recipients`)."""
    stmt = select(User).where(access.lead_recipients(reader))
    return list(session.scalars(stmt.order_by(User.role, User.name, User.id)))


def owner_choices(people: list[User]) -> list[SelectChoice]:
    pairs = [(u.id, f"{u.name} · {labels.label(u.role, 'role')}") for u in people]
    return [SelectChoice("", "—"), *choices(pairs)]


class CustomerFilterForm(FlaskForm):
    """The customer list's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or phone"), validators=[Optional(), Length(max=100)])
    grade = SelectField(_l("Grade"), choices=_any("grade"), default="")
    status = SelectField(_l("Status"), choices=_any("lead_status"), default="")
    owner = SelectField(_l("Owner"), coerce=optional_id, choices=[])
    channel = SelectField(_l("Source"), choices=_any("channel"), default="")
    start = DateField(_l("From"), name="from", validators=[Optional()])
    end = DateField(_l("To"), name="to", validators=[Optional()])


class CustomersForm(FlaskForm):
    """The customers ticked in the list (upgrade to fleet)."""

    customer_ids = SelectMultipleField(
        _l("Customers"),
        coerce=db_id,
        validate_choice=False,
        validators=[DataRequired(message=_l("Select at least one customer."))],
    )


class ReassignForm(CustomersForm):
    owner_id = SelectField(
        _l("New owner"),
        coerce=optional_id,
        choices=[],
        validators=[InputRequired(message=_l("Choose the new owner."))],
    )


class MergeForm(CustomersForm):
    """Two steps: the ticked customers are shown to pick the one kept, then merged."""

    survivor_id = SelectField(
        _l("Customer kept"), coerce=optional_id, choices=[], validate_choice=False
    )
    confirm = HiddenField()


class LeadReassignForm(FlaskForm):
    """Reassign one lead (the escalation queues)."""

    owner_id = SelectField(
        _l("New owner"),
        coerce=optional_id,
        choices=[],
        validators=[InputRequired(message=_l("Choose the new owner."))],
    )


class LostDecisionForm(FlaskForm):
    decision = StringField(
        _l("Decision"),
        validators=[AnyOf(["approve", "reject"], message=_l("Confirm or reject the request."))],
    )
    note = StringField(_l("Note"), validators=[Checked(lead_fields.DECISION_NOTE)])


class CommentForm(FlaskForm):
    comment = TextAreaField(
        _l("Comment"),
        validators=[
            DataRequired(message=_l("Write the comment.")),
            Checked(lead_fields.MANAGER_COMMENT),
        ],
    )


class ReviewFilterForm(FlaskForm):
    """The follow-up review's filters (GET)."""

    class Meta:
        csrf = False

    owner = SelectField(_l("Owner"), coerce=optional_id, choices=[])
    start = DateField(_l("From"), name="from", validators=[Optional()])
    end = DateField(_l("To"), name="to", validators=[Optional()])
    uncommented = SelectField(
        _l("Show"),
        choices=[SelectChoice("1", _l("Not commented yet")), SelectChoice("", _l("All"))],
        default="1",
    )


def period_message(error: ValidationError, start: Any, end: Any) -> str:
    """A refused period (:meth:`dcc.reports.period.Period.parse`), naming the form's From or
    To."""
    return say(error, fields={"from": start, "to": end})


def first_errors(form: FlaskForm) -> list[str]:
    """Each bad input's first problem, as a message that names its field."""
    return [field_message(field.label.text, field.errors[0]) for field in form if field.errors]


def flash_errors(form: FlaskForm) -> None:
    """The same messages, flashed for the page the user goes back to."""
    for message in first_errors(form):
        flash(message, "error")
