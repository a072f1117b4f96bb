"""Live streams that do not consume the web server: the ASGI front relays them without a
thread each, a user may hold only so many, and a Redis outage is a clean 503."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import time
from typing import Any

import pytest
import redis as redis_lib
import requests
from flask import Flask
from stream_support import StreamClient, log_in, serve
from support import app_config, bind_to
from web_support import PASSWORD, login

from dcc import create_app, live, streams, wallboard
from dcc.leads import sources
from dcc.users import service as users
from dcc.users.models import User
from dcc.web.stream import relay, user_channels

pytestmark = pytest.mark.redis

SECRET = "stream-test-secret-0123456789"


def _users(app: Flask, *specs: tuple[str, str]) -> dict[str, int]:
    """Committed users (login, role) with the test password; their ids by login."""
    with app.extensions["dcc.db"].sessionmaker() as session:
        made = {
            login_name: users.create_user(session, login=login_name, role=role, password=PASSWORD)
            for login_name, role in specs
        }
        session.commit()
        return {login_name: user.id for login_name, user in made.items()}


def _numsub(conn: redis_lib.Redis, channel: str) -> int:
    return int(conn.pubsub_numsub(channel)[0][1])


def _eventually(check: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


# --- many streams, and the rest of the service still answers -----------------------------------


def test_many_open_streams_leave_healthz_and_the_webhooks_responsive(committed, redis) -> None:
    """Thirty times more streams than the app has threads, and more than a Redis client's
    default pool: every stream is live, and /healthz and a lead delivery still answer (each
    open stream would hold a thread under a thread-per-request server, and both would wait
    for ever)."""
    threads, per_user, people = 4, 40, 3  # 120 streams on 4 threads
    committed.extensions["dcc.settings"] = _with(committed, streams_per_user=per_user)
    ids = _users(committed, *((f"agent{i}", "dcc_agent") for i in range(people)))
    with committed.extensions["dcc.db"].sessionmaker() as session:
        sources.create(session, slug="portal", name="Portal", channel="portal", secret=SECRET)
        session.commit()
    with serve(committed, threads=threads) as served:
        cookies = {name: log_in(served.base_url, name, PASSWORD) for name in ids}
        open_streams = [
            StreamClient(served.base_url, "/stream", cookie)
            for cookie in cookies.values()
            for _ in range(per_user)
        ]
        try:
            assert [s.status for s in open_streams] == [200] * len(open_streams)
            assert all(s.event()[0] == "ready" for s in open_streams)

            # Under a thread-per-stream server both would wait for a free thread, for ever.
            assert requests.get(f"{served.base_url}/healthz", timeout=10).status_code == 200

            body = json.dumps({"phone": "13800138000", "name": "王先生"}).encode()
            delivered = requests.post(
                f"{served.base_url}/webhooks/leads/portal",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-DCC-Signature": sources.sign(SECRET, body),
                },
                timeout=10,
            )
            assert delivered.status_code == 201, delivered.text

            # Every stream of a user gets the user's events, and only theirs.
            first, second = list(ids.values())[:2]
            redis.publish(
                live.user_channel(first), json.dumps({"event": "notification", "data": {"n": 1}})
            )
            mine = open_streams[:per_user]
            assert [s.event() for s in mine] == [("notification", '{"n": 1}')] * per_user
            assert streams.open_count(redis, first) == per_user
            assert streams.open_count(redis, second) == per_user
        finally:
            for stream in open_streams:
                stream.close()
        # Closed streams give their places and their subscriptions back.
        assert _eventually(lambda: all(streams.open_count(redis, i) == 0 for i in ids.values()))
        assert _eventually(lambda: _numsub(redis, live.user_channel(first)) == 0)


def test_the_front_passes_every_other_request_to_the_app(committed, redis) -> None:
    _users(committed, ("agent", "dcc_agent"))
    with serve(committed) as served:
        anonymous = requests.get(f"{served.base_url}/stream", allow_redirects=False, timeout=10)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        cookie = log_in(served.base_url, "agent", PASSWORD)
        page = requests.get(f"{served.base_url}/", cookies={"session": cookie}, timeout=10)
        assert page.status_code == 200 and 'data-stream-url="/stream"' in page.text


def test_the_wallboard_stream_replays_the_last_snapshot_and_keeps_the_publisher_going(
    committed, redis
) -> None:
    ids = _users(committed, ("agent", "dcc_agent"), ("sup", "supervisor"))
    publisher = CountingPublisher()  # these tests publish by hand
    committed.extensions["dcc.wallboard"] = publisher
    redis.set(wallboard.LAST, json.dumps({"event": "wallboard", "data": {"at": "10:00:00"}}))
    with serve(committed) as served:
        agent = StreamClient(
            served.base_url, "/wallboard/stream", log_in(served.base_url, "agent", PASSWORD)
        )
        assert agent.status == 403  # the same role rule as the page's
        agent.close()
        board = StreamClient(
            served.base_url, "/wallboard/stream", log_in(served.base_url, "sup", PASSWORD)
        )
        try:
            assert board.headers["content-type"].startswith("text/event-stream")
            assert board.headers["x-accel-buffering"] == "no"
            assert streams.HANDOFF_HEADER.lower() not in board.headers
            assert board.event() == ("ready", '{"channels": 2}')
            assert board.event() == ("wallboard", '{"at": "10:00:00"}')
            assert redis.ttl(wallboard.VIEWERS) > 0 and publisher.started == 1
            redis.publish(
                wallboard.SNAPSHOTS, json.dumps({"event": "wallboard", "data": {"at": "10:00:01"}})
            )
            assert board.event() == ("wallboard", '{"at": "10:00:01"}')
            assert streams.open_count(redis, ids["sup"]) == 1
        finally:
            board.close()
        assert _eventually(lambda: _numsub(redis, wallboard.SNAPSHOTS) == 0)
        assert _eventually(lambda: streams.open_count(redis, ids["sup"]) == 0)


class CountingPublisher:
    """Stands in for the app's snapshot publisher."""

    def __init__(self) -> None:
        self.started = 0

    def ensure_running(self) -> None:
        self.started += 1

    def stop(self) -> None:
        pass


