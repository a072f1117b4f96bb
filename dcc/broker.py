"""Redis: the queues, the scheduler and the live pushes all go through one connection.

With no ``DCC_REDIS_URL`` the service uses the embedded Redis server of its instance folder
(:mod:`dcc.embedded_redis`): the first process that needs it starts it and owns it (it stops
when that process ends, however it ends); other local processes (workers, a second web process)
attach to the same server through its unix socket.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app

from dcc.embedded_redis import EmbeddedRedis


class Broker:
    """The app's Redis connection, and the embedded server when there is one."""

    def __init__(self, url: str, instance_path: str) -> None:
        self._url = url
        self._instance_path = instance_path
        self._embedded: EmbeddedRedis | None = None
        self._connection: redis.Redis | None = None

    @property
    def url(self) -> str:
        """The server's URL; starts the embedded server on first use when none is configured."""
        if not self._url:
            self._url = self._start_embedded(self._instance_path)
        return self._url

    @property
    def connection(self) -> redis.Redis:
        # Opened lazily: CLI commands that never touch Redis must not start a server.
        if self._connection is None:
            self._connection = redis.Redis.from_url(
                self.url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
            )
        return self._connection

    def _start_embedded(self, instance_path: str) -> str:
        self._embedded = EmbeddedRedis(instance_path)
        return self._embedded.start()

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except redis.RedisError:
            return False


def init_app(app: Flask, url: str, instance_path: str) -> Broker:
    broker = Broker(url, instance_path)
    app.extensions["dcc.broker"] = broker
    return broker


def get_broker(app: Flask | None = None) -> Broker:
    return (app or current_app).extensions["dcc.broker"]


def get_redis() -> redis.Redis:
    return get_broker().connection
