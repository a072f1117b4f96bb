"""Dealer settings kept in the database, editable by admins: rules that vary per dealer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc.db import Base


class DealerSetting(Base):
    __tablename__ = "dealer_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


def get(session: Session, key: str, default: Any) -> Any:
    row = session.get(DealerSetting, key)
    return default if row is None else row.value


def put(session: Session, key: str, value: Any) -> None:
    row = session.get(DealerSetting, key)
    if row is None:
        session.add(DealerSetting(key=key, value=value))
    else:
        row.value = value
