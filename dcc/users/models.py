"""Users, their roles and teams, and API tokens."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from dcc import clock
from dcc.db import Base, UTCDateTime


class Role(enum.StrEnum):
    """The roles of the deck (DOMAIN.md)."""

    CLERK = "clerk"  # 信息员
    CONSULTANT = "consultant"  # 销售顾问
    DCC_AGENT = "dcc_agent"  # 直销人员
    MANAGER = "manager"  # 销售经理
    SUPERVISOR = "supervisor"  # DCC 主管
    ADMIN = "admin"  # 管理员


class AgentStatus(enum.StrEnum):
    AVAILABLE = "available"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    AWAY = "away"
    OFFLINE = "offline"


def enum_column(kind: type[enum.Enum], length: int = 20) -> Enum:
    """Enums stored as their values in a plain VARCHAR: portable and readable in SQL."""
    return Enum(
        kind,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    members: Mapped[list[User]] = relationship(back_populates="team")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Part of every web session's id: raising it (logout, a new password, deactivation) ends
    # every session of the user at once, including cookies copied before.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    on_shift: Mapped[bool] = mapped_column(default=True)
    # Inbound agents answer the 400 hotline and web leads; outbound agents only call out.
    takes_inbound: Mapped[bool] = mapped_column(default=True)
    agent_status: Mapped[AgentStatus] = mapped_column(
        enum_column(AgentStatus), default=AgentStatus.OFFLINE
    )
    # When agent_status last changed: an available agent has been idle since then, and the
    # hotline and callbacks ring the longest idle first. Stamped by every change of status
    # (see _stamp_status), whatever the path and whether Redis is up.
    status_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # An agent who let a hotline ring go unanswered is not rung again before this time.
    skip_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the agent's wrap-up ends by itself (the dealer-set wrap-up time, extendable).
    wrap_up_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Round-robin assignment hands the next lead to whoever waited longest.
    last_assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    team: Mapped[Team | None] = relationship(back_populates="members")

    def __repr__(self) -> str:
        return f"<User {self.login} {self.role.value}>"

    @validates("agent_status")
    def _stamp_status(self, _key: str, status: AgentStatus) -> AgentStatus:
        if status != self.agent_status:
            self.status_since = clock.now()
        return status


class ApiToken(Base):
    """A bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
