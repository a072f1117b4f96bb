"""Screening: the ``<Number url>`` / ``<Client url>`` TwiML run on an answered ``<Dial>`` leg.

Twilio runs that document on the called party's leg after they answer and before the bridge
(a *whisper*): ``<Say>`` / ``<Play>`` / ``<Pause>``, ``<Gather>`` (whose action TwiML goes on
in the same place), ``<Redirect>`` and ``<Hangup>``; a ``<Dial>`` there is refused (13201).
If the document runs to its end the leg is bridged; if it hangs up — typically after a
``<Gather numDigits="1">`` that got no key, which is what a voicemail does — that leg ends and
is never bridged, while the ``<Dial>``'s other legs keep ringing.

Each screened leg plays out in a thread of its own; the ``<Dial>``'s runner waits for its
:class:`Screen` to be decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.simulator.records import Leg

if TYPE_CHECKING:
    from telephony.simulator.runner import CallRunner


@dataclass
class Screen:
    """How screening a leg turned out: ``screening`` -> ``accepted`` or ``refused``."""

    state: str = "screening"
    t: float = 0.0  # virtual time of the decision


def start(dialer: CallRunner, child: Leg, url: str, method: str = "POST") -> Screen:
    """Start screening the answered ``child`` of ``dialer``'s ``<Dial>`` with ``url``'s TwiML."""
    screen = Screen(t=dialer.t)
    runner = type(dialer)(dialer.engine, child)
    runner.t = dialer.t
    runner.doc_url = dialer.doc_url
    runner.whisper = True
    address = dialer.url(url)
    dialer.engine.spawn(lambda: _run(runner, address, method, screen), f"{child.sid}-screen")
    return screen


def _run(runner: CallRunner, url: str, method: str, screen: Screen) -> None:
    engine, leg = runner.engine, runner.leg
    accepted = False
    try:
        verbs = runner.fetch(url, method, kind="whisper")
        if verbs is not None and not leg.ended:
            runner.execute(verbs)
            accepted = not leg.ended
    finally:
        if not accepted and not leg.ended:
            runner.hang_up()
        with engine.cv:
            screen.state = "accepted" if accepted else "refused"
            screen.t = runner.t
            engine.cv.notify_all()
