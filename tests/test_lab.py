"""A device lab: several builders fill one PostgreSQL database at once (a real server from
tests/pg.py; skipped, saying why, where Debian's postgresql or psycopg is missing)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pg import pg_server, pg_url  # noqa: F401  (fixtures)

BUILD = [sys.executable, "-m", "leti.estimator.cli", "db", "build", "--suite", "smoke",
         "--no-progress"]  # fmt: skip


def leti(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leti.estimator.cli", *args],
                          capture_output=True, text=True,
                          env={**os.environ, "LETI_HOME": str(home)})  # fmt: skip


def rows(url: str) -> tuple[list[str], list[str]]:
    from leti.estimator.db import open_db

    db = open_db(url)
    ops = [m["config_key"] for m in db.measurements(status=None)]
    nets = [m["name"] for m in db.model_measurements(kind="generated")]
    return ops, nets


def builders(n: int, url: str, env: dict) -> tuple[list, list]:
    """``n`` smoke builds into ``url`` started at once; (processes, (stdout, stderr) each)."""
    procs = [
        subprocess.Popen([*BUILD, "--db", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
        for _ in range(n)
    ]  # fmt: skip
    return procs, [p.communicate(timeout=600) for p in procs]


def counts(stdout: str) -> tuple[int, int]:
    measured = int(stdout.split("measured ")[1].split(",")[0])
    skipped = int(stdout.split("skipped ")[1].split(" ")[0])
    return measured, skipped


def test_two_builders_at_once_measure_each_item_once(pg_url, tmp_path):  # noqa: F811
    from leti.estimator.generate.netgen import suite_specs
    from leti.estimator.generate.suites import smoke

    env = {**os.environ, "LETI_HOME": str(tmp_path / "home")}
    procs, outs = builders(2, pg_url, env)
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    ops, nets = rows(pg_url)
    assert len(ops) == len(set(ops)) == len({c.key for c in smoke()})  # no duplicate, none lost
    assert len(nets) == len(set(nets)) == len(suite_specs("smoke"))
    measured = [counts(o[0])[0] for o in outs]
    # the work was split: every item measured exactly once between the two builders
    assert sum(measured) == len(ops) + len(nets) and min(measured) > 0, measured


def test_a_killed_builder_s_work_is_taken_over_after_its_lease(pg_url, tmp_path):  # noqa: F811
    from leti.estimator.db import open_db
    from leti.estimator.generate.netgen import suite_specs
    from leti.estimator.generate.suites import smoke

    env = {**os.environ, "LETI_HOME": str(tmp_path / "home")}
    # the victim runs "on another machine": its leases must expire before they are taken over
    victim = subprocess.Popen([*BUILD, "--db", pg_url, "--lease", "4"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              env={**env, "LETI_BUILDER_HOST": "another-machine"})  # fmt: skip
    db = open_db(pg_url)
    deadline = time.time() + 300
    held: set[str] = set()
    while time.time() < deadline and victim.poll() is None:
        if len(db.measurements()) >= 6:
            # freeze it before reading its leases: a running builder releases one between reads
            victim.send_signal(signal.SIGSTOP)
            held = {row["key"] for row in db.leases()}
            if held:
                break
            victim.send_signal(signal.SIGCONT)
        time.sleep(0.2)
    assert victim.poll() is None, "the build finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert held, "the killed builder held leases"
    assert all(row["owner"].startswith("another-machine:") for row in db.leases())
    r = subprocess.run([*BUILD, "--db", pg_url, "--lease", "4"], capture_output=True, text=True,
                       env=env, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr[-1500:]
    ops, nets = rows(pg_url)
    assert len(ops) == len(set(ops)) == len({c.key for c in smoke()})
    assert len(nets) == len(suite_specs("smoke"))
    assert held <= set(ops) | set(nets)  # what the dead builder held was measured after all
    assert db.leases() == []


def test_export_from_postgresql_import_into_sqlite_after_a_build(pg_url, tmp_path):  # noqa: F811
    home = tmp_path / "home"
    assert leti("db", "build", "--suite", "smoke", "--no-progress", "--db", pg_url,
                home=home).returncode == 0  # fmt: skip
    out = tmp_path / "lab.jsonl"
    assert leti("db", "export", str(out), "--db", pg_url, home=home).returncode == 0
    lite = tmp_path / "copy.sqlite"
    r = leti("db", "import", str(out), "--db", str(lite), home=home)
    assert r.returncode == 0, r.stderr
    a = json.loads(leti("db", "status", "--db", pg_url, "--format", "json", home=home).stdout)
    b = json.loads(leti("db", "status", "--db", str(lite), "--format", "json", home=home).stdout)
    assert a["devices"] == b["devices"]
    # and training anywhere reads it: the SQLite copy trains like the lab database
    r = leti("train", "--db", str(lite), "--format", "json", home=tmp_path / "other")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["networks"] == 3


@pytest.mark.parametrize("n", [2])
def test_two_builders_on_one_sqlite_file(tmp_path, n):
    """The same code path on SQLite (one machine, two processes)."""
    from leti.estimator.generate.suites import smoke

    env = {**os.environ, "LETI_HOME": str(tmp_path / "home")}
    url = str(tmp_path / "one.sqlite")
    procs, outs = builders(n, url, env)
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    ops, nets = rows(url)
    assert len(ops) == len(set(ops)) == len({c.key for c in smoke()})
    assert sum(counts(o[0])[0] for o in outs) == len(ops) + len(nets)
