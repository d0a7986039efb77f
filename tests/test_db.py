"""Real host measurements on the smoke suite, resume after a kill, export/import, bad input."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import stop
from leti.estimator.db import open_db
from leti.estimator.devices.host import HostDevice
from leti.estimator.errors import LetiError
from leti.estimator.generate.check import check_single
from leti.estimator.generate.config import GenerationError, OpConfig
from leti.estimator.generate.singles import build
from leti.estimator.generate.suites import (
    affordable,
    from_model,
    node_to_config,
    smoke,
    suite_configs,
    thin,
    thin_sampled,
)
from leti.estimator.graph import read_model
from leti.estimator.services.measure import BURST, ROUNDS, measure_interleaved
from leti.estimator.timing import Burst


def test_smoke_build_measures_every_config(smoke_home, monkeypatch):
    home, r, _ = smoke_home
    monkeypatch.setenv("LETI_HOME", str(home))
    rows = open_db().measurements()
    assert len(rows) == len({c.key for c in smoke()})
    assert {row["op_type"] for row in rows} >= {"CONV_2D", "HARD_SWISH", "RESIZE_BILINEAR"}
    for row in rows:
        assert row["status"] == "ok" and row["error"] is None
        assert 0 < row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
        assert row["runs"] >= 5
        assert row["runtime"] == "ai-edge-litert" and row["threads"] == 1
        assert row["features"]["op"] == row["op_type"] and len(row["model_sha256"]) == 64
    nets = open_db().model_measurements(kind="generated")
    assert len(nets) == 3 and all(n["median_ms"] > 0 and n["operators"] > 5 for n in nets)
    assert "measured" in r.stdout and "failed 0" in r.stdout
    # timed in interleaved rounds (services.measure.measure_interleaved): every round's p10
    # kept, the fastest of them the p10 that training reads
    for row in [*rows, *nets]:
        p10s = row["stats"]["round_p10s_ms"]
        assert len(p10s) == len(row["stats"]["round_medians_ms"]) == ROUNDS
        assert row["p10_ms"] == min(p10s) and row["runs"] >= ROUNDS * BURST.min_runs


def test_bigger_conv_is_slower(smoke_home, monkeypatch):
    monkeypatch.setenv("LETI_HOME", str(smoke_home[0]))
    conv = {
        (m["config"]["h"], m["config"]["cin"], m["config"]["cout"], m["config"]["k"]): m
        for m in open_db().measurements()
        if m["op_type"] == "CONV_2D" and m["config"].get("s") == 1
    }
    small, big = conv[(16, 16, 16, 3)], conv[(32, 32, 64, 3)]
    assert big["features"]["macs"] == 32 * small["features"]["macs"]
    assert big["median_ms"] > 4 * small["median_ms"]


def test_rerun_skips_everything(smoke_home, monkeypatch, leti_cli):
    monkeypatch.setenv("LETI_HOME", str(smoke_home[0]))
    r = leti_cli("db", "build", "--suite", "smoke", "--no-progress")
    assert r.returncode == 0 and "measured 0" in r.stdout
    assert f"skipped {len(smoke()) + 3}" in r.stdout


def test_status_json(smoke_home, monkeypatch, leti_cli):
    monkeypatch.setenv("LETI_HOME", str(smoke_home[0]))
    r = leti_cli("db", "status", "--format", "json")
    s = json.loads(r.stdout)
    (dev,) = s["devices"].values()
    assert dev["ok"] == len(smoke()) and dev["models"] == 3
    assert dev["ops"]["CONV_2D"]["ok"] == 9
    assert s["last_build"]["status"] == "done"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_import_round_trip(smoke_home, tmp_path, monkeypatch, fmt, leti_cli):
    home, _, _ = smoke_home
    monkeypatch.setenv("LETI_HOME", str(home))
    out = tmp_path / f"export.{fmt}"
    assert leti_cli("db", "export", str(out)).returncode == 0
    other = tmp_path / "other.sqlite"
    r = leti_cli("db", "import", str(out), "--db", str(other))
    assert r.returncode == 0, r.stderr
    strip = lambda rows: sorted(  # noqa: E731
        [{k: v for k, v in r.items() if k not in ("id", "build_id")} for r in rows],
        key=lambda r: (r["device_id"], r.get("config_key") or r.get("model_sha256")),
    )
    a, b = open_db(), open_db(str(other))
    assert strip(a.measurements(status=None)) == strip(b.measurements(status=None))
    assert strip(a.model_measurements()) == strip(b.model_measurements())
    assert a.device(a.device_ids()[0]) == b.device(b.device_ids()[0])
    # importing again adds nothing
    r = leti_cli("db", "import", str(out), "--db", str(other))
    assert "measurements 0" in r.stdout


def wait_for_measurements(proc: subprocess.Popen, db_path: Path, at_least: int) -> None:
    """Until the builder ``proc`` has stored ``at_least`` single-op measurements (or ended, or
    10 minutes passed), read from its SQLite file as another process would."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        if not db_path.exists():
            continue
        try:
            with sqlite3.connect(db_path) as c:
                count = c.execute(
                    "select count(*) from measurements where source != 'reference'"
                ).fetchone()[0]
        except sqlite3.OperationalError:  # not created yet, or locked by the writer
            continue
        if count >= at_least:
            return


