"""Reading the app's TwiML: the verbs of a document and the targets of a ``<Dial>``.

The documents come from the app under test, which the simulator trusts; ``xml.etree`` is
enough (it does not fetch external entities).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

DEFAULT_EVENTS = frozenset({"completed"})


class TwimlError(ValueError):
    """The app answered something that is not a TwiML ``<Response>`` document."""


def parse_document(text: str) -> list[ET.Element]:
    """The verbs of a TwiML document, in order."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return list(root)


def parse_events(value: str | None, *, has_callback: bool) -> frozenset[str]:
    """``statusCallbackEvent`` values (space- or comma-separated, possibly repeated).

    Twilio sends only ``completed`` when a status callback is given without events.
    """
    if not has_callback:
        return frozenset()
    events = frozenset(e for e in re.split(r"[\s,]+", value or "") if e)
    return events or DEFAULT_EVENTS


def number_attr(element: ET.Element, name: str, default: float) -> float:
    """A numeric attribute, or ``default`` when absent or malformed (Twilio ignores those)."""
    try:
        return float(element.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class DialTarget:
    """One noun of a ``<Dial>``: a number, a client, a queue, or something not simulated."""

    kind: str  # number | client | queue | unsupported
    address: str
    status_callback: str | None = None
    status_events: frozenset[str] = frozenset()
    status_callback_method: str = "POST"
    url: str | None = None
    machine_detection: str | None = None


def _client_identity(noun: ET.Element) -> str:
    identity = noun.find("Identity")
    if identity is not None and identity.text:
        return identity.text.strip()
    return (noun.text or "").strip()


def dial_targets(dial: ET.Element) -> list[DialTarget]:
    """The targets of a ``<Dial>``; a bare number as its text counts as one ``<Number>``."""
    targets: list[DialTarget] = []
    text = (dial.text or "").strip()
    if text:
        targets.append(DialTarget("number", text))
    for noun in dial:
        if noun.tag == "Queue":
            targets.append(DialTarget("queue", (noun.text or "").strip(), url=noun.get("url")))
            continue
        if noun.tag == "Number":
            address = (noun.text or "").strip()
        elif noun.tag == "Client":
            address = "client:" + _client_identity(noun)
        else:
            targets.append(DialTarget("unsupported", noun.tag))
            continue
        callback = noun.get("statusCallback")
        targets.append(
            DialTarget(
                noun.tag.lower(),
                address,
                status_callback=callback,
                status_events=parse_events(
                    noun.get("statusCallbackEvent"), has_callback=bool(callback)
                ),
                status_callback_method=noun.get("statusCallbackMethod", "POST"),
                url=noun.get("url"),
                machine_detection=noun.get("machineDetection"),
            )
        )
    return targets
