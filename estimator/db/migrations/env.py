"""Alembic's entry point: run the migrations on the connection ``revisions.upgrade`` passes.

There is no offline (SQL script) mode and no engine made here: leti-view always migrates a
database it has opened itself, inside the transaction that holds the schema lock.
"""

from alembic import context
from leti.estimator.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("leti's migrations run through 'leti db upgrade', not the alembic CLI")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
