"""Appointment texts: the confirmation when booked, reminders the day before and 2 hours before.

Templates are zh-CN and per dealer (``dealer_settings``: ``sms_templates``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from dcc import clock, settings_store
from dcc.config import Settings
from dcc.sales.models import Appointment

DEFAULT_TEMPLATES = {
    "confirm": "【{dealer}】{name}您好，已为您预约{time}到店，接待顾问{consultant}。"
    "如需改期请回电{hotline}。",
    "day_before": "【{dealer}】{name}您好，提醒您明天{time}到店看车，顾问{consultant}恭候光临。",
    "two_hours": "【{dealer}】{name}您好，您预约的{time}到店即将开始，期待您的光临。",
}
#: When each reminder goes out, relative to the appointment.
REMINDER_OFFSETS = {"day_before": dt.timedelta(days=1), "two_hours": dt.timedelta(hours=2)}


def templates(session: Session) -> dict[str, str]:
    return {**DEFAULT_TEMPLATES, **(settings_store.get(session, "sms_templates", {}) or {})}


def text_for(session: Session, appointment: Appointment, kind: str, settings: Settings) -> str:
    local = clock.local(appointment.scheduled_at, settings.timezone)
    customer = appointment.lead.customer
    consultant = appointment.consultant.name if appointment.consultant else "销售顾问"
    return templates(session)[kind].format(
        dealer=settings.dealer_name,
        name=(customer.name or "").strip() or "客户",
        time=local.strftime("%m月%d日 %H:%M"),
        consultant=consultant,
        hotline=settings.hotline_number,
    )
