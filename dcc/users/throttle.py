"""Login throttling: failed logins counted per account and per address, in Redis.

Built on ``limits`` (the engine of Flask-Limiter) with moving windows, so that every web node
counts the same failures. Only failures count: a dealership's agents all log in at the start
of a shift from one office address, and that must never look like an attack. While Redis is
unreachable each process counts in its own memory, so a login still works and is still
throttled there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter
from sqlalchemy.orm import Session

from dcc.broker import get_broker
from dcc.errors import DCCError
from dcc.users import service as users
from dcc.users.models import User

log = logging.getLogger(__name__)

#: Failed logins to one account, from anywhere, before it is paused.
ACCOUNT_LIMIT = "10 per 15 minutes"
#: Failed logins from one address, to any account (an office shares one address).
ADDRESS_LIMIT = "50 per 15 minutes"
#: After Redis failed, logins count in memory this long before Redis is tried again, so that
#: an outage does not make every login wait for connection attempts.
REDIS_RETRY_SECONDS = 30.0
KEY_PREFIX = "dcc:login-failures"


class LoginThrottled(DCCError):
    """Too many failed logins; ``retry_after`` is how many seconds until one is tried again."""

    status_code = 429

    def __init__(self, code: str, *, field: str, retry_after: int) -> None:
        super().__init__(code, field=field, minutes=math.ceil(retry_after / 60))
        self.retry_after = retry_after


@dataclass
class LoginThrottle:
    """Counts failed logins in Redis (``connect`` gives the app's connection when needed)."""

    connect: Callable[[], redis.Redis]
    per_account: RateLimitItem = field(default_factory=lambda: parse(ACCOUNT_LIMIT))
    per_address: RateLimitItem = field(default_factory=lambda: parse(ADDRESS_LIMIT))
    _shared: RateLimiter | None = None
    _local: RateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    _redis_down_until: float = 0.0

    def begin(self, login: str, address: str | None) -> None:
        """Before the password is looked at: refuse (:class:`LoginThrottled`) an address or
        an account over its limit. The attempt counts against the account at once, so a
        burst of guesses sent together cannot all pass; :meth:`succeeded` forgives it."""
        if address and not self._run("test", self.per_address, "address", address):
            raise self._refusal(self.per_address, "address", address)
        account = _account_key(login)
        if not self._run("hit", self.per_account, "account", account):
            raise self._refusal(self.per_account, "account", account)

    def failed(self, address: str | None) -> None:
        """A wrong password: it counts against the address too."""
        if address:
            self._run("hit", self.per_address, "address", address)

    def succeeded(self, login: str) -> None:
        """The right password: the account's attempts are forgiven."""
        self._run("clear", self.per_account, "account", _account_key(login))

    def _refusal(self, item: RateLimitItem, kind: str, key: str) -> LoginThrottled:
        stats = self._run("get_window_stats", item, kind, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return LoginThrottled(
            "login.throttled_account" if kind == "account" else "login.throttled_address",
            field="login" if kind == "account" else "address",
            retry_after=wait,
        )

    def _run(self, method: str, item: RateLimitItem, *identifiers: str) -> Any:
        """``method`` of the shared (Redis) limiter, or of this process's while Redis is away."""
        if time.monotonic() >= self._redis_down_until:
            try:
                if self._shared is None:
                    pool = self.connect().connection_pool
                    storage = RedisStorage("redis://", connection_pool=pool, key_prefix=KEY_PREFIX)
                    self._shared = MovingWindowRateLimiter(storage)
                return getattr(self._shared, method)(item, *identifiers)
            except (redis.RedisError, StorageError) as error:
                log.warning("login throttle: Redis unavailable (%s); counting in memory", error)
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return getattr(self._local, method)(item, *identifiers)


def client_address(peer: str | None, forwarded_for: str | None) -> str | None:
    """The address a login came from. The peer's, unless the peer is a proxy on the dealer's
    side (a loopback or private address, nginx in front of the app): then the nearest address
    in ``X-Forwarded-For`` that is not such a proxy, read from the right, as the proxies
    appended them. A client on the internet cannot choose its address by sending the header:
    its own peer address is public, so the header is not read."""
    if not forwarded_for or not _is_proxy(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_proxy(hop):
            return hop
    return hops[0] if hops else peer


#: Where a proxy of the dealer's own stands: loopback and the private ranges (as Rails trusts).
PROXY_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
    )
)


def _is_proxy(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in PROXY_NETWORKS)


def _account_key(login: str) -> str:
    """Logins differ in case and spaces only as typos do; the key need not show the login."""
    return hashlib.sha256(login.strip().casefold().encode()).hexdigest()[:32]


def get_throttle(app: Flask | None = None) -> LoginThrottle:
    """The app's login throttle, on the app's Redis."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    throttle: LoginThrottle | None = app.extensions.get("dcc.login_throttle")
    if throttle is None:
        broker = get_broker(app)
        throttle = LoginThrottle(connect=lambda: broker.connection)
        app.extensions["dcc.login_throttle"] = throttle
    return throttle


def log_in(
    session: Session, throttle: LoginThrottle, *, login: str, password: str, address: str | None
) -> User | None:
    """The login use case: refused while throttled, the password checked in constant time,
    a failure counted against the account and the address."""
    throttle.begin(login, address)
    user = users.authenticate(session, login, password)
    if user is None:
        throttle.failed(address)
        return None
    throttle.succeeded(login)
    return user
