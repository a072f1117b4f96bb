"""The embedded mode's secrets and data are its user's alone: the instance folder 0700, the
session key, the simulator's token and the SQLite database 0600, also when they were made
looser before."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcc import create_app, instance, migrate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def embedded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No service settings from the environment, and the usual permissive umask."""
    for name in list(os.environ):
        if name.startswith(("DCC_", "TWILIO_")) and not name.startswith("DCC_TEST_"):
            monkeypatch.delenv(name)
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_instance_folder_is_private(embedded, tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    app = create_app({"instance_path": str(folder)})
    assert _mode(folder) == 0o700
    for name in ("secret_key", "sim_auth_token", "dcc.sqlite3"):
        assert _mode(folder / name) == 0o600, name
    assert app.config["SECRET_KEY"] == (folder / "secret_key").read_text().strip()
    # The database made in the private file stays private once the schema is in it.
    migrate.upgrade(f"sqlite:///{folder / 'dcc.sqlite3'}")
    assert (folder / "dcc.sqlite3").stat().st_size > 0
    assert all(_mode(p) == 0o600 for p in folder.iterdir() if p.is_file())
    app.extensions["dcc.db"].engine.dispose()


def test_looser_modes_left_by_an_earlier_start_are_tightened(embedded, tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    for name, content in (("secret_key", "k" * 64), ("sim_auth_token", "t" * 32)):
        (folder / name).write_text(content)
        os.chmod(folder / name, 0o644)
    (folder / "dcc.sqlite3").write_bytes(b"")
    os.chmod(folder / "dcc.sqlite3", 0o666)
    app = create_app({"instance_path": str(folder)})
    assert _mode(folder) == 0o700
    assert {
        name: _mode(folder / name) for name in ("secret_key", "sim_auth_token", "dcc.sqlite3")
    } == {
        "secret_key": 0o600,
        "sim_auth_token": 0o600,
        "dcc.sqlite3": 0o600,
    }
    assert app.config["SECRET_KEY"] == "k" * 64  # the same key: sessions survive the restart
    app.extensions["dcc.db"].engine.dispose()


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    instance.prepare(str(tmp_path))
    barrier = threading.Barrier(8)
    found: list[str] = []

    def start() -> None:
        barrier.wait()
        found.append(instance.secret(str(tmp_path), "secret_key"))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and len(found[0]) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no scratch left
