"""The benchmark database's tables: every measurement with its provenance.

Measurements of single operators and of whole models carry the runtime that produced them;
``(device_id, config_key)`` and ``(device_id, model_sha256)`` uniqueness is what lets reruns
resume and imports merge. ``work_leases`` is what lets several builders share one database.

These tables are the schema at the newest revision in ``migrations/versions``; a change here
needs a new revision there (``tests/test_migrations.py`` compares the two).
"""

from __future__ import annotations

import sqlalchemy as sa

# The Alembic revision these tables are at, and the same as an integer for ``leti_meta`` (which
# versions of leti-view before Alembic read, and refuse when it is newer than theirs).
SCHEMA_REVISION = "0003"
SCHEMA_VERSION = int(SCHEMA_REVISION)
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
    sa.Column("graph", sa.LargeBinary),  # the model's skeleton (graph.skeleton): its graph
    *_timing_columns(),
    sa.Column("build_id", sa.Integer),
    sa.Column("measured_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("device_id", "model_sha256", name="uq_model_measurement"),
)

# Kernels as a runtime ran them inside a whole model, and whole models end to end, keyed by the
# model's name: a phone's published measurements (a dataset's rows, exactly as published, with
# their provenance) or a phone profiled over adb. Times stay in the unit they were published in
# (µs), so a re-import compares equal to the bit. ``position``: the kernel's place in the
# model's run order; ``kernel``: the runtime's own label, which says what it fused.
kernel_times = sa.Table(
    "kernel_times",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(200), nullable=False, index=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("operation", sa.String(80), nullable=False),
    sa.Column("kernel", sa.String(400), nullable=False),
    sa.Column("features", sa.JSON),
    sa.Column("time_us", sa.Float, nullable=False),
    sa.Column("source", sa.String(80), nullable=False),
    sa.Column("provenance", sa.JSON, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("device_id", "model", "position", name="uq_kernel_time"),
)

model_times = sa.Table(
    "model_times",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(200), nullable=False, index=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("mean_us", sa.Float, nullable=False),
    sa.Column("std_us", sa.Float),
    sa.Column("flops", sa.Float),
    sa.Column("size_bytes", sa.Float),
    sa.Column("source", sa.String(80), nullable=False),
    sa.Column("provenance", sa.JSON, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("device_id", "model", name="uq_model_time"),
)

# Who is measuring what right now: a builder leases the items it is about to measure so that
# other builders on the same device profile skip them; a lease that expires (its builder died)
# can be taken over. ``key`` is a work item's key: a config_key or a generated network's name.
work_leases = sa.Table(
    "work_leases",
    metadata,
    sa.Column("device_id", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # seconds since the epoch, database clock
)

meta = sa.Table(
    "leti_meta",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200)),
)

EXPORT_TABLES = {
    t.name: t
    for t in (devices, builds, measurements, model_measurements, kernel_times, model_times)
}
UNIQUE_KEYS = {
    "devices": ("id",),
    "builds": ("id",),
    "measurements": ("device_id", "config_key"),
    "model_measurements": ("device_id", "model_sha256"),
    "kernel_times": ("device_id", "model", "position"),
    "model_times": ("device_id", "model"),
}
