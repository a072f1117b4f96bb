"""Input from outside, read once and refused whole when it cannot be stored as it is.

Every path in (the JSON API, the lead webhook, Twilio's callbacks, the pages' forms and query
strings, headers, ids in URLs) passes through the rules here, underneath the per-field rules:

- **JSON** is read by :func:`loads`: ``NaN``, ``Infinity``, a number beyond a double's range
  (``1e400``) and an integer of more than :data:`MAX_INT_DIGITS` digits are refused wherever
  they stand, in a known field or an unknown one (an unknown field is stored with the lead).
- **Text** obeys :func:`check_text`: no NUL (PostgreSQL cannot store it) and no lone UTF-16
  surrogate (``\\ud800``: not a character; it cannot be encoded to be stored or shown).
- **Ids** are database integers: :data:`MAX_ID` at most. :class:`IdConverter` answers a larger
  one in a URL, and :func:`db_id` one in a form or a query string.

Refusals are :class:`~dcc.errors.MalformedInput` (400) naming the field; nothing is written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Rule

from dcc.errors import MalformedInput

#: The largest value of the database's INTEGER columns (PostgreSQL ``integer``): every id.
MAX_ID = 2**31 - 1
#: Longer integers are no data a dealership sends; Python itself stops at 4,300 digits.
MAX_INT_DIGITS = 100
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
#: JSON escapes that may decode to a NUL or a surrogate; a body without them needs no walk.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
#: Paths that read and check their own raw body (the lead webhook signs the exact bytes).
RAW_BODY_PREFIXES = ("/webhooks/leads/",)
#: Paths whose clients read JSON errors; the pages get an HTML error page.
JSON_PREFIXES = ("/api/", "/webhooks/")


def check_text(value: str, field: str) -> None:
    """Refuse text that cannot be stored: a NUL or a lone surrogate."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise MalformedInput("field.nul", field=field)
    raise MalformedInput(
        "field.lone_surrogate", field=field, character=f"\\u{ord(found.group()):04x}"
    )


def check_tree(value: Any, field: str = "body") -> None:
    """:func:`check_text` on every key and string of a decoded JSON value, and refuse the
    numbers :func:`loads` marked. ``field`` names the top; nested fields are dotted paths."""
    stack: list[tuple[Any, str | None]] = [(value, None)]
    while stack:
        item, path = stack.pop()
        where = path or field
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(key, where)
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{i}" if path else str(i)) for i, child in enumerate(item))
        elif isinstance(item, _Refused):
            raise MalformedInput(item.code, field=where, **item.params)


