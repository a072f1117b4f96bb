"""The dealer's staffing targets and the planner's fallbacks, kept with the dealer's other rules.

Defaults: 80% of hotline calls answered within 20 s, 90% of web leads called within 60 s,
planned from the last four weeks. Where the weeks hold too few calls to measure something
(fewer than ``min_samples``), the planner uses the dealer's figure for it instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dcc import settings_store
from dcc.errors import ValidationError

SETTING = "staffing_targets"


@dataclass(frozen=True)
class Targets:
    #: Hotline: ``call_answer_share`` of calls answered within ``call_answer_seconds``.
    call_answer_seconds: int = 20
    call_answer_share: float = 0.8
    #: Web leads: ``web_lead_share`` of them called within ``web_lead_seconds`` of arriving.
    web_lead_seconds: int = 60
    web_lead_share: float = 0.9
    #: How many past weeks of calls and leads the plan is built from.
    weeks: int = 4
    #: Fallbacks when fewer than ``min_samples`` were measured: a hotline call's talk, the
    #: agent's busy time on a web lead's first call, the wrap-up after either, and how long a
    #: queued caller waits before hanging up (all in seconds).
    call_talk_seconds: int = 180
    web_call_seconds: int = 120
    wrap_up_seconds: int = 60
    patience_seconds: int = 90
    min_samples: int = 20

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Each field's accepted range (inclusive).
LIMITS: dict[str, tuple[float, float]] = {
    "call_answer_seconds": (1, 600),
    "call_answer_share": (0.01, 0.999),
    "web_lead_seconds": (1, 3600),
    "web_lead_share": (0.01, 0.999),
    "weeks": (1, 12),
    "call_talk_seconds": (1, 7200),
    "web_call_seconds": (1, 7200),
    "wrap_up_seconds": (0, 3600),
    "patience_seconds": (1, 3600),
    "min_samples": (1, 10_000),
}
SHARES = frozenset({"call_answer_share", "web_lead_share"})


def validate(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as numbers, or :class:`ValidationError` naming the first bad field."""
    clean: dict[str, Any] = {}
    for name, raw in changes.items():
        if name not in LIMITS:
            raise ValidationError("field.unknown", field=name)
        low, high = LIMITS[name]
        try:
            number: float = float(raw) if name in SHARES else _whole(raw)
        except (TypeError, ValueError):
            code = "field.not_a_number" if name in SHARES else "field.not_integer"
            raise ValidationError(code, field=name) from None
        if not low <= number <= high:
            raise ValidationError("field.out_of_range", field=name, min=f"{low:g}", max=f"{high:g}")
        clean[name] = number
    return clean


def _whole(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError("not a number")
    number = float(raw)
    if not number.is_integer():
        raise ValueError("not whole")
    return int(number)


def load(session: Session) -> Targets:
    """The dealer's targets: the stored ones over the defaults."""
    return settings_store.load_record(session, SETTING, Targets)


def save(session: Session, **changes: Any) -> Targets:
    """Store the given targets (validated first: nothing changes on a bad one)."""
    return settings_store.save_record(session, SETTING, Targets, **validate(changes))
