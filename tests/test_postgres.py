"""A device lab's database: PostgreSQL through psycopg 3 on a real throw-away server, work
claiming by concurrent processes (on PostgreSQL and on a SQLite file), duplicate-tolerant
inserts, export/import between the engines, and one-line errors for a database that cannot be
reached."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pg
import pytest
import sqlalchemy as sa
from conftest import Ran, leti_process, stop
from leti.estimator.cli import main as leti_main
from leti.estimator.db import open_db
from leti.estimator.db.schema import EXPORT_TABLES, SCHEMA_REVISION, SCHEMA_VERSION
from leti.estimator.devices import DeviceProfile
from leti.estimator.errors import LetiError
from pg import PASSWORD, PASSWORD_USER

pg_server, pg_url = pg.pg_server, pg.pg_url  # the fixtures

DEV = "host/test-cpu/t1"


@pytest.fixture(params=["postgresql", "sqlite"])
def any_url(request, tmp_path) -> str:
    """A fresh database on each engine: PostgreSQL, and a SQLite file (WAL)."""
    if request.param == "sqlite":
        return str(tmp_path / "lab.sqlite")
    return request.getfixturevalue("pg_url")


def op_row(key: str, **extra) -> dict:
    row = dict(device_id=DEV, config_key=key, op_type="ADD", config={"key": key}, status="ok")
    return {**row, "median_ms": 0.1, **extra}


# --- (a) the schema on a real server -------------------------------------------------------------


def test_open_db_creates_the_schema_at_head_on_postgresql(pg_url):
    db = open_db(pg_url)
    assert db.dialect == "postgresql" and db.engine.url.drivername == "postgresql+psycopg"
    assert sorted(sa.inspect(db.engine).get_table_names()) == sorted(
        ["alembic_version", "builds", "devices", "kernel_times", "leti_meta", "measurements",
         "model_measurements", "model_times", "work_leases"]
    )  # fmt: skip
    with db.engine.connect() as c:
        assert c.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            (SCHEMA_REVISION,)
        ]
        assert c.execute(sa.text("SELECT value FROM leti_meta")).all() == [(str(SCHEMA_VERSION),)]
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("model_measurements")}
    assert isinstance(columns["graph"]["type"], sa.LargeBinary)
    db.engine.dispose()
    again = open_db(pg_url)  # at head: opens as it is
    assert again.status()["devices"] == {}
    again.engine.dispose()


# --- (b) claims from concurrent processes --------------------------------------------------------

WORKER = r"""
import hashlib, json, random, sys, time
from leti.estimator.db import open_db
url, mode, owner, seed, keys_file = sys.argv[1:6]
keys = json.load(open(keys_file))
random.Random(int(seed)).shuffle(keys)
print("ready", flush=True)
sys.stdin.readline()
db = open_db(url)  # every worker opens the fresh database at once: one creates it
print("opened", flush=True)
sys.stdin.readline()  # and all start working at once
dev = "host/test-cpu/t1"
out = []
def store(key):
    if key.startswith("net-"):
        return db.add_model_measurement(
            owner=owner, device_id=dev, model_sha256=hashlib.sha256(key.encode()).hexdigest(),
            name=key, kind="generated", median_ms=1.0)
    return db.add_measurement(owner=owner, device_id=dev, config_key=key, op_type="ADD",
                              config={"by": owner}, status="ok", median_ms=0.1)
if mode == "claim":
    for i in range(0, len(keys), 3):  # small batches: many claims racing many commits
        for key in db.claim(dev, keys[i:i + 3], owner, 60.0):
            out.append([key, store(key)])
        # a builder times its items between claims: without that pause, SQLite's busy handler
        # let one worker take all 600 keys while the others slept (once, 2026-12-07)
        time.sleep(0.002)
else:  # everyone stores everything, unclaimed
    out = [[key, store(key)] for key in keys]
