"""A lead delivery's body -> :class:`dcc.leads.intake.LeadInput`, or named errors. No Flask.

Three formats, picked by the Content-Type: JSON, an HTML form (urlencoded) and ADF XML. JSON
and form share one field list (:data:`FIELDS`); unknown fields are ignored but kept in the
touch details (``details["extra"]``), since real feeds add fields without notice. ADF
(:mod:`webhooks.adf`) maps onto the same fields and is read liberally: an optional value that
does not validate (an e-mail, a year, a second phone) is kept in the details instead of
refusing the lead. Only the phone decides whether a lead can be taken.

Underneath, every format obeys :mod:`dcc.untrusted`: JSON is read by its strict reader (no
``NaN``, ``1e400`` or endless integers, even in unknown fields), and no text may hold a NUL or
a lone surrogate. (XML cannot carry either: the parser refuses them as characters.)
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from typing import Any

from dcc import phones, untrusted
from dcc.errors import DCCError, InvalidPhoneNumber, MalformedInput, ValidationError
from dcc.fields import Text
from dcc.leads import fields as lead_fields
from dcc.leads.intake import LeadInput
from webhooks import adf

JSON_TYPES = frozenset({"application/json", "text/json"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded"})
XML_TYPES = frozenset({"application/xml", "text/xml", "application/x-adf+xml"})

#: The fields a delivery may carry (their rules: :mod:`dcc.leads.fields`); others are kept.
FIELDS = frozenset({*lead_fields.ENQUIRY, "phone", "alt_phone"})
#: Unknown fields are stored as they came; real feeds never nest this deep.
MAX_JSON_DEPTH = 16


class UnsupportedContentType(DCCError):
    status_code = 415


class MalformedBody(MalformedInput):
    """The body cannot be read at all (bad JSON, bad XML, a DTD, a wrong charset)."""


class InvalidFields(ValidationError):
    """One or more fields are wrong: the first one's code and message, and for every field
    its problem (``errors``) and its code (``codes``)."""

    def __init__(self, problems: Mapping[str, DCCError]) -> None:
        self.problems = dict(problems)
        first = next(iter(self.problems.values()))
        super().__init__(first.code, field=first.field, **first.params)
        self.errors = {name: [problem.problem] for name, problem in self.problems.items()}

    def to_dict(self) -> dict[str, object]:
        codes = {name: problem.code for name, problem in self.problems.items()}
        return {**super().to_dict(), "errors": self.errors, "codes": codes}


def parse(
    body: bytes,
    content_type: str | None,
    *,
    region: str = "CN",
    today: dt.date | None = None,
) -> LeadInput:
    """Read a delivery; raises :class:`UnsupportedContentType`, :class:`MalformedBody` or
    :class:`InvalidFields` (all :class:`~dcc.errors.DCCError`)."""
    mimetype, charset = _content_type(content_type)
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        return build(_json(body, charset), region=region, details={"format": "json"})
    if mimetype in FORM_TYPES:
        return build(_form(body, charset), region=region, details={"format": "form"})
    if mimetype in XML_TYPES or mimetype.endswith("+xml"):
        try:
            prospect = adf.parse(body, charset=charset, today=today)
        except adf.AdfError as exc:
            raise MalformedBody("body.unreadable", field="body", detail=str(exc)) from exc
        return build(
            prospect.fields,
            phones_found=prospect.phones,
            region=region,
            details={"format": "adf", **prospect.details},
            lenient=True,
        )
    accepted = ", ".join(sorted(JSON_TYPES | FORM_TYPES | XML_TYPES))
    raise UnsupportedContentType(
        "body.unsupported_type", field="Content-Type", type=mimetype or "missing", accepted=accepted
    )


def build(
    fields: Mapping[str, Any],
    *,
    region: str = "CN",
    details: dict[str, Any] | None = None,
    phones_found: list[str] | None = None,
    lenient: bool = False,
) -> LeadInput:
    """Validate ``fields`` (the JSON names) into a :class:`LeadInput`.

    Every bad field is reported at once. ``lenient`` (ADF) truncates over-long text and moves
    bad optional values to ``details["rejected"]``; ``phones_found`` is the ADF's callable
    numbers in order: the first valid one is ``phone``, the next ``alt_phone``.
    """
    details = dict(details or {})
    problems: dict[str, DCCError] = {}
    rejected: dict[str, Any] = {}
    values: dict[str, Any] = {}
    extra = {k: v for k, v in fields.items() if k not in FIELDS}
    if extra:
        details["extra"] = extra

    def bad(name: str, problem: DCCError, *, optional: bool = True) -> None:
        if lenient and optional:
            rejected[name] = {"value": fields.get(name), "error": problem.problem}
        else:
            problems.setdefault(name, problem)

    if phones_found is not None:
        phone, alt_phone = _pick_phones(phones_found, region)
        values["phone"], values["alt_phone"] = phone, alt_phone
    else:
        values["phone"], values["alt_phone"] = fields.get("phone"), fields.get("alt_phone")
    for name in ("phone", "alt_phone"):
        raw = values[name]
        if name == "alt_phone" and _blank(raw):
            values[name] = None
            continue
        if raw is not None and not isinstance(raw, str | int):
            bad(name, ValidationError("field.not_text", field=name), optional=name != "phone")
            values[name] = None
            continue
        try:
            values[name] = phones.normalize(None if _blank(raw) else str(raw), region, field=name)
        except InvalidPhoneNumber as exc:
            bad(name, exc, optional=name != "phone")
            values[name] = None

    for name, rule in lead_fields.ENQUIRY.items():
        raw = fields.get(name)
        if lenient and isinstance(rule, Text) and isinstance(raw, str):
            raw = raw.strip()[: rule.max_length]  # ADF keeps what fits
        try:
            values[name] = rule.clean(raw)
        except ValidationError as problem:
            bad(name, problem)

    if problems:
        raise InvalidFields(problems)
    if rejected:
        details["rejected"] = rejected
    return LeadInput(
        phone=values["phone"],
        alt_phone=values.get("alt_phone"),
        name=values.get("name") or "",
        email=values.get("email"),
        city=values.get("city"),
        brand=values.get("brand"),
        series=values.get("series"),
        model=values.get("model"),
        model_year=values.get("model_year"),
        budget=values.get("budget"),
        purchase_timeframe=values.get("purchase_timeframe"),
        comments=values.get("comments"),
        consent=values.get("consent") or False,
        external_id=values.get("external_id"),
        details=details,
    )


def _pick_phones(found: list[str], region: str) -> tuple[str | None, str | None]:
    """The first valid number, and the next different valid one; an invalid number is
    skipped when a valid one follows (it stays in the ADF details)."""
    valid: list[str] = []
    for raw in found:
        try:
            number = phones.normalize(raw, region)
        except InvalidPhoneNumber:
            continue
        if number not in valid:
            valid.append(number)
    if not valid:
        return (found[0] if found else None), None
    return valid[0], (valid[1] if len(valid) > 1 else None)


def _content_type(header: str | None) -> tuple[str, str | None]:
    """``"application/json; charset=GBK"`` -> ``("application/json", "GBK")``."""
    mimetype, _, rest = (header or "").partition(";")
    charset = None
    for param in rest.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return mimetype.strip().lower(), charset


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8")
    except LookupError as exc:
        raise MalformedBody(
            "body.unreadable", field="body", detail=f"unknown charset {charset!r}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise MalformedBody(
            "body.unreadable", field="body", detail=f"not valid {charset or 'UTF-8'}"
        ) from exc


def _json(body: bytes, charset: str | None) -> dict[str, Any]:
    try:
        data = untrusted.loads(_decode(body, charset))
    except MalformedInput as exc:
        raise MalformedBody(exc.code, field=exc.field, **exc.params) from exc
    if not isinstance(data, dict):
        raise MalformedBody("body.not_an_object", field="body")
    if _depth(data) > MAX_JSON_DEPTH:
        raise MalformedBody("body.too_deep", field="body", depth=MAX_JSON_DEPTH)
    return data


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _form(body: bytes, charset: str | None) -> dict[str, Any]:
    """An urlencoded form; a repeated field keeps its first value (all of them if unknown)."""
    try:
        text = body.decode("ascii")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, encoding=charset or "utf-8", errors="strict"
        )
    except (UnicodeDecodeError, LookupError) as exc:
        raise MalformedBody(
            "body.unreadable", field="body", detail=f"not a form in {charset or 'UTF-8'}: {exc}"
        ) from exc
    out: dict[str, Any] = {}
    for key, value in pairs:
        untrusted.check_text(key, "body")
        untrusted.check_text(value, key)
        if key not in out:
            out[key] = value
        elif key not in FIELDS:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
