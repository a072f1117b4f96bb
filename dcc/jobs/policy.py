"""The dealer's timing rules for jobs, with DOMAIN.md's defaults; admins may override them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dcc import settings_store

SETTING = "job_policy"


@dataclass(frozen=True)
class Policy:
    #: Delays before the 2nd, 3rd … attempt after an unanswered call (minutes).
    retry_delays_minutes: tuple[int, ...] = (10, 120, 1440)
    #: Unanswered attempts after which the lead goes to the manager as unreachable …
    max_attempts: int = 3
    #: … or as soon as the first unanswered attempt is this old.
    attempt_window_days: int = 3
    #: A due callback stays the owner's alone for this long, then the team may take it.
    agent_only_minutes: int = 30
    #: A new lead not called within this many minutes alerts the supervisor.
    first_response_sla_minutes: int = 5
    #: Missed inbound calls are called back after this many minutes.
    missed_call_callback_minutes: int = 2
    #: An open follow-up this many hours past due is reported to the supervisor.
    follow_up_overdue_hours: int = 24
    #: A booked visit this many minutes past its time without an arrival is a no-show.
    no_show_grace_minutes: int = 60
    #: An open lead nobody has contacted (nor been contacted by) for this many days goes
    #: dormant (休眠) overnight.
    dormant_after_days: int = 90
    #: The loop audit reports a pending callback this many minutes past due.
    callback_overdue_minutes: int = 120

    def retry_delay(self, attempt: int) -> dt.timedelta:
        """The wait after the ``attempt``-th unanswered call (1-based)."""
        delays = self.retry_delays_minutes
        return dt.timedelta(minutes=delays[min(attempt, len(delays)) - 1])


def load(session: Session) -> Policy:
    return settings_store.load_record(session, SETTING, Policy)


def save(session: Session, **changes: object) -> Policy:
    return settings_store.save_record(session, SETTING, Policy, **changes)
