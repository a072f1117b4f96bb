"""ADF (Auto-lead Data Format 1.0) XML: the car-lead standard, read liberally and safely.

Pure functions, no Flask. :func:`parse` turns a document into the intake's field names plus
everything else the prospect said (kept in the touch details). Real feeds deviate from the DTD,
so element names are matched without namespace and case, optional parts may be missing and
unknown elements are kept. Safety is not negotiable: ``defusedxml`` refuses any DTD, entity
declaration or external reference, and the caller limits the size.

    <?adf version="1.0"?>
    <adf><prospect status="new">
      <id sequence="1" source="autohome">AH-1001</id>
      <requestdate>2026-11-28T09:30:00+08:00</requestdate>
      <vehicle interest="buy" status="new"><year>2026</year><make>丰田</make>
        <model>凯美瑞</model><trim>2.0E 精英版</trim></vehicle>
      <customer><contact><name part="full">王先生</name>
        <phone type="cellphone">138 0013 8000</phone></contact>
        <timeframe><description>一个月内</description></timeframe></customer>
      <vendor><vendorname>DCC 演示 4S 店</vendorname></vendor>
      <provider><name part="full">汽车之家</name></provider>
    </prospect></adf>
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from dcc import clock
from dcc.leads.rules import grade_for_timeframe

#: Phone types that cannot take a call; any other type (or none: the DTD's default is voice)
#: is a number an agent can dial.
NOT_CALLABLE = frozenset({"fax", "pager"})
#: Vehicles the customer offers rather than wants.
NOT_OF_INTEREST = frozenset({"trade-in", "sell"})
#: How deep the details keep a document's structure; deeper parts are kept as text.
MAX_DEPTH = 8
#: Encodings expat reads by itself; any other declared encoding (GB2312, GBK, GB18030 …) is
#: transcoded to UTF-8 first.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "iso-8859-1", "us-ascii"})
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DECLARATION_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")


class AdfError(ValueError):
    """The body is not a safe, well-formed ADF document; the message says why."""


@dataclass
class Prospect:
    """What one ADF prospect says, in the intake's terms.

    ``fields`` uses the JSON field names (``name``, ``brand``, ``series``, ``model``,
    ``model_year``, ``purchase_timeframe``, ``email``, ``city``, ``comments``,
    ``external_id``); ``phones`` lists the callable numbers in document order, not yet
    validated; ``details`` keeps the rest of the document for the touch.
    """

    fields: dict[str, Any] = field(default_factory=dict)
    phones: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def parse(body: bytes, *, charset: str | None = None, today: dt.date | None = None) -> Prospect:
    """Read an ADF document; raises :class:`AdfError` for unsafe or malformed input.

    ``charset`` is the Content-Type's, used when the document does not declare its own.
    ``today`` anchors timeframe dates when the prospect has no ``requestdate``.
    """
    root = _root(body, charset)
    prospects = _children(root, "prospect") if _name(root) == "adf" else [root]
    if _name(root) not in {"adf", "prospect"}:
        raise AdfError(f"body is not an ADF document (root element <{_name(root)}>)")
    if not prospects:
        raise AdfError("body is an ADF document without a <prospect>")
    if len(prospects) > 1:
        raise AdfError("body holds several prospects; send one per delivery")
    return _prospect(prospects[0], today)


def _root(body: bytes, charset: str | None) -> Element:
    data = _as_expat_readable(body, charset)
    try:
        # No DTD at all: ADF feeds do not need one, and it is where entity attacks live.
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise AdfError(f"body: DTDs and entity declarations are refused ({exc})") from exc
    except ParseError as exc:
        raise AdfError(f"body is not well-formed XML: {exc}") from exc


def _as_expat_readable(body: bytes, charset: str | None) -> bytes:
    """Transcode documents in encodings expat lacks (GB2312 / GBK / GB18030) to UTF-8."""
    match = _XML_DECLARATION.match(body)
    encoding = match.group(1).decode("ascii") if match else charset
    if not encoding:
        return body
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise AdfError(f"body: unknown encoding {encoding!r}") from exc
    if name in {"utf-8", "utf-16", "ascii", "latin-1"}:
        return body
    try:
        text = body.decode(name)
    except UnicodeDecodeError as exc:
        raise AdfError(f"body is not valid {encoding}: {exc}") from exc
    # The declaration would name the old encoding; without one, expat reads UTF-8.
    return _DECLARATION_TEXT.sub("", text, count=1).encode("utf-8")


def _prospect(prospect: Element, today: dt.date | None) -> Prospect:
    out = Prospect()
    adf: dict[str, Any] = {}
    if prospect.get("status"):
        adf["status"] = prospect.get("status")

    ids = [
        {"id": _text(e), **{k: v for k, v in e.attrib.items() if k in {"source", "sequence"}}}
        for e in _children(prospect, "id")
        if _text(e)
    ]
    if ids:
        adf["ids"] = ids
        out.fields["external_id"] = ids[0]["id"]

    requested = _text(_child(prospect, "requestdate"))
    if requested:
        adf["requestdate"] = requested

    vehicles = _children(prospect, "vehicle")
    if vehicles:
        adf["vehicles"] = [_vehicle(v) for v in vehicles]
    wanted = next(
        (v for v in vehicles if (v.get("interest") or "buy").lower() not in NOT_OF_INTEREST),
        None,
    )
    comments: list[str] = []
    if wanted is not None:
        make, model, trim, year = (
            _text(_child(wanted, name)) for name in ("make", "model", "trim", "year")
        )
        _put(out.fields, "brand", make)
        _put(out.fields, "series", model)
        _put(out.fields, "model", " ".join(p for p in (model, trim) if p))
        _put(out.fields, "model_year", year)
        _put_comment(comments, _text(_child(wanted, "comments")))

    customer = _child(prospect, "customer")
    if customer is not None:
        _customer(customer, out, adf, comments, _anchor(requested, today))
    for element in _children(prospect, "comments"):  # not in the DTD, but feeds send it
        _put_comment(comments, _text(element))
    if comments:
        out.fields["comments"] = "\n".join(comments)

    for part in ("vendor", "provider"):
        found = _child(prospect, part)
        if found is not None:
            adf[part] = _plain(found)
    known = {"id", "requestdate", "vehicle", "customer", "comments", "vendor", "provider"}
    for element in prospect:
        if isinstance(element.tag, str) and _name(element) not in known:
            adf.setdefault("other", {})[_name(element)] = _plain(element)
    out.details["adf"] = adf
    return out


def _customer(
    customer: Element, out: Prospect, adf: dict[str, Any], comments: list[str], anchor: dt.date
) -> None:
    contacts = _children(customer, "contact")
    contact = next((c for c in contacts if c.get("primarycontact") == "1"), None)
    contact = contact if contact is not None else (contacts[0] if contacts else None)
    if contact is not None:
        _put(out.fields, "name", _full_name(_children(contact, "name")))
        phones = [
            {"number": _text(p), **dict(p.attrib)} for p in _children(contact, "phone") if _text(p)
        ]
        if phones:
            adf["phones"] = phones
        out.phones = [
            p["number"] for p in phones if str(p.get("type", "voice")).lower() not in NOT_CALLABLE
        ]
        _put(out.fields, "email", _text(_child(contact, "email")))
        address = _child(contact, "address")
        if address is not None:
            adf["address"] = _plain(address)
            _put(out.fields, "city", _text(_child(address, "city")))
    timeframe = _child(customer, "timeframe")
    if timeframe is not None:
        adf["timeframe"] = _plain(timeframe)
        _put(out.fields, "purchase_timeframe", _timeframe(timeframe, anchor))
    _put_comment(comments, _text(_child(customer, "comments")))


def _vehicle(vehicle: Element) -> dict[str, Any]:
    """A vehicle for the details: attributes (interest, status) and children by name."""
    out: dict[str, Any] = {_local(k): v for k, v in vehicle.attrib.items()}
    for child in vehicle:
        if isinstance(child.tag, str):
            _add(out, _name(child), _plain(child, 1))
    return out


def _full_name(names: list[Element]) -> str:
    """``part="full"`` if given; else first and last, surname first for Chinese names."""
    parts: dict[str, str] = {}
    for element in names:
        part = (element.get("part") or "full").lower()
        if _text(element) and part not in parts:
            parts[part] = _text(element)
    if "full" in parts:
        return parts["full"]
    first, last = parts.get("first", ""), parts.get("last", "")
    if _has_cjk(first + last):
        return last + first
    return " ".join(p for p in (first, parts.get("middle", ""), last) if p)


def _timeframe(timeframe: Element, anchor: dt.date) -> str | None:
    """The description if it says something; else how far the latest (or earliest) date is.

    The phrases are the ones :func:`dcc.leads.rules.grade_for_timeframe` grades.
    """
    description = _text(_child(timeframe, "description"))
    when = _date(_text(_child(timeframe, "latestdate"))) or _date(
        _text(_child(timeframe, "earliestdate"))
    )
    if when is None:
        return description or None
    days = (when - anchor).days
    if days <= 7:
        phrase = "within 7 days"
    elif days <= 31:
        phrase = "within 1 month"
    elif days <= 92:
        phrase = "1-3 months"
    else:
        phrase = "later than 3 months"
    if description:
        if grade_for_timeframe(description).value != "N":
            return description
        return f"{description} ({phrase})"
    return f"{phrase} (by {when.isoformat()})"


def _anchor(requested: str, today: dt.date | None) -> dt.date:
    return _date(requested) or today or clock.now().date()


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(text.strip()[:10])
        except ValueError:
            return None


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def _put_comment(comments: list[str], text: str) -> None:
    if text and text not in comments:
        comments.append(text)


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and str(value).strip():
        target[key] = str(value).strip()


def _name(element: Element) -> str:
    """The element's local name, lower-cased: ``{urn:x}Vehicle`` -> ``vehicle``."""
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _children(element: Element, name: str) -> list[Element]:
    return [c for c in element if isinstance(c.tag, str) and _name(c) == name]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next(iter(_children(element, name)), None)


def _text(element: Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _plain(element: Element, depth: int = 0) -> Any:
    """An element as JSON: its text, or a dict of attributes and children (repeats as lists).

    Below :data:`MAX_DEPTH` levels only the text is kept: a hostile document nests deep.
    """
    children = [c for c in element if isinstance(c.tag, str)]
    if (not children and not element.attrib) or depth >= MAX_DEPTH:
        return _text(element)
    out: dict[str, Any] = {f"@{_local(k)}": v for k, v in element.attrib.items()}
    for child in children:
        _add(out, _name(child), _plain(child, depth + 1))
    own = " ".join((element.text or "").split())
    if own:
        out["#text"] = own
    return out


def _add(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``out[key]``; a repeated key becomes a list."""
    if key not in out:
        out[key] = value
    elif isinstance(out[key], list):
        out[key].append(value)
    else:
        out[key] = [out[key], value]


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]
