"""The ``gpu`` device. CI and the development machines have no GPU, so the orchestration is
tested against recorded runtime output and a fake runtime process (tests/fake_gpu/worker.py,
a test double); the real-GPU tests carry the ``gpu`` marker and skip with the adapter's
reason where there is none."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from conftest import stop
from leti.estimator.devices import gpu, webgpu_log

HERE = Path(__file__).resolve().parent
LOGS = HERE / "data" / "gpu"
H100 = HERE.parents[1] / "shared" / "data" / "gpu-h100" / "whole_models.json"
FAKE = f"{sys.executable} {HERE / 'fake_gpu' / 'worker.py'}"


def test_recorded_adapter_and_refusals():
    knift = (LOGS / "lavapipe_knift_float.log").read_text()
    a = webgpu_log.adapter(knift)
    assert (a.name, a.vendor, a.backend) == ("llvmpipe (LLVM 15.0.6, 256 bits)", "mesa", "Vulkan")
    assert a.software
    d = webgpu_log.delegation(knift)
    assert d.refused == {"L2_NORMALIZATION": "Operation is not supported."}
    assert (d.gpu_ops, d.cpu_ops) == (21, 1)
    full = webgpu_log.delegation((LOGS / "lavapipe_face_landmark.log").read_text())
    assert full.refused == {} and full.cpu_ops is None


def test_recorded_reasons_for_no_adapter():
    loader = webgpu_log.unavailable_reason((LOGS / "no_vulkan_loader.log").read_text())
    assert "no Vulkan loader" in loader and "libvulkan1" in loader
    driver = webgpu_log.unavailable_reason((LOGS / "no_vulkan_driver.log").read_text())
    assert "no GPU adapter found" in driver and "/nonexistent/icd.json" in driver
    assert "VK_DRIVER_FILES" in driver


def test_recorded_h100_delegate_output():
    """The H100 runs of ../shared/data (skipped in a fresh clone)."""
    if not H100.exists():
        pytest.skip("../shared/data/gpu-h100 is absent (fresh clone)")
    runs = json.loads(H100.read_text())
    sparse = webgpu_log.delegation("\n".join(runs["hand_landmark_sparse"]["gpu"]["log"]))
    assert "DENSIFY" in sparse.refused and (sparse.gpu_ops, sparse.cpu_ops) == (65, 33)
    knift = webgpu_log.delegation("\n".join(runs["knift_float"]["gpu"]["log"]))
    assert set(knift.refused) == {"L2_NORMALIZATION"}
    h100 = (
        "Selected adapter: NVIDIA H100 80GB HBM3, vendor=nvidia, backend=Vulkan, "
        "adapterType=Discrete GPU"
    )  # fmt: skip  (the line the notes quote)
    a = webgpu_log.adapter(h100)
    assert (a.name, a.type, a.software) == ("NVIDIA H100 80GB HBM3", "Discrete GPU", False)


@pytest.fixture
def fake_gpu(tmp_path, monkeypatch):
    monkeypatch.setenv("LETI_GPU_WORKER", FAKE)
    monkeypatch.setenv("FAKE_GPU_STATE", str(tmp_path / "fake_gpu_count"))
    monkeypatch.setenv("LETI_HOME", str(tmp_path / "home"))
    # A command run in-process leaves its GPU device's worker running (a leti process ended
    # it by exiting; a dropped Popen of a live child keeps its stdin open), so every worker
    # started during the test is ended here, whatever the test did.
    workers: list[gpu.Worker] = []
    init = gpu.Worker.__init__

    def tracked(self) -> None:
        init(self)
        workers.append(self)

    monkeypatch.setattr(gpu.Worker, "__init__", tracked)
    yield tmp_path
    for worker in workers:
        proc = worker.proc
        worker.close()
        if proc is not None:
            stop(proc, signal.SIGKILL)


def test_devices_lists_the_fake_adapter_and_its_absence(fake_gpu, monkeypatch, leti_cli):
    rows = {r["device"]: r for r in json.loads(leti_cli("devices", "--format", "json").stdout)}
    assert rows["gpu"]["state"] == "ready" and "software renderer" in rows["gpu"]["description"]
    monkeypatch.setenv("FAKE_GPU_NO_ADAPTER", "1")
    rows = {r["device"]: r for r in json.loads(leti_cli("devices", "--format", "json").stdout)}
    assert rows["gpu"]["state"] == "unavailable" and "no GPU adapter" in rows["gpu"]["description"]
    r = leti_cli("measure", str(_model(fake_gpu, "plain")), "--device", "gpu")
    assert r.returncode == 2 and "no usable GPU" in r.stderr and "Traceback" not in r.stderr


def _model(tmp: Path, family: str, **kw) -> Path:
    from leti.estimator.generate import netgen

    spec = dict(family=family, res=32, width=8, depth=2, seed=1, **kw)
    path = tmp / f"{family}.tflite"
    path.write_bytes(netgen.build(spec))
    return path


def _l2_model(tmp: Path) -> Path:
    """A small CNN with an L2_NORMALIZATION in the middle (which real delegates refuse)."""
    from leti.estimator.generate.layers import Net

    net = Net(seed=3)
    x = net.conv(net.input([1, 32, 32, 8]), 16, 3)
    x = net.l2_normalize(x)
    net.output(net.conv(x, 16, 3))
    path = tmp / "l2.tflite"
    path.write_bytes(net.build())
    return path


def test_gpu_build_train_estimate_through_the_fake_runtime(fake_gpu, leti_cli):
    """The whole GPU path: self-check, in-context op costs (1, 2, 4, 8 copies), the delegate's
    report stored with every measurement, support learned from it, partitions estimated."""
    r = leti_cli("db", "build", "--device", "gpu", "--suite", "smoke", "--no-progress")
    assert r.returncode == 0, r.stderr
    from leti.estimator.db import open_db

    db = open_db()
    (device,) = db.device_ids()
    assert device == "gpu/llvmpipe-llvm-15-0-6-256-bits/vulkan"
    fp = db.device(device)["fingerprint"]
    assert fp["precision"] == "fp16" and fp["timing"] == "benchmark_mode" and fp["software"]
    rows = db.measurements(device)
    conv = max((r for r in rows if r["op_type"] == "CONV_2D"), key=lambda r: r["features"]["flops"])
    ctx = conv["stats"]["context"]
    assert ctx["copies"] == [1, 2, 4, 8] and ctx["intercept_ms"] == pytest.approx(0.04, abs=0.01)
    assert conv["median_ms"] == pytest.approx(ctx["slope_ms"], rel=0.05)
    assert conv["stats"]["compile_ms"] == 1.0 and conv["stats"]["delegation"]["refused"] == {}
    l2 = [r for r in rows if r["op_type"] == "L2_NORMALIZATION"]
    assert l2 and l2[0]["stats"]["delegation"]["refused"] == {
        "L2_NORMALIZATION": "Operation is not supported."}  # fmt: skip
    assert l2[0]["stats"]["fully_accelerated"] is False
    r = leti_cli("train", "--device", "gpu", "--format", "json")
    assert r.returncode == 0, r.stderr
    support = json.loads(r.stdout)["runtime"]["support"]
    assert support["L2_NORMALIZATION"]["supported"] is False
    assert support["CONV_2D"]["supported"] is True
    out = json.loads(leti_cli("estimate", str(_l2_model(fake_gpu)), "--device", "gpu",
                              "--format", "json").stdout)  # fmt: skip
    (l2node,) = [n for n in out["nodes"] if n["op"] == "L2_NORMALIZATION"]
    assert l2node["gpu_unsupported"] and "refused L2_NORMALIZATION" in l2node["note"]
    assert out["partitions"] == 3 and out["cpu_fallback_ms"] > 0


def test_self_check_refuses_asynchronous_timings(fake_gpu, monkeypatch, leti_cli):
    monkeypatch.setenv("FAKE_GPU_MODE", "async")
    r = leti_cli("db", "build", "--device", "gpu", "--suite", "smoke", "--no-progress")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "do not grow with the work" in r.stderr and "nothing is recorded" in r.stderr
    from leti.estimator.db import open_db

    assert open_db().measurements(status=None) == []


def test_a_driver_fault_mid_build_is_a_recorded_failure_and_a_rerun_resumes(
    fake_gpu, monkeypatch, leti_cli
):
    # self-check (2 runs) and the first drift checkpoint pass, then the 12th model crashes
    monkeypatch.setenv("FAKE_GPU_CRASH_AFTER", "12")
    r = leti_cli("db", "build", "--device", "gpu", "--suite", "smoke", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "the GPU runtime process died" in r.stdout
    from leti.estimator.db import open_db

    db = open_db()
    failed = db.measurements(status="failed")
    assert len(failed) == 1 and "process died" in failed[0]["error"]
    ok = len(db.measurements())
    assert ok > 30  # the worker was restarted and the build went on
    monkeypatch.delenv("FAKE_GPU_CRASH_AFTER")
    r = leti_cli("db", "build", "--device", "gpu", "--suite", "smoke", "--no-progress")
    assert r.returncode == 0 and "measured 0" in r.stdout  # nothing lost, nothing twice


def test_precision_is_a_distinct_profile(fake_gpu, leti_cli):
    r = leti_cli("measure", str(_model(fake_gpu, "plain")), "--device", "gpu",
                 "--precision", "fp32", "--record", "--format", "json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["device"].endswith("/vulkan/fp32")


# --- a real GPU (any WebGPU adapter; skipped with its reason where there is none) -------------


@pytest.fixture(scope="module")
def real_gpu():
    from leti.estimator.devices.gpu import probe

    if os.environ.get("LETI_GPU_WORKER"):
        pytest.skip("a fake GPU runtime is configured")
    p = probe()
    if p.adapter is None:
        pytest.skip(f"no GPU adapter: {p.reason}")
    return p


@pytest.mark.gpu
def test_real_gpu_self_check_and_delegation(real_gpu, tmp_path):
    from leti.estimator.devices.gpu import GpuDevice

    dev = GpuDevice()
    try:
        dev.check()
        assert dev.self_check["ratio"] >= 2.5
        t = dev.measure(_l2_model(tmp_path).read_bytes())
        assert t.median_ms > 0 and t.extra["compile_ms"] > 0 and t.extra["first_run_ms"] > 0
        assert t.extra["fully_accelerated"] is False
        assert "L2_NORMALIZATION" in t.extra["delegation"]["refused"]
    finally:
        dev.close()
