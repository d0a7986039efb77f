"""Revision 0003: ``kernel_times`` and ``model_times``, kernels timed inside whole models and
whole models end to end, keyed by model name (published phone measurements, phones profiled
over adb).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kernel_times",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(200), nullable=False),
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
    op.create_index("ix_kernel_times_device_id", "kernel_times", ["device_id"])
    op.create_table(
        "model_times",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(200), nullable=False),
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
    op.create_index("ix_model_times_device_id", "model_times", ["device_id"])
    op.execute("UPDATE leti_meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("model_times")
    op.drop_table("kernel_times")
    op.execute("UPDATE leti_meta SET value = '2' WHERE key = 'schema_version'")
