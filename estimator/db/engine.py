"""From what the user passed as ``--db`` to an engine, and from what goes wrong on the way to a
one-line LetiError.

Two engines are supported, SQLite files and PostgreSQL servers (through psycopg 3), because both
have the ``INSERT ... ON CONFLICT ... RETURNING`` that work claiming and duplicate-tolerant
inserts are built on. Everything dialect-specific the queries need lives here: the insert
construct, the database clock, and write transactions that cannot deadlock their way to an
error.
"""

from __future__ import annotations

import random
import shlex
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import LetiError
from ..paths import default_db_url

T = TypeVar("T")

# RETURNING (3.35) and upserts (3.24): what claiming and duplicate-tolerant inserts need.
SQLITE_MIN = (3, 35, 0)
# libpq waits for an unreachable host for minutes by default; a builder should say so sooner.
CONNECT_TIMEOUT_S = 10
# SQLSTATEs after which PostgreSQL asks the client to run the transaction again.
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


@dataclass(frozen=True)
class Target:
    """A database the user named: the URL to connect to and how to show it back to them."""

    url: sa.URL  # with the driver (postgresql+psycopg), ready for create_engine
    shown: str  # as the user gave it, password hidden: for messages
    given: bool  # False for the default SQLite file in LETI_HOME

    @property
    def upgrade_command(self) -> str:
        """The command that upgrades this database, as the user would type it."""
        if not self.given:
            return "leti db upgrade"
        return f"leti db upgrade --db {shlex.quote(self.shown)}"


def target(url: str | None) -> Target:
    """Parse ``--db``: a SQLite path, ``sqlite:///PATH``, or ``postgresql://USER@HOST:PORT/DB``
    (a plain ``postgresql://`` means psycopg 3, the driver the ``postgres`` extra installs)."""
    given = url is not None
    text = url or default_db_url()
    shown = text
    if "://" not in text:  # a bare path is a SQLite file
        text = f"sqlite:///{Path(text).expanduser()}"
    try:
        parsed = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise LetiError(f"{url!r} is not a database URL ({_one_line(exc)})", _URL_FORMS) from None
    if "://" in shown:
        shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise LetiError(f"database URL {shown}: {backend!r} is not supported", _URL_FORMS)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return Target(parsed, shown, given)


_URL_FORMS = "use a SQLite file path or postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE"


def create(t: Target) -> sa.Engine:
    """An engine for ``t``: SQLite in WAL mode with a busy timeout; PostgreSQL with pre-ping
    (a builder survives a server restart between two items) and a connect timeout."""
    kw: dict[str, Any] = {}
    if t.url.get_backend_name() == "postgresql":
        kw["pool_pre_ping"] = True
        if "connect_timeout" not in t.url.query:
            kw["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    elif sqlite3.sqlite_version_info < SQLITE_MIN:
        raise LetiError(
            f"SQLite {sqlite3.sqlite_version} is too old for leti-view's database (3.35+)",
            "use a Python built with a newer SQLite, or a PostgreSQL database",
        )
    try:
        engine = sa.create_engine(t.url, **kw)
    except ImportError as exc:
        raise LetiError(
            f"cannot open {t.shown}: its driver is not installed ({_one_line(exc)})",
            "pip install 'leti-view[postgres]'",
        ) from None
    except Exception as exc:
        raise LetiError(f"cannot open database {t.shown}: {_one_line(exc)}", _URL_FORMS) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "handle_error", _connection_trouble(t))
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
    except Exception:
        pass  # read-only media cannot switch journal mode; writes will fail clearly later
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _connection_trouble(t: Target) -> Callable[[sa.engine.ExceptionContext], None]:
    """A handle_error hook: a server that cannot be reached, refuses the login, has no such
    database, or goes away mid-build is the user's to fix, so it becomes a LetiError, on
    opening and on every later query alike. SQL errors are left alone (they are bugs)."""

    def handle(ctx: sa.engine.ExceptionContext) -> None:
        if ctx.is_pre_ping:
            return  # the pool reconnects by itself
        connecting = ctx.connection is None
        operational = isinstance(ctx.sqlalchemy_exception, sa.exc.OperationalError)
        if not connecting and operational and _says_gone(ctx.original_exception):
            # psycopg marks the connection broken only once it has read the server's goodbye;
            # a query sent just before that fails with "sending query failed" on a connection
            # it still calls open, so SQLAlchemy would hand it back to the pool
            ctx.is_disconnect = True
        if ctx.is_disconnect or (connecting and operational):
            raise connection_error(t, ctx.original_exception, lost=not connecting)

    return handle


_GONE = (
    "terminating connection",
    "server closed the connection",
    "connection is lost",
    "connection is closed",
    "connection is bad",
    "sending query failed",
    "consuming input failed",
    "could not receive data from server",
    "could not send data to server",
    "SSL connection has been closed",
)


def _says_gone(exc: BaseException | None) -> bool:
    """Whether a driver error says the server end of the connection went away (an admin's
    terminate, a restart, a dropped network), whatever state the driver thinks it is in."""
    text = str(exc or "")
    return any(words in text for words in _GONE)


def connection_error(t: Target, exc: BaseException, lost: bool = False) -> LetiError:
    """What a failed PostgreSQL connection means and what to do about it, on one line."""
    reason = _one_line(exc).removeprefix("connection failed: ")
    if "password authentication failed" in reason or "no password supplied" in reason:
        hint = "check the user and password in the URL, or the password in ~/.pgpass"
    elif "does not exist" in reason and "database" in reason:
        u = t.url
        hint = (
            f"create it first: createdb -h {u.host or 'localhost'} -p {u.port or 5432} "
            f"-U {u.username or 'postgres'} {u.database}"
        )
    elif "role" in reason and "does not exist" in reason:
        hint = "create that role on the server, or put an existing user in the URL"
    elif lost:
        return LetiError(
            f"lost the connection to database {t.shown}: {reason}",
            "check the server; what was committed is kept, rerun to resume",
        )
    else:
        hint = "is the PostgreSQL server running, and are the host and port in the URL right?"
    return LetiError(f"cannot connect to database {t.shown}: {reason}", hint)


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# --- what the queries need from the dialect ----------------------------------------------------


def insert(table: sa.Table, dialect: str) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing/do_update`` and ``excluded``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def db_now(dialect: str) -> sa.ColumnElement[float]:
    """The database's clock in seconds since the epoch.

    Leases expire by this clock, never by a builder's own: builders on machines whose clocks
    disagree still agree on when a lease ran out. On PostgreSQL it is the server's ``now()``
    (the transaction's start); SQLite has no server, so it is the clock of the machine that
    holds the file, which every process writing that file shares.
    """
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", sa.func.now()), sa.Float)
    return (sa.func.julianday("now") - 2440587.5) * 86400.0


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE): a
    transaction that reads first and writes later can fail at once when another process wrote
    in between, while one that starts with the lock simply waits its turn (busy_timeout)."""
    with engine.begin() as c:
        if c.dialect.name == "sqlite":
            c.exec_driver_sql("BEGIN IMMEDIATE")
        yield c


def write(engine: sa.Engine, work: Callable[[sa.Connection], T], tries: int = 8) -> T:
    """Run ``work`` in a write transaction, again when PostgreSQL chose it as a deadlock's
    victim: claims lock rows in key order, but a renew or a commit may meet them the other way
    round, and the right answer to that is to retry, not to fail a build."""
    for attempt in range(tries):
        try:
            with writing(engine) as c:
                return work(c)
        except sa.exc.DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES or attempt == tries - 1:
                raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")