class _Refused:
    """A number JSON may spell but the service cannot keep; reported with its field."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params


class _Numbers:
    """Number hooks for :func:`json.loads` that mark what must be refused instead of failing
    at once, so that the refusal can name the field the number stood in."""

    def __init__(self) -> None:
        self.refused = False

    def constant(self, name: str) -> Any:
        self.refused = True
        return _Refused("field.not_a_json_number", value=name)

    def float(self, text: str) -> Any:
        number = float(text)
        if math.isfinite(number):
            return number
        self.refused = True
        return _Refused("field.number_out_of_range", value=text)

    def int(self, text: str) -> Any:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            self.refused = True
            return _Refused("field.too_many_digits", max=MAX_INT_DIGITS)
        return int(text)


def loads(data: str | bytes, *, field: str = "body") -> Any:
    """Decode a JSON document under the rules above; :class:`MalformedInput` otherwise."""
    if isinstance(data, bytes):
        try:
            data = data.decode(json.detect_encoding(data))
        except UnicodeDecodeError as exc:
            raise MalformedInput("field.bad_encoding", field=field) from exc
    numbers = _Numbers()
    try:
        value = json.loads(
            data, parse_constant=numbers.constant, parse_float=numbers.float, parse_int=numbers.int
        )
    except json.JSONDecodeError as exc:
        raise MalformedInput("field.not_json", field=field, detail=str(exc)) from exc
    except RecursionError as exc:
        raise MalformedInput("field.too_deep", field=field) from exc
    if numbers.refused or _SUSPECT_ESCAPE.search(data):
        check_tree(value, field)
    return value


def check_pairs(pairs: MultiDict[str, str] | Mapping[str, Any], where: str) -> None:
    """:func:`check_text` on the names and values of a query string or a form."""
    items: Iterable[tuple[str, Any]] = (
        pairs.items(multi=True) if isinstance(pairs, MultiDict) else pairs.items()
    )
    for name, value in items:
        check_text(name, where)
        if isinstance(value, str):
            check_text(value, name)


def db_id(value: Any) -> int:
    """An id from a form or a query string; ``ValueError`` (a form's or ``args.get``'s "not
    valid") when it is not a whole number from 1 to :data:`MAX_ID`."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        raise ValueError(f"not an id (1 to {MAX_ID})")
    if not 1 <= int(text) <= MAX_ID:
        raise ValueError(f"not an id (1 to {MAX_ID})")
    return int(text)


def optional_db_id(value: Any) -> int | None:
    """A form's optional id: blank (or a select's ``0``, "none") is None, else :func:`db_id`.

    Fit for a WTForms ``coerce`` or ``filters``: its ``ValueError`` makes the form invalid."""
    if value is None or (isinstance(value, str) and value.strip() in {"", "0"}) or value == 0:
        return None
    return db_id(value)


class IdOutOfRange(BadRequest):
    """An id in a URL that no row can have; ``data`` names the field for JSON clients."""

    def __init__(self, field: str, value: str) -> None:
        shown = value if len(value) <= 30 else value[:27] + "..."
        text = f"{shown} is not an id (ids run from 1 to {MAX_ID})"
        super().__init__(f"{field}: {text}")
        self.field = field
        self.data = {"messages": {"path": {field: [text]}}}


class PageInputRefused(BadRequest):
    """A page's request with input no service accepts (a NUL, bad UTF-8 …): a 400 whose
    page says :attr:`error` in the reader's language."""

    def __init__(self, error: MalformedInput) -> None:
        super().__init__(error.message)
        self.error = error


class IdConverter(IntegerConverter):
    """Every ``<int:…>`` of the service is an id: one beyond :data:`MAX_ID` is a 400."""

    field = "id"

    def to_python(self, value: str) -> Any:
        if len(value) > len(str(MAX_ID)) or int(value) > MAX_ID:
            raise IdOutOfRange(self.field, value)
        return super().to_python(value)


class NamedIdRule(Rule):
    """Tells each id converter the name of its variable, so a refusal names the field."""

    def get_converter(
        self,
        variable_name: str,
        converter_name: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> Any:
        converter = super().get_converter(variable_name, converter_name, args, kwargs)
        if isinstance(converter, IdConverter):
            converter.field = variable_name
        return converter


class StrictJSONProvider(DefaultJSONProvider):
    """``request.get_json()`` everywhere reads JSON by :func:`loads`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


def _check_request() -> None:
    """Path, query string, headers (an ``Idempotency-Key`` is stored) and form of every
    request; the lead webhook checks its own body. Every request pays this, so the raw
    query string and headers are scanned first, and parsed only when something is there."""
    environ = request.environ
    try:
        check_pairs(request.view_args or {}, "path")
        query = environ.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:  # decoding turns nothing else into a NUL
            check_pairs(request.args, "query")
        headers = "".join(v for k, v in environ.items() if k[:5] == "HTTP_" and type(v) is str)
        if _FORBIDDEN.search(headers):
            check_pairs(dict(request.headers.items()), "header")
        if request.mimetype in {
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        } and not request.path.startswith(RAW_BODY_PREFIXES):
            check_pairs(request.form, "form")
    except MalformedInput as error:
        if request.path.startswith(JSON_PREFIXES):
            raise
        raise PageInputRefused(error) from error


def init_app(app: Flask) -> None:
    """Install the rules; before any route is added, so every ``<int:…>`` is an id."""
    app.json = StrictJSONProvider(app)
    app.url_rule_class = NamedIdRule
    app.url_map.converters["int"] = IdConverter
    app.before_request(_check_request)
