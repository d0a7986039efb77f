"""The estimator trained on a real smoke build: predictions, composition rules, outputs, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from leti.estimator.db import open_db
from leti.estimator.devices import DeviceSpec
from leti.estimator.graph import read_model
from leti.estimator.predict.store import load, paths_for
from leti.estimator.render import ESTIMATE_SCHEMA, MODEL_EXPLORER_SCHEMA
from leti.estimator.services.estimate import load_estimator, stand_in_estimator


@pytest.fixture
def est(trained_home, monkeypatch):
    monkeypatch.setenv("LETI_HOME", str(trained_home))
    return load_estimator(DeviceSpec.parse("host"))


def test_predictions_positive_and_ordered(est, tf_model):
    small = est.predict(tf_model("conv_small"))
    big = est.predict(tf_model("conv_4x"))
    assert (
        read_model(tf_model("conv_4x")).totals()["macs"]
        == 4 * read_model(tf_model("conv_small")).totals()["macs"]
    )
    assert small.total_ms > 0 and all(n.ms > 0 for n in small.nodes)
    assert big.total_ms > 1.5 * small.total_ms
    assert small.nodes[0].source == "learned"
    lo, hi = small.total_interval_ms
    assert lo <= small.total_ms <= hi


def test_weight_prep_is_free(est, tf_model):
    res = est.predict(tf_model("fp16_conv"))
    deq = [n for n in res.nodes if n.op == "DEQUANTIZE"]
    assert deq and all(n.ms == 0 and n.source == "free" for n in deq)
    total_nodes = sum(n.ms for n in res.nodes)
    assert res.total_ms == pytest.approx(res.invoke_overhead_ms + total_nodes)
    conv = [n for n in res.nodes if n.op == "CONV_2D"][0]
    assert conv.share == pytest.approx(conv.ms / res.total_ms)


def test_merged_padding_is_free(est, tf_model):
    res = est.predict(tf_model("pads"))
    merged, real = sorted((n for n in res.nodes if n.op == "PAD"), key=lambda n: n.ms)
    assert merged.ms == 0 and merged.source == "free" and "merged" in merged.note
    assert real.ms > 0


def test_analytic_fallback_is_flagged(est, tf_model):
    res = est.predict(tf_model("with_maximum"))
    sub = [n for n in res.nodes if n.op == "MAXIMUM"][0]
    assert sub.source == "analytic" and sub.ms > 0 and "never measured" in sub.note
    assert [n.source for n in res.nodes if n.op == "CONV_2D"] == ["learned"]


def test_custom_ops_are_flagged(est, shared_models):
    res = est.predict(shared_models / "hair_segmentation.tflite")
    custom = [n for n in res.nodes if n.op.startswith("CUSTOM:")]
    assert custom and all(n.source == "custom" and n.ms > 0 for n in custom)


def test_gpu_partitions_cost_copies(est, tf_model):
    import copy

    from leti.estimator.predict.runtime import Runtime

    gpu = copy.copy(est)
    gpu.runtime = Runtime(gpu=True)  # nothing measured on a GPU: the prior list decides
    res = gpu.predict(tf_model("small_net"))
    assert res.partitions == 1 and res.cpu_fallback_ms == 0  # every op runs on the GPU
    loop = gpu.predict(tf_model("while_loop"))  # control flow stays on the CPU
    flagged = [n for n in loop.nodes if n.gpu_unsupported]
    assert "WHILE" in {n.op for n in flagged}
    assert loop.partitions == 1 and loop.cpu_fallback_ms > 0  # all of it on the CPU
    assert all("CPU" in n.note and "prior list" in n.note for n in flagged)
    # a delegate's report overrides the prior: measured refusals move an op to the CPU
    gpu.runtime = Runtime(
        gpu=True,
        support={"CONV_2D": {"supported": False, "measured": 3, "refused": 3, "reason": "test"}},
    )
    res = gpu.predict(tf_model("small_net"))
    convs = [n for n in res.nodes if n.op == "CONV_2D"]
    assert convs and all(n.gpu_unsupported and "refused CONV_2D in 3 of 3" in n.note
                         for n in convs)  # fmt: skip
    assert res.partitions > 2


def test_ops_dearer_between_two_ops_pay_their_measured_multiple_there_only(est):
    """A runtime fact from the middle probes (``Runtime.middle``): an element-wise op on a
    channel count of that tile class, with its input made and its output read inside the
    graph, costs that multiple of its single-op time; first or last in the graph, on another
    tile class, or with a scalar operand (another kernel) it costs its single-op time."""
    import copy

    from leti.estimator.generate.layers import Net
    from leti.estimator.predict.runtime import Runtime

    def model(c: int) -> bytes:
        net = Net(seed=3)
        x = net.prelu(net.input([1, 32, 32, c]))  # first: reads the model's input
        x = net.prelu(net.conv(x, c, 1))  # between two ops
        x = net.binary_const("MUL", x)  # per-channel constant, between two ops
        x = net.binary_const("MUL", x, per_channel=False)  # scalar constant
        net.output(net.prelu(net.conv(x, c, 1)))  # last: writes the model's output
        return net.build(description="middle")

    plain = est.predict(model(8))
    dearer = copy.copy(est)
    dearer.runtime = Runtime(middle={"PRELU@8": 2.0, "MUL@8": 3.0})
    got, wide = dearer.predict(model(8)), dearer.predict(model(16))
    ratio = [b.ms / a.ms for a, b in zip(plain.nodes, got.nodes, strict=True)]
    assert [n.op for n in got.nodes] == ["PRELU", "CONV_2D", "PRELU", "MUL", "MUL", "CONV_2D",
                                         "PRELU"]  # fmt: skip
    assert ratio == pytest.approx([1, 1, 2, 3, 1, 1, 1])
    assert "2.0x its cost alone" in got.nodes[2].note
    assert not any("middle probes" in n.note for n in got.nodes[:2] + got.nodes[4:])
    assert got.total_ms > plain.total_ms
    assert [n.ms for n in wide.nodes] == pytest.approx([n.ms for n in est.predict(model(16)).nodes])


def test_python_api_batch_matches_single(est, tf_model, shared_models):
    """One batch of files (column reader), of parsed graphs, and a model needing shape
    propagation (object reader) inside the batch: the same totals, nodes and notes as one
    model at a time, and ``predict_totals`` the same totals."""
    from leti.estimator.graph import read_model

    paths = [tf_model(n) for n in ("conv_small", "fp16_conv", "with_maximum", "runtime_reshape",
                                   "while_loop", "pads")]  # fmt: skip
    paths += sorted(shared_models.glob("*.tflite"))[:3]
    inputs = [*paths, paths[0].read_bytes(), read_model(paths[1])]
    many = est.predict_many(inputs)
    single = [est.predict(p) for p in paths]
    single += [single[0], single[1]]
    for a, b in zip(many, single, strict=True):
        assert a.total_ms == pytest.approx(b.total_ms, rel=1e-12)
        assert a.total_interval_ms == pytest.approx(b.total_interval_ms, rel=1e-12)
        assert [(n.key, n.source, n.note) for n in a.nodes] == [
            (n.key, n.source, n.note) for n in b.nodes]  # fmt: skip
        assert [n.ms for n in a.nodes] == pytest.approx([n.ms for n in b.nodes], rel=1e-12)
        assert a.analytic_share == pytest.approx(b.analytic_share, rel=1e-12, abs=1e-15)
    totals = est.predict_totals(inputs, chunk=4)  # chunks of 4: three batches
    assert totals.tolist() == pytest.approx([m.total_ms for m in many], rel=1e-12)
    assert est.predict_totals([]).shape == (0,)
    with pytest.raises(Exception, match="no such file"):
        est.predict_totals([paths[0], "/nonexistent.tflite"])


def test_estimate_json_and_model_explorer(trained_home, tf_model, leti_cli):
    r = leti_cli("estimate", str(tf_model("fp16_conv")), "--format", "json", home=trained_home)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    jsonschema.validate(data, ESTIMATE_SCHEMA)
    assert sum(n["share"] for n in data["nodes"]) <= 1.0 + 1e-9
    r = leti_cli(
        "estimate", str(tf_model("fp16_conv")), "--format", "model-explorer", home=trained_home
    )
    me = json.loads(r.stdout)
    jsonschema.validate(me, MODEL_EXPLORER_SCHEMA)
    (graph,) = me["graphsData"].values()
    assert set(graph["results"]) == {str(n["index"]) for n in data["nodes"]}
    r = leti_cli("estimate", str(tf_model("fp16_conv")), "--format", "csv", home=trained_home)
    assert r.stdout.splitlines()[0].startswith("subgraph,index,op,ms")
    r = leti_cli("estimate", str(tf_model("fp16_conv")), home=trained_home)
    assert "slowest 10" in r.stdout and "total:" in r.stdout


def test_train_report_has_per_op_metrics(trained_home):
    meta = json.loads(paths_for(load_id(trained_home), trained_home / "estimators")[1].read_text())
    ops = {r["op"]: r for r in meta["report"]["op_types"]}
    conv = ops["CONV_2D"]
    assert conv["samples"] == 9 and set(conv["metrics"]) >= {"mape", "within_5", "within_10", "r2"}
    assert meta["format"] == 2 and meta["feature_schema"]
    files = {m["file"] for m in meta["op_models"].values()}
    folder = paths_for(load_id(trained_home), trained_home / "estimators")[0] / meta["arrays"]
    assert {p.name for p in folder.iterdir()} == files | {"fitted.joblib"}  # one per op kind


def load_id(home):
    """The host profile id (it depends on the CPU and threads, not on LETI_HOME)."""
    from leti.estimator.devices.host import HostDevice

    return HostDevice().profile.id


def test_no_estimator_gives_uncalibrated_estimates_and_the_fixing_command(
    tf_model, tmp_path, leti_cli
):
    """As the viewer does, and in its words (one behaviour for both)."""
    from leti.estimator.services.estimate import uncalibrated_note

    r = leti_cli("estimate", str(tf_model("conv")), home=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "no trained estimator" in r.stderr and "leti train --device host" in r.stderr
    assert r.stderr.strip() == f"leti: note: {uncalibrated_note(load_id(tmp_path))}"
    assert "UNCALIBRATED" in r.stdout


def test_incompatible_or_corrupt_estimator(trained_home, tf_model, tmp_path, leti_cli):
    import shutil

    home = tmp_path / "copy"
    shutil.copytree(trained_home, home)
    device_id = load_id(home)
    arrays, meta_path = paths_for(device_id, home / "estimators")
    meta = json.loads(meta_path.read_text())
    meta["format"] = 1  # what leti-view saved before estimators were compiled
    meta_path.write_text(json.dumps(meta))
    r = leti_cli("estimate", str(tf_model("conv")), home=home)
    assert r.returncode == 2 and "another format" in r.stderr and "leti train" in r.stderr
    saved = json.loads((trained_home / "estimators" / meta_path.name).read_text())
    meta["format"] = saved["format"]
    meta_path.write_text(json.dumps(meta))
    conv = arrays / meta["arrays"] / meta["op_models"]["CONV_2D"]["file"]
    conv.write_bytes(b"garbage, not arrays")
    r = leti_cli("estimate", str(tf_model("conv")), home=home)
    assert r.returncode == 2 and "cannot be loaded" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(Exception, match="cannot be loaded"):
        load(device_id, folder=home / "estimators").predict(tf_model("conv"))
    conv.unlink()
    with pytest.raises(Exception, match="files are missing"):
        load(device_id, folder=home / "estimators")
    meta_path.write_text("{ not json")
    r = leti_cli("estimate", str(tf_model("conv")), home=home)
    assert r.returncode == 2 and "cannot be loaded" in r.stderr and "Traceback" not in r.stderr


def test_evaluate_json(trained_home, tf_model, tmp_path, monkeypatch, leti_cli):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)  # evaluate records measurements: keep the shared home
    models = [str(tf_model(n)) for n in ("conv_small", "conv_4x", "fp16_conv")]
    r = leti_cli("evaluate", *models, "--baselines", "--rounds", "2", "--format", "json", home=home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["models"]) == 3 and all(m["measured_ms"] > 0 for m in out["models"])
    assert set(out["scores"]) == {"leti", "flops-proportional", "gsoc-conv-only"}
    for s in out["scores"].values():
        assert {"mape", "within_5", "within_10", "spearman"} <= set(s)
    # each model timed once per round; the truth statistic of its rounds is what is kept
    monkeypatch.setenv("LETI_HOME", str(home))
    rows = {r["name"]: r for r in open_db().model_measurements(kind="user")}
    assert len(rows) == 3
    for m in out["models"]:
        stats = rows[Path(m["model"]).name]["stats"]
        rounds, p10s = stats["round_medians_ms"], stats["round_p10s_ms"]
        assert len(rounds) == len(p10s) == 2 and stats["statistic"] == "minimum of round p10s"
        assert m["measured_ms"] == pytest.approx(min(p10s))
    assert out["truth"]["rounds"] == 2 and out["truth"]["repeatability"]["models"] == 3
    # the reference set timed around the truth is of the kind the build's checkpoints were;
    # the device's state over the rounds is their least factor, and the drift-removed truth
    # the truth divided by it
    factors = out["drift"]["factors"]
    assert len(factors) == 2 and out["drift"]["factor"] == min(factors) > 0
    for m in out["models"]:
        assert m["measured_normalised_ms"] == pytest.approx(m["measured_ms"] / min(factors))
    # measured now, recorded for next time
    again = leti_cli("evaluate", str(tf_model("conv_small")), "--format", "json", home=home)
    again = json.loads(again.stdout)
    assert again["models"][0]["measured_ms"] == out["models"][0]["measured_ms"]


def test_a_truth_recorded_under_another_statistic_is_read_in_todays():
    from leti.estimator.services.evaluate import recorded_truth

    rounds = {"round_medians_ms": [5.0, 4.0, 6.0], "round_p10s_ms": [4.5, 3.5, 5.5]}
    old = {"median_ms": 5.0, "stats": {**rounds, "statistic": "median of round medians"}}
    assert recorded_truth(old) == pytest.approx(3.5)  # the minimum of its round p10s
    now = {"median_ms": 3.5, "stats": {**rounds, "statistic": "minimum of round p10s"}}
    assert recorded_truth(now) == 3.5
    assert recorded_truth({"median_ms": 7.0, "stats": None}) == 7.0  # no rounds kept


def test_an_estimator_learns_p10s_only_where_every_timing_has_one():
    from leti.estimator.services.train import learned, learns_fast_decile

    ops = [{"median_ms": 2.0, "p10_ms": 1.8}, {"median_ms": 3.0, "p10_ms": 2.9}]
    nets = [{"median_ms": 9.0, "p10_ms": 8.0}]
    assert learns_fast_decile(ops, nets)
    assert [r["median_ms"] for r in learned(ops)] == [1.8, 2.9]
    # GPU kernels in context keep no p10: medians throughout, never a mix
    assert not learns_fast_decile([*ops, {"median_ms": 1.0, "p10_ms": None}], nets)
    assert not learns_fast_decile(ops, [{"median_ms": 9.0, "p10_ms": None}])
    assert learned(ops, fast=False) == ops


def test_uncalibrated_device_runs_micro_benchmark(tmp_path, monkeypatch, tf_model):
    monkeypatch.setenv("LETI_HOME", str(tmp_path))
    db = open_db()
    est = stand_in_estimator(db, DeviceSpec.parse("host"))
    assert not est.calibrated and est.op_models == {}
    assert len(db.measurements()) >= 8  # the micro-benchmark's real measurements are kept
    res = est.predict(tf_model("conv_small"))
    assert not res.calibrated and all(n.source == "analytic" for n in res.nodes)
    assert res.total_ms > 0


def test_adaptive_sampling_targets_high_error(trained_home, tmp_path, monkeypatch, leti_cli):
    import shutil

    home = tmp_path / "adaptive"
    shutil.copytree(trained_home, home)
    r = leti_cli("db", "build", "--adaptive", "12", "--no-progress", home=home)
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("LETI_HOME", str(home))
    rows = [m for m in open_db().measurements() if m["source"] == "adaptive"]
    assert 8 <= len(rows) <= 12  # budget 12; a few draws may repeat a measured config
    r = leti_cli("db", "build", "--adaptive", "5", "--no-progress", home=tmp_path / "empty")
    assert r.returncode == 2 and "needs a trained estimator" in r.stderr


def test_estimate_and_inspect_stay_light(trained_home, tf_model):
    """Reading and estimating never import TensorFlow, and a host estimate never SQLAlchemy;
    scikit-learn, SciPy and joblib are made unimportable, and the estimate still works (the
    trained estimator is compiled arrays)."""
    code = (
        "import sys, contextlib, io\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('sklearn', 'scipy', 'joblib'):\n"
        "            raise ImportError(f'{name} is blocked by the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from leti.estimator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(sys.argv[1:]) == 0\n"
        "print(sorted(m for m in ('tensorflow', 'sqlalchemy') if m in sys.modules))\n"
    )
    model = str(tf_model("conv_small"))
    for args, expected in ((["estimate", model], "[]"), (["inspect", model], "[]")):
        r = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "LETI_HOME": str(trained_home)},
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == expected


def test_custom_transposed_conv_is_priced_as_its_builtin_twin(est, shared_models):
    import copy

    import numpy as np
    from leti.estimator.features import FEATURE_NAMES
    from leti.estimator.predict.composition import Composition
    from leti.estimator.predict.estimator import OpModel
    from sklearn.dummy import DummyRegressor

    twin = copy.copy(est)
    twin.composition = Composition()  # the sum of single-op predictions, as they are
    # a stand-in regressor for TRANSPOSE_CONV that always answers 2 ms (log space)
    stub = DummyRegressor(strategy="constant", constant=np.log(2.0))
    stub.fit([[0.0] * len(FEATURE_NAMES)], [0.0])
    twin.op_models = {**est.op_models, "TRANSPOSE_CONV": OpModel(
        "TRANSPOSE_CONV", "stub", stub, 10, {"mape": 1.0}, -0.1, 0.1)}  # fmt: skip
    res = twin.predict(shared_models / "selfie_segmentation.tflite")
    (node,) = [n for n in res.nodes if n.op == "CUSTOM:Convolution2DTransposeBias"]
    assert node.source == "custom" and "TRANSPOSE_CONV" in node.note
    assert node.ms == pytest.approx(2.0)
    graph = read_model(shared_models / "selfie_segmentation.tflite")
    (g,) = [n for n in graph.nodes if n.op == "CUSTOM:Convolution2DTransposeBias"]
    assert (g.options["kernel_h"], g.options["stride_h"]) == (2, 2)


def test_weight_spill_counts_only_what_an_op_did_not_miss_alone():
    from leti.estimator.predict.composition import spilled

    assert spilled(np.array([5.0]), 4.0).tolist() == [0.0]  # a single op: as measured
    assert spilled(np.array([2.0, 2.0, 4.0]), 4.0).tolist() == [1.0, 1.0, 2.0]  # half missed
    assert spilled(np.array([1.0, 1.0]), 4.0).tolist() == [0.0, 0.0]  # fits the cache


def test_composition_columns_apply_per_node(est, tf_model):
    import copy

    from leti.estimator.predict.composition import Composition

    plain = copy.copy(est)
    plain.composition = Composition(columns=["raw"], coef=[1.0])
    thin = copy.copy(est)
    thin.composition = Composition(columns=["raw", "raw:thin16"], coef=[1.0, 1.0])
    a, b = plain.predict(tf_model("conv")), thin.predict(tf_model("conv"))  # 8 output channels
    assert b.nodes[0].ms == pytest.approx(2 * a.nodes[0].ms)
    calls = copy.copy(est)
    calls.composition = Composition(columns=["raw", "nodes"], coef=[1.0, 0.5], invoke_ms=0.25)
    c = calls.predict(tf_model("conv"))
    assert c.nodes[0].ms == pytest.approx(a.nodes[0].ms + 0.5)
    assert c.total_ms == pytest.approx(c.nodes[0].ms + 0.25)


def test_predict_many_leaves_the_garbage_collector_as_it_found_it(est, tf_model):
    import gc

    from leti.estimator.errors import ModelFormatError

    data = tf_model("conv").read_bytes()
    assert [r.total_ms for r in est.predict_many([data, data])] == [est.predict(data).total_ms] * 2
    assert gc.isenabled()
    with pytest.raises(ModelFormatError):
        est.predict_many([data, b"not a tflite model"])
    assert gc.isenabled()
    gc.disable()
    try:
        est.predict(data)
        assert not gc.isenabled()  # paused by the caller: stays paused
    finally:
        gc.enable()


def _synthetic_networks(rng, families, per_family=12):
    """Networks whose truth follows a known form: 0.9 x the single-op sum, thin nodes (under
    16 channels) at 3x, nodes with activations over 1 MB at 1.3x, and 0.05 ms per call."""
    from leti.estimator.learn.composition import Network
    from leti.estimator.predict.composition import NodeFacts

    nets = []
    for fam in families:
        for _ in range(per_family):
            n = int(rng.integers(10, 120))
            raw = rng.uniform(0.01, 1.0, n)
            cout = rng.choice([4, 8, 16, 32, 64, 128], n).astype(float)
            act = rng.uniform(0.01, 3.0, n)
            f = NodeFacts(raw=raw, costed=np.ones(n, bool),
                          cls=np.array(["conv"] * n, dtype=object), cout=cout,
                          weights_mb=np.zeros(n), act_mb=act,
                          cpu=np.zeros(n, bool), boundary=np.zeros(n, bool))  # fmt: skip
            truth = (0.9 * raw + 2.0 * raw * (cout < 16) + 0.4 * raw * (act > 1.0) + 0.05).sum()
            nets.append(Network(f, float(truth * rng.uniform(0.98, 1.02)), fam))
    return nets


def test_composition_form_is_chosen_by_leave_one_family_out():
    from leti.estimator.learn import composition

    rng = np.random.default_rng(0)
    nets = _synthetic_networks(rng, ["a", "b", "c", "d", "e"])
    comp = composition.fit(nets, floor_ms=0.001)
    assert "raw:thin16" in comp.columns and "act:1" in comp.columns
    coef = dict(zip(comp.columns, comp.coef, strict=True))
    assert coef["raw:thin16"] == pytest.approx(2.0, rel=0.1)
    assert coef["act:1"] == pytest.approx(0.4, rel=0.15)
    # the simplest form within one standard error of the best: no cache or class terms the
    # truth does not have
    assert not any(c.startswith(("spill", "raw:conv")) for c in comp.columns)
    rep = comp.report
    assert rep["cv"] == "leave one family out" and rep["families"] == 5
    assert rep["cv_mape"] < 3.0 < rep["mape_sum_of_single_ops"]
    assert 70.0 <= rep["coverage_90_leave_family_out"] <= 100.0
    assert comp.log_q05 < 0 < comp.log_q95


def test_a_cpu_composition_always_prices_weights_beyond_the_cache_once_networks_overflow_it():
    from leti.estimator.learn import composition

    rng = np.random.default_rng(1)
    nets = _synthetic_networks(rng, ["a", "b", "c", "d", "e"])
    # half the networks' weights overflow every cache size tried; their truth pays nothing
    # for it, so the one-standard-error rule alone would leave the term out
    for k, net in enumerate(nets):
        net.facts.weights_mb[:] = 40.0 / len(net.facts.weights_mb) if k % 2 else 0.0
    cpu = composition.fit(nets, floor_ms=0.001)
    assert any(c.startswith("spill:") for c in cpu.columns) and "weights beyond" in cpu.form
    spill = next(c for c in cpu.columns if c.startswith("spill:"))
    assert dict(zip(cpu.columns, cpu.coef, strict=True))[spill] >= 0.0
    gpu = composition.fit(nets, floor_ms=0.001, gpu=True)
    assert not any(c.startswith("spill:") for c in gpu.columns)


def test_grouped_folds_never_share_a_family():
    from leti.estimator.learn.composition import _groups

    families = ["a", "b", "a", "c", "b", "c", "a"]
    folds = _groups(families)
    assert sorted(i for f in folds for i in f) == list(range(len(families)))
    for test in folds:
        held = {families[i] for i in test}
        train = {families[i] for i in range(len(families)) if i not in set(test)}
        assert len(held) == 1 and not held & train


def test_cold_cache_column_is_offered_only_with_cold_timings_and_found_when_real():
    """bench/cold_layers.py's test of issue 21: a per-node cold-cache extra, gated by the
    network's weights, is a candidate column only when asked for, and CV finds it when the
    truth has it (here: networks over 8 MB pay 1.5x each node's cold extra)."""
    from leti.estimator.learn import composition
    from leti.estimator.learn.composition import Network
    from leti.estimator.predict.composition import NodeFacts, column

    assert not any(c.startswith("cold") for _, cols in composition.candidates(False)
                   for c in cols)  # fmt: skip
    rng = np.random.default_rng(1)
    nets = []
    for fam in "abcde":
        for _ in range(10):
            n = int(rng.integers(10, 80))
            raw = rng.uniform(0.01, 1.0, n)
            total = rng.uniform(10.0, 40.0) if rng.random() < 0.5 else rng.uniform(4.5, 7.5)
            w = rng.uniform(0.0, 1.0, n)
            w *= total / w.sum()  # between 4 and 8 MB, or well over 8
            cold = raw * rng.uniform(0.0, 1.0, n)
            f = NodeFacts(raw=raw, costed=np.ones(n, bool),
                          cls=np.array(["conv"] * n, dtype=object), cout=np.full(n, 64.0),
                          weights_mb=w, act_mb=np.full(n, 0.1), cpu=np.zeros(n, bool),
                          boundary=np.zeros(n, bool), cold=cold)  # fmt: skip
            big = w.sum() > 8.0
            truth = (raw + 1.5 * cold * big).sum()
            nets.append(Network(f, float(truth * rng.uniform(0.99, 1.01)), fam))
    small = next(n.facts for n in nets if n.facts.weights_mb.sum() <= 8.0)
    assert not column("cold:8", small).any() and column("cold", small).any()
    comp = composition.fit(nets, floor_ms=0.001, cold=True)
    assert "cold:8" in comp.columns
    assert dict(zip(comp.columns, comp.coef, strict=True))["cold:8"] == pytest.approx(1.5, rel=0.1)
    with pytest.raises(KeyError, match="cold-cache timings"):
        column("cold", NodeFacts(**{**small.__dict__, "cold": None}))
