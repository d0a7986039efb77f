"""Which schema revision a database is at, and bringing it to this code's (Alembic).

``open_db`` calls :func:`settle`: a fresh database is created at the newest revision, one at
that revision opens, and any other is refused with what to run. It never migrates by itself:
on a database shared by a lab, upgrading is a decision (every builder's leti-view must be new
enough afterwards), so it is :func:`upgrade`, ``leti db upgrade``, that does it.

Databases made before Alembic have no ``alembic_version`` table, only ``leti_meta`` with
``schema_version = 1``; they are stamped as revision 0001 first. ``leti_meta`` keeps being
written (the revision as an integer) because those older versions read it to refuse a newer
database.

Alembic is imported only when a database is not at the newest revision already, so opening
one costs the ``leti`` command no start-up time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..errors import LetiError
from .engine import Target, writing
from .schema import SCHEMA_REVISION, SCHEMA_VERSION, meta, metadata

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# leti_meta's schema_version from before Alembic, and the revision it is.
LEGACY = {"1": "0001"}
# Held while a database is created, stamped or upgraded, so that builders starting at once do
# not create the same tables twice (PostgreSQL; SQLite has its write lock).
LOCK_ID = 0x6C657469  # "leti"
LETI_TABLES = {"devices", "builds", "measurements", "model_measurements", "leti_meta"}


@dataclass(frozen=True)
class Upgrade:
    """What ``leti db upgrade`` did: revisions before (None: an empty database) and after."""

    url: str
    before: str | None
    after: str


def current(c: sa.Connection) -> str | None:
    """The revision in ``alembic_version``, or None where there is no such table."""
    if not sa.inspect(c).has_table("alembic_version"):
        return None
    return c.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().first()


def settle(engine: sa.Engine, t: Target, create: bool = True) -> None:
    """Make sure the database is at this code's revision, creating it when it is empty."""
    with engine.connect() as c:
        if current(c) == SCHEMA_REVISION:
            return
    with _locked(engine) as c:
        rev = current(c)
        if rev is None:
            rev = _legacy_revision(c, t)
            if rev is None:
                if not create:
                    raise LetiError(f"database {t.shown} has no leti tables", "run leti db build")
                metadata.create_all(c)
                c.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                _stamp(c, SCHEMA_REVISION)
                return
    # the stamp of a legacy database is committed before it is refused
    _refuse_unless_current(rev, t)


def upgrade(engine: sa.Engine, t: Target) -> Upgrade:
    """Migrate the database to this code's revision (an empty one is built from revision 1)."""
    from alembic import command

    with _locked(engine) as c:
        before = current(c) or _legacy_revision(c, t)
        if before is not None and before != SCHEMA_REVISION and not _known(before):
            _refuse_unless_current(before, t)
        if before != SCHEMA_REVISION:
            command.upgrade(_config(c), "head")
        after = current(c)
    assert after == SCHEMA_REVISION, after
    return Upgrade(t.shown, before, after)


def _legacy_revision(c: sa.Connection, t: Target) -> str | None:
    """The revision of a database made before Alembic, stamped now; None if it is empty."""
    tables = set(sa.inspect(c).get_table_names()) & LETI_TABLES
    if not tables:
        return None
    if "leti_meta" not in tables:
        raise LetiError(
            f"database {t.shown} has tables named like leti-view's but no leti_meta table",
            "it was not made by leti-view: use another database, or move this one aside",
        )
    version = c.execute(
        sa.select(meta.c.value).where(meta.c.key == "schema_version")
    ).scalar_one_or_none()
    version = version or "1"  # written right after the tables; a crash in between is v1
    if version not in LEGACY:
        _refuse_unless_current(f"schema_version {version}", t)
    _stamp(c, LEGACY[version])
    return LEGACY[version]


def _refuse_unless_current(rev: str, t: Target) -> None:
    if rev == SCHEMA_REVISION:
        return
    if _known(rev):
        raise LetiError(
            f"database {t.shown} is at schema revision {rev}, this leti-view needs "
            f"{SCHEMA_REVISION}",
            f"run '{t.upgrade_command}' once (back it up first with leti db export)",
        )
    raise LetiError(
        f"database {t.shown} is at schema revision {rev}, newer than this leti-view knows",
        "upgrade leti-view",
    )


def _known(rev: str) -> bool:
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(rev) is not None
    except (CommandError, KeyError):
        return False


@contextmanager
def _locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction holding the schema lock (see LOCK_ID)."""
    with writing(engine) as c:
        if c.dialect.name == "postgresql":
            c.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        yield c


def _stamp(c: sa.Connection, rev: str) -> None:
    from alembic.runtime.migration import MigrationContext

    MigrationContext.configure(c).stamp(_scripts(), rev)


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _config(c: sa.Connection | None = None) -> Config:
    """Alembic's configuration, made here rather than in an alembic.ini: the migrations are
    part of the package, wherever it is installed. ``env.py`` takes the connection from it."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = c
    return cfg
