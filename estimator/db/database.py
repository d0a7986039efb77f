"""The benchmark database: every measurement with its provenance.

SQLAlchemy Core over SQLite (WAL) by default, or one PostgreSQL database that a lab's builders
share (``--db postgresql://...``). Each result is committed on its own, so a killed build loses
at most what it was timing (one item, or on the host one window of items timed together), and
``(device_id, config_key)`` uniqueness makes reruns resume. Builders working at once on one
device profile split the work with leases (:meth:`Database.claim`, see ``leases.py``); a
result that another builder committed first is kept, never an error.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError, OperationalError

from ..errors import LetiError
from . import leases as lease_sql
from .engine import create as create_engine
from .engine import insert, target, write, writing
from .revisions import Upgrade, settle, upgrade
from .schema import builds, devices, kernel_times, measurements, model_measurements, model_times

if TYPE_CHECKING:
    from ..devices import DeviceProfile


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Database:
    """A handle on the benchmark database; create with :func:`open_db`."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = url  # for display: a password in it is hidden
        self.dialect = engine.dialect.name

    # --- devices -----------------------------------------------------------------------------

    def upsert_device(self, p: DeviceProfile) -> None:
        """Add or refresh a device profile (one statement: builders may start at once)."""
        values = dict(
            kind=p.kind,
            delegate=p.delegate,
            threads=p.threads,
            runtime=p.runtime,
            runtime_version=p.runtime_version,
            fingerprint=p.fingerprint,
        )
        stmt = insert(devices, self.dialect).values(id=p.id, created_at=now(), **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[devices.c.id], set_={k: stmt.excluded[k] for k in values}
        )
        write(self.engine, lambda c: c.execute(stmt))

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

    # --- work claiming -----------------------------------------------------------------------

    def claim(self, device_id: str, keys: list[str], owner: str, lease_s: float) -> list[str]:
        """Lease to ``owner``, for ``lease_s`` seconds of the database's clock, the work items
        of ``keys`` that are neither settled on this device profile (what :meth:`done_keys`
        returns) nor leased to another owner whose lease has not expired; returns the keys
        now leased to ``owner``, in the order given. A key ``owner`` holds already is renewed.

        Safe with any number of builders on any number of machines: see ``leases.py`` for why
        one upsert per batch of keys is atomic on PostgreSQL and on SQLite. Each batch commits
        on its own, so a builder killed mid-claim holds only leases that will expire.
        """
        wanted = list(dict.fromkeys(keys))
        taken: set[str] = set()
        for i in range(0, len(wanted), lease_sql.BATCH):
            batch = sorted(wanted[i : i + lease_sql.BATCH])  # one lock order for every claimer
            taken |= write(
                self.engine, lambda c, b=batch: lease_sql.claim(c, device_id, b, owner, lease_s)
            )
        return [k for k in wanted if k in taken]

    def renew(self, device_id: str, keys: list[str], owner: str, lease_s: float) -> None:
        """Extend ``owner``'s leases on ``keys`` to ``lease_s`` seconds from now (database
        clock); keys it does not hold (any more) are left alone."""
        for batch in _batches(sorted(set(keys))):
            write(self.engine, lambda c, b=batch: lease_sql.renew(c, device_id, b, owner, lease_s))

    def release(self, device_id: str, keys: list[str], owner: str) -> None:
        """Give up ``owner``'s leases on ``keys`` (an item it could not measure, a build that
        stops early), so other builders can take them at once instead of after expiry."""
        for batch in _batches(sorted(set(keys))):
            write(self.engine, lambda c, b=batch: lease_sql.release(c, device_id, b, owner))

    def leases(self, device_id: str | None = None) -> list[dict[str, Any]]:
        """Lease rows (of one device profile): device_id, key, owner, expires_at (seconds since
        the epoch, database clock) and expires_in (seconds left; negative once expired)."""
        with self.engine.connect() as c:
            return lease_sql.leases(c, device_id)

    def next_expiry(self, device_id: str, owner: str) -> float | None:
        """Seconds until the earliest lease of another owner on ``device_id`` expires (0.0 if one
        has already), or None if no one else holds any: how long a builder with nothing left
        to claim waits before claiming again, in case a builder died holding work."""
        with self.engine.connect() as c:
            return lease_sql.next_expiry(c, device_id, owner)

    # --- measurements ------------------------------------------------------------------------

    def done_keys(self, device_id: str) -> set[str]:
        """Work already settled on this device profile: single-op config keys (measured or
        failed) and the names of the generated networks measured."""
        with self.engine.connect() as c:
            return {r[0] for r in c.execute(lease_sql.done_query(device_id))}

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

    def add_measurement(self, owner: str | None = None, **values: Any) -> bool:
        """Store a single-op result (ok or failed); True if stored, False if the device
        profile has this config already (another builder was first): that row is kept.

        With ``owner``, that owner's lease on the item is deleted in the same transaction, so
        no other builder can see the item neither leased nor measured."""
        values.setdefault("measured_at", now())
        stmt = (
            insert(measurements, self.dialect)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["device_id", "config_key"])
            .returning(measurements.c.id)
        )

        def txn(c: sa.Connection) -> bool:
            stored = c.execute(stmt).first() is not None
            if owner is not None:
                lease_sql.release(c, values["device_id"], [values["config_key"]], owner)
            return stored

        return write(self.engine, txn)

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

    def usable_measurements(self, device_id: str) -> list[dict]:
        """The single-op rows a regressor or a throughput fit can learn from: measured, with
        the op's features and a latency (fusion probes and timings of 0 have neither)."""
        return [r for r in self.measurements(device_id) if r["features"] and r["median_ms"]]

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

    def add_model_measurement(self, owner: str | None = None, **values: Any) -> bool:
        """Store a whole-model timing; True if written, False if kept as it was.

        A model already measured on this device profile is measured again (the row updated)
        only while that row is a ``user`` one (``leti measure --record``, evaluate's
        remeasure); a ``generated`` row, a build's network, is kept: two builders that both
        measured it leave the first one's result, as for single ops.

        With ``owner``, a generated network's lease (its key is its name) is deleted in the
        same transaction."""
        values.setdefault("measured_at", now())
        stmt = insert(model_measurements, self.dialect).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["device_id", "model_sha256"],
            set_={k: stmt.excluded[k] for k in values if k not in ("device_id", "model_sha256")},
            where=model_measurements.c.kind == "user",
        ).returning(model_measurements.c.id)

        def txn(c: sa.Connection) -> bool:
            stored = c.execute(stmt).first() is not None
            if owner is not None and values.get("kind") == "generated" and values.get("name"):
                lease_sql.release(c, values["device_id"], [values["name"]], owner)
            return stored

        return write(self.engine, txn)

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

    # --- kernels in context and models end to end, by model name -----------------------------

    def add_times(
        self,
        profiles: list[DeviceProfile],
        kernels: list[dict[str, Any]],
        models: list[dict[str, Any]],
    ) -> dict[str, int]:
        """Store device profiles, kernel rows and model rows in one transaction (all or
        nothing); rows already there (same device, model and position) are kept as they are.
        Returns how many of each were added."""
        stamp = now()
        added = {"devices": 0, "kernel_times": 0, "model_times": 0}
        with writing(self.engine) as c:
            for p in profiles:
                stmt = insert(devices, self.dialect).values(
                    id=p.id, kind=p.kind, delegate=p.delegate, threads=p.threads,
                    runtime=p.runtime, runtime_version=p.runtime_version,
                    fingerprint=p.fingerprint, created_at=stamp,
                ).on_conflict_do_nothing(index_elements=["id"]).returning(devices.c.id)  # fmt: skip
                added["devices"] += int(c.execute(stmt).first() is not None)
            for table, rows, keys in ((kernel_times, kernels, ["device_id", "model", "position"]),
                                      (model_times, models, ["device_id", "model"])):  # fmt: skip
                if not rows:
                    continue
                stmt = (insert(table, self.dialect).on_conflict_do_nothing(index_elements=keys)
                        .returning(table.c.id))  # fmt: skip
                batch = [{**r, "recorded_at": r.get("recorded_at", stamp)} for r in rows]
                added[table.name] += len(c.execute(stmt, batch).all())
        return added

    def kernel_times(self, device_id: str) -> list[dict[str, Any]]:
        """A device's kernel rows, model by model in run order."""
        q = sa.select(kernel_times).where(kernel_times.c.device_id == device_id)
        q = q.order_by(kernel_times.c.model, kernel_times.c.position)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def model_times(self, device_id: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(model_times)
        if device_id:
            q = q.where(model_times.c.device_id == device_id)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q.order_by(model_times.c.id)).mappings()]

    def time_counts(self) -> dict[str, dict[str, int]]:
        """Per device profile: kernel rows and model rows (``kernels``, ``models``)."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as c:
            for table, key in ((kernel_times, "kernels"), (model_times, "models")):
                q = sa.select(table.c.device_id, sa.func.count()).group_by(table.c.device_id)
                for dev, n in c.execute(q):
                    out.setdefault(dev, {"kernels": 0, "models": 0})[key] = n
        return out

    # --- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counts per device profile and op type, the last build, and for each profile that
        builders are working on now, its active leases: ``{"count": n, "owners": {owner: n}}``.
        """
        out: dict[str, Any] = {"url": self.url, "devices": {}}

        def device(dev: str) -> dict[str, Any]:
            return out["devices"].setdefault(dev, {"ok": 0, "failed": 0, "ops": {}, "models": 0})

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
                d = device(dev)
                d[st if st in ("ok", "failed") else "failed"] += n
                d["ops"].setdefault(op, {"ok": 0, "failed": 0})[st] = n
            q2 = sa.select(model_measurements.c.device_id, sa.func.count()).group_by(
                model_measurements.c.device_id
            )
            for dev, n in c.execute(q2):
                device(dev)["models"] = n
            for dev, owner, n in lease_sql.active(c):
                held = device(dev).setdefault("leases", {"count": 0, "owners": {}})
                held["count"] += n
                held["owners"][owner] = n
            last = c.execute(sa.select(builds).order_by(builds.c.id.desc()).limit(1)).mappings()
            row = last.first()
            out["last_build"] = dict(row) if row else None
        out["times"] = self.time_counts()
        return out


