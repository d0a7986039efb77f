"""The benchmark database: every measurement with its provenance.

SQLAlchemy Core over SQLite (WAL) by default; the same tables work on PostgreSQL through
``--db URL``. Each result is committed on its own, so a killed build loses at most the
measurement in flight, and ``(device_id, config_key)`` uniqueness makes reruns resume.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DatabaseError, OperationalError

from .errors import LetiError
from .host import DeviceProfile
from .paths import default_db_url

SCHEMA_VERSION = 1
metadata = sa.MetaData()


def _timing_columns() -> list[sa.Column]:
    """Latency statistics and the runtime that produced them (op- and model-level alike)."""
    return [
        sa.Column("median_ms", sa.Float),
        sa.Column("p10_ms", sa.Float),
        sa.Column("p90_ms", sa.Float),
        sa.Column("mean_ms", sa.Float),
        sa.Column("runs", sa.Integer),
        sa.Column("stats", sa.JSON),
        sa.Column("runtime", sa.String(50)),
        sa.Column("runtime_version", sa.String(50)),
    ]


devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("delegate", sa.String(20), nullable=False),
    sa.Column("threads", sa.Integer, nullable=False),
    sa.Column("runtime", sa.String(50), nullable=False),
    sa.Column("runtime_version", sa.String(50), nullable=False),
    sa.Column("fingerprint", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

builds = sa.Table(
    "builds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(200), nullable=False),
    sa.Column("suite", sa.String(50)),
    sa.Column("sources", sa.JSON),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("planned", sa.Integer),
    sa.Column("measured", sa.Integer),
    sa.Column("skipped", sa.Integer),
    sa.Column("failed", sa.Integer),
    sa.Column("message", sa.Text),
)

measurements = sa.Table(
    "measurements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(200), nullable=False, index=True),
    sa.Column("config_key", sa.String(40), nullable=False),
    sa.Column("op_type", sa.String(80), nullable=False, index=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("source", sa.String(40)),
    sa.Column("features", sa.JSON),
    sa.Column("model_sha256", sa.String(64)),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("error", sa.Text),
    *_timing_columns(),
    sa.Column("delegate", sa.String(20)),
    sa.Column("threads", sa.Integer),
    sa.Column("build_id", sa.Integer),
    sa.Column("measured_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("device_id", "config_key", name="uq_measurement"),
)

model_measurements = sa.Table(
    "model_measurements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(200), nullable=False, index=True),
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("kind", sa.String(20), nullable=False),  # generated | user
    sa.Column("spec", sa.JSON),
    sa.Column("operators", sa.Integer),
    *_timing_columns(),
    sa.Column("build_id", sa.Integer),
    sa.Column("measured_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("device_id", "model_sha256", name="uq_model_measurement"),
)

meta = sa.Table(
    "leti_meta",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200)),
)

EXPORT_TABLES = {t.name: t for t in (devices, builds, measurements, model_measurements)}
UNIQUE_KEYS = {
    "devices": ("id",),
    "builds": ("id",),
    "measurements": ("device_id", "config_key"),
    "model_measurements": ("device_id", "model_sha256"),
}


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

    def measured_keys(self, device_id: str) -> set[str]:
        """Config keys already settled (measured or failed) on this device profile."""
        with self.engine.connect() as c:
            q = sa.select(measurements.c.config_key).where(measurements.c.device_id == device_id)
            return {r[0] for r in c.execute(q)}

    def add_measurement(self, **values: Any) -> None:
        values.setdefault("measured_at", now())
        with self.engine.begin() as c:
            c.execute(measurements.insert().values(**values))

    def measurements(self, device_id: str | None = None, status: str | None = "ok") -> list[dict]:
        q = sa.select(measurements)
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
            ).group_by(measurements.c.device_id, measurements.c.op_type, measurements.c.status)
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

    # --- export / import ---------------------------------------------------------------------

    def export_rows(self) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as c:
            for name, table in EXPORT_TABLES.items():
                pk = list(table.primary_key.columns)
                for row in c.execute(sa.select(table).order_by(*pk)).mappings():
                    yield {"table": name, **dict(row)}

    def export(self, path: Path, fmt: str) -> int:
        rows = list(self.export_rows())
        if fmt == "jsonl":
            with open(path, "w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, sort_keys=True) + "\n")
        else:
            columns = ["table"] + sorted({k for r in rows for k in r if k != "table"})
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=columns)
                w.writeheader()
                for r in rows:
                    w.writerow({k: _csv_cell(r.get(k, _ABSENT)) for k in columns})
        return len(rows)

    def import_file(self, path: Path, fmt: str) -> dict[str, int]:
        """Add rows that are not there yet; rows already present (same unique key) are kept."""
        if fmt == "jsonl":
            rows = [
                json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()
            ]
        else:
            with open(path, newline="", encoding="utf-8") as f:
                rows = [_csv_row(r) for r in csv.DictReader(f)]
        added = {name: 0 for name in EXPORT_TABLES}
        build_ids: dict[int, int] = {}
        with self.engine.begin() as c:
            for r in rows:
                name = r.pop("table", None)
                if name not in EXPORT_TABLES:
                    raise LetiError(f"{path}: row for unknown table {name!r}")
                table = EXPORT_TABLES[name]
                values = {k: v for k, v in r.items() if k in table.c}
                if name == "builds":
                    old = values.pop("id")
                    res = c.execute(table.insert().values(**values))
                    build_ids[old] = int(res.inserted_primary_key[0])
                    added[name] += 1
                    continue
                if "build_id" in values and values["build_id"] is not None:
                    values["build_id"] = build_ids.get(values["build_id"], values["build_id"])
                keys = UNIQUE_KEYS[name]
                cond = sa.and_(*[table.c[k] == values[k] for k in keys])
                if c.execute(sa.select(sa.literal(1)).select_from(table).where(cond)).first():
                    continue
                if name != "devices":
                    values.pop("id", None)
                c.execute(table.insert().values(**values))
                added[name] += 1
        return added


_ABSENT = object()


def _csv_cell(v: Any) -> str:
    """Every cell JSON-encoded, so types and floats survive the round trip exactly."""
    return "" if v is _ABSENT else json.dumps(v, sort_keys=True)


def _csv_row(r: dict[str, str]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in r.items() if v != ""}


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
