"""Reading the app's TwiML: the verbs of a document and the targets of a ``<Dial>``.

The documents come from the app under test, which the simulator trusts; ``xml.etree`` is
enough (it does not fetch external entities).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

DEFAULT_EVENTS = frozenset({"completed"})

#: Twilio rings at most this many ``<Number>`` / ``<Client>`` / ``<Sip>`` nouns at once.
MAX_DIAL_NOUNS = 10
RINGABLE_NOUNS = frozenset({"Number", "Client", "Sip"})

#: Twilio's error codes for documents it cannot run.
PARSE_FAILURE = 12100  # Document parse failure
SCHEMA_FAILURE = 12200  # Schema validation warning (the document is not run)
DIAL_IN_WHISPER = 13201  # Dial: Cannot Dial out from a Dial Call Segment


class TwimlError(ValueError):
    """The app answered a document Twilio would not run; ``code`` is Twilio's error code."""

    def __init__(self, message: str, code: int = PARSE_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def parse_document(text: str, *, whisper: bool = False) -> list[ET.Element]:
    """The verbs of a TwiML document, in order; TwimlError for what Twilio refuses.

    ``whisper`` marks a ``<Number url>`` / ``<Client url>`` document, run on the called
    party's leg before the bridge: it may not ``<Dial>``.
    """
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"Document parse failure: not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"Document parse failure: root element is <{root.tag}>, not <Response>")
    for dial in root.iter("Dial"):
        if whisper:
            raise TwimlError("Dial: Cannot Dial out from a Dial Call Segment", DIAL_IN_WHISPER)
        nouns = [noun for noun in dial if noun.tag in RINGABLE_NOUNS]
        if len(nouns) + (1 if (dial.text or "").strip() else 0) > MAX_DIAL_NOUNS:
            raise TwimlError(
                f"Schema validation warning: <Dial> rings at most {MAX_DIAL_NOUNS} "
                f"<Number>/<Client>/<Sip> nouns at once, this one has {len(nouns)}",
                SCHEMA_FAILURE,
            )
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
    url_method: str = "POST"
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
                url_method=noun.get("method", "POST"),
                machine_detection=noun.get("machineDetection"),
            )
        )
    return targets
