"""Fixtures built through the factory; every test runs in a transaction that is rolled back.

``DCC_TEST_DATABASE_URL`` / ``DCC_TEST_REDIS_URL`` pick PostgreSQL and a real Redis; without
them the suite runs on a SQLite file and an embedded Redis server.

Every test runs at :data:`FROZEN_AT` (a Wednesday, 10:00 in Shanghai: inside calling and
opening hours) unless it moves the clock itself (``with clock.frozen(...)``) or is marked
``real_clock``. A test on the real clock runs the app on other threads or in other processes
(the ``live`` and ``committed`` fixtures imply it), where one process's frozen clock would
disagree with the others'; such a test must not depend on the hour either: the ``live`` app
calls and opens around the clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker
from support import (
    PUBLIC_BASE_URL,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    RecordingTelephony,
    app_config,
    bind_to,
)
from twilio.request_validator import RequestValidator

from dcc import clock, create_app, migrate
from dcc.db import make_engine, normalise_url
from dcc.users import service as users
from dcc.users.models import User

#: The suite's "now": Wednesday 2026-11-25, 10:00 Asia/Shanghai.
FROZEN_AT = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
#: Fixtures that serve the app to other threads or processes: their tests run on the real clock.
REAL_CLOCK_FIXTURES = frozenset({"live", "committed"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_CLOCK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_clock)


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> Iterator[dt.datetime | None]:
    """The clock stands at :data:`FROZEN_AT` for the test (not for a ``real_clock`` one)."""
    if request.node.get_closest_marker("real_clock") is not None:
        yield None
        return
    with clock.frozen(FROZEN_AT):
        yield FROZEN_AT


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DCC_TEST_DATABASE_URL")
    if url:
        return normalise_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # a clean slate: the last run may have left tables
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    # The schema comes from the migrations, so the suite tests them too.
    migrate.upgrade(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("DCC_TEST_REDIS_URL")
    if url:
        yield url
        return
    from dcc.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(str(tmp_path_factory.mktemp("redis")))
    yield server.start()
    server.stop()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture()
def session(connection: Connection) -> Iterator[Session]:
    """A session whose commits become savepoints of the test's outer transaction."""
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    s = factory()
    yield s
    s.close()


@pytest.fixture()
def app(
    database_url: str, redis_url: str, connection: Connection, tmp_path: Any
) -> Iterator[Flask]:
    app = bind_to(
        create_app(app_config(database_url, redis_url, tmp_path / "instance")), connection
    )
    with app.app_context():
        yield app


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def phone(app: Flask) -> RecordingTelephony:
    """The app's telephony replaced by a recorder of the calls and texts it is asked to make."""
    telephony = RecordingTelephony()
    app.extensions["dcc.telephony"] = telephony
    return telephony


@pytest.fixture()
def redis(redis_url: str) -> Iterator[redis_lib.Redis]:
    conn = redis_lib.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()


class Staff:
    """Makes users (and their API tokens) for a test."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def user(self, login: str, role: str, **kw: Any) -> User:
        user = users.create_user(self.session, login=login, role=role, **kw)
        self.session.commit()
        return user

    def token(self, user: User) -> dict[str, str]:
        token = users.create_token(self.session, user)
        self.session.commit()
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def staff(session: Session) -> Staff:
    return Staff(session)


class Twilio:
    """Sends webhooks to the app signed exactly as Twilio signs them."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.validator = RequestValidator(TWILIO_AUTH_TOKEN)

    def post(self, path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
        if signature is None:
            signature = self.validator.compute_signature(PUBLIC_BASE_URL + path, params)
        return self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture()
def twilio(client: FlaskClient) -> Twilio:
    return Twilio(client)


@dataclasses.dataclass
class Live:
    """The app served over HTTP on a committed database, with the simulator as Twilio."""

    app: Flask
    base_url: str
    sim: Any

    def session(self) -> Session:
        return self.app.extensions["dcc.db"].sessionmaker()


@pytest.fixture()
def live(database_url: str, redis_url: str, engine: Engine, tmp_path: Any) -> Iterator[Live]:
    """Real commits (the webhooks arrive on other threads); every table is emptied after."""
    from werkzeug.serving import make_server

    from telephony import make_telephony
    from telephony.simulator import Simulator

    server_port = _free_port()
    base_url = f"http://127.0.0.1:{server_port}"
    app = create_app(
        app_config(
            database_url,
            redis_url,
            tmp_path / "instance",
            public_base_url=base_url,
            calling_hours="00:00-24:00",
            opening_hours="00:00-24:00",
        )
    )
    server = make_server("127.0.0.1", server_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sim = Simulator(
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token=TWILIO_AUTH_TOKEN,
        voice_url=f"{base_url}/webhooks/twilio/voice/inbound",
        voice_status_url=f"{base_url}/webhooks/twilio/voice/status",
        speed=0.02,
    )
    sim.start()
    app.extensions["dcc.telephony"] = make_telephony(
        "sim",
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token=TWILIO_AUTH_TOKEN,
        api_base_url=sim.base_url,
    )
    try:
        with app.app_context():
            yield Live(app, base_url, sim)
    finally:
        sim.stop()
        server.shutdown()
        app.extensions["dcc.db"].engine.dispose()
        _empty_tables(engine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _empty_tables(engine: Engine) -> None:
    from dcc.models import Base

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture()
def committed(database_url: str, redis_url: str, engine: Engine, tmp_path: Any) -> Iterator[Flask]:
    """An app on the test database with real commits (for other processes); emptied after."""
    app = create_app(app_config(database_url, redis_url, tmp_path / "instance"))
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["dcc.db"].engine.dispose()
        _empty_tables(engine)
