"""The benchmark database: every measurement with its provenance.

SQLAlchemy Core over SQLite (WAL) by default; the same tables work on PostgreSQL through
``--db URL``. Each result is committed on its own, so a killed build loses at most the
measurement in flight, and ``(device_id, config_key)`` uniqueness makes reruns resume.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DatabaseError, OperationalError

from ..errors import LetiError
from ..paths import default_db_url
from .schema import (
    SCHEMA_VERSION,
    builds,
    devices,
    measurements,
    meta,
    metadata,
    model_measurements,
)

if TYPE_CHECKING:
    from ..devices import DeviceProfile


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Database:
    """A handle on the benchmark database; create with :func:`open_db`."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    # --- devices -----------------------------------------------------------------------------

    def upsert_device(self, p: DeviceProfile) -> None:
        with self.engine.begin() as c:
            row = c.execute(sa.select(devices.c.id).where(devices.c.id == p.id)).first()
            values = dict(
                kind=p.kind,
                delegate=p.delegate,
                threads=p.threads,
                runtime=p.runtime,
                runtime_version=p.runtime_version,
                fingerprint=p.fingerprint,
            )
            if row:
                c.execute(devices.update().where(devices.c.id == p.id).values(**values))
            else:
                c.execute(devices.insert().values(id=p.id, created_at=now(), **values))

    def device_ids(self) -> list[str]:
        with self.engine.connect() as c:
            return [r[0] for r in c.execute(sa.select(devices.c.id).order_by(devices.c.id))]

    def device(self, device_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(devices).where(devices.c.id == device_id)).mappings().first()
            return dict(row) if row else None

    # --- builds ------------------------------------------------------------------------------

    def start_build(
        self, device_id: str, suite: str | None, sources: list[str], planned: int
    ) -> int:
        with self.engine.begin() as c:
            res = c.execute(
                builds.insert().values(
                    device_id=device_id,
                    suite=suite,
                    sources=sources,
                    started_at=now(),
                    status="running",
                    planned=planned,
                    measured=0,
                    skipped=0,
                    failed=0,
                )
            )
            return int(res.inserted_primary_key[0])

    def finish_build(
        self, build_id: int, status: str, counts: dict[str, int], message: str = ""
    ) -> None:
        with self.engine.begin() as c:
            c.execute(
                builds.update()
                .where(builds.c.id == build_id)
                .values(finished_at=now(), status=status, message=message, **counts)
            )

    # --- measurements ------------------------------------------------------------------------

    def done_keys(self, device_id: str) -> set[str]:
        """Work already settled on this device profile: single-op config keys (measured or
        failed) and the names of the generated networks measured."""
        with self.engine.connect() as c:
            q = sa.select(measurements.c.config_key).where(measurements.c.device_id == device_id)
            keys = {r[0] for r in c.execute(q)}
            q = sa.select(model_measurements.c.name).where(
                (model_measurements.c.device_id == device_id)
                & (model_measurements.c.kind == "generated")
            )
            return keys | {r[0] for r in c.execute(q)}

    def forget_failures(self, device_id: str, build_id: int) -> None:
        """Drop the failed rows of one build (a systemic failure is no item's own)."""
        with self.engine.begin() as c:
            c.execute(
                measurements.delete().where(
                    (measurements.c.device_id == device_id)
                    & (measurements.c.build_id == build_id)
                    & (measurements.c.status == "failed")
                )
            )

    def add_measurement(self, **values: Any) -> None:
        values.setdefault("measured_at", now())
        with self.engine.begin() as c:
            c.execute(measurements.insert().values(**values))

    def measurements(
        self, device_id: str | None = None, status: str | None = "ok", reference: bool = False
    ) -> list[dict]:
        """Single-op rows (or, with ``reference``, only the drift reference checkpoints)."""
        q = sa.select(measurements)
        is_ref = sa.func.coalesce(measurements.c.source, "") == "reference"
        q = q.where(is_ref if reference else ~is_ref)
        if device_id:
            q = q.where(measurements.c.device_id == device_id)
        if status:
            q = q.where(measurements.c.status == status)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q.order_by(measurements.c.id)).mappings()]

    def medians(self, device_id: str, keys: list[str]) -> dict[str, float]:
        """Median ms of the given config keys that are measured (without loading whole rows)."""
        q = sa.select(measurements.c.config_key, measurements.c.median_ms).where(
            (measurements.c.device_id == device_id)
            & (measurements.c.status == "ok")
            & measurements.c.config_key.in_(sorted(set(keys)))
        )
        with self.engine.connect() as c:
            return {k: v for k, v in c.execute(q)}

    def model_median(self, device_id: str, model_sha256: str) -> float | None:
        q = sa.select(model_measurements.c.median_ms).where(
            (model_measurements.c.device_id == device_id)
            & (model_measurements.c.model_sha256 == model_sha256)
        )
        with self.engine.connect() as c:
            row = c.execute(q).first()
            return row[0] if row else None

    def add_model_measurement(self, **values: Any) -> None:
        values.setdefault("measured_at", now())
        key = (model_measurements.c.device_id == values["device_id"]) & (
            model_measurements.c.model_sha256 == values["model_sha256"]
        )
        with self.engine.begin() as c:
            if c.execute(sa.select(model_measurements.c.id).where(key)).first():
                c.execute(model_measurements.update().where(key).values(**values))
            else:
                c.execute(model_measurements.insert().values(**values))

    def model_measurements(
        self, device_id: str | None = None, kind: str | None = None
    ) -> list[dict]:
        q = sa.select(model_measurements)
        if device_id:
            q = q.where(model_measurements.c.device_id == device_id)
        if kind:
            q = q.where(model_measurements.c.kind == kind)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q.order_by(model_measurements.c.id)).mappings()]

    # --- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "devices": {}}
        with self.engine.connect() as c:
            q = sa.select(
                measurements.c.device_id,
                measurements.c.op_type,
                measurements.c.status,
                sa.func.count(),
            )
            q = q.where(sa.func.coalesce(measurements.c.source, "") != "reference")
            q = q.group_by(measurements.c.device_id, measurements.c.op_type, measurements.c.status)
            for dev, op, st, n in c.execute(q):
                d = out["devices"].setdefault(dev, {"ok": 0, "failed": 0, "ops": {}, "models": 0})
                d[st if st in ("ok", "failed") else "failed"] += n
                d["ops"].setdefault(op, {"ok": 0, "failed": 0})[st] = n
            q2 = sa.select(model_measurements.c.device_id, sa.func.count()).group_by(
                model_measurements.c.device_id
            )
            for dev, n in c.execute(q2):
                d = out["devices"].setdefault(dev, {"ok": 0, "failed": 0, "ops": {}, "models": 0})
                d["models"] = n
            last = c.execute(sa.select(builds).order_by(builds.c.id.desc()).limit(1)).mappings()
            row = last.first()
            out["last_build"] = dict(row) if row else None
        return out


