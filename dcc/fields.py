"""Field rules: what one input field accepts, checked the same way wherever it is entered.

An area declares its rules next to its models (:mod:`dcc.leads.fields`), taking lengths from
the columns and choices from the enums. The JSON API's schema, the lead webhook and the web
forms all call :meth:`Rule.clean`, so the three accept and refuse the same values. A refusal
is a :class:`~dcc.errors.ValidationError` with a ``field.`` code naming the field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from dcc.errors import ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Words a form, a portal or an API client uses for yes and no.
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "是", "同意"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "否", "不同意"})


def blank(value: Any) -> bool:
    """Nothing given: absent, None, or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def column_length(column: InstrumentedAttribute[Any]) -> int:
    """The most characters ``column`` holds: its VARCHAR length, or ``info["max_length"]``
    for a TEXT column (the database would take more; the product does not)."""
    prop = column.property
    (col,) = prop.columns
    length = getattr(col.type, "length", None) or col.info.get("max_length")
    if not length:
        raise LookupError(f"{column} has no length: give it info={{'max_length': N}}")
    return int(length)


def column_range(column: InstrumentedAttribute[Any]) -> tuple[int, int]:
    """The range a numeric ``column`` accepts, from its ``info["range"]``."""
    (col,) = column.property.columns
    low, high = col.info["range"]
    return int(low), int(high)


@dataclass(frozen=True)
class Rule:
    """One field: its name as the API and the forms call it, and whether it is required."""

    name: str
    required: bool = field(default=False, kw_only=True)

    def clean(self, value: Any) -> Any:
        """The value as the domain takes it (None when blank and optional), or a refusal."""
        if blank(value):
            if self.required:
                raise self.refuse("field.required")
            return None
        return self.parse(value)

    def parse(self, value: Any) -> Any:
        return value

    def refuse(self, code: str, **params: Any) -> ValidationError:
        return ValidationError(code, field=self.name, **params)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI properties that document the rule."""
        return {}


@dataclass(frozen=True, kw_only=True)
class Text(Rule):
    """Text, trimmed, of at most ``max_length`` characters. A number counts as its digits:
    feeds and scripts send a budget of 15.5 or an id of 1001 unquoted."""

    max_length: int = 0

    def parse(self, value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.refuse("field.not_text")
        text = value.strip()
        if len(text) > self.max_length:
            raise self.refuse("field.too_long", max=self.max_length)
        return text

    def openapi(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length}


@dataclass(frozen=True, kw_only=True)
class Email(Text):
    def parse(self, value: Any) -> str:
        text = super().parse(value)
        if not _EMAIL.match(text):
            raise self.refuse("field.not_email")
        return text

    def openapi(self) -> dict[str, Any]:
        return {**super().openapi(), "format": "email"}


@dataclass(frozen=True, kw_only=True)
class Integer(Rule):
    """A whole number from ``minimum`` to ``maximum``; digits in a string count too."""

    minimum: int = 0
    maximum: int = 0

    def parse(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.refuse("field.not_integer")
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            raise self.refuse("field.not_integer")
        number = int(text)
        if not self.minimum <= number <= self.maximum:
            raise self.refuse("field.out_of_range", min=self.minimum, max=self.maximum)
        return number

    def openapi(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True, kw_only=True)
class Choice(Rule):
    """One of ``choices`` (an enum's values, or some of them)."""

    choices: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, members: Iterable[enum.Enum], *, required: bool = False) -> Choice:
        return cls(name, required=required, choices=tuple(str(m.value) for m in members))

    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or value.strip() not in self.choices:
            raise self.refuse("field.bad_choice", choices=list(self.choices))
        return value.strip()

    def openapi(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True, kw_only=True)
class Boolean(Rule):
    """True or false; ``yes``/``no``, ``1``/``0``, ``是``/``否`` … as forms and portals send."""

    def clean(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            return False
        if isinstance(value, int | str) and str(value).strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return str(value).strip().lower() in TRUE_WORDS
        raise self.refuse("field.not_boolean")

    def openapi(self) -> dict[str, Any]:
        return {"type": "boolean"}
