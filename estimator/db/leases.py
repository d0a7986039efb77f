"""Work claiming: several builders share one device profile's work without measuring an item
twice, and a builder that dies hands its work on when its leases run out.

A lease is a row ``(device_id, key) -> (owner, expires_at)`` in ``work_leases``. Taking one is
an upsert, ``INSERT ... SELECT the keys not settled yet ... ON CONFLICT (device_id, key) DO
UPDATE ... WHERE the lease is ours or has expired ... RETURNING key``, one statement per batch
of keys, for these reasons:

- the primary key makes the database itself arbitrate: of two builders inserting the same key
  at once, PostgreSQL makes the second wait for the first to commit and then evaluates the
  ``WHERE`` on the row as committed (not on its snapshot), so exactly one of them gets the key;
  SQLite has one writer at a time, so the same statement is atomic there too;
- it needs no explicit locks nor ``SELECT ... FOR UPDATE SKIP LOCKED``, which would need the
  lease rows to exist before anyone could lock them; and it is the same SQL on both engines;
- keys are inserted in sorted order, so two claims lock rows in the same order.

One race the upsert alone does not close: a builder that commits a measurement deletes its
lease in the same transaction, and a claim whose snapshot was taken just before that commit
finds neither the lease (deleted) nor the measurement (not in its snapshot). So the claim's
transaction ends with a second statement that drops, from what it just took, every key that
is measured by now: on PostgreSQL (read committed) that statement sees every commit before it
began, which includes any commit the upsert could have raced with.

Expiry is by the database's clock (``engine.db_now``), read once per transaction and used for
both the new expiry and the comparison, so builders with skewed clocks agree.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .engine import db_now, insert
from .schema import measurements, model_measurements, model_times, work_leases

# Keys per statement: 4 parameters a row stays far below every engine's parameter limit.
BATCH = 200


def done_query(device_id: str) -> sa.CompoundSelect:
    """The keys a device profile has settled: measured or failed single ops, generated
    networks measured, and ``zoo:<model>`` for models profiled kernel by kernel (what
    ``Database.done_keys`` returns)."""
    return sa.union(
        sa.select(sa.literal("zoo:", sa.String) + model_times.c.model).where(
            model_times.c.device_id == device_id
        ),
        sa.select(measurements.c.config_key).where(measurements.c.device_id == device_id),
        sa.select(model_measurements.c.name).where(
            (model_measurements.c.device_id == device_id)
            & (model_measurements.c.kind == "generated")
            & model_measurements.c.name.is_not(None)  # a NULL would make NOT IN match nothing
        ),
    )


def clock(c: sa.Connection) -> float:
    return float(c.execute(sa.select(db_now(c.dialect.name))).scalar_one())


def claim(
    c: sa.Connection, device_id: str, keys: list[str], owner: str, lease_s: float
) -> set[str]:
    """Lease to ``owner`` those of ``keys`` (at most BATCH, distinct, sorted) that are neither
    settled nor leased to another owner until later than now; the keys taken."""
    now = clock(c)
    wanted = sa.values(sa.column("key", sa.String), name="wanted").data([(k,) for k in keys])
    wanted = wanted.cte("wanted")  # WITH wanted(key) AS (VALUES ...): both engines read it
    rows = sa.select(
        sa.literal(device_id, sa.String),
        wanted.c.key,
        sa.literal(owner, sa.String),
        sa.literal(now + lease_s, sa.Float),
    ).where(wanted.c.key.not_in(done_query(device_id)))
    stmt = insert(work_leases, c.dialect.name).from_select(
        ["device_id", "key", "owner", "expires_at"], rows
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[work_leases.c.device_id, work_leases.c.key],
        set_=dict(owner=stmt.excluded.owner, expires_at=stmt.excluded.expires_at),
        where=(work_leases.c.owner == stmt.excluded.owner) | (work_leases.c.expires_at < now),
    ).returning(work_leases.c.key)
    taken = {r[0] for r in c.execute(stmt)}
    if not taken:
        return taken
    # what was measured and committed while the statement above ran (see the module's doc)
    settled = (
        work_leases.delete()
        .where(
            (work_leases.c.device_id == device_id)
            & (work_leases.c.owner == owner)
            & work_leases.c.key.in_(sorted(taken))
            & work_leases.c.key.in_(done_query(device_id))
        )
        .returning(work_leases.c.key)
    )
    return taken - {r[0] for r in c.execute(settled)}


def renew(c: sa.Connection, device_id: str, keys: list[str], owner: str, lease_s: float) -> None:
    c.execute(
        work_leases.update()
        .where(_owned(device_id, keys, owner))
        .values(expires_at=db_now(c.dialect.name) + lease_s)
    )


def release(c: sa.Connection, device_id: str, keys: list[str], owner: str) -> None:
    c.execute(work_leases.delete().where(_owned(device_id, keys, owner)))


def _owned(device_id: str, keys: list[str], owner: str) -> sa.ColumnElement[bool]:
    return (
        (work_leases.c.device_id == device_id)
        & (work_leases.c.owner == owner)
        & work_leases.c.key.in_(keys)
    )


def leases(c: sa.Connection, device_id: str | None = None) -> list[dict[str, Any]]:
    """Every lease row (of one device profile), expired ones included, with ``expires_in``:
    seconds left by the database's clock (negative: expired, free to take over)."""
    q = sa.select(
        work_leases,
        (work_leases.c.expires_at - db_now(c.dialect.name)).label("expires_in"),
    ).order_by(work_leases.c.device_id, work_leases.c.key)
    if device_id is not None:
        q = q.where(work_leases.c.device_id == device_id)
    return [dict(r) for r in c.execute(q).mappings()]


def active(c: sa.Connection) -> list[tuple[str, str, int]]:
    """(device_id, owner, leases) for every owner holding unexpired leases."""
    q = (
        sa.select(work_leases.c.device_id, work_leases.c.owner, sa.func.count())
        .where(work_leases.c.expires_at > db_now(c.dialect.name))
        .group_by(work_leases.c.device_id, work_leases.c.owner)
        .order_by(work_leases.c.device_id, work_leases.c.owner)
    )
    return [(d, o, int(n)) for d, o, n in c.execute(q)]


def next_expiry(c: sa.Connection, device_id: str, owner: str) -> float | None:
    """Seconds until the earliest lease of another owner on this device profile expires (0 if
    one already has); None when no other owner holds a lease."""
    q = sa.select(sa.func.min(work_leases.c.expires_at) - db_now(c.dialect.name)).where(
        (work_leases.c.device_id == device_id) & (work_leases.c.owner != owner)
    )
    left = c.execute(q).scalar()
    return None if left is None else max(0.0, float(left))
