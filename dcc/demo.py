"""Demo data for a first run: staff of a small dealer, lead sources, the script, some leads."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.callscripts import service as callscripts
from dcc.config import get_settings, parse_hours
from dcc.leads import intake, lifecycle, sources
from dcc.leads.models import Channel
from dcc.sales import catalogue, orders
from dcc.users import service as users
from dcc.users.models import AgentStatus, User

#: Passes the password policy people's passwords must (dcc.users.passwords), as any would.
PASSWORD = "dcc-demo-desk"

# login, role, display name, phone the hotline rings, team
STAFF = [
    ("admin", "admin", "系统管理员", None, None),
    ("manager", "manager", "王经理", None, None),
    ("supervisor", "supervisor", "李主管", None, "DCC"),
    ("agent1", "dcc_agent", "张晓婷", "+8613900000001", "DCC"),
    ("agent2", "dcc_agent", "陈明", "+8613900000002", "DCC"),
    ("consultant1", "consultant", "刘强", "+8613900000011", "展厅"),
    ("consultant2", "consultant", "赵磊", "+8613900000012", "展厅"),
    ("clerk", "clerk", "周敏", None, "展厅"),
]
LOGINS = [(login, role, PASSWORD) for login, role, *_ in STAFF]

SOURCES = [
    ("autohome", "汽车之家", "portal", "汽车之家"),
    ("yiche", "易车", "portal", "易车"),
    ("dongchedi", "懂车帝", "portal", "懂车帝"),
    ("oem", "厂家线索平台", "oem", None),
    ("website", "官网/微信", "web", None),
    ("hotline", "400热线", "hotline_400", None),
]

LEADS = [
    ("13800138000", "王先生", Channel.PORTAL, "autohome", "丰田", "凯美瑞", "一个月内"),
    ("13912345678", "李女士", Channel.WEB, "website", "丰田", "RAV4荣放", "7天内"),
    ("18611112222", "赵先生", Channel.HOTLINE, "hotline", "丰田", "汉兰达", "3个月"),
    ("13700001111", "孙女士", Channel.PORTAL, "yiche", "丰田", "卡罗拉", None),
]


def seed(session: Session) -> bool:
    """Add the demo data unless it is there already; True when something was added."""
    if session.scalar(select(User.id).where(User.login == "admin")) is not None:
        return False
    for login, role, name, phone, team in STAFF:
        user = users.create_user(
            session, login=login, role=role, name=name, password=PASSWORD, phone=phone, team=team
        )
        if role in {"dcc_agent", "consultant"}:
            user.agent_status = AgentStatus.AVAILABLE
    by_slug = {}
    for slug, name, channel, sub_source in SOURCES:
        by_slug[slug] = sources.create(
            session,
            slug=slug,
            name=name,
            channel=channel,
            sub_source=sub_source,
            secret=f"demo-secret-{slug}-0000",
        )
    callscripts.ensure_default(session)
    for phone, name, channel, slug, brand, series, timeframe in LEADS:
        intake.receive(
            session,
            intake.LeadInput(
                phone=phone,
                name=name,
                channel=channel,
                brand=brand,
                series=series,
                model=series,
                purchase_timeframe=timeframe,
                consent=True,
            ),
            source=by_slug[slug],
        )
    catalogue.seed_demo(session)
    settings = get_settings()
    # One invited lead, so the agent's day starts with an appointment on the list: tomorrow,
    # inside the showroom's opening hours whatever the hour of seeding (its reminders are
    # then ahead too; one already past is not planned).
    manager = users.get_by_login(session, "manager")
    consultant = users.get_by_login(session, "consultant1")
    first = intake.receive(
        session,
        intake.LeadInput(phone="13800138000", channel=Channel.PORTAL),
        source=by_slug["autohome"],
    ).lead
    visit = visit_tomorrow(settings.timezone, settings.opening_hours)
    lifecycle.book_appointment(session, first, at=visit, consultant=consultant, actor=manager)
    # A customer who bought here: an owner (保有客户) whose next enquiry is a repurchase.
    owner = intake.receive(
        session,
        intake.LeadInput(phone="13600136000", name="周先生", channel=Channel.WALK_IN),
        source=None,
    ).lead
    lifecycle.register_arrival(session, owner, clerk=None, consultant=consultant)
    order = orders.place(
        session,
        owner,
        orders.OrderInput(
            brand="丰田", series="卡罗拉", model="2024款 1.5L", configuration="精英版", price=None
        ),
        actor=consultant,
        timezone=settings.timezone,
    )
    orders.deliver(session, order, actor=consultant)
    return True


def visit_tomorrow(timezone: str, opening_hours: str) -> dt.datetime:
    """Tomorrow (dealer time) an hour and a half after opening, or mid-day if the day is short."""
    start, end = parse_hours(opening_hours)
    minutes = start + min(90, (end - start) // 2)
    tomorrow = clock.local(clock.now(), timezone).date() + dt.timedelta(days=1)
    local = dt.datetime.combine(tomorrow, dt.time(minutes // 60, minutes % 60))
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