# --- the per-user cap ---------------------------------------------------------------------------


def _with(app: Flask, **changes: Any) -> Any:
    return dataclasses.replace(app.extensions["dcc.settings"], **changes)


def test_a_user_holds_at_most_the_cap_of_streams(app, client, staff, redis) -> None:
    app.extensions["dcc.settings"] = _with(app, streams_per_user=2)
    agent = staff.user("agent", "dcc_agent", password=PASSWORD)
    login(client, "agent")
    first = client.get("/stream", buffered=False)
    second = client.get("/stream", buffered=False)
    assert first.status_code == second.status_code == 200
    next(iter(first.response)), next(iter(second.response))  # both are relaying
    third = client.get("/stream")
    assert third.status_code == 429
    assert third.headers["Retry-After"] == str(streams.RETRY_AFTER_LIMIT)
    assert third.get_json()["error"]["field"] == "stream"
    assert "2 live streams" in third.get_json()["error"]["message"]
    assert streams.open_count(redis, agent.id) == 2
    first.close()  # a tab closed: its place is free again
    assert streams.open_count(redis, agent.id) == 1
    again = client.get("/stream", buffered=False)
    assert again.status_code == 200
    again.close()
    second.close()
    assert streams.open_count(redis, agent.id) == 0


def test_the_cap_counts_the_wallboard_and_each_user_apart(app, client, staff, redis) -> None:
    app.extensions["dcc.settings"] = _with(app, streams_per_user=1)
    app.extensions["dcc.wallboard"] = CountingPublisher()
    sup = staff.user("sup", "supervisor", password=PASSWORD)
    login(client, "sup")
    board = client.get("/wallboard/stream", buffered=False)
    assert board.status_code == 200
    next(iter(board.response))
    assert client.get("/stream").status_code == 429  # the wallboard holds the one place
    others = streams.StreamPlan(channels=("dcc:user:0",), user_id=sup.id + 1)
    streams.reserve(redis, others, limit=1)  # another user's place is theirs
    board.close()
    assert streams.open_count(redis, sup.id) == 0


