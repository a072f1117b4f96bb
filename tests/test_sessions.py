"""Sessions that end (logout, a new password, deactivation), login throttling per account and
per address, and a login that takes as long for an unknown user as for a known one."""

from __future__ import annotations

from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from limits import parse
from web_support import PASSWORD, csrf_token, login, post

from dcc.users import accounts, service
from dcc.users.throttle import LoginThrottle, LoginThrottled, client_address, get_throttle


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same session cookie (saved before a logout, stolen...)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie("session", cookie.value)
    return other


def opens_home(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def reads_api(client: FlaskClient) -> bool:
    return client.get("/api/v1/reports").status_code != 401


@pytest.fixture()
def boss(staff) -> Any:
    return staff.user("boss", "manager", password=PASSWORD)


def test_logout_ends_the_session_on_the_server(app, client, session, boss) -> None:
    login(client, "boss")
    saved = copy_of(app, client)
    assert opens_home(saved) and reads_api(saved)
    assert post(client, "/logout").status_code == 302
    assert not opens_home(saved)
    assert saved.get("/").headers["Location"].startswith("/login")
    assert not reads_api(saved)
    login(client, "boss")  # logging in again works, with a new session
    assert opens_home(client)


def test_a_new_password_or_deactivation_ends_every_session(app, client, session, staff) -> None:
    staff.user("root", "admin", password=PASSWORD)
    boss = staff.user("boss", "manager", password=PASSWORD)
    login(client, "boss")
    accounts.set_password(session, boss, "kept-the-secret-1", actor=None)
    session.commit()
    assert not opens_home(client)
    login(client, "boss", "kept-the-secret-1")
    assert opens_home(client)
    token = staff.token(boss)
    accounts.deactivate(session, boss, actor=None)
    session.commit()
    assert not opens_home(client)
    assert client.get("/api/v1/reports", headers=token).status_code == 401
    accounts.activate(session, boss, actor=None)
    session.commit()
    assert client.get("/api/v1/reports", headers=token).status_code == 401  # tokens stay revoked
    login(client, "boss", "kept-the-secret-1")
    assert opens_home(client)


# --- throttling ----------------------------------------------------------------------------


def attempt(client: FlaskClient, name: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        "/login",
        data={"login": name, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture()
def throttle(app, redis) -> LoginThrottle:
    """The app's throttle on the test Redis (emptied), with limits small enough to reach."""
    found = get_throttle(app)
    found.per_account = parse("3 per 15 minutes")
    found.per_address = parse("5 per 15 minutes")
    return found


def test_failed_logins_to_one_account_pause_it(client, session, boss, throttle) -> None:
    for _ in range(3):
        assert attempt(client, "boss", "wrong-guess").status_code == 200
    paused = attempt(client, "boss", PASSWORD)  # even the right password waits
    assert paused.status_code == 429
    assert 0 < int(paused.headers["Retry-After"]) <= 15 * 60
    assert "登录失败次数过多" in paused.get_data(as_text=True)
    # From another address too: the account is what is guessed at.
    assert attempt(client, "BOSS ", PASSWORD, address="10.0.0.2").status_code == 429
    # Another account from the same office address is not held up.
    staff_login = service.create_user(session, login="mate", role="dcc_agent", password=PASSWORD)
    session.commit()
    assert attempt(client, staff_login.login, PASSWORD).status_code == 302


def test_failed_logins_from_one_address_pause_it(client, session, boss, throttle) -> None:
    for n in range(5):
        attempt(client, f"guess{n}", "wrong-guess", address="10.0.0.9")
    assert attempt(client, "boss", PASSWORD, address="10.0.0.9").status_code == 429
    assert attempt(client, "boss", PASSWORD, address="10.0.0.10").status_code == 302


def test_a_right_password_forgives_earlier_mistakes(client, session, boss, throttle) -> None:
    for _ in range(2):
        attempt(client, "boss", "typo-typo")
    assert attempt(client, "boss", PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(2):
        attempt(client, "boss", "typo-typo")
    assert attempt(client, "boss", PASSWORD).status_code == 302


def test_guesses_sent_together_cannot_all_pass(throttle) -> None:
    """Each attempt is counted before its password is checked: parallel guesses, still in
    flight, already hold the account's count."""
    for _ in range(3):
        throttle.begin("boss", "10.0.0.1")  # three guesses, none answered yet
    with pytest.raises(LoginThrottled) as refused:
        throttle.begin("boss", "10.0.0.2")
    assert refused.value.field == "login"


def test_failures_are_counted_in_redis_for_every_web_node(app, client, boss, throttle, redis):
    for _ in range(3):
        attempt(client, "boss", "wrong-guess")
    assert any(b"dcc:login-failures" in key for key in redis.keys("*"))
    other_node = LoginThrottle(connect=lambda: redis)
    other_node.per_account = throttle.per_account
    with pytest.raises(LoginThrottled):
        other_node.begin("boss", "10.9.9.9")


def test_without_redis_each_process_still_throttles() -> None:
    def unreachable() -> redis_lib.Redis:
        return redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)

    throttle = LoginThrottle(connect=unreachable, per_account=parse("2 per minute"))
    for _ in range(2):
        throttle.begin("boss", "10.0.0.1")
        throttle.failed("10.0.0.1")
    with pytest.raises(LoginThrottled) as refused:
        throttle.begin("boss", "10.0.0.1")
    assert refused.value.status_code == 429 and refused.value.field == "login"


# --- constant time -------------------------------------------------------------------------


def test_an_unknown_login_costs_one_password_hash_like_a_known_one(session, staff, monkeypatch):
    staff.user("boss", "manager", password=PASSWORD)
    staff.user("gone", "manager", password=PASSWORD).is_active = False
    staff.user("tokens-only", "manager")
    session.commit()
    checks: list[str] = []
    real = service.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checks.append(pwhash.split(":")[0])
        return real(pwhash, password)

    monkeypatch.setattr(service, "check_password_hash", counting)
    for name in ("boss", "nobody", "gone", "tokens-only"):
        assert service.authenticate(session, name, "wrong-guess") is None
    real_method = session.scalar(
        service.select(service.User.password_hash).where(service.User.login == "boss")
    ).split(":")[0]
    assert checks == [real_method] * 4  # the same work, with the same hash method


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("61.135.169.125", None, "61.135.169.125"),
        ("61.135.169.125", "114.114.114.114", "61.135.169.125"),  # from the internet: not believed
        ("127.0.0.1", "114.114.114.114", "114.114.114.114"),  # nginx on the same host
        ("10.0.0.2", "114.114.114.114, 192.168.1.4", "114.114.114.114"),  # two proxies of ours
        ("127.0.0.1", "1.2.3.4, 114.114.114.114", "114.114.114.114"),  # the client made up 1.2.3.4
        ("127.0.0.1", "10.1.1.1", "10.1.1.1"),  # an agent's desk inside the office
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "not-an-address"),
    ],
)
def test_the_address_behind_the_dealers_proxy(peer: str, forwarded: str, client: str) -> None:
    assert client_address(peer, forwarded) == client


def test_behind_nginx_each_client_address_is_counted_apart(client, boss, throttle) -> None:
    for n in range(5):
        client.post(
            "/login",
            data={"login": f"guess{n}", "password": "wrong", "csrf_token": csrf_token(client)},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": "114.114.114.114"},
        )
    office = client.post(
        "/login",
        data={"login": "boss", "password": PASSWORD, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"X-Forwarded-For": "223.5.5.5"},
    )
    assert office.status_code == 302
