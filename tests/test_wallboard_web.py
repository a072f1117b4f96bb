"""The wallboard page and its stream: the last snapshot first, then the published ones; the
stream keeps the publisher going and holds nothing once closed."""

from __future__ import annotations

import json
import time

from web_support import PASSWORD, login, read_events

from dcc import wallboard
from dcc.web.wallboard import wallboard_events


class CountingPublisher:
    """Stands in for the app's publisher thread: these tests publish by hand."""

    def __init__(self) -> None:
        self.started = 0

    def ensure_running(self) -> None:
        self.started += 1


def _envelope(data: dict) -> str:
    return json.dumps({"event": "wallboard", "data": data})


def test_the_page_streams_from_the_wallboard(client, staff) -> None:
    staff.user("sup", "supervisor", password=PASSWORD)
    login(client, "sup")
    page = client.get("/wallboard").get_data(as_text=True)
    assert 'data-stream-url="/wallboard/stream"' in page
    assert 'id="wb-agents"' in page and "wallboard.js" in page


def test_the_stream_sends_the_last_snapshot_then_relays(app, client, staff, redis) -> None:
    staff.user("sup", "supervisor", password=PASSWORD)
    publisher = CountingPublisher()
    app.extensions["dcc.wallboard"] = publisher
    redis.set(wallboard.LAST, _envelope({"generated_at": "10:00:00", "agents": []}))
    login(client, "sup")
    response = client.get("/wallboard/stream", buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = response.response
    assert read_events(chunks, 2) == [
        ("ready", {"channels": 2}),
        ("wallboard", {"generated_at": "10:00:00", "agents": []}),
    ]
    assert publisher.started == 1
    assert redis.ttl(wallboard.VIEWERS) > 0  # the publisher sees a viewer
    redis.publish(wallboard.SNAPSHOTS, _envelope({"generated_at": "10:00:01"}))
    assert read_events(chunks, 1) == [("wallboard", {"generated_at": "10:00:01"})]
    assert redis.pubsub_numsub(wallboard.SNAPSHOTS)[0][1] == 1
    response.close()
    # Closing the stream drops its subscription; the server notices the closed connection a
    # moment later, so look until it has (a leak would keep it at 1).
    deadline = time.monotonic() + 5
    while redis.pubsub_numsub(wallboard.SNAPSHOTS)[0][1] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert redis.pubsub_numsub(wallboard.SNAPSHOTS)[0][1] == 0


def test_an_open_stream_keeps_saying_it_watches(redis) -> None:
    events = wallboard_events(redis, [wallboard.SNAPSHOTS], watch_every=0.0)
    assert next(events).startswith("retry:")  # ready; no last snapshot yet
    redis.delete(wallboard.VIEWERS)
    assert next(events) == ": keep-alive\n\n"
    assert redis.exists(wallboard.VIEWERS)
    events.close()
    assert redis.pubsub_numsub(wallboard.SNAPSHOTS)[0][1] == 0
