"""Customers: one per phone number, with alternative phones and a merged-into pointer."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcc import clock
from dcc.db import Base, UTCDateTime
from dcc.users.models import User, enum_column


class CustomerKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    FLEET = "fleet"  # 批售客户


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The number the customer was first known by, E.164. Every number, this one included,
    # also stands in customer_phones, which is what lookups use.
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[CustomerKind] = mapped_column(
        enum_column(CustomerKind), default=CustomerKind.INDIVIDUAL
    )
    email: Mapped[str | None] = mapped_column(String(254))
    city: Mapped[str | None] = mapped_column(String(80))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    do_not_call: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    owner: Mapped[User | None] = relationship()
    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", order_by="CustomerPhone.id"
    )
    merged_into: Mapped[Customer | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.phone}>"


class CustomerPhone(Base):
    """Every number that identifies a customer; unique across customers."""

    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    customer: Mapped[Customer] = relationship(back_populates="phones")
