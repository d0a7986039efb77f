"""The rough edges a new user hit, each pinned by a test: clear errors, honest training, the
numbers and noise the tool shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import leti_process, stop
from leti.estimator.devices import DeviceProfile, DeviceSpec
from leti.estimator.errors import LetiError
from leti.estimator.generate.suite_times import quoted
from leti.estimator.render import format_ms
from leti.estimator.timing import Timing

ROOT = Path(__file__).resolve().parents[1]


def test_latencies_are_written_in_us_or_ms_with_few_digits():
    assert format_ms(0.0062) == "6.2 µs"
    assert format_ms(0.00019) == "0.19 µs"
    assert format_ms(0.4567) == "457 µs"
    assert format_ms(1.234) == "1.23 ms"
    assert format_ms(12.34) == "12.3 ms"
    assert format_ms(2345.6) == "2346 ms"
    assert format_ms(None) == "n/a" and format_ms(0.0) == "0 ms"


def test_training_on_the_micro_benchmark_alone_is_refused(tmp_path, monkeypatch, leti_cli):
    """The micro-benchmark behind the uncalibrated viewer is not a calibration: training on it
    is refused with the command that gathers enough data, and nothing is saved."""
    from leti.estimator.db import open_db
    from leti.estimator.services.estimate import stand_in_estimator

    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    est = stand_in_estimator(open_db(), DeviceSpec.parse("host"))
    assert not est.calibrated
    r = leti_cli("train", "--device", "host")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "too few to train a calibrated estimator" in r.stderr
    assert "leti db build --device host --suite default" in r.stderr
    assert not list((tmp_path / "estimators").glob("*.json"))


def test_estimate_hint_names_the_build_before_the_training(tf_model, leti_cli):
    r = leti_cli("estimate", str(tf_model("conv")))
    assert r.returncode == 0  # uncalibrated estimates, with the note that says how to calibrate
    hint = r.stderr
    assert hint.index("leti db build --device host") < hint.index("leti train --device host")


def test_uncalibrated_notes_say_uncalibrated(tmp_path, monkeypatch, tf_model):
    from leti.estimator.db import open_db
    from leti.estimator.services.estimate import stand_in_estimator

    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    est = stand_in_estimator(open_db(), DeviceSpec.parse("host"))
    (conv,) = est.predict(tf_model("conv")).nodes
    assert "uncalibrated" in conv.note and "never measured" not in conv.note


def test_evaluate_two_models_gives_no_nan(trained_home, tf_model, tmp_path, monkeypatch, leti_cli):
    import shutil

    home = tmp_path / "two"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("LETI_HOME", str(home))
    models = [str(tf_model("conv_small")), str(tf_model("conv_4x"))]
    r = leti_cli("evaluate", *models, "--rounds", "1")
    assert r.returncode == 0, r.stderr
    assert "nan" not in r.stdout.lower() and "Spearman n/a (needs 3 models)" in r.stdout
    r = leti_cli("evaluate", *models, "--format", "json")
    assert json.loads(r.stdout)["scores"]["leti"]["spearman"] is None


class BrokenRuntime:
    """TEST DOUBLE for a runtime that fails every model the same way (as a missing or broken
    kernel library does); the build's logic around it is real."""

    profile = DeviceProfile("host/broken/t1", "host", "xnnpack", 1, "test-double", "0")

    def __init__(self) -> None:
        self.calls = 0

    def check(self) -> None:
        pass

    def measure(self, model: bytes, runs: int | None = None) -> Timing:
        self.calls += 1
        raise LetiError("the interpreter cannot run this model: XNNPACK kernels missing")


def test_a_build_that_fails_the_same_way_every_time_stops_at_once(tmp_path, monkeypatch):
    from leti.estimator.db import open_db
    from leti.estimator.services.build import SYSTEMIC_AFTER, SystemicFailure, make_plan, run_build

    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    db = open_db()
    dev = BrokenRuntime()
    plan = make_plan("smoke")
    with pytest.raises(SystemicFailure, match="failed the same way"):
        run_build(db, dev, plan, show_progress=False)
    assert dev.calls <= SYSTEMIC_AFTER + 1 < len(plan.items)  # + the drift reference try
    assert db.measurements(status=None) == []  # nothing kept as "failed": a rerun retries all
    assert db.status()["last_build"]["status"] == "failed"


