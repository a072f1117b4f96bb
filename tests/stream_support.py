"""The web app served as ``dcc serve`` serves it (uvicorn, the ASGI front), and raw stream
clients for it: a test can hold dozens of open streams without a thread each."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
import uvicorn
from flask import Flask

from dcc.asgi import LiveApp


@dataclass
class Served:
    """A uvicorn server running the ASGI app on a thread of the test process."""

    app: LiveApp
    base_url: str
    server: uvicorn.Server

    @property
    def port(self) -> int:
        return int(urllib.parse.urlsplit(self.base_url).port or 80)


@contextmanager
def serve(flask_app: Flask, *, threads: int = 8) -> Iterator[Served]:
    """Serve ``flask_app`` behind the ASGI front until the block ends."""
    asgi = LiveApp(flask_app, threads=threads)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Served(asgi, f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        publisher = flask_app.extensions.get("dcc.wallboard")
        if publisher is not None:
            publisher.stop()  # a stream may have started it


def log_in(base_url: str, login: str, password: str) -> str:
    """Log in through the form; the session cookie's value."""
    browser = requests.Session()
    page = browser.get(f"{base_url}/login", timeout=10).text
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "no CSRF token on the login page"
    answer = browser.post(
        f"{base_url}/login",
        data={"login": login, "password": password, "csrf_token": found.group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:300]
    return str(browser.cookies["session"])


class StreamClient:
    """One open ``GET`` of a stream on a raw socket: its status, then its events."""

    def __init__(self, base_url: str, path: str, cookie: str, *, timeout: float = 10) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n"
            f"Cookie: session={cookie}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.headers = {
            key.strip().lower(): value.strip()
            for key, _, value in (
                line.decode("latin-1").partition(":") for line in head.split(b"\r\n")[1:]
            )
        }

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if self.buffer.endswith(b"\r\n0\r\n\r\n") or self.buffer == b"0\r\n\r\n":
                raise ConnectionError("the server ended the stream")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the stream")
            self.buffer += data
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def event(self) -> tuple[str, str]:
        """The next event's kind and data (comments and chunk sizes skipped)."""
        while True:
            block = self._until(b"\n\n").decode()
            lines = [
                line
                for line in block.splitlines()
                if line.startswith(("event:", "data:"))  # skips chunk sizes and comments
            ]
            if lines:
                kind = lines[0].removeprefix("event: ")
                data = lines[1].removeprefix("data: ") if len(lines) > 1 else ""
                return kind, data

    def close(self) -> None:
        self.sock.close()
