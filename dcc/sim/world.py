"""The simulated dealership's world: the app, the telephony simulator in virtual time, the
staff and the lead sources.

The app is the real one (its webhooks, domain, jobs); only its provider is the telephony
simulator, reached in-process: the adapter's REST requests go to the simulator's WSGI app and
the simulator's signed webhooks go to the app's. The app's clock follows the simulator's
virtual clock (:func:`dcc.clock.following`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dcc.callscripts import service as callscripts
from dcc.config import Settings, get_settings
from dcc.db import get_database
from dcc.leads import sources
from dcc.leads.models import Channel, LeadSource
from dcc.sales import catalogue
from dcc.sim.scenario import Scenario
from dcc.staffing import rota
from dcc.users import service as users
from dcc.users.models import AgentStatus, Role, User
from telephony import ANYWHERE, TwilioTelephony
from telephony.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Simulator

#: The host the simulator's webhooks are addressed to (never resolved: delivered in-process).
PUBLIC_BASE_URL = "http://dcc.sim.invalid"
#: Lead sources the simulation delivers to (slug, name, channel, sub-source); web ones dial
#: new leads at once (speed-to-lead).
SOURCES = (
    ("autohome", "汽车之家", Channel.PORTAL, "汽车之家"),
    ("yiche", "易车", Channel.PORTAL, "易车"),
    ("dongchedi", "懂车帝", Channel.PORTAL, "懂车帝"),
    ("oem", "厂家线索平台", Channel.OEM, None),
    ("website", "官网/微信", Channel.WEB, None),
    ("hotline", "400热线", Channel.HOTLINE, None),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def sim_settings(database_url: str, instance_path: str) -> dict[str, object]:
    """The app's configuration for a simulation: its own database and instance folder (so an
    embedded Redis of its own), and the simulator as the provider."""
    return {
        "database_url": database_url,
        "redis_url": "",
        "instance_path": instance_path,
        "telephony": "sim",
        "public_base_url": PUBLIC_BASE_URL,
        "twilio_account_sid": DEFAULT_ACCOUNT_SID,
        "twilio_auth_token": DEFAULT_AUTH_TOKEN,
        "twilio_api_base_url": "http://simulator.invalid",
        "twilio_api_key_sid": "",
        "twilio_api_key_secret": "",
        "twilio_twiml_app_sid": "",
        "secret_key": "simulation-secret-key-not-for-production-use",
        "metrics_token": "simulation-metrics-token",
    }


@dataclass
class Staff:
    agents: list[int]
    consultants: list[int]
    clerk: int
    manager: int
    phones: dict[str, int] = field(default_factory=dict)  # staff phone -> user id


def agent_phone(n: int) -> str:
    return f"+86139000{n:05d}"


def consultant_phone(n: int) -> str:
    return f"+86139001{n:05d}"


def customer_phone(n: int) -> str:
    """The phone of the ``n``-th simulated customer: valid Chinese mobiles, never staff's."""
    return f"+86137{n % 100_000_000:08d}"


def customer_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + ("先生" if n % 3 else "女士")


def _user(
    session: Session,
    login: str,
    role: Role,
    name: str,
    phone: str | None,
    team: str | None,
    password: str | None,
) -> User:
    """The staff member ``login``, added when missing (the demo's staff are kept as they are)."""
    found = session.scalar(select(User).where(User.login == login))
    if found is not None:
        if found.phone is None and phone is not None:
            found.phone = phone
        return found
    return users.create_user(
        session, login=login, role=role, name=name, password=password, phone=phone, team=team
    )


def setup_staff(session: Session, scenario: Scenario, password: str | None = None) -> Staff:
    """Agents, consultants, a clerk, a manager and a supervisor, as the scenario says.

    Agents start off shift (their shifts put them on); they are ``agent1`` … like the demo's,
    and those already there are kept. New ones get ``password`` (None: they cannot log in).
    The agents' week is written as their rota, so the staffing page shows it beside its advice.
    """
    agents = []
    for n in range(1, scenario.staff.agents + 1):
        user = _user(
            session, f"agent{n}", Role.DCC_AGENT, f"坐席{n}号", agent_phone(n), "DCC", password
        )
        user.on_shift, user.agent_status = False, AgentStatus.OFFLINE
        agents.append(user)
    consultants = [
        _user(
            session,
            f"consultant{n}",
            Role.CONSULTANT,
            f"顾问{n}号",
            consultant_phone(n),
            "展厅",
            password,
        )
        for n in range(1, scenario.staff.consultants + 1)
    ]
    clerk = _user(session, "clerk", Role.CLERK, "信息员", None, "展厅", password)
    manager = _user(session, "manager", Role.MANAGER, "销售经理", None, None, password)
    _user(session, "supervisor", Role.SUPERVISOR, "DCC主管", None, "DCC", password)
    session.flush()
    week: dict[tuple[int, int], list[rota.Interval]] = {
        (agent.id, weekday): [] for agent in agents for weekday in range(7)
    }
    for weekday in range(7):
        for agent, start, end in scenario.staff.duties(weekday):
            week[(agents[agent].id, weekday)].append((start, end))
    rota.set_days(session, None, week)
    return Staff(
        agents=[a.id for a in agents],
        consultants=[c.id for c in consultants],
        clerk=clerk.id,
        manager=manager.id,
        phones={u.phone: u.id for u in (*agents, *consultants) if u.phone},
    )


def setup_sources(session: Session) -> dict[str, str]:
    """The lead sources (slug -> secret); web and portal sources dial new leads at once."""
    secrets = {}
    for slug, name, channel, sub_source in SOURCES:
        source = session.scalar(select(LeadSource).where(LeadSource.slug == slug))
        if source is None:
            source = sources.create(
                session,
                slug=slug,
                name=name,
                channel=channel,
                sub_source=sub_source,
                secret=f"simulation-secret-{slug}-0000",
            )
        if channel != Channel.HOTLINE and not source.auto_dial:
            sources.update(source, auto_dial=True)
        secrets[slug] = source.secret
    callscripts.ensure_default(session)
    catalogue.seed_demo(session)
    return secrets


def without_durability(app: Flask) -> None:
    """A simulation's database is thrown away after the run: commits need not wait for the
    disk (SQLite ``synchronous=OFF``, PostgreSQL ``synchronous_commit=off``). Call before the
    app's first query."""
    engine = get_database(app).engine
    statement = (
        "PRAGMA synchronous=OFF"
        if engine.dialect.name == "sqlite"
        else "SET synchronous_commit TO off"
    )

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(statement)
        cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_conn.commit()


def make_simulator(settings: Settings, start: dt.datetime, seed: int) -> Simulator:
    """The telephony simulator on virtual time, owning the hotline."""
    base = settings.public_base_url.rstrip("/")
    return Simulator(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        virtual=True,
        start=start,
        seed=seed,
        hotline=settings.hotline_number,
        voice_url=f"{base}/webhooks/twilio/voice/inbound",
        voice_status_url=f"{base}/webhooks/twilio/voice/status",
    )


def connect(app: Flask, sim: Simulator) -> None:
    """The app's provider is the simulator, in-process, both ways."""
    settings = get_settings(app)
    sim.deliver_to(app.wsgi_app)
    app.extensions["dcc.telephony"] = TwilioTelephony(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        api_base_url=settings.twilio_api_base_url,
        http_client=sim.http_client(),
        rules=ANYWHERE,
    )


def local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    """The start of the local ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
