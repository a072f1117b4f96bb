"""Scriptable behaviour of the party behind a number (customer phone, agent phone or client).

All times are simulated seconds; the simulator's ``speed`` turns them into real time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

#: Length of a conversation when neither party's ``hangup_after`` is scripted.
DEFAULT_TALK = 5.0

#: What answering-machine detection may report (Twilio's ``AnsweredBy`` values).
ANSWERED_BY = frozenset(
    {
        "human",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)


@dataclass(frozen=True)
class Behaviour:
    """How a party answers and how long it stays.

    - ``answer_after``: seconds of ringing before answering (no answer if >= the ring timeout).
    - ``hangup_after``: seconds the party talks once bridged to someone, then hangs up. In a
      bridge the party with the smaller value hangs up first (the callee on a tie); a party
      left unscripted (``None``) defers to the other's script, and when neither is scripted
      the conversation lasts :data:`DEFAULT_TALK` seconds. So scripting only the customer's
      ``hangup_after=42`` gives a 42 s conversation.
    - ``abandon_after``: patience while alone (in a queue, hearing prompts, waiting for the
      agents' phones to be answered), after which the party hangs up.
    - ``busy`` / ``no_answer`` / ``fail``: the leg ends ``busy``, rings until the timeout
      (``no-answer``), or ``failed``.
    - ``voicemail``: a machine answers; ``AnsweredBy=machine_start`` when detection was asked.
    - ``sms_fail``: messages to this number end ``undelivered``.
    - ``press``: the keys the party presses at a ``<Gather>`` (``"1"`` accepts a screened
      call, presses 1 in a queue's wait music); ``None`` presses nothing. A voicemail never
      presses a key.
    - ``press_after``: seconds after the ``<Gather>`` starts (its prompt included) that the
      keys are pressed; a party still listening when the Gather times out has pressed nothing.
    - ``amd``: what answering-machine detection reports (``AnsweredBy``) when asked; unset,
      it says ``machine_start`` for a voicemail and ``human`` otherwise.
    - ``duplicate_events`` / ``reorder_events``: chaos for this party's legs; ``None`` uses the
      simulator's setting.
    """

    answer_after: float = 1.0
    hangup_after: float | None = None
    abandon_after: float = 60.0
    busy: bool = False
    no_answer: bool = False
    fail: bool = False
    voicemail: bool = False
    sms_fail: bool = False
    press: str | None = None
    press_after: float = 1.0
    amd: str | None = None
    duplicate_events: float | None = None
    reorder_events: bool | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: Behaviour | None = None) -> Behaviour:
        """Build a behaviour from JSON-ish data, starting from ``base``; unknown keys raise."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown behaviour keys: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "duplicate_events":
                values[key] = None if value is None else probability(value)
            elif key == "reorder_events":
                values[key] = None if value is None else bool(value)
            elif key in {"hangup_after", "press", "amd"} and value is None:
                values[key] = None
            elif key == "press":
                keys = str(value)
                if not keys or any(k not in "0123456789*#" for k in keys):
                    raise ValueError("press must be keys of a phone pad: 0-9, * and #")
                values[key] = keys
            elif key == "amd":
                if value not in ANSWERED_BY:
                    raise ValueError(f"amd must be one of {', '.join(sorted(ANSWERED_BY))}")
                values[key] = value
            elif key in {"answer_after", "hangup_after", "abandon_after", "press_after"}:
                number = float(value)
                if number < 0:
                    raise ValueError(f"{key} must not be negative")
                values[key] = number
            else:
                values[key] = bool(value)
        return replace(base or cls(), **values)

    def answered_by(self) -> str:
        """What answering-machine detection reports for this party."""
        if self.amd is not None:
            return self.amd
        return "machine_start" if self.voicemail else "human"

    def keys_pressed(self) -> str | None:
        """The keys this party presses at a ``<Gather>`` (a machine presses none)."""
        return None if self.voicemail else self.press

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as ``/sim/behaviour`` reports it."""
        return asdict(self)


def probability(value: Any) -> float:
    """``True`` means always, ``False`` never; numbers are clamped to 0..1."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return min(1.0, max(0.0, float(value)))
