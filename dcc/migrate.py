"""Schema migrations with Alembic, driven from Python (the CLI and the tests).

On PostgreSQL an upgrade holds an advisory lock for its whole run, so that nodes deploying at
once upgrade one after the other (the later ones find the schema at the head and do nothing)
instead of racing to create the same tables.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from dcc.db import make_engine

#: The advisory lock key of schema changes (any fixed 64-bit number; "dcc-db" in ASCII).
MIGRATION_LOCK = 0x6463632D6462

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "heads", connection: Connection | None = None) -> None:
    """Bring the database at ``url`` to ``revision`` (one upgrade at a time on PostgreSQL)."""
    _locked(url, connection, lambda conn: command.upgrade(alembic_config(url, conn), revision))


def downgrade(url: str, revision: str, connection: Connection | None = None) -> None:
    _locked(url, connection, lambda conn: command.downgrade(alembic_config(url, conn), revision))


def _locked(url: str, connection: Connection | None, change: Callable[[Connection], None]) -> None:
    """Run ``change(connection)`` holding the migration lock on PostgreSQL."""
    if connection is not None:
        change(connection)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()
            try:
                change(conn)
                conn.commit()
            finally:
                if postgres:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                    conn.commit()
    finally:
        engine.dispose()


@functools.cache
def heads() -> frozenset[str]:
    """The revisions the code expects the database to be at (read once per process)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def revision(url: str, message: str) -> None:
    """Autogenerate a new revision from the models (developers)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
