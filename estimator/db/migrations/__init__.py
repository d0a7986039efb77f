"""Alembic migrations of the benchmark database, one file per schema revision in versions/.

Configured in code (``revisions._config``), not by an alembic.ini, so that they travel with the
package. A new revision: copy the newest file in versions/ to ``NNNN_what.py``, set
``revision = "NNNN"`` and ``down_revision`` to the previous one, write upgrade() and
downgrade(), set ``leti_meta``'s schema_version to NNNN as an integer, change ``schema.py`` to
match and ``SCHEMA_REVISION`` with it (tests/test_migrations.py checks that they agree).
"""
