"""Revision 0002: whole-model measurements keep the model's graph (its skeleton), and
``work_leases`` lets several builders share a database.

Databases written by leti-view between the graph column and Alembic already have ``graph``
while saying schema_version 1; the column is added only where it is missing.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("model_measurements")}
    if "graph" not in columns:
        op.add_column("model_measurements", sa.Column("graph", sa.LargeBinary))
    op.create_table(
        "work_leases",
        sa.Column("device_id", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.execute("UPDATE leti_meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("work_leases")
    op.drop_column("model_measurements", "graph")
    op.execute("UPDATE leti_meta SET value = '1' WHERE key = 'schema_version'")
