"""The showroom side: appointments (邀约), visits (到店) and orders (成交)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcc import clock
from dcc.customers.models import Customer
from dcc.db import Base, UTCDateTime
from dcc.leads.models import Lead
from dcc.users.models import User, enum_column


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    NO_SHOW = "no_show"
    CANCELED = "canceled"


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus), default=AppointmentStatus.BOOKED
    )
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    # Why it was canceled (the lead closed: lost, invalid, merged, delivered, dormant).
    canceled_reason: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    lead: Mapped[Lead] = relationship()
    consultant: Mapped[User | None] = relationship(foreign_keys=[consultant_id])


class ShowroomVisit(Base):
    """Every showroom arrival, anonymous traffic included (the clerk's register)."""

    __tablename__ = "showroom_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    arrived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, index=True)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    party_size: Mapped[int] = mapped_column(default=1, info={"range": (1, 50)})
    first_visit: Mapped[bool] = mapped_column(default=True)
    left_contact: Mapped[bool] = mapped_column(default=False)
    closed_on_visit: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer | None] = relationship()
    consultant: Mapped[User | None] = relationship(foreign_keys=[consultant_id])


class OrderStatus(enum.StrEnum):
    ORDERED = "ordered"
    DELIVERED = "delivered"
    CANCELED = "canceled"


class Order(Base):
    """A sales order: the vehicle by VIN, or by brand -> series -> model -> configuration."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    vin: Mapped[str | None] = mapped_column(String(17))
    brand: Mapped[str | None] = mapped_column(String(60))
    series: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(120))
    configuration: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus), default=OrderStatus.ORDERED
    )
    # Money in fen (分), so that no float or dialect-specific decimal ever rounds a price.
    price_fen: Mapped[int | None] = mapped_column()
    deposit_fen: Mapped[int | None] = mapped_column()
    delivery_due: Mapped[dt.date | None] = mapped_column(Date)  # expected delivery (预计交车)
    ordered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    canceled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    lead: Mapped[Lead] = relationship()
    consultant: Mapped[User | None] = relationship(foreign_keys=[consultant_id])


class CatalogueEntry(Base):
    """One orderable vehicle: brand -> series -> model -> configuration (车型库), kept by admins."""

    __tablename__ = "vehicle_catalogue"
    __table_args__ = (
        UniqueConstraint(
            "brand", "series", "model", "configuration", name="uq_vehicle_catalogue_entry"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[str] = mapped_column(String(60))
    series: Mapped[str] = mapped_column(String(60))
    model: Mapped[str] = mapped_column(String(120))
    configuration: Mapped[str] = mapped_column(String(120))
    guide_price_fen: Mapped[int | None] = mapped_column()  # manufacturer's guide price (指导价)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Vehicle(Base):
    """A car a customer owns from a delivery here (保有车辆): it makes the customer an owner."""

    __tablename__ = "customer_vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    brand: Mapped[str | None] = mapped_column(String(60))
    series: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(120))
    configuration: Mapped[str | None] = mapped_column(String(120))
    delivered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
