"""The adb runner against a fake `adb` program (a test double for the phone we do not have).

The command lines, the output parsing, the database writes and the resume logic are real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from leti.estimator.db import open_db
from leti.estimator.devices.adb import AdbDevice

HERE = Path(__file__).parent
DATA = HERE / "data"


def log(root: Path) -> list[list[str]]:
    return [json.loads(x) for x in (root / "log").read_text().splitlines()]


def leti(*args):
    return subprocess.run(
        [sys.executable, "-m", "leti.estimator.cli", *args], capture_output=True, text=True
    )


def test_devices_lists_host_and_phones(fake_adb):
    r = leti("devices", "--format", "json")
    rows = {d["device"]: d["state"] for d in json.loads(r.stdout)}
    assert rows.pop("gpu") in ("ready", "unavailable")  # this machine's own GPU, if any
    assert rows == {"host": "ready", "adb:PHONE1": "device", "adb:PHONE2": "unauthorized"}


def test_no_adb_is_reported_not_a_crash(monkeypatch):
    monkeypatch.setenv("LETI_ADB", "adb-that-does-not-exist")
    r = leti("devices")
    assert r.returncode == 0 and "adb is not installed" in r.stdout


def test_exact_command_lines_and_fingerprint(fake_adb, tf_model):
    dev = AdbDevice("PHONE1", cooldown_s=0)
    t = dev.measure(tf_model("conv").read_bytes())
    assert t.median_ms == pytest.approx(1.294) and t.runs == 50
    assert t.extra["fully_delegated"] is True
    cmds = log(fake_adb)
    assert cmds[0] == ["-s", "PHONE1", "get-state"]
    assert (
        cmds[1][:3] == ["-s", "PHONE1", "push"] and cmds[1][4] == "/data/local/tmp/benchmark_model"
    )
    assert cmds[2] == ["-s", "PHONE1", "shell", "chmod +x /data/local/tmp/benchmark_model"]
    assert cmds[3][:3] == ["-s", "PHONE1", "push"]
    remote = cmds[3][4]
    assert remote.startswith("/data/local/tmp/leti_") and remote.endswith(".tflite")
    assert cmds[4] == [
        "-s",
        "PHONE1",
        "shell",
        f"taskset f0 /data/local/tmp/benchmark_model --graph={remote} --num_threads=1 "
        "--warmup_runs=10 --num_runs=50 --min_secs=0 --warmup_min_secs=0 --use_gpu=true",
    ]
    assert cmds[5] == ["-s", "PHONE1", "shell", f"rm -f {remote}"]
    p = dev.profile
    assert p.id == "adb/Pixel-Fake-PHONE1/gpu" and p.fingerprint["soc"] == "fakesoc"
    assert p.fingerprint["gpu"].startswith("FakeVendor")


def test_cpu_delegate_has_no_gpu_flag(fake_adb, tf_model):
    dev = AdbDevice("PHONE1", delegate="cpu", threads=4, cooldown_s=0)
    dev.measure(tf_model("conv").read_bytes(), runs=7)
    line = [c for c in log(fake_adb) if "--graph=" in " ".join(c)][0][3]
    assert "--use_gpu" not in line and "--num_threads=4" in line and "--num_runs=7" in line
    assert dev.profile.id == "adb/Pixel-Fake-PHONE1/cpu-t4"


def test_partial_delegation_is_recorded(fake_adb, tf_model):
    shutil.copy(DATA / "bm_partial.txt", fake_adb / "output")
    t = AdbDevice("PHONE1", cooldown_s=0).measure(tf_model("conv").read_bytes())
    assert t.extra["partially_delegated"] is True and t.extra["partitions"] == 3


def test_missing_binary_message(fake_adb, monkeypatch, tf_model):
    monkeypatch.delenv("LETI_BENCHMARK_MODEL")
    r = leti("measure", str(tf_model("conv")), "--device", "adb:PHONE1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no benchmark_model binary" in r.stderr and "LETI_BENCHMARK_MODEL" in r.stderr


def test_unknown_and_unready_devices(fake_adb, tf_model):
    model = str(tf_model("conv"))
    for device, text in [
        ("adb:NOPE", "not connected"),
        ("adb:PHONE2", "unauthorized"),
        ("phone", "unknown device"),
    ]:
        r = leti("measure", model, "--device", device)
        assert r.returncode == 2 and text in r.stderr and "Traceback" not in r.stderr


def test_measure_json(fake_adb, tf_model):
    r = leti("measure", str(tf_model("conv")), "--device", "adb:PHONE1", "--cooldown", "0",
             "--format", "json", "--record")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["median_ms"] == pytest.approx(1.294) and out["runs"] == 50
    assert out["device_facts"]["model"] == "Pixel Fake"
    rows = open_db().model_measurements()
    assert len(rows) == 1 and rows[0]["kind"] == "user" and rows[0]["median_ms"] == out["median_ms"]


def test_device_disappears_mid_build_then_resume(fake_adb):
    (fake_adb / "fail_after").write_text("10")  # the drift reference set (5 models), 5 items
    args = ["db", "build", "--device", "adb:PHONE1", "--suite", "smoke", "--cooldown", "0",
            "--no-progress"]  # fmt: skip
    r = leti(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "not reachable" in r.stderr and "rerun to resume" in r.stderr
    db = open_db()
    first = db.measurements()
    assert len(first) == 5  # every run before the phone vanished is kept
    (fake_adb / "fail_after").unlink()
    r = leti(*args)
    assert r.returncode == 0, r.stderr
    rows = db.measurements()
    keys = [m["config_key"] for m in rows]
    assert len(keys) == len(set(keys))
    assert {m["config_key"] for m in first} <= set(keys)
    assert "skipped 5" in r.stdout
    builds = db.status()["last_build"]
    assert builds["status"] == "done"


def test_two_phones_in_parallel(fake_adb, monkeypatch):
    (fake_adb / "devices").write_text("PHONE1 device\nPHONE3 device\n")
    r = leti("db", "build", "--device", "adb:PHONE1", "--device", "adb:PHONE3", "--suite", "smoke",
             "--cooldown", "0", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    status = open_db().status()["devices"]
    assert set(status) == {"adb/Pixel-Fake-PHONE1/gpu", "adb/Pixel-Fake-PHONE3/gpu"}
    counts = {d["ok"] for d in status.values()}
    assert len(counts) == 1 and counts.pop() > 10, _debug_failures()


def _debug_failures():
    return [
        (m["device_id"], m["op_type"], m["error"]) for m in open_db().measurements(status="failed")
    ]
