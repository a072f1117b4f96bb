"""Leads and what hangs off them: sources, touches, follow-ups, callbacks, lost requests."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcc import clock
from dcc.customers.models import Customer
from dcc.db import Base, UTCDateTime
from dcc.users.models import User, enum_column


class Channel(enum.StrEnum):
    """Where a lead came from (DOMAIN.md, the closed loop, step 1)."""

    WALK_IN = "walk_in"  # 展厅到店
    SHOWROOM_PHONE = "showroom_phone"  # 展厅来电
    HOTLINE = "hotline_400"  # 400 热线
    WEB = "web"  # 官网 / 微信
    PORTAL = "portal"  # 汽车之家、易车、懂车帝
    OEM = "oem"  # 厂家线索
    EVENT = "event"  # 车展 / 外展
    REFERRAL = "referral"  # 转介绍
    REPURCHASE = "repurchase"  # 续购


class ValueTier(enum.StrEnum):
    """By what the customer spent to reach the dealer."""

    HIGH = "high_value"  # came to the showroom
    VALUE = "value"  # interacted without visiting
    GENERAL = "general"  # collected online, no contact yet


class Grade(enum.StrEnum):
    """Intent grades (意向级别)."""

    N = "N"
    H = "H"
    A = "A"
    B = "B"
    C = "C"
    O = "O"  # noqa: E741 - the trade's own letter for "ordered"
    F = "F"


class LeadStatus(enum.StrEnum):
    NEW = "new"
    CONTACTING = "contacting"
    INVITED = "invited"
    ARRIVED = "arrived"
    ORDERED = "ordered"
    DELIVERED = "delivered"
    LOST = "lost"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    DORMANT = "dormant"


#: A customer has at most one lead in these states; new enquiries become touches on it.
OPEN_STATUSES = frozenset(
    {
        LeadStatus.NEW,
        LeadStatus.CONTACTING,
        LeadStatus.INVITED,
        LeadStatus.ARRIVED,
        LeadStatus.ORDERED,
        LeadStatus.DORMANT,
    }
)


class LostReason(enum.StrEnum):
    """战败原因; objective ones are outside the dealer's reach, subjective ones are not."""

    BUDGET = "budget"  # 预算不足
    COMPETITOR = "competitor"  # 购买竞品
    SAME_BRAND_ELSEWHERE = "same_brand_elsewhere"  # 同城同品
    PRICE = "price"  # 价格
    CONFIGURATION = "configuration"  # 配置
    DESIGN = "design"  # 外观设计
    SERVICE = "service"  # 服务体验
    FINANCING = "financing"  # 金融方案
    PLAN_CHANGED = "plan_changed"  # 购车计划变更
    DELIVERY_TIME = "delivery_time"  # 交车时间


OBJECTIVE_LOST_REASONS = frozenset(
    {LostReason.BUDGET, LostReason.PLAN_CHANGED, LostReason.DESIGN, LostReason.CONFIGURATION}
)