def test_a_stream_whose_process_died_frees_its_place_when_its_lease_runs_out(redis) -> None:
    plan = streams.StreamPlan(channels=("dcc:user:7",), user_id=7)
    streams.reserve(redis, plan, limit=1)  # then the process holding it is killed
    with pytest.raises(streams.StreamLimitReached):
        streams.reserve(redis, streams.StreamPlan(channels=("dcc:user:7",), user_id=7), limit=1)
    lapsed = int((time.time() - 1) * 1000)  # as if LEASE_SECONDS had passed without renewal
    redis.zadd(streams.streams_key(7), {plan.stream_id: lapsed})
    streams.reserve(redis, streams.StreamPlan(channels=("dcc:user:7",), user_id=7), limit=1)
    assert streams.open_count(redis, 7) == 1


def test_an_open_stream_renews_its_place(redis) -> None:
    plan = streams.StreamPlan(channels=("dcc:user:8",), user_id=8, renew_every=0.0, keepalive=0.0)
    streams.reserve(redis, plan, limit=1)
    redis.zadd(streams.streams_key(8), {plan.stream_id: 1})  # about to lapse
    events = relay(redis, plan)
    next(events)  # ready
    next(events)  # a keep-alive, after the renewal
    assert streams.open_count(redis, 8) == 1
    events.close()
    assert streams.open_count(redis, 8) == 0


# --- Redis away ---------------------------------------------------------------------------------


@pytest.fixture()
def redis_away_app(database_url, connection, tmp_path) -> Flask:
    """The app on the test database with its Redis unreachable (nothing listens on port 1)."""
    app = bind_to(
        create_app(app_config(database_url, "redis://127.0.0.1:1/0", tmp_path / "instance")),
        connection,
    )
    return app


def test_a_stream_while_redis_is_down_is_a_clean_503(redis_away_app, session) -> None:
    users.create_user(session, login="agent", role="dcc_agent", password=PASSWORD)
    session.commit()
    client = redis_away_app.test_client()
    with redis_away_app.app_context():
        login(client, "agent")
        answer = client.get("/stream")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == str(streams.RETRY_AFTER_UNAVAILABLE)
        assert answer.get_json()["error"]["field"] == "stream"
        assert client.get("/").status_code == 200  # the page itself still opens


def test_the_front_answers_503_while_redis_is_down(committed, tmp_path) -> None:
    settings = committed.extensions["dcc.settings"]
    away = create_app(app_config(settings.database_url, "redis://127.0.0.1:1/0", tmp_path / "away"))
    _users(away, ("agent", "dcc_agent"))
    with serve(away) as served:
        cookie = log_in(served.base_url, "agent", PASSWORD)
        stream = StreamClient(served.base_url, "/stream", cookie)
        assert stream.status == 503
        assert stream.headers["retry-after"] == str(streams.RETRY_AFTER_UNAVAILABLE)
        stream.close()
    away.extensions["dcc.db"].engine.dispose()


def test_a_stream_ends_when_redis_goes_away_so_the_browser_reconnects(committed, redis) -> None:
    ids = _users(committed, ("agent", "dcc_agent"))
    with serve(committed) as served:
        cookie = log_in(served.base_url, "agent", PASSWORD)
        stream = StreamClient(served.base_url, "/stream", cookie)
        assert stream.event()[0] == "ready"
        # Redis drops the stream's connection (as a restart would).
        for client_info in redis.client_list():
            if client_info.get("cmd") in {"subscribe", "ssubscribe"} or int(
                client_info.get("sub", 0)
            ):
                redis.client_kill_filter(_id=client_info["id"])
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(5):
                stream.event()
        stream.close()
        assert _eventually(lambda: streams.open_count(redis, ids["agent"]) == 0)


def test_streams_of_concurrent_users_all_get_ready(committed, redis) -> None:
    """Streams opened at the same moment by several users are all relayed."""
    ids = _users(committed, *((f"a{i}", "dcc_agent") for i in range(3)))
    with serve(committed, threads=2) as served:
        cookies = [log_in(served.base_url, name, PASSWORD) for name in ids]

        def open_one(cookie: str) -> str:
            stream = StreamClient(served.base_url, "/stream", cookie)
            try:
                return stream.event()[0]
            finally:
                stream.close()

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            kinds = list(pool.map(open_one, cookies * 2))
        assert kinds == ["ready"] * 6


def test_user_channels_follow_the_role(session, staff) -> None:
    agent: User = staff.user("agent", "dcc_agent")
    sup: User = staff.user("sup", "supervisor")
    assert user_channels(agent) == (live.user_channel(agent.id),)
    assert user_channels(sup) == (live.user_channel(sup.id), live.WALLBOARD)