def _batches(keys: list[str]) -> list[list[str]]:
    return [keys[i : i + lease_sql.BATCH] for i in range(0, len(keys), lease_sql.BATCH)]


def open_db(url: str | None = None, create: bool = True) -> Database:
    """The database ``url`` names (a SQLite path or URL, or ``postgresql://...``; default: the
    SQLite file in LETI_HOME), at this code's schema revision: created when empty (unless
    ``create`` is false), refused with what to run when it is older or newer."""
    t = target(url)
    engine = create_engine(t)
    try:
        settle(engine, t, create)
    except LetiError:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig) if exc.orig else str(exc)
        hint = "check the path and permissions, or pass --db with a writable location"
        if "readonly" in reason or "read-only" in reason:
            hint = "the database file or its folder is read-only; fix permissions or use --db"
        raise LetiError(f"cannot use database {t.shown}: {reason}", hint) from None
    except DatabaseError as exc:
        engine.dispose()
        reason = str(exc.orig) if exc.orig else str(exc)
        raise LetiError(
            f"database {t.shown} is corrupt or not a leti database: {reason}",
            "move it aside and rebuild, or import a previous export",
        ) from None
    return Database(engine, t.shown)


def upgrade_db(url: str | None = None) -> Upgrade:
    """``leti db upgrade``: migrate the database ``url`` names to this code's revision."""
    t = target(url)
    engine = create_engine(t)
    try:
        return upgrade(engine, t)
    except DatabaseError as exc:
        reason = str(exc.orig) if exc.orig else str(exc)
        raise LetiError(
            f"cannot upgrade database {t.shown}: {reason.splitlines()[0]}",
            "restore it from a backup or an export; nothing was changed",
        ) from None
    finally:
        engine.dispose()
