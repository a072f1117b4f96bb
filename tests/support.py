"""Shared test helpers: app configuration, test doubles and job drivers."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dcc.jobs import runner
from dcc.leads import sources
from telephony import TelephonyUnavailable

Answer = tuple[int, dict[str, Any]]  # an HTTP status and its JSON body

TWILIO_ACCOUNT_SID = "AC" + "1" * 32
TWILIO_AUTH_TOKEN = "test-auth-token"
PUBLIC_BASE_URL = "https://dcc.example.test"
#: The lead source secret the tests' ``autohome`` source signs its deliveries with.
LEAD_SECRET = "autohome-secret-0123456789"


def app_config(database_url: str, redis_url: str, instance: Any, **overrides: Any) -> dict:
    return {
        "database_url": database_url,
        "redis_url": redis_url,
        "testing": True,
        "secret_key": "test-secret",
        "instance_path": str(instance),
        "telephony": "sim",
        "twilio_account_sid": TWILIO_ACCOUNT_SID,
        "twilio_auth_token": TWILIO_AUTH_TOKEN,
        "public_base_url": PUBLIC_BASE_URL,
        **overrides,
    }


def bind_to(app: Flask, connection: Connection) -> Flask:
    """Requests and jobs share the test's connection, so their commits roll back with it."""
    app.extensions["dcc.db"].sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


_sids = itertools.count(1)


@dataclass
class RecordingTelephony:
    """A telephony port that records what the app asked for (the simulator's stand-in)."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: How many of the next requests fail as if the provider could not be reached.
    outages: int = 0

    def place_bridged_call(self, **request: Any) -> str:
        if self.outages > 0:
            self.outages -= 1
            raise TelephonyUnavailable("provider unreachable (test)")
        sid = f"CA{next(_sids):032x}"
        self.calls.append({**request, "sid": sid})
        return sid

    def place_call(self, **request: Any) -> str:
        return self.place_bridged_call(**request)

    def end_call(self, sid: str) -> None:
        pass

    def redirect_call(self, sid: str, url: str) -> None:
        pass

    def update_call(self, sid: str, *, url: str | None = None, twiml: str | None = None) -> None:
        pass

    def find_calls(self, *, to: str, since: dt.datetime) -> list[Any]:
        return []

    def find_messages(self, *, to: str, since: dt.datetime) -> list[Any]:
        return []

    def check_dial(self, destination: str, caller_id: str | None) -> str | None:
        return None

    def send_sms(self, **request: Any) -> str:
        sid = f"SM{next(_sids):032x}"
        self.messages.append({**request, "sid": sid})
        return sid

    def validate_request(self, url: str, params: Mapping[str, str] | str, signature: str) -> bool:
        return False


def run_due(session: Session, until: dt.datetime | None = None) -> list[str]:
    """Run every outbox job due by ``until`` (default: now), as the sweeper and RQ would."""
    return runner.run_due(session, until)


def post_json_at_once(url: str, bodies: list[bytes], headers: list[dict[str, str]]) -> list[Answer]:
    """POST each body from its own thread, all released together (real concurrent requests);
    the answers, as (status, JSON body), in the order they came back."""
    answers: list[Answer] = []
    barrier = threading.Barrier(len(bodies))

    def send(body: bytes, sent: dict[str, str]) -> None:
        request = urllib.request.Request(url, data=body, headers=sent)
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read())))

    pairs = zip(bodies, headers, strict=True)
    threads = [threading.Thread(target=send, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def server_environment(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of a DCC process on the test's servers (not the embedded mode): ours
    without any service setting, plus the secrets and simulator credentials it needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCC_", "TWILIO_"))}
    env.update(
        DCC_DATABASE_URL=database_url,
        DCC_REDIS_URL=redis_url,
        DCC_SECRET_KEY="test-secret-key-for-processes",
        DCC_METRICS_TOKEN="test-metrics-token",
        DCC_TELEPHONY="sim",
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        DCC_TWILIO_API_BASE_URL="http://127.0.0.1:9",
    )
    if "DCC_SHIFT_TO" in os.environ:  # a suite run with a shifted clock: children share ours
        env["DCC_SHIFT_TO"] = dt.datetime.now(dt.UTC).isoformat()
    env.update(settings)
    return env


@contextmanager
def scratch_database(database_url: str, suffix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside the test database; dropped afterwards."""
    url = make_url(database_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def deliver(
    client: FlaskClient,
    payload: dict[str, Any] | str | bytes,
    *,
    slug: str = "autohome",
    content_type: str = "application/json",
    secret: str | None = LEAD_SECRET,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST a delivery signed with ``secret`` (unsigned when None)."""
    if isinstance(payload, dict):
        body = (
            json.dumps(payload, ensure_ascii=False).encode()
            if content_type == "application/json"
            else urllib.parse.urlencode(payload).encode()
        )
    else:
        body = payload.encode() if isinstance(payload, str) else payload
    sent = {"Content-Type": content_type, **(headers or {})}
    if secret is not None:
        sent["X-DCC-Signature"] = sources.sign(secret, body)
    return client.post(f"/webhooks/leads/{slug}", data=body, headers=sent)
