"""The domain's refusals in the reader's language: chosen by the error's code (never by its
English text), filled with its parameters, a field's problem after the field's name."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from dcc import labels
from dcc.errors import TEXTS, DCCError, Params, plain
from dcc.web.labels import label, shown


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
    return _(TEXTS[error.code]) % Params(params)


def _shown(value: Any) -> Any:
    if isinstance(value, enum.Enum) and type(value) in labels.BY_ENUM:
        return shown(labels.of(value))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(_shown(v)) for v in value)
    return shown(value) if isinstance(value, labels.Label) else plain(value)
