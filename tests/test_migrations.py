"""Schema revisions on SQLite and PostgreSQL: a database made before Alembic is refused until
``leti db upgrade`` migrates it, keeping every row; one from a newer leti-view is refused; and
the migrations build exactly the tables ``schema.py`` declares."""

from __future__ import annotations

import pg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from leti.estimator.db import open_db, upgrade_db
from leti.estimator.db.engine import target
from leti.estimator.db.schema import SCHEMA_REVISION, SCHEMA_VERSION, metadata
from leti.estimator.errors import LetiError

pg_server, pg_url = pg.pg_server, pg.pg_url  # the fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "old.sqlite")
    return request.getfixturevalue("pg_url")


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(target(url).url)


def legacy_metadata(graph: bool) -> sa.MetaData:
    """The tables of commit 8720abd, exactly; with ``graph``, those of the commits after it
    that stored model skeletons but still said schema_version 1."""
    md = sa.MetaData()

    def timing() -> list[sa.Column]:
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

    sa.Table(
        "devices", md,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delegate", sa.String(20), nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("runtime", sa.String(50), nullable=False),
        sa.Column("runtime_version", sa.String(50), nullable=False),
        sa.Column("fingerprint", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )  # fmt: skip
    sa.Table(
        "builds", md,
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
    )  # fmt: skip
    sa.Table(
        "measurements", md,
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
        *timing(),
        sa.Column("delegate", sa.String(20)),
        sa.Column("threads", sa.Integer),
        sa.Column("build_id", sa.Integer),
        sa.Column("measured_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("device_id", "config_key", name="uq_measurement"),
    )  # fmt: skip
    sa.Table(
        "model_measurements", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(200), nullable=False, index=True),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("kind", sa.String(20), nullable=False),  # generated | user
        sa.Column("spec", sa.JSON),
        sa.Column("operators", sa.Integer),
        *([sa.Column("graph", sa.LargeBinary)] if graph else []),
        *timing(),
        sa.Column("build_id", sa.Integer),
        sa.Column("measured_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("device_id", "model_sha256", name="uq_model_measurement"),
    )  # fmt: skip
    sa.Table(
        "leti_meta", md,
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(200)),
    )  # fmt: skip
    return md


def make_legacy(url: str, graph: bool = False, version: str = "1") -> dict[str, list[dict]]:
    """A database as the old code left it, with a few rows; returns its rows per table."""
    md = legacy_metadata(graph)
    engine = engine_for(url)
    md.create_all(engine)
    t = md.tables
    dev = "host/old-cpu/t1"
    with engine.begin() as c:
        c.execute(t["leti_meta"].insert().values(key="schema_version", value=version))
        c.execute(t["devices"].insert().values(
            id=dev, kind="host", delegate="xnnpack", threads=1, runtime="ai-edge-litert",
            runtime_version="1.2", fingerprint={"cpu": "old"}, created_at="2024-01-01T00:00:00",
        ))  # fmt: skip
        build = c.execute(t["builds"].insert().values(
            device_id=dev, suite="smoke", sources=["suite:smoke"], started_at="2024-01-01",
            status="done", planned=3, measured=2, skipped=0, failed=1,
        )).inserted_primary_key[0]  # fmt: skip
        for i, status in enumerate(["ok", "ok", "failed"]):
            c.execute(t["measurements"].insert().values(
                device_id=dev, config_key=f"key{i}", op_type="CONV_2D", config={"h": 8 * i},
                status=status, error="boom" if status == "failed" else None,
                median_ms=0.1 + i / 3, stats={"r": [1 / 3]}, build_id=build,
                measured_at="2024-01-01",
            ))  # fmt: skip
        extra = {"graph": b"\x00\x01skeleton"} if graph else {}
        c.execute(t["model_measurements"].insert().values(
            device_id=dev, model_sha256="a" * 64, name="net-old", kind="generated",
            spec={"family": "mobilenet"}, operators=30, median_ms=3.25, build_id=build,
            measured_at="2024-01-01", **extra,
        ))  # fmt: skip
    rows = dump(engine, md)
    engine.dispose()
    return rows


def dump(engine: sa.Engine, md: sa.MetaData) -> dict[str, list[dict]]:
    """Every row of ``md``'s tables, in the columns ``md`` has."""
    with engine.connect() as c:
        return {
            name: [dict(r) for r in c.execute(sa.select(table)).mappings()]
            for name, table in md.tables.items()
            if name != "leti_meta"
        }


def schema_differences(url: str) -> list:
    """What Alembic finds different between the database's tables and schema.py's."""
    engine = engine_for(url)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
    engine.dispose()
    return diff


@pytest.mark.parametrize("graph", [False, True], ids=["8720abd", "with-graph"])
def test_a_legacy_database_is_refused_then_upgraded_keeping_every_row(any_url, graph, leti_cli):
    before = make_legacy(any_url, graph)
    for _ in range(2):  # the first open stamps it as revision 0001; both refuse
        with pytest.raises(LetiError) as refused:
            open_db(any_url)
        message = str(refused.value)
        assert "\n" not in message and "schema revision 0001" in message
        assert f"run 'leti db upgrade --db {any_url}' once" in message
    r = leti_cli("db", "upgrade", "--db", any_url)
    assert r.returncode == 0, r.stderr
    assert f"upgraded from schema revision 0001 to {SCHEMA_REVISION}" in r.stdout
    db = open_db(any_url)
    assert dump(db.engine, legacy_metadata(graph)) == before  # every row, every value
    (net,) = db.model_measurements()
    assert net["graph"] == (b"\x00\x01skeleton" if graph else None)
    assert db.claim("host/old-cpu/t1", ["key0", "key9", "net-old"], "me", 60) == ["key9"]
    with db.engine.connect() as c:
        assert c.execute(sa.text("SELECT value FROM leti_meta")).scalar() == str(SCHEMA_VERSION)
    db.engine.dispose()
    assert schema_differences(any_url) == []
    r = leti_cli("db", "upgrade", "--db", any_url)
    assert r.returncode == 0 and f"already at schema revision {SCHEMA_REVISION}" in r.stdout


def test_the_default_database_names_the_plain_command(tmp_path, monkeypatch, leti_cli):
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    make_legacy(str(tmp_path / "leti.sqlite"))
    r = leti_cli("db", "status", home=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "run 'leti db upgrade' once" in r.stderr
    r = leti_cli("db", "upgrade", home=tmp_path)
    assert r.returncode == 0 and "from schema revision 0001 to" in r.stdout, r.stderr
    assert len(open_db().measurements(status=None)) == 3


def test_a_database_newer_than_this_code_is_refused(any_url, leti_cli):
    open_db(any_url).engine.dispose()
    engine = engine_for(any_url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(LetiError, match=r"revision 0099, newer .* \(upgrade leti-view\)$"):
        open_db(any_url)
    with pytest.raises(LetiError, match=r"\(upgrade leti-view\)$"):
        upgrade_db(any_url)
    r = leti_cli("db", "upgrade", "--db", any_url)
    assert r.returncode == 2 and "upgrade leti-view" in r.stderr and "Traceback" not in r.stderr


def test_a_pre_alembic_database_from_a_newer_version_is_refused(any_url):
    make_legacy(any_url, version="7")
    with pytest.raises(LetiError, match=r"schema_version 7, newer .* \(upgrade leti-view\)$"):
        open_db(any_url)


def test_the_migrations_build_what_schema_py_declares(any_url):
    done = upgrade_db(any_url)  # an empty database: revision 0001, then each one after it
    assert (done.before, done.after) == (None, SCHEMA_REVISION)
    assert schema_differences(any_url) == []
    db = open_db(any_url)
    assert db.add_measurement(device_id="d", config_key="k", op_type="ADD", config={}, status="ok")
    db.engine.dispose()
