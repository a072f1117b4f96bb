"""Dealer settings kept in the database, editable by admins: rules that vary per dealer."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, String, Table, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc.db import Base


class DealerSetting(Base):
    __tablename__ = "dealer_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


_settings = cast(Table, DealerSetting.__table__)
_VALUE = select(_settings.c.value).where(_settings.c.key == bindparam("key"))


def get(session: Session, key: str, default: Any) -> Any:
    """The stored value of ``key``. Read on hot paths (every new lead reads the job policy),
    so a plain column read unless the session already holds the setting."""
    held = session.identity_map.get(session.identity_key(DealerSetting, key))
    if held is not None:
        return held.value
    session.flush()  # a setting put earlier in this transaction counts
    row = session.connection().execute(_VALUE, {"key": key}).first()
    return default if row is None else row.value


def put(session: Session, key: str, value: Any) -> None:
    row = session.get(DealerSetting, key)
    if row is None:
        session.add(DealerSetting(key=key, value=value))
    else:
        row.value = value
