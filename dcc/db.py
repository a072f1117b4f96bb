"""Database plumbing: the declarative base, engines, and the per-request session.

The request (or the job) owns the transaction: handlers and jobs call domain functions that
only flush; the boundary commits on success and rolls back on failure.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import (
    DateTime,
    MetaData,
    Select,
    Table,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from dcc import instance

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database.

    SQLite forgets the offset, PostgreSQL keeps it; both come back as aware UTC here, so
    comparisons and arithmetic behave the same on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use dcc.clock.now() or an aware value")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@functools.cache
def insert_ignoring(
    dialect: str, table: Table, conflict: tuple[str, ...], returning: tuple[str, ...] = ()
) -> Any:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING [RETURNING …]`` on ``table``, built once.

    Hot paths pass their values as parameters to this one statement object: SQLAlchemy then
    skips building, coercing and cache-keying a fresh statement on every call, which costs
    more than the round trip itself.
    """
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    return statement


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(session: Session, entity: Any) -> Any:
    """An INSERT for ``entity`` in the session's dialect, so ``on_conflict_do_nothing`` works
    the same on PostgreSQL and SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def normalise_url(url: str) -> str:
    """Let operators write ``postgresql://``; we talk to PostgreSQL through psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    """An engine with the settings each database needs to behave well under the service."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: the web app and the workers share the
            # file, and a deferred read that later writes can fail at once instead of waiting.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def default_sqlite_url(instance_path: str) -> str:
    """The embedded database in the instance folder, created readable by its owner only."""
    instance.prepare(instance_path)
    return f"sqlite:///{instance.private_file(os.path.join(instance_path, 'dcc.sqlite3'))}"


class Database:
    """The app's engine and session factory, kept on ``app.extensions['dcc.db']``."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A transaction for work outside a request (jobs, CLI): commit or roll back."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def init_app(app: Flask, url: str) -> Database:
    database = Database(url)
    app.extensions["dcc.db"] = database

    @app.after_request
    def _commit(response: Any) -> Any:
        # The request owns the transaction: a successful answer commits, an error rolls back.
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()
        return response

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()

    return database


def get_database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["dcc.db"]


def get_session() -> Session:
    """The session of the current request or app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
    session: Session = g.db_session
    return session


Row = TypeVar("Row")
#: ``SELECT … WHERE <primary key> = :pk`` per model, built on first use.
_BY_PRIMARY_KEY: dict[type[Any], Select[Any]] = {}


def _by_primary_key(model: type[Any]) -> Select[Any]:
    statement = _BY_PRIMARY_KEY.get(model)
    if statement is None:
        (key,) = inspect(model).primary_key
        statement = _BY_PRIMARY_KEY[model] = select(model).where(key == bindparam("pk"))
    return statement


def load(session: Session, model: type[Row], ident: Any) -> Row | None:
    """``session.get(model, ident)`` for the hot paths (every webhook loads its rows afresh):
    a row the session holds is :meth:`Session.get`'s; any other is read with a statement built
    once per model (``get`` builds its query anew on every call)."""
    if session.identity_map.get(session.identity_key(model, ident)) is not None:
        return session.get(model, ident)
    found: Row | None = session.scalar(_by_primary_key(model), {"pk": ident})
    return found


def load_one(session: Session, model: type[Row], ident: Any) -> Row:
    """:func:`load` of a row that must exist (``NoResultFound`` otherwise, as ``get_one``)."""
    found = load(session, model, ident)
    if found is None:
        raise NoResultFound("No row was found when one was required")
    return found