def open_db(url: str | None = None, create: bool = True) -> Database:
    url = url or default_db_url()
    if "://" not in url:  # a bare path is a SQLite file
        url = f"sqlite:///{Path(url).expanduser()}"
    try:
        engine = sa.create_engine(url)
    except Exception as exc:
        raise LetiError(f"cannot open database {url}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if create:
            try:
                metadata.create_all(engine)
            except OperationalError as exc:
                if "already exists" not in str(exc):
                    raise
                metadata.create_all(engine)  # another process created it at the same moment
        with engine.begin() as c:
            row = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
            if row is None:
                c.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row[0]) > SCHEMA_VERSION:
                raise LetiError(
                    f"database {url} has schema version {row[0]}, newer than this leti-view",
                    "upgrade leti-view",
                )
    except LetiError:
        raise
    except OperationalError as exc:
        reason = str(exc.orig) if exc.orig else str(exc)
        hint = "check the path and permissions, or pass --db with a writable location"
        if "readonly" in reason or "read-only" in reason:
            hint = "the database file or its folder is read-only; fix permissions or use --db"
        raise LetiError(f"cannot use database {url}: {reason}", hint) from None
    except DatabaseError as exc:
        reason = str(exc.orig) if exc.orig else str(exc)
        raise LetiError(
            f"database {url} is corrupt or not a leti database: {reason}",
            "move it aside and rebuild, or import a previous export",
        ) from None
    return Database(engine, url)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
    except Exception:
        pass  # read-only media cannot switch journal mode; writes will fail clearly later
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