print(json.dumps(out), flush=True)
"""


def run_workers(url: str, mode: str, keys: list[str], tmp_path: Path, n: int = 4) -> list[list]:
    """Start ``n`` worker processes, let them open the database at the same moment, then work
    from the same moment on; return what each stored: [[key, stored?], ...] per worker."""
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(keys))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, mode, f"builder-{i}", str(i), str(keys_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    try:
        for stage in ("ready", "opened"):
            for p in procs:
                assert p.stdout.readline().strip() == stage, p.stderr.read()
            for p in procs:
                p.stdin.write("go\n")
                p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:
            stop(p, signal.SIGKILL)


def test_concurrent_claims_never_share_a_key_and_miss_none(any_url, tmp_path):
    # Without the check at the end of a claim (leases.py), a claim racing a commit on
    # PostgreSQL took an item just measured in each of 4 runs at this size (tried).
    keys = [f"op-{i:03d}" for i in range(480)] + [f"net-{i:03d}" for i in range(120)]
    results = run_workers(any_url, "claim", keys, tmp_path)
    claimed = [key for r in results for key, _ in r]
    assert sorted(claimed) == sorted(keys)  # all taken, none twice
    assert all(stored for r in results for _, stored in r)  # no one measured a key for nothing
    assert sum(len(r) > 0 for r in results) >= 2  # they really ran side by side
    db = open_db(any_url)
    assert len(db.measurements()) == 480 and len(db.model_measurements()) == 120
    assert db.done_keys(DEV) == set(keys)
    assert db.leases() == []  # every lease went with its result
    by = {m["config_key"]: m["config"]["by"] for m in db.measurements()}
    assert by == {key: f"builder-{i}" for i, r in enumerate(results) for key, _ in r if key in by}
    db.engine.dispose()


# --- (c) expiry, take-over, renew, release -------------------------------------------------------


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(any_url):
    db = open_db(any_url)
    assert db.claim(DEV, ["a", "b", "c", "a"], "dead", 1.0) == ["a", "b", "c"]
    assert db.claim(DEV, ["c", "d", "b"], "alive", 60) == ["d"]
    assert db.claim("other/device", ["a"], "alive", 60) == ["a"]  # leases are per profile
    left = db.next_expiry(DEV, "alive")
    assert 0 < left <= 1.0
    assert db.next_expiry(DEV, "dead") > 50 and db.next_expiry("nobody/here", "x") is None
    time.sleep(1.2)
    assert db.next_expiry(DEV, "alive") == 0.0
    assert db.claim(DEV, ["b", "a", "c", "d"], "alive", 60) == ["b", "a", "c", "d"]
    held = {lease["key"]: lease for lease in db.leases(DEV)}
    assert {k: lease["owner"] for k, lease in held.items()} == dict.fromkeys("abcd", "alive")
    assert all(55 < lease["expires_in"] <= 60 for lease in held.values())
    assert db.status()["devices"][DEV]["leases"] == {"count": 4, "owners": {"alive": 4}}
    db.engine.dispose()


def test_renew_release_and_settled_work(any_url):
    db = open_db(any_url)
    assert db.claim(DEV, ["r", "s"], "x", 1.0) == ["r", "s"]
    db.renew(DEV, ["r"], "x", 60)
    db.renew(DEV, ["s"], "y", 60)  # not y's: nothing happens
    time.sleep(1.2)
    assert db.claim(DEV, ["r", "s"], "y", 60) == ["s"]  # r was renewed, s expired
    assert db.claim(DEV, ["r"], "x", 30) == ["r"]  # the holder may claim again (renews)
    db.release(DEV, ["r"], "y")  # not y's: kept
    assert db.claim(DEV, ["r"], "y", 60) == []
    db.release(DEV, ["r"], "x")
    assert db.claim(DEV, ["r"], "y", 60) == ["r"]
    # settled work is never leased, with or without a lease before
    assert db.add_measurement(**op_row("m"))
    assert db.add_measurement(owner="y", **op_row("r"))  # y's lease on r goes with it
    assert db.claim(DEV, ["m", "r", "n"], "z", 60) == ["n"]
    assert [lease["key"] for lease in db.leases(DEV)] == ["n", "s"]
    net = dict(device_id=DEV, model_sha256="f" * 64, name="net-a", kind="generated")
    assert db.claim(DEV, ["net-a"], "z", 60) == ["net-a"]
    assert db.add_model_measurement(owner="z", median_ms=2.0, **net)
    assert db.claim(DEV, ["net-a"], "w", 60) == []
    assert [lease["key"] for lease in db.leases(DEV)] == ["n", "s"]
    db.engine.dispose()


# --- (d) the same result stored twice ------------------------------------------------------------


def test_duplicate_results_from_two_processes_keep_one_row(any_url, tmp_path):
    keys = [f"op-{i:03d}" for i in range(120)] + [f"net-{i:02d}" for i in range(20)]
    results = run_workers(any_url, "duplicate", keys, tmp_path, n=2)
    for key in keys:
        stored = [s for r in results for k, s in r if k == key]
        assert sorted(stored) == [False, True], key  # one writer won, the other was told so
    db = open_db(any_url)
    assert len(db.measurements()) == 120 and len(db.model_measurements()) == 20
    db.engine.dispose()


def test_model_rows_user_ones_update_generated_ones_stay(any_url):
    db = open_db(any_url)
    user = dict(device_id=DEV, model_sha256="a" * 64, name="mine.tflite", kind="user")
    assert db.add_model_measurement(median_ms=3.0, **user)
    assert db.add_model_measurement(median_ms=2.5, **user)  # remeasured: updated
    assert db.model_median(DEV, "a" * 64) == 2.5
    net = dict(device_id=DEV, model_sha256="b" * 64, name="net-b", kind="generated")
    assert db.add_model_measurement(median_ms=7.0, graph=b"\x00first", **net)
    assert not db.add_model_measurement(median_ms=9.0, graph=b"\x00second", **net)
    assert not db.add_model_measurement(median_ms=9.0, **{**net, "kind": "user"})
    (row,) = db.model_measurements(kind="generated")
    assert row["median_ms"] == 7.0 and row["graph"] == b"\x00first"
    assert db.add_measurement(**op_row("k")) and not db.add_measurement(**op_row("k"))
    db.engine.dispose()


# --- (e) export and import between the engines ---------------------------------------------------


def fill(db) -> None:
    """Rows that test the round trip: awkward floats, nested JSON, text CSV must quote, a blob
    with every byte value, NULLs, and builds whose ids the import renumbers."""
    fingerprint = {"cpu": 'épyc, "quoted"\nline', "n": 1}
    for i, kind in enumerate(["host", "adb"]):
        profile = DeviceProfile(f"{kind}/x-{i}/t1", kind, "xnnpack", 1, "litert", "2", fingerprint)
        db.upsert_device(profile)
    for b in range(3):
        dev = db.device_ids()[b % 2]
        build = db.start_build(dev, "smoke", ["suite:smoke"], 10)
        for i in range(5):
            extra = dict(status="failed", error='boom,\n"x"') if i == 4 else {}
            row = op_row(f"k{b}{i}", build_id=build, p10_ms=0.1 + i / 7, **extra)
            row["features"] = {"macs": 10**12 + i, "f": [0.1 + 0.2, 1e-300, -0.0]}
            row["stats"] = {"all": [1 / 3, 2 / 3]}
            db.add_measurement(**{**row, "device_id": dev})
        db.add_model_measurement(
            device_id=dev, model_sha256=f"{b:064d}", name=f"net-{b}", kind="generated",
            spec={"family": "resnet", "w": [1, 2]}, graph=bytes(range(256)) * (b + 1),
            median_ms=1 / 7 + b, build_id=build,
        )  # fmt: skip
        db.finish_build(build, "done", {"measured": 5, "skipped": 0, "failed": 1}, "ok")
    user = dict(model_sha256="e" * 64, name="user.tflite", kind="user", median_ms=4.2)
    db.add_model_measurement(device_id=dev, **user)  # no graph: NULL
    phone = DeviceProfile("phone/x/gpu", "phone", "gpu", 1, "tflite", "2.10", fingerprint)
    source = {"dataset": "d", "row": 7, "sha256": "ab" * 32}
    kernels = [
        dict(device_id=phone.id, model="net", position=i, operation="conv_2d",
             kernel="conv2d 3x3 linked: relu", features={"cin": 3, "f": [1 / 3, None]},
             time_us=1 / 7 + i, source="published", provenance=source)
        for i in range(3)
    ]  # fmt: skip
    models = [dict(device_id=phone.id, model="net", mean_us=123.25, std_us=None, flops=1e9,
                   size_bytes=None, source="published", provenance=source)]  # fmt: skip
    db.add_times([phone], kernels, models)
    db.claim(dev, ["leased"], "someone", 60)


def snapshot(db) -> dict:
    """Every exported table's rows without ids, each row's build as (device, started_at)."""
    with db.engine.connect() as c:
        q = sa.select(EXPORT_TABLES["builds"])
        builds = {r.id: (r.device_id, r.started_at) for r in c.execute(q)}
        out = {}
        for name, table in EXPORT_TABLES.items():
            rows = []
            for r in c.execute(sa.select(table)).mappings():
                r = {k: v for k, v in r.items() if k != "id" or name == "devices"}
                if "build_id" in r:
                    r["build_id"] = builds.get(r["build_id"])
                rows.append(r)
            out[name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=repr))
    return out


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_import_between_postgresql_and_sqlite(pg_server, tmp_path, fmt):
    a, b = pg_server.url("leti_a"), pg_server.url("leti_b")
    for name in ("leti_a", "leti_b"):
        pg_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        pg_server.admin(f"CREATE DATABASE {name}")
    source = open_db(a)
    fill(source)
    lite = tmp_path / "lite.sqlite"
    out1, out2 = tmp_path / f"pg.{fmt}", tmp_path / f"lite.{fmt}"
    assert leti_main(["db", "export", str(out1), "--db", a]) == 0
    assert leti_main(["db", "import", str(out1), "--db", str(lite)]) == 0
    assert leti_main(["db", "export", str(out2), "--db", str(lite)]) == 0
    assert leti_main(["db", "import", str(out2), "--db", b]) == 0
    want = snapshot(source)
    assert {k: len(v) for k, v in want.items()} == {
        "devices": 3, "builds": 3, "measurements": 15, "model_measurements": 4,
        "kernel_times": 3, "model_times": 1,
    }  # fmt: skip
    for db in (open_db(str(lite)), open_db(b)):
        assert snapshot(db) == want
        assert db.leases() == []  # leases are not exported
        graphs = {m["name"]: m["graph"] for m in db.model_measurements()}
        assert graphs["net-2"] == bytes(range(256)) * 3 and graphs["user.tflite"] is None
        # new rows still get fresh ids after the import's inserts
        build = db.start_build(DEV, None, [], 0)
        assert db.add_measurement(**op_row("new", build_id=build))
        db.engine.dispose()
    source.engine.dispose()
    for name in ("leti_a", "leti_b"):
        pg_server.admin(f"DROP DATABASE {name} WITH (FORCE)")


# --- (f) what the user sees when the database cannot be used -------------------------------------


def one_line_error(r: Ran | subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("leti: error: ")
    return r.stderr


def test_cli_errors_are_one_line(pg_server, tmp_path, leti_cli):
    port = pg_server.port
    err = one_line_error(leti_cli("db", "status", "--db", "postgresql://postgres@127.0.0.1:1/leti"))
    assert "Connection refused" in err and "is the PostgreSQL server running" in err
    url = pg_server.url("postgres", PASSWORD_USER, "wrong")
    err = one_line_error(leti_cli("db", "status", "--db", url))
    assert "password authentication failed" in err and "wrong" not in err  # password hidden
    assert "check the user and password" in err
    err = one_line_error(leti_cli("db", "status", "--db", pg_server.url("no_such_db")))
    assert 'database "no_such_db" does not exist' in err
    assert f"createdb -h 127.0.0.1 -p {port} -U postgres no_such_db" in err
    err = one_line_error(leti_cli("db", "status", "--db", "postgresql://u@host:notaport/db"))
    assert "not a database URL" in err
    err = one_line_error(leti_cli("db", "status", "--db", "mysql://u@localhost/leti"))
    assert "'mysql' is not supported" in err
    # without the driver (the postgres extra not installed): a process of its own, since this
    # one has imported psycopg already and only a fresh interpreter sees the PYTHONPATH
    fake = tmp_path / "no_psycopg" / "psycopg"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'psycopg'\")\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    err = one_line_error(leti_process("db", "status", "--db", pg_server.url("postgres"), env=env))
    assert "driver is not installed" in err and "pip install 'leti-view[postgres]'" in err
    # the right password works, and is not shown
    r = leti_cli("db", "status", "--db", pg_server.url("postgres", PASSWORD_USER, PASSWORD))
    assert r.returncode == 0 and PASSWORD not in r.stdout and "***" in r.stdout, r.stderr


def test_a_server_that_goes_away_is_a_leti_error(pg_server, pg_url):
    db = open_db(pg_url)
    db.done_keys(DEV)
    with db.engine.connect() as c:
        pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        # the timeout makes the call wait until that backend has gone (it returns at once else)
        pg_server.admin(f"SELECT pg_terminate_backend({pid}, 10000)")
        with pytest.raises(LetiError, match="lost the connection to database .* rerun to resume"):
            c.execute(sa.text("SELECT 1"))
    pg_server.admin(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
        f"WHERE datname = '{pg_url.rsplit('/', 1)[1]}'"
    )
    assert db.done_keys(DEV) == set()  # the pool reconnects: a server restart is survived
    db.engine.dispose()


def test_a_goodbye_the_driver_has_not_read_yet_is_a_lost_connection():
    """The race CI met: the server's FATAL arrives while psycopg sends the next query, so the
    error says "sending query failed" on a connection psycopg does not yet call broken and
    SQLAlchemy does not call a disconnect. The hook itself is run on that error (the timing
    cannot be had on demand); it must mark the connection for the pool to drop, and say so."""
    import types

    from leti.estimator.db import engine as dbengine

    psycopg = pytest.importorskip("psycopg")

    target = dbengine.target("postgresql://u@127.0.0.1:5/leti")
    hook = dbengine._connection_trouble(target)
    text = (
        "sending query failed: terminating connection due to administrator command\n"
        "another command is already in progress"
    )
    original = psycopg.OperationalError(text)
    ctx = types.SimpleNamespace(
        is_pre_ping=False,
        connection=object(),  # an open connection: not a failure to connect
        is_disconnect=False,
        original_exception=original,
        sqlalchemy_exception=sa.exc.OperationalError("SELECT 1", {}, original),
    )
    with pytest.raises(LetiError, match="lost the connection to database .* rerun to resume"):
        hook(ctx)
    assert ctx.is_disconnect  # so SQLAlchemy invalidates it rather than pooling it again
    # an SQL mistake on a live connection stays what it is: a bug, not the user's server
    bad = psycopg.errors.UndefinedTable('relation "nope" does not exist')
    ctx = types.SimpleNamespace(
        is_pre_ping=False,
        connection=object(),
        is_disconnect=False,
        original_exception=bad,
        sqlalchemy_exception=sa.exc.ProgrammingError("SELECT", {}, bad),
    )
    assert hook(ctx) is None and not ctx.is_disconnect


def test_status_shows_active_leases(tmp_path, leti_cli):
    url = str(tmp_path / "s.sqlite")
    db = open_db(url)
    db.claim(DEV, ["a", "b"], "lab-1:123", 60)
    db.claim(DEV, ["c"], "lab-2:456", 60)
    db.claim(DEV, ["d"], "gone:1", -1)  # expired: not shown
    r = leti_cli("db", "status", "--db", url)
    assert r.returncode == 0, r.stderr
    assert "leased now: 3 items, by lab-1:123 (2), lab-2:456 (1)" in r.stdout
    s = json.loads(leti_cli("db", "status", "--db", url, "--format", "json").stdout)
    assert s["devices"][DEV]["leases"] == {"count": 3, "owners": {"lab-1:123": 2, "lab-2:456": 1}}
