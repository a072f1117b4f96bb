"""``<Gather>``: the prompt plays, and the party presses the keys its behaviour scripts.

A party with ``press`` set presses those keys ``press_after`` seconds into the Gather (prompt
included) if the Gather still listens then; a voicemail never presses anything. With keys,
the ``action`` URL (default: the current document's URL) is requested with ``Digits`` and its
TwiML replaces the document; without, the next verb runs (or, with
``actionOnEmptyResult="true"``, the action is requested with empty ``Digits``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from telephony.simulator.flow import CLOSED, DEADLINE, SIGNAL, STOP, TIME, Next
from telephony.simulator.twiml_reader import number_attr

if TYPE_CHECKING:
    from telephony.simulator.runner import CallRunner


def listen(
    runner: CallRunner, verb: ET.Element, *, wake: Callable[[], bool] | None = None
) -> tuple[str, str | None]:
    """Play the prompt and wait for keys: (TIME, keys or None), or the interrupting outcome
    of :meth:`CallRunner.wait` (SIGNAL, DEADLINE, CLOSED) with None."""
    prompt = sum(runner.verb_seconds(child) for child in verb)
    listening = prompt + number_attr(verb, "timeout", 5)
    behaviour = runner.leg.behaviour
    keys = behaviour.keys_pressed() if "dtmf" in verb.get("input", "dtmf") else None
    if keys is not None and behaviour.press_after <= listening:
        outcome = runner.wait(runner.t + behaviour.press_after, wake=wake)
        if outcome != TIME:
            return outcome, None
        wanted = int(number_attr(verb, "numDigits", 0))
        return TIME, keys[:wanted] if wanted > 0 else keys
    return runner.wait(runner.t + listening, wake=wake), None


def wants_action(verb: ET.Element, keys: str | None) -> bool:
    """True when the Gather's action is requested: keys came, or empty results are asked for."""
    return keys is not None or verb.get("actionOnEmptyResult") == "true"


def action_params(keys: str | None) -> dict[str, str]:
    """What Twilio adds to the Gather action request."""
    return {"Digits": keys or "", "FinishedOnKey": ""}


def perform(runner: CallRunner, verb: ET.Element) -> Next:
    """Run a ``<Gather>`` of the leg's document."""
    outcome, keys = listen(runner, verb)
    if outcome in {DEADLINE, CLOSED}:
        return runner.hang_up()
    if outcome == SIGNAL:
        return None  # the runner obeys the REST request that interrupted the Gather
    if not wants_action(verb, keys):
        return None
    action = runner.url(verb.get("action") or runner.doc_url)
    verbs = runner.fetch(action, verb.get("method", "POST"), action_params(keys), kind="gather")
    return STOP if verbs is None else verbs