def test_killed_build_resumes_without_loss(tmp_path, monkeypatch, leti_cli):
    from types import SimpleNamespace

    from leti.estimator.services import claims

    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    # the builder is a process of its own: it is the process that is killed
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leti.estimator.cli",
            "db",
            "build",
            "--suite",
            "smoke",
            "--no-progress",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_measurements(proc, tmp_path / "leti.sqlite", 8)
        assert proc.poll() is None, "the build finished before it could be killed"
    finally:
        stop(proc, signal.SIGKILL)
    before = {m["config_key"]: m["median_ms"] for m in open_db().measurements()}
    assert len(before) >= 8

    def no_waiting(seconds: float) -> None:
        raise AssertionError(f"the rerun waited {seconds} s for a lease")

    # the killed builder's leases are freed at once (its process is gone): the rerun never
    # waits for one to expire (300 s)
    monkeypatch.setattr(claims, "time", SimpleNamespace(monotonic=time.monotonic, sleep=no_waiting))
    r = leti_cli("db", "build", "--suite", "smoke", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert not open_db().leases()
    after = open_db().measurements()
    keys = [m["config_key"] for m in after]
    assert len(keys) == len(set(keys)) == len(smoke())
    assert all(
        before[m["config_key"]] == m["median_ms"] for m in after if m["config_key"] in before
    )


def send_to_a_thread(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to ``proc`` as the kernel may deliver it: to one of its other threads that
    lets it through (kill() of a thread's id offers a process signal to that thread first)."""
    tasks = Path(f"/proc/{proc.pid}/task")
    for status in sorted(tasks.glob("*/status")):
        tid = int(status.parent.name)
        try:
            blocked = int(re.search(r"SigBlk:\s*([0-9a-f]+)", status.read_text()).group(1), 16)
            if tid != proc.pid and not blocked & (1 << (sig - 1)):
                os.kill(tid, sig)
                return
        except (FileNotFoundError, ProcessLookupError):  # that thread ended meanwhile
            continue
    pytest.fail(f"no thread of {proc.pid} but its main one lets {sig} through")


@pytest.mark.parametrize(
    "sig, to_a_thread",
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["SIGINT", "SIGTERM", "SIGTERM-taken-by-a-builder-thread"],
)
def test_ctrl_c_stops_a_build_on_several_devices_and_a_rerun_resumes(
    sig, to_a_thread, tmp_path, monkeypatch, fake_adb, leti_cli
):
    """Each device is built in a thread of its own. Ctrl-C or SIGTERM must stop them all after
    their current item (not leave the process waiting for every device to finish its suite),
    say so in one line with exit 130, keep what was measured, and leave the rest to a rerun;
    also where the build started with SIGINT ignored, as a shell starts background jobs, and
    where the kernel hands the signal to a builder's thread rather than the main one (the
    suite met that: the main thread, asleep in join(), stopped only once the host had measured
    the whole suite). The phone is the suite's fake ``adb`` (a transport we cannot have); the host
    measures for real."""
    if to_a_thread and not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("no /proc/PID/task here to find a process's threads")
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    cmd = [sys.executable, "-m", "leti.estimator.cli", "db", "build", "--device", "host",
           "--device", "adb:PHONE1", "--suite", "smoke", "--cooldown", "0",
           "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as `leti db build &`
    )
    try:
        wait_for_measurements(proc, tmp_path / "leti.sqlite", 6)
        assert proc.poll() is None, "the build finished before it could be interrupted"
        asked = time.monotonic()
        if to_a_thread:
            send_to_a_thread(proc, sig)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                code = None
        else:
            code = stop(proc, sig, timeout=60)
        took = time.monotonic() - asked
    finally:
        stop(proc, signal.SIGKILL)
    err = proc.stderr.read()
    assert code == 130, err
    assert "interrupted; everything measured so far is saved" in err and "Traceback" not in err
    assert took < 30, f"{took:.0f} s from Ctrl-C to exit"
    with sqlite3.connect(tmp_path / "leti.sqlite") as c:
        running = c.execute("select device_id from builds where status = 'running'").fetchall()
    assert not running, f"a builder the process did not wait for: {running}"
    assert not open_db().leases()  # each builder gave its claims back before the exit
    host = [d for d in open_db().device_ids() if d.startswith("host/")]
    kept = {m["config_key"] for m in open_db().measurements(host[0])}
    assert 0 < len(kept) < len(smoke())  # stopped midway, what was measured is there
    r = leti_cli("db", "build", "--device", "host", "--suite", "smoke", "--no-progress")
    assert r.returncode == 0, r.stderr
    m = re.search(r"measured (\d+), skipped (\d+)", r.stdout)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) >= len(kept)  # resumed, not redone
    assert {m["config_key"] for m in open_db().measurements(host[0])} >= {c.key for c in smoke()}


def test_a_host_build_times_its_drift_references_in_rounds(smoke_home, monkeypatch):
    """The reference set a host build times at its checkpoints is timed as its items are (in
    interleaved rounds, the fastest round's p10), under names of that kind, at every
    checkpoint of the build; three of them are timed inside every window as well, and each
    single-op row names the window whose references it is divided by."""
    from leti.estimator.services import drift

    monkeypatch.setenv("LETI_HOME", str(smoke_home[0]))
    db = open_db()
    refs = db.measurements(reference=True)
    names = {drift.PREFIX + n + drift.ROUNDS_SUFFIX for n in drift.reference_models()}
    checkpoints = [r for r in refs if "checkpoint" in r["config"]]
    assert {r["op_type"] for r in checkpoints} == names and len(checkpoints) == 2 * len(names)
    assert all(r["median_ms"] > 0 for r in refs)
    windows: dict[int, set[str]] = {}
    for r in refs:
        if "window" in r["config"]:
            windows.setdefault(r["config"]["window"], set()).add(r["op_type"])
    inside = {drift.PREFIX + n for n in drift.window_references()}
    assert len(windows) >= 2 and all(got == inside for got in windows.values())
    host = next(d for d in db.device_ids() if d.startswith("host/"))
    ops = db.usable_measurements(host)
    assert ops and {r["stats"]["window"] for r in ops} == set(windows)


def test_drift_factors_compare_a_reference_only_with_its_own_kind():
    """Checkpoints timed in rounds (``:rounds``) and older ones timed in one burst are never
    set against each other: each kind has its own usual timing, each build's rows their own
    kind's factors, and a timing of one kind against a baseline of the other says nothing."""
    from leti.estimator.services import drift

    def ref(build: int, k: int, name: str, ms: float) -> dict:
        at = f"2026-12-0{build}T00:0{k}:00+00:00"
        return {"op_type": drift.PREFIX + name, "median_ms": ms, "build_id": build,
                "config": {"checkpoint": k}, "measured_at": at}  # fmt: skip

    old = [ref(1, k, "conv", ms) for k, ms in enumerate([1.0, 1.5, 1.0])]
    new = [ref(2, k, "conv" + drift.ROUNDS_SUFFIX, ms) for k, ms in enumerate([0.8, 0.8, 0.96])]
    rows = [{"build_id": 2, "measured_at": "2026-12-02T00:01:30+00:00"},
            {"build_id": 1, "measured_at": "2026-12-01T00:00:30+00:00"}]  # fmt: skip
    assert drift.row_factors(old + new, rows) == pytest.approx([1.1, 1.25])
    assert drift.factor({"conv" + drift.ROUNDS_SUFFIX: 0.8}, drift.baseline(old)) is None


def test_a_row_timed_in_a_window_is_divided_by_that_window_s_own_references():
    """Where references were timed inside windows, the usual timing is the device's fast
    state (a low quantile of every timing of a reference), and a row's factor is that of
    the references of its own window, not the checkpoints around it; a row without a window
    still takes its checkpoints'."""
    from leti.estimator.services import drift

    conv = "conv" + drift.ROUNDS_SUFFIX

    def ref(k: int, ms: float, where: str) -> dict:
        return {"op_type": drift.PREFIX + conv, "median_ms": ms, "build_id": 3,
                "config": {where: k}, "measured_at": f"2026-12-07T00:0{k}:00+00:00"}  # fmt: skip

    # the windows: eight in the fast state (1.0 ms), two in a slow one (1.3 ms)
    windows = [ref(k, 1.3 if k in (4, 5) else 1.0, "window") for k in range(10)]
    checkpoints = [ref(0, 1.3, "checkpoint"), ref(9, 1.3, "checkpoint")]
    refs = windows + checkpoints
    assert drift.baseline(refs)[conv] == pytest.approx(1.0)  # not the median of 12 timings
    rows = [{"build_id": 3, "stats": {"window": 4}, "measured_at": "2026-12-07T00:05:00+00:00"},
            {"build_id": 3, "stats": {"window": 2}, "measured_at": "2026-12-07T00:05:00+00:00"},
            {"build_id": 3, "stats": {}, "measured_at": "2026-12-07T00:05:00+00:00"}]  # fmt: skip
    assert drift.row_factors(refs, rows) == pytest.approx([1.3, 1.0, 1.3])
    # a profile without in-window references keeps the median of its checkpoints
    assert drift.baseline([ref(5, 1.0, "checkpoint"), *checkpoints])[conv] == 1.3


def test_models_timed_together_take_turns_round_after_round(tf_model):
    """Each model of a window is timed in a short burst per round, round after round through
    all of them, so a slow spell of the machine lands on one burst of a model rather than on
    its whole timing; the fastest round's p10 is kept with every round beside it. A model
    that cannot run gets its error and the others their timings. The runners are the host's
    own, their bursts recorded as they are called."""
    dev, order, rounds_seen = HostDevice(), [], []
    models = [
        build(OpConfig("CONV_2D", dict(h=16, w=16, cin=8, cout=8, k=3, s=1))),
        tf_model("runtime_reshape").read_bytes(),  # cannot run with made-up inputs
        build(OpConfig("ADD", dict(h=16, w=16, cin=8))),
    ]
    opened = dev.open

    def recording_open(model: bytes):
        runner, k = opened(model), models.index(model)
        burst = runner.burst
        runner.burst = lambda b: (order.append(k), burst(b))[1]
        return runner

    dev.open = recording_open
    short = Burst(min_runs=3, min_s=0.001, max_s=0.05)
    got = measure_interleaved(dev, models, rounds=3, burst=short,
                              between_rounds=lambda: rounds_seen.append(len(order)))  # fmt: skip
    assert order == [0, 2] * 3 and rounds_seen == [2, 4, 6]
    assert isinstance(got[1], LetiError) and "failed to run this model" in str(got[1])
    for t in (got[0], got[2]):
        p10s, medians = t.extra["round_p10s_ms"], t.extra["round_medians_ms"]
        assert len(p10s) == len(medians) == 3 and t.p10_ms == min(p10s)
        assert t.median_ms == sorted(medians)[1] and t.p10_ms <= t.median_ms <= t.p90_ms
        assert t.runs >= 3 * short.min_runs


def test_a_build_cancelled_between_rounds_keeps_what_it_committed(tmp_path, monkeypatch):
    """Cancelled (the viewer's settings page) while a window is being timed: the window is
    dropped whole (none of it recorded from fewer rounds than the rest), what earlier windows
    committed stays, no lease is left held, and a rerun measures the rest."""
    import threading

    from leti.estimator.services import drift
    from leti.estimator.services.build import make_plan, run_build

    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    cancel, bursts = threading.Event(), []
    dev = HostDevice()
    opened = dev.open

    references = set(drift.reference_models().values())  # timed at checkpoints: not counted

    def open_and_count(model: bytes):
        runner = opened(model)
        if model in references:
            return runner
        burst = runner.burst

        def counted(b):
            bursts.append(1)
            if len(bursts) == 8 * ROUNDS + 3:  # in the first round of the second window
                cancel.set()
            return burst(b)

        runner.burst = counted
        return runner

    dev.open = open_and_count
    plan = make_plan("smoke")
    prog = run_build(open_db(), dev, plan, show_progress=False, cancel=cancel)
    assert prog.current == "cancelled" and prog.measured == 8
    assert len(open_db().measurements(dev.profile.id)) == 8 and not open_db().leases()
    again = run_build(open_db(), HostDevice(), plan, show_progress=False)
    assert again.skipped == 8 and again.measured == len(plan.items) - 8


def test_host_timings_are_whole_statistics(tf_model):
    """What a timing holds; how repeatable the medians are is a figure of the machine's load,
    reported by ``bench/build.py`` (Repeatability), not asserted here."""
    data = tf_model("conv_4x").read_bytes()
    dev = HostDevice()
    t = dev.measure(data)
    assert 0 < t.p10_ms <= t.median_ms <= t.p90_ms and t.runs >= 5
    assert dev.measure(data, runs=17).runs == 17


def test_a_model_that_fails_to_run_is_a_clear_error(tf_model):
    # cut out of a model, a RESHAPE to a run-time shape cannot run with made-up inputs
    with pytest.raises(LetiError, match="failed to run this model"):
        HostDevice().measure(tf_model("runtime_reshape").read_bytes())


def test_from_model_reproduces_the_layer(tf_model):
    configs, skipped = from_model(tf_model("conv"))
    assert skipped == []
    (cfg,) = configs
    assert cfg.op == "CONV_2D"
    assert cfg.params == dict(h=16, w=16, cin=3, cout=8, k=3, s=2, padding="same", act="relu")
    node = read_model(tf_model("conv")).nodes[0]
    assert node_to_config(node).key == cfg.key


def test_batched_and_constant_operand_configs_round_trip():
    # a batch (KNIFT's 200 patches), a constant per-channel operand (input normalisation) and
    # a 1x1 map (a squeeze-excite gate or a 1x1-conv classifier)
    for cfg in [
        OpConfig("CONV_2D", dict(h=8, w=8, cin=4, cout=8, k=3, s=1, n=4, padding="same")),
        OpConfig("CONV_2D", dict(h=1, w=1, cin=24, cout=1001, k=1, s=1, padding="same")),
        OpConfig("SUB", dict(h=8, w=8, cin=3, const=1)),
        OpConfig("ADD", dict(h=8, w=8, cin=3, const=2)),
    ]:
        data = build(cfg)
        node = check_single(cfg, data)
        assert node.op == cfg.op and node.outputs[0].shape[0] == cfg.params.get("n", 1)
        assert node_to_config(read_model(data).nodes[0]).params == cfg.params


def test_default_suite_covers_the_shapes_real_models_have():
    configs = suite_configs("default")
    assert all(map(affordable, configs))
    p = {op: [c.params for c in configs if c.op == op] for op in {c.op for c in configs}}

    def share(op: str, cond) -> float:
        return sum(map(cond, p[op])) / len(p[op])

    assert share("CONV_2D", lambda q: q["h"] == 1) > 0.03  # squeeze-excite gates, 1x1 heads
    assert share("FULLY_CONNECTED", lambda q: q["cout"] in (1000, 1001)) > 0.05  # classifiers
    assert share("TRANSPOSE_CONV", lambda q: q["cout"] <= 8) > 0.2  # segmentation heads
    assert share("DEPTHWISE_CONV_2D", lambda q: q.get("m", 1) > 1) > 0.03
    assert share("CONV_2D", lambda q: q.get("n", 1) > 1) > 0.01
    assert share("MUL", lambda q: q.get("const") == 2) > 0.05  # scalar operands
    # thin maps at large resolutions (image inputs, segmentation decoders): a kernel that
    # vectorises over channels pays per pixel there, which the plain draws almost never show
    # (without the thin part: convolutions 5-7 %, PReLU, concatenation, padding none)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "PRELU", "ADD", "CONCATENATION", "PAD"):
        assert share(op, lambda q: q["cin"] < 8 and q["h"] >= 32) > 0.1, op


def test_thin_variants_keep_the_op_and_thin_only_feature_maps():
    rng = random.Random(3)
    conv = OpConfig("CONV_2D", dict(h=14, w=14, cin=96, cout=192, k=3, s=1), "random")
    seen = set()
    for _ in range(40):
        t = thin(conv, rng)
        assert t.op == "CONV_2D" and t.source == "thin" and t.params["k"] == 3
        assert t.params["h"] == t.params["w"] >= 32
        assert t.params["cin"] < 8 or t.params["cout"] < 8
        seen.add((t.params["cin"] < 8, t.params["cout"] < 8))
    assert seen == {(True, False), (False, True), (True, True)}  # input, output, both
    assert thin(OpConfig("ADD", dict(t=64, cin=64)), rng) is None  # token rows: no map
    assert thin(OpConfig("CONV_2D", dict(h=1, w=1, cin=24, cout=1001, k=1, s=1)), rng) is None
    assert all(c.source == "thin" for c in thin_sampled({"PRELU": 5}, 1))
    assert len(thin_sampled({"PRELU": 5}, 1)) == 5


def test_check_rejects_the_wrong_op(tf_model):
    data = tf_model("conv").read_bytes()
    with pytest.raises(GenerationError, match="expected one DEPTHWISE_CONV_2D"):
        check_single(OpConfig("DEPTHWISE_CONV_2D", dict(h=16, w=16, cin=3, k=3, s=2)), data)


def test_from_model_cuts_out_what_tensorflow_cannot_regenerate(
    tf_model, monkeypatch, tmp_path, leti_cli
):
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    configs, skipped = from_model(tf_model("with_maximum"))
    assert [c.op for c in configs] == ["CONV_2D"] and [n.op for n in skipped] == ["MAXIMUM"]
    _, skipped = from_model(tf_model("dynamic_batch_int8_dense"))
    assert [n.op for n in skipped] == ["FULLY_CONNECTED"]  # int8 weights: not a float FC
    models = [str(tf_model("with_maximum")), str(tf_model("dynamic_batch_int8_dense"))]
    r = leti_cli(
        "db", "build", "--from-model", models[0], "--from-model", models[1], "--no-progress"
    )
    assert r.returncode == 0, r.stderr
    rows = {m["op_type"]: m for m in open_db().measurements()}
    assert rows["MAXIMUM"]["source"] == "extracted" and rows["MAXIMUM"]["median_ms"] > 0
    assert rows["MAXIMUM"]["config"]["node"] == "0:1"
    assert rows["FULLY_CONNECTED"]["source"] == "extracted"
    assert rows["FULLY_CONNECTED"]["features"]["bytes_w"] >= 64 * 64  # its int8 weights
    assert rows["CONV_2D"]["source"] == "from-model"
    r = leti_cli("db", "build", "--from-model", str(tf_model("with_maximum")), "--no-progress")
    assert "measured 0" in r.stdout  # extracted ops resume like the rest
    # a model whose every op must be cut out (knift: all batched) is still something to build
    r = leti_cli("db", "build", "--from-model", models[1], "--no-progress")
    assert r.returncode == 0 and "measured 0" in r.stdout, r.stderr


def test_custom_ops_are_measured_and_learned(
    shared_models, smoke_home, tmp_path, monkeypatch, leti_cli
):
    import shutil

    home = tmp_path / "custom"
    shutil.copytree(smoke_home[0], home)
    monkeypatch.setenv("LETI_HOME", str(home))
    hair = shared_models / "hair_segmentation.tflite"
    r = leti_cli("db", "build", "--from-model", str(hair), "--no-progress")
    assert r.returncode == 0, r.stderr
    custom = [m for m in open_db().measurements() if m["op_type"].startswith("CUSTOM:")]
    assert {m["op_type"] for m in custom} == {
        "CUSTOM:Convolution2DTransposeBias",
        "CUSTOM:MaxPoolingWithArgmax2D",
        "CUSTOM:MaxUnpooling2D",
    }
    assert leti_cli("train").returncode == 0
    out = json.loads(leti_cli("estimate", str(hair), "--format", "json").stdout)
    tconv = [n for n in out["nodes"] if n["op"] == "CUSTOM:Convolution2DTransposeBias"]
    assert tconv and all(n["source"] == "learned" for n in tconv)


def test_from_model_on_real_models(shared_models):
    configs, skipped = from_model(shared_models / "face_landmark.tflite")
    ops = {c.op for c in configs}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "PRELU", "ADD", "MAX_POOL_2D"} <= ops
    assert all(c.source == "from-model" for c in configs)


def test_bad_database_inputs(tmp_path, leti_cli):
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database" * 100)
    r = leti_cli("db", "status", "--db", str(corrupt))
    assert r.returncode == 2 and "corrupt" in r.stderr and "Traceback" not in r.stderr
    # a database opened read-only (as on read-only media) cannot take a build's writes
    ro = tmp_path / "ro.sqlite"
    sqlite3.connect(ro).close()
    url = f"sqlite:///file:{ro}?mode=ro&uri=true"
    r = leti_cli("db", "build", "--suite", "smoke", "--db", url)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "read-only" in r.stderr or "readonly" in r.stderr, r.stderr
    r = leti_cli("db", "build", "--device", "toaster")
    assert r.returncode == 2 and "unknown device 'toaster'" in r.stderr
    r = leti_cli("db", "import", str(tmp_path / "nope.jsonl"))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_middle_probes_time_each_consumer_between_two_convolutions_by_tile_class():
    from leti.estimator.features import tile_class
    from leti.estimator.generate.pairs import CONSUMERS, Middle, middle_probes, sample_pairs
    from leti.estimator.generate.work import fusion_item
    from leti.estimator.learn.runtime import middle
    from leti.estimator.services.context import fusion_probe

    probes = middle_probes()
    for b in CONSUMERS:  # two probes of every consumer in every tile class
        tiles = sorted(tile_class(m.c) for m in probes if m.consumer == b)
        assert tiles == ["1", "1", "16", "16", "8", "8"], b
    keys = {m.key for m in probes}
    assert len(keys) == len(probes) and not keys & {p.key for p in sample_pairs(54, 31)}
    m = Middle("PRELU", 16, 16, 8)
    parts = {p: [n.op for n in read_model(m.build(p)).nodes] for p in ("a", "b", "ab")}
    assert parts == {"a": ["CONV_2D", "CONV_2D"], "b": ["PRELU"],
                     "ab": ["CONV_2D", "PRELU", "CONV_2D"]}  # fmt: skip
    timed = fusion_probe(HostDevice(), fusion_item(m)).extra["fusion"]  # the real runtime
    assert timed["pair_ms"] > 0 and timed["consumer_ms"] > 0

    # the rule: a tile class's median share, kept from 1.5x on, with two probes at least
    def row(op: str, c: int, share: float) -> dict:
        return {"op_type": f"MIDDLE:{op}", "config": {"consumer": op, "h": 64, "w": 64, "c": c},
                "stats": {"fusion": {"consumer_share": share}}}  # fmt: skip

    rows = [row("PRELU", 4, 2.0), row("PRELU", 12, 1.8), row("PRELU", 16, 0.9),
            row("PRELU", 32, 1.0), row("MUL", 8, 2.5), row("LOGISTIC", 8, 0.9),
            row("LOGISTIC", 24, 0.95), row("TANH", 4, 3.0)]  # fmt: skip
    assert middle(rows) == {"PRELU@1": pytest.approx(1.9)}  # MUL@8, TANH@1: one probe each
    # one probe of a class below 1.4x (a slow spell in the other) makes no rule
    assert middle([row("LOGISTIC", 16, 2.3), row("LOGISTIC", 32, 1.0)]) == {}