class LeadSource(Base):
    """A place leads come from: a portal account, a web form, the hotline, an event."""

    __tablename__ = "lead_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    sub_source: Mapped[str | None] = mapped_column(String(120))
    secret: Mapped[str] = mapped_column(String(128))
    # "hmac": X-DCC-Signature over the body (a timestamp optional); "hmac_ts": with
    # X-DCC-Timestamp required; "token": a static header for portals that can't sign.
    auth_mode: Mapped[str] = mapped_column(String(10), default="hmac")
    auto_dial: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_owner_status", "owner_id", "status"),
        Index("ix_leads_status_next_action", "status", "next_action_at"),
        UniqueConstraint("source_id", "external_id", name="uq_leads_source_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("lead_sources.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    sub_source: Mapped[str | None] = mapped_column(String(120))
    value_tier: Mapped[ValueTier] = mapped_column(enum_column(ValueTier))
    grade: Mapped[Grade] = mapped_column(enum_column(Grade, 2), default=Grade.N)
    status: Mapped[LeadStatus] = mapped_column(enum_column(LeadStatus), default=LeadStatus.NEW)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(120))
    brand: Mapped[str | None] = mapped_column(String(60))
    series: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(120))
    # What the product accepts (dcc.leads.fields): the API, the webhooks and the forms alike.
    model_year: Mapped[int | None] = mapped_column(info={"range": (1950, 2100)})
    budget: Mapped[str | None] = mapped_column(String(60))
    purchase_timeframe: Mapped[str | None] = mapped_column(String(60))
    comments: Mapped[str | None] = mapped_column(Text, info={"max_length": 4000})
    is_repurchase: Mapped[bool] = mapped_column(default=False)
    trade_in: Mapped[bool | None] = mapped_column()  # has a car to trade in (None: not asked)
    next_action: Mapped[str | None] = mapped_column(String(200))
    next_action_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempt_count: Mapped[int] = mapped_column(default=0)
    lost_reason: Mapped[LostReason | None] = mapped_column(enum_column(LostReason, 30))
    # Why the lead last closed or went dormant (dcc.leads.closing.CloseReason).
    close_reason: Mapped[str | None] = mapped_column(String(30))
    # Why the lead waits in a manager's queue: unreachable, no_show_30d (None: it does not).
    # escalated_at: when it entered the queue, or (escalation None) when it last left it.
    escalation: Mapped[str | None] = mapped_column(String(30), index=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    invited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )

    customer: Mapped[Customer] = relationship()
    source: Mapped[LeadSource | None] = relationship()
    owner: Mapped[User | None] = relationship()
    touches: Mapped[list[LeadTouch]] = relationship(back_populates="lead", order_by="LeadTouch.id")
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="lead", order_by="FollowUp.due_at"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Lead {self.id} {self.status.value} {self.grade.value}>"


class LeadTouch(Base):
    """One enquiry: the lead's first, and every later one from the same customer."""

    __tablename__ = "lead_touches"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("lead_sources.id"))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    lead: Mapped[Lead] = relationship(back_populates="touches")


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELED = "canceled"


class FollowUp(Base):
    """A planned contact: by rule (按既定规则) or custom (自定义跟进计划)."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_owner_status_due", "owner_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    by_rule: Mapped[bool] = mapped_column(default=True)
    # What the contact is for when it is not the grade's routine: re_invite (a no-show),
    # delivery (an order until its car is handed over).
    purpose: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus), default=FollowUpStatus.OPEN
    )
    canceled_reason: Mapped[str | None] = mapped_column(String(30))
    result: Mapped[str | None] = mapped_column(Text, info={"max_length": 2000})
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    manager_comment: Mapped[str | None] = mapped_column(Text, info={"max_length": 2000})  # 批复
    commented_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    commented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    lead: Mapped[Lead] = relationship(back_populates="follow_ups")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])


class CallbackStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELED = "canceled"


class Callback(Base):
    """A call owed to a customer: missed inbound, after hours, retry, or agent-scheduled."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    reason: Mapped[str] = mapped_column(String(30))  # see dcc.labels.CALLBACK_REASON
    # The call that left this callback owed (a missed or after-hours call): one per call.
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Until then only the owner may take it; afterwards any agent of the team.
    agent_only_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # open to the team
    placed_call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    status: Mapped[CallbackStatus] = mapped_column(
        enum_column(CallbackStatus), default=CallbackStatus.PENDING
    )
    canceled_reason: Mapped[str | None] = mapped_column(String(30))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    lead: Mapped[Lead] = relationship()


class LostRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class LostRequest(Base):
    """An owner's request to close a lead as lost (战败申请); a manager decides."""

    __tablename__ = "lost_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[LostReason] = mapped_column(enum_column(LostReason, 30))
    note: Mapped[str | None] = mapped_column(Text, info={"max_length": 500})
    status: Mapped[LostRequestStatus] = mapped_column(
        enum_column(LostRequestStatus), default=LostRequestStatus.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text, info={"max_length": 500})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    lead: Mapped[Lead] = relationship()


class LeadDelivery(Base):
    """A keyed delivery from a lead source and the answer it got; a replay gets that answer.

    Keys are ``key:<Idempotency-Key header>`` and ``ext:<external id>``: a delivery with both
    has a row for each, so a replay matching either is recognised. The unique constraint makes
    concurrent duplicates collide instead of creating two leads.
    """

    __tablename__ = "lead_deliveries"
    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_lead_deliveries_source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("lead_sources.id"))
    key: Mapped[str] = mapped_column(String(160))
    response_status: Mapped[int] = mapped_column()
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
