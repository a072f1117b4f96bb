"""Helpers every page shares: who is logged in, role guards, domain errors as flash messages."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from dcc import labels
from dcc.db import get_session
from dcc.errors import TEXTS, DCCError, plain
from dcc.users.models import Role, User
from dcc.web.labels import label, shown

F = TypeVar("F", bound=Callable[..., Any])

#: Where each role starts its day.
HOME = {Role.CLERK: "web_reception.page"}


def me() -> User:
    """The logged-in user's row (views behind ``login_required`` only)."""
    user: User = current_user.user
    return user


def roles(*allowed: Role) -> Callable[[F], F]:
    """Only these roles may open the view; others get 403 (the link is not shown to them)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from dcc.web.auth import login_manager

                return login_manager.unauthorized()
            if me().role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def home_url(user: User) -> str:
    return url_for(HOME.get(user.role, "web_agent.worklist"))


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site: an open redirect would let a link phish our agents."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return fallback


def field_message(field: Any, problem: Any) -> str:
    """``Field: problem`` in the reader's language."""
    return _("%(field)s: %(problem)s", field=field, problem=problem)


def say(error: DCCError, *, fields: Mapping[str, Any] | None = None, **shown: Any) -> str:
    """The domain's refusal in the reader's language, chosen by its code and filled with its
    parameters (an enum by its label). ``shown`` names a parameter as the page knows it (a
    customer by name); a field's problem follows the field's name: its label in ``fields``
    (the form's), else the label table's."""
    problem = problem_of(error, **shown)
    if not error.about_field:
        return problem
    name = (fields or {}).get(error.field or "") or label(error.field, "field")
    return field_message(name, problem)


def problem_of(error: DCCError, **shown: Any) -> str:
    """The code's text in the reader's language, filled in (for a ``field.`` code: the
    problem, without the field's name)."""
    params = {name: _shown(value) for name, value in error.params.items()}
    params.update(shown)
    return _(TEXTS[error.code]) % _Filled(params)


class _Filled(dict[str, Any]):
    """A text's parameters; one the raise left out shows as ``?`` instead of failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def _shown(value: Any) -> Any:
    if isinstance(value, enum.Enum) and type(value) in labels.BY_ENUM:
        return shown(labels.of(value))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(_shown(v)) for v in value)
    return shown(value) if isinstance(value, labels.Label) else plain(value)


def refused(error: DCCError, back: str, **shown: Any) -> Response:
    """Undo the request's writes, tell the user why, and go back to the page."""
    get_session().rollback()
    flash(say(error, **shown), "error")
    return redirect(back)


def back_to(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)
