"""The adb runner against a fake `adb` program (a test double for the phone we do not have).

The command lines, the output parsing, the database writes and the resume logic are real.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from leti.estimator.db import open_db
from leti.estimator.devices.adb import AdbDevice

HERE = Path(__file__).parent
DATA = HERE / "data"


def log(root: Path) -> list[list[str]]:
    return [json.loads(x) for x in (root / "log").read_text().splitlines()]


def test_devices_lists_host_and_phones(fake_adb, leti_cli):
    r = leti_cli("devices", "--format", "json")
    rows = {d["device"]: d["state"] for d in json.loads(r.stdout)}
    assert rows.pop("gpu") in ("ready", "unavailable")  # this machine's own GPU, if any
    assert rows == {"host": "ready", "adb:PHONE1": "device", "adb:PHONE2": "unauthorized"}


def test_no_adb_is_reported_not_a_crash(monkeypatch, leti_cli):
    monkeypatch.setenv("LETI_ADB", "adb-that-does-not-exist")
    r = leti_cli("devices")
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


def test_missing_binary_message(fake_adb, monkeypatch, tf_model, leti_cli):
    monkeypatch.delenv("LETI_BENCHMARK_MODEL")
    r = leti_cli("measure", str(tf_model("conv")), "--device", "adb:PHONE1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no benchmark_model binary" in r.stderr and "LETI_BENCHMARK_MODEL" in r.stderr


def test_unknown_and_unready_devices(fake_adb, tf_model, leti_cli):
    model = str(tf_model("conv"))
    for device, text in [
        ("adb:NOPE", "not connected"),
        ("adb:PHONE2", "unauthorized"),
        ("phone", "unknown device"),
    ]:
        r = leti_cli("measure", model, "--device", device)
        assert r.returncode == 2 and text in r.stderr and "Traceback" not in r.stderr


def test_measure_json(fake_adb, tf_model, leti_cli):
    r = leti_cli(
        "measure",
        str(tf_model("conv")),
        "--device",
        "adb:PHONE1",
        "--cooldown",
        "0",
        "--format",
        "json",
        "--record",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["median_ms"] == pytest.approx(1.294) and out["runs"] == 50
    assert out["device_facts"]["model"] == "Pixel Fake"
    rows = open_db().model_measurements()
    assert len(rows) == 1 and rows[0]["kind"] == "user" and rows[0]["median_ms"] == out["median_ms"]


def test_device_disappears_mid_build_then_resume(fake_adb, leti_cli):
    (fake_adb / "fail_after").write_text("10")  # the drift reference set (5 models), 5 items
    args = [
        "db",
        "build",
        "--device",
        "adb:PHONE1",
        "--suite",
        "smoke",
        "--cooldown",
        "0",
        "--no-progress",
    ]
    r = leti_cli(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "not reachable" in r.stderr and "rerun to resume" in r.stderr
    db = open_db()
    first = db.measurements()
    assert len(first) == 5  # every run before the phone vanished is kept
    (fake_adb / "fail_after").unlink()
    r = leti_cli(*args)
    assert r.returncode == 0, r.stderr
    rows = db.measurements()
    keys = [m["config_key"] for m in rows]
    assert len(keys) == len(set(keys))
    assert {m["config_key"] for m in first} <= set(keys)
    assert "skipped 5" in r.stdout
    builds = db.status()["last_build"]
    assert builds["status"] == "done"


def test_two_phones_in_parallel(fake_adb, monkeypatch, leti_cli):
    (fake_adb / "devices").write_text("PHONE1 device\nPHONE3 device\n")
    r = leti_cli(
        "db",
        "build",
        "--device",
        "adb:PHONE1",
        "--device",
        "adb:PHONE3",
        "--suite",
        "smoke",
        "--cooldown",
        "0",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    status = open_db().status()["devices"]
    assert set(status) == {"adb/Pixel-Fake-PHONE1/gpu", "adb/Pixel-Fake-PHONE3/gpu"}
    counts = {d["ok"] for d in status.values()}
    assert len(counts) == 1 and counts.pop() > 10, _debug_failures()


def _debug_failures():
    return [
        (m["device_id"], m["op_type"], m["error"]) for m in open_db().measurements(status="failed")
    ]


# --- a phone's GPU profiled kernel by kernel ---------------------------------------------------

PROFILED = [
    "mobilenet_wd4",
    "mobilenet_wd2",
    "fdmobilenet_wd4",
    "fdmobilenet_wd2",
    "squeezenet_v1_0",
    "squeezenet_v1_1",
    "resnet10",
]


def recorded_profile(name: str) -> tuple[str, str, float]:
    """FORMAT SAMPLES, no measurement of ours: mobile-ml-benchmark's published Pixel 4 rows of
    ``name`` (the fixture in tests/data) written as benchmark_model would print them for our
    rebuilt graph, its GPU op profile (each published kernel labelled with the delegate's node
    ids of our graph) and a plain run (the published end-to-end mean and std); and the mean."""
    from ast import literal_eval

    from conftest import PHONE_SUBSET
    from leti.estimator import zoo
    from leti.estimator.kernels.labels import parse
    from leti.estimator.kernels.learn import chain
    from leti.estimator.kernels.match import align, delegate_ids
    from leti.estimator.kernels.plan import Wiring

    with open(PHONE_SUBSET / "tflite_cnn_ops_gpu.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["model"] == name]
    with open(PHONE_SUBSET / "tflite_cnn_e2e.csv", newline="") as f:
        e2e = next(r for r in csv.DictReader(f) if r["model"] == name)
    g = zoo.graph(name)
    ids: dict[int, int] = {}
    for d, node in sorted(delegate_ids(g).items(), reverse=True):
        ids[node] = d  # a node's first id (its fused activation takes the next)
    wiring = Wiring.of(g)
    a = align(g, [(r["operation"], literal_eval(r["feature"])) for r in rows])
    lines = []
    for j, node in a.pairs:
        lab = parse(rows[j]["pixel4|gpu|kernel"])
        parts = [f"{lab.head} {ids[node]}"]
        steps = list(chain(g, wiring, node, True))
        for (want, _), (got, i, _s, _o) in zip(lab.linked, steps, strict=False):
            if want != got:
                break
            parts.append(f"{got} {ids[node] + 1 if i < 0 else ids[i]}")
            node = node if i < 0 else i
        ms = float(rows[j]["pixel4|gpu|float"]) / 1000
        lines.append(f"\t{' -> '.join(parts)}\t{ms:.4f}\t{ms:.4f}\t1.0%\t1.0%\t0.000\t1\t[gpu]:{j}")
    mean, std = float(e2e["pixel4|gpu|float|mean"]), float(e2e["pixel4|gpu|float|std"])
    stats = (
        f"INFO: count=10 first={mean:.0f} curr={mean:.0f} min={mean:.0f} max={mean:.0f} "
        f"avg={mean:.1f} std={std:.0f}\n"
        f"INFO: count=50 first={mean:.0f} curr={mean:.0f} min={mean - std:.0f} "
        f"max={mean + std:.0f} avg={mean:.1f} std={std:.0f} p5={mean - std:.0f} "
        f"median={mean:.0f} p95={mean + std:.0f}\n"
        f"INFO: Inference timings in us: Init: 90000, First inference: {mean:.0f}, "
        f"Warmup (avg): {mean:.1f}, Inference (avg): {mean:.1f}\n"
    )
    head = (
        "INFO: STARTING!\nINFO: Explicitly applied GPU delegate, and the model graph will be "
        "completely executed by the delegate.\n"
    )
    table = (
        "Operator-wise Profiling Info for Regular Benchmark Runs:\n"
        "============================== Run Order ==============================\n"
        "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]\n"
        f"\tTfLiteGpuDelegateV2\t{mean / 1000:.4f}\t{mean / 1000:.4f}\t100%\t100%\t0.000"
        "\t1\t[delegate]:0\n" + "\n".join(lines) + "\n\n"
    )
    return head + stats + table, head + stats, mean


def test_a_phone_on_adb_profiled_kernel_by_kernel_trains_like_the_published_ones(
    fake_adb, leti_cli
):
    from leti.estimator import zoo
    from leti.estimator.graph.skeleton import fill

    (fake_adb / "outputs").mkdir()
    means = {}
    for name in PROFILED:
        profile, plain, means[name] = recorded_profile(name)
        digest = hashlib.sha256(fill(zoo.skeleton(name), seed=224)).hexdigest()
        (fake_adb / "outputs" / f"{digest}.profile.txt").write_text(profile)
        (fake_adb / "outputs" / f"{digest}.txt").write_text(plain)
    zoo_args = [x for name in PROFILED for x in ("--zoo", name)]
    r = leti_cli(
        "db", "build", "--device", "adb:PHONE1", *zoo_args, "--cooldown", "0", "--no-progress"
    )
    assert r.returncode == 0, r.stderr
    lines = [" ".join(c) for c in log(fake_adb)]
    assert sum("--enable_op_profiling=true" in x for x in lines) == len(PROFILED)
    device = "adb/Pixel-Fake-PHONE1/gpu"
    db = open_db()
    times = {t["model"]: t for t in db.model_times(device)}
    assert set(times) == set(PROFILED)
    # benchmark_model prints the average to 0.1 µs
    assert all(times[n]["mean_us"] == pytest.approx(means[n], abs=0.06) for n in PROFILED)
    kernels = db.kernel_times(device)
    assert kernels and all(k["features"]["node"] >= 0 for k in kernels)
    assert not [k for k in kernels if k["kernel"].startswith("TfLiteGpu")]  # never counted twice
    # a rerun has nothing left to do
    r = leti_cli(
        "db", "build", "--device", "adb:PHONE1", *zoo_args, "--cooldown", "0", "--no-progress"
    )
    assert r.returncode == 0 and f"skipped {len(PROFILED)}" in r.stdout
    r = leti_cli("train", "--device", "adb:PHONE1")
    assert r.returncode == 0, r.stderr
    assert "kernel kind" in r.stdout and "each model predicted without its family" in r.stdout
    meta = json.loads(
        next((Path(os.environ["LETI_HOME"]) / "estimators").glob("adb_*.json")).read_text()
    )
    assert meta["kind"] == "kernels" and "convolution_2d>relu|same|none" in meta["rules"]["links"]
    model = Path(os.environ["LETI_HOME"]) / "m.tflite"
    model.write_bytes(fill(zoo.skeleton("mobilenet_wd2")))
    r = leti_cli("estimate", str(model), "--device", "adb:PHONE1", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kernels"] and out["total_ms"] == pytest.approx(
        means["mobilenet_wd2"] / 1000, rel=0.2
    )