def test_a_phone_whose_benchmark_always_fails_exits_non_zero(fake_adb, leti_cli):
    (fake_adb / "output").write_text("ERROR: Could not open '/data/local/tmp/x.tflite'.\nAborted\n")
    r = leti_cli(
        "db",
        "build",
        "--device",
        "adb:PHONE1",
        "--suite",
        "smoke",
        "--cooldown",
        "0",
        "--no-progress",
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "failed the same way" in r.stderr and "no timings" in r.stderr


def test_estimate_on_a_phone_profile(fake_adb, tf_model, leti_cli):
    """A phone's profile is found in the database by its serial (it used to crash)."""
    model = str(tf_model("conv"))
    r = leti_cli("estimate", model, "--device", "adb:PHONE1")
    assert r.returncode == 2 and "no measurements for phone PHONE1" in r.stderr
    assert "leti db build --device adb:PHONE1" in r.stderr
    build = ("db", "build", "--device", "adb:PHONE1", "--suite", "smoke", "--cooldown", "0")
    assert leti_cli(*build, "--no-progress").returncode == 0
    assert leti_cli("train", "--device", "adb:PHONE1").returncode == 0
    r = leti_cli("estimate", model, "--device", "adb:PHONE1", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["device"] == "adb/Pixel-Fake-PHONE1/gpu"


def test_progress_eta_counts_networks_as_slower():
    from leti.estimator.services.build import PRIOR_COST, Progress

    prog = Progress("d", total=20, remaining={"op": 18, "network": 2})
    for _ in range(10):
        prog.finished("op", 0.1)
    # 8 ops left at 0.1 s, and 2 networks not timed yet: priced at the prior
    assert prog.eta_s == pytest.approx(8 * 0.1 + 2 * 0.1 * PRIOR_COST["network"])
    prog.finished("network", 2.0)
    assert prog.eta_s == pytest.approx(8 * 0.1 + 1 * 2.0)


def test_networks_are_spread_through_the_plan():
    from leti.estimator.services.build import make_plan

    kinds = [item.kind for item in make_plan("default").items]
    nets = [i for i, k in enumerate(kinds) if k == "network"]
    assert len(nets) > 10
    gaps = [b - a for a, b in zip(nets, nets[1:], strict=False)]
    assert nets[0] < len(kinds) / len(nets) + 1 and max(gaps) - min(gaps) <= 2


def test_quoted_build_times_come_from_one_measured_figure(tmp_path):
    from leti.estimator.cli import build_parser

    parser = build_parser()
    db_help = parser._subparsers._group_actions[0].choices["db"]  # noqa: SLF001
    build_help = db_help._subparsers._group_actions[0].choices["build"].format_help()  # noqa: SLF001
    for suite in ("smoke", "default"):
        assert f"{suite} ({quoted(suite)}" in " ".join(build_help.split())
    readme = (ROOT / "README.md").read_text()
    said_in_readme = r"--suite (smoke|default)\s+# (about [0-9.]+ (?:s|min|h))"
    for suite, said in re.findall(said_in_readme, readme):
        assert said == quoted(suite), (suite, said)
    overlay = (ROOT / "static" / "overlay.js").read_text()
    settings = (ROOT / "server" / "templates" / "settings.html").read_text()
    assert "~1 min" not in overlay + settings and "about 6 minutes" not in settings


def test_measure_is_quiet_unless_verbose(tf_model):
    """A process of its own each time: the runtime writes its delegate line to the process's
    file descriptor 2, and only once per process."""
    model = str(tf_model("conv"))
    r = leti_process("measure", model, "--runs", "5")
    assert r.returncode == 0 and "XNNPACK" not in r.stderr and r.stderr.strip() == ""
    r = leti_process("measure", model, "--runs", "5", "--verbose")
    assert r.returncode == 0 and "XNNPACK" in r.stderr


def test_viewer_is_quiet_per_request_and_serves_a_favicon(tf_model, tmp_path):
    import signal
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "leti.server.cli", str(tf_model("conv")), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LETI_HOME": str(tmp_path)},
    )
    try:
        url = re.search(r"(http://\S+)", proc.stdout.readline()).group(1)
        for path in ("", "index.js"):
            urllib.request.urlopen(url + path).read()
        base = url.split("/m/")[0]
        with urllib.request.urlopen(base + "/favicon.ico") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg")
    finally:
        stop(proc, signal.SIGINT)
    out, err = proc.stdout.read(), proc.stderr.read()
    assert "GET /" not in out + err


def test_empty_file_reads_the_same_in_both_commands(tmp_path, leti_cli, leti_view):
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    a = leti_cli("inspect", str(empty))
    b = leti_view(str(empty), "--no-browser")
    assert a.returncode == b.returncode == 2
    assert a.stderr.split("error: ", 1)[1] == b.stderr.split("error: ", 1)[1]
    assert "file is empty" in a.stderr


def test_truncated_file_says_how_long_it_should_be(tf_model, tmp_path, leti_cli):
    data = tf_model("fp16_conv").read_bytes()
    for keep in (0.3, 0.97):
        path = tmp_path / f"cut{keep}.tflite"
        path.write_bytes(data[: int(len(data) * keep)])
        r = leti_cli("inspect", str(path))
        assert r.returncode == 2 and "unpack_from" not in r.stderr
        m = re.search(r"truncated TFLite file: it has (\d+) bytes.* at least (\d+) bytes", r.stderr)
        assert m and int(m.group(1)) == path.stat().st_size
        assert path.stat().st_size < int(m.group(2)) <= len(data)


def test_busy_job_and_threads_are_safe():
    """Two viewer jobs started at once: exactly one runs (the other is refused)."""
    from leti.server.jobs import JobBusy, JobManager

    jobs = JobManager()
    gate = threading.Event()
    results = []

    def start():
        try:
            jobs.start("rebuild", {}, lambda job: gate.wait(5) and "ok")
            results.append("started")
        except JobBusy:
            results.append("busy")

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gate.set()
    time.sleep(0.1)
    assert sorted(results) == ["busy", "busy", "busy", "started"]
