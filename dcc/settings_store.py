"""Dealer settings kept in the database, editable by admins: rules that vary per dealer."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, String, Table, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc.db import Base


class DealerSetting(Base):
    __tablename__ = "dealer_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


Record = TypeVar("Record")

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


def load_record(session: Session, key: str, record: type[Record]) -> Record:
    """The frozen dataclass ``record`` stored under ``key``: the stored values of its fields
    over its defaults (a name no longer a field is ignored; lists come back as tuples)."""
    return _record(get(session, key, {}) or {}, record)


def save_record(session: Session, key: str, record: type[Record], **changes: Any) -> Record:
    """Store ``changes`` over what ``key`` holds and return the record. Only what was set is
    stored: a value never set follows the default, even one changed in a later release."""
    stored = dict(get(session, key, {}) or {})
    saved = replace(cast(Any, _record(stored, record)), **changes)  # an unknown name: TypeError
    stored.update({k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()})
    put(session, key, stored)
    return cast(Record, saved)


def _record(stored: dict[str, Any], record: type[Record]) -> Record:
    names = {f.name for f in fields(cast(Any, record))}
    return record(**{k: _frozen(v) for k, v in stored.items() if k in names})


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
