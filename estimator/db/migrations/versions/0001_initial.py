"""Revision 0001: the schema leti-view had before Alembic (commit 8720abd, leti_meta
schema_version 1). Written out in full, not imported from schema.py, which moves on.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timing_columns() -> list[sa.Column]:
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


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delegate", sa.String(20), nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("runtime", sa.String(50), nullable=False),
        sa.Column("runtime_version", sa.String(50), nullable=False),
        sa.Column("fingerprint", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "builds",
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
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("config_key", sa.String(40), nullable=False),
        sa.Column("op_type", sa.String(80), nullable=False),
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
    op.create_index("ix_measurements_device_id", "measurements", ["device_id"])
    op.create_index("ix_measurements_op_type", "measurements", ["op_type"])
    op.create_table(
        "model_measurements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("spec", sa.JSON),
        sa.Column("operators", sa.Integer),
        *_timing_columns(),
        sa.Column("build_id", sa.Integer),
        sa.Column("measured_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("device_id", "model_sha256", name="uq_model_measurement"),
    )
    op.create_index("ix_model_measurements_device_id", "model_measurements", ["device_id"])
    meta = op.create_table(
        "leti_meta",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(200)),
    )
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    for table in ("leti_meta", "model_measurements", "measurements", "builds", "devices"):
        op.drop_table(table)
