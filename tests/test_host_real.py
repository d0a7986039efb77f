"""The host learns from real architectures: the shipped corpus, its skeletons filled to time,
the real part of the default suite, the truth's repeatability, honest intervals on little
data, and a phone's CPU by transfer."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import PHONE_SUBSET


def _smallest_shipped(size: int) -> str:
    import zipfile

    from leti.estimator import zoo

    with zipfile.ZipFile(zoo.skeletons_path()) as z:
        members = [i for i in z.infolist() if i.filename.endswith(f"@{size}.tflite")]
    return min(members, key=lambda i: i.file_size).filename.partition("@")[0]


# --- the corpus ------------------------------------------------------------------------------


def test_the_corpus_is_shipped_broad():
    from leti.estimator import zoo
    from leti.estimator.generate.real import corpus

    c = corpus()
    shipped = set(zoo.shipped())
    have = [(m, s) for m in c["models"] for s in c["sizes"] if (m, s) in shipped]
    variants = {m for m, _ in have}
    assert len(variants) >= 150, f"{len(variants)} corpus variants shipped"
    assert len({zoo.family(m) for m in variants}) >= 25
    assert {s for _, s in have} >= {128}  # the default suite's size
    # big ones included: ResNet-50-class weights (~100 MB as float32)
    params = max(zoo.graph(m, s).totals()["params"] for m, s in have if m == "resnet50")
    assert params * 4 > 90e6


def test_a_stored_skeleton_is_compact_and_restores_the_zeroed_flatbuffer_old_ones_too():
    """The database's skeleton leaves the zeroed weight spans out (a 100 MB network restores
    without inflating 100 MB of zeros); restoring gives the byte-exact zeroed flatbuffer, and
    the plain zlib skeletons of older databases restore as before."""
    import zlib

    from leti.estimator import zoo
    from leti.estimator.graph.skeleton import MAGIC, fill, restore, skeleton

    name = _smallest_shipped(224)
    zeroed = zoo.skeleton(name, 224)
    full = fill(zeroed, seed=1)
    stored = skeleton(full)
    assert stored.startswith(MAGIC) and len(stored) < len(zlib.compress(zeroed, 6))
    assert restore(stored) == zeroed
    assert restore(zlib.compress(zeroed, 6)) == zeroed  # a database from before the format
    # damaged anywhere (cut short, a span moved): an error, never a silently different graph
    moved = bytearray(stored)
    moved[len(MAGIC) + 16] ^= 1  # the first span's start
    for bad in (stored[:-8], bytes(moved), stored[:10]):
        with pytest.raises(ValueError):
            restore(bad)


def test_a_skeleton_filled_is_the_same_graph_with_weights():
    from leti.estimator import zoo
    from leti.estimator.graph import read_model
    from leti.estimator.graph.skeleton import fill, skeleton

    name = _smallest_shipped(224)
    skel = zoo.skeleton(name, 224)
    full = fill(skel, seed=3)
    assert len(full) == len(skel) and full != skel
    assert fill(skel, seed=3) == full and fill(skel, seed=4) != full  # reproducible by seed
    assert skeleton(full, compress=False) == skel  # zeroing the weights again gives it back

    def structure(data: bytes) -> dict:
        d = read_model(data, name).to_dict()
        return {k: v for k, v in d.items() if k not in ("sha256",)}

    assert structure(full) == structure(skel)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=full)
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    interp.set_tensor(inp["index"], np.ones(inp["shape"], np.float32))
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    assert np.isfinite(out).all() and np.ptp(out) > 0  # random weights, not zeros


def test_the_default_suite_has_a_real_part_and_smoke_has_none():
    from leti.estimator import zoo
    from leti.estimator.generate.real import corpus
    from leti.estimator.services.build import make_plan

    sizes = corpus()["suites"]["default"]
    want = {f"zoo-{m}@{s}" for m in corpus()["models"] for s in sizes if zoo.has_skeleton(m, s)}
    items = make_plan("default").items
    real = [i for i in items if i.key.startswith("zoo-")]
    assert {i.key for i in real} == want and len(want) >= 150
    assert all(i.kind == "network" and i.config["family"].startswith("zoo:") for i in real)
    assert not [i for i in make_plan("smoke").items if i.key.startswith("zoo-")]
    # networks spread among the single ops, not bunched at the end
    first = min(k for k, i in enumerate(items) if i.key.startswith("zoo-"))
    assert first < len(items) / 10
    built = real[0].make()
    assert built.data != zoo.skeleton(real[0].config["model"], real[0].config["size"])


def test_composition_folds_hold_out_whole_families():
    from leti.estimator.learn.composition import _groups

    families = ["zoo:resnet"] * 3 + ["zoo:mobilenet"] * 2 + ["plain"] * 4 + ["zoo:dla"]
    folds = _groups(families)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(families)))
    for test in folds:
        held = {families[i] for i in test}
        kept = {families[i] for i in range(len(families)) if i not in set(test.tolist())}
        assert len(held) == 1 and not held & kept


# --- the truth's repeatability ----------------------------------------------------------------


def test_repeatability_scores_even_rounds_against_odd_ones():
    from leti.estimator.services.repeatability import STATISTICS, report

    steady = [[(10.0, 9.0)] * 6, [(2.0, 1.9), (2.02, 1.9)] * 3]
    r = report(steady)
    assert r["repeatability"]["within_5"] == 100.0 and r["warning"] is None
    assert set(r["by_statistic"]) == set(STATISTICS) and r["rounds"] == 6
    # a model whose odd rounds run 30 % slower than its even rounds disagrees with itself
    jumpy = steady + [[(5.0, 4.8), (6.5, 6.3)] * 3]
    r = report(jumpy)
    assert r["repeatability"]["within_10"] == pytest.approx(200 / 3)
    assert r["repeatability"]["worst_gap_pct"] > 25 and "±10 %" in r["warning"]
    assert "cannot be measured" in report([[(1.0, 0.9)]])["warning"]


def test_evaluate_reports_the_truths_repeatability(trained_home, tmp_path, leti_cli):
    from leti.estimator.generate import netgen

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    model = tmp_path / "net.tflite"
    model.write_bytes(netgen.build(dict(family="plain", res=32, width=8, depth=2, seed=5)))
    r = leti_cli("evaluate", str(model), "--rounds", "4", "--format", "json", home=home)
    assert r.returncode == 0, r.stderr
    truth = json.loads(r.stdout)["truth"]
    assert truth["rounds"] == 4 and truth["repeatability"]["models"] == 1
    assert truth["statistic"] in truth["by_statistic"]
    r = leti_cli("evaluate", str(model), "--rounds", "4", "--remeasure", home=home)
    assert r.returncode == 0 and "agrees with itself, even rounds against odd" in r.stdout
    r = leti_cli("evaluate", str(model), "--rounds", "1", "--remeasure", home=home)
    assert r.returncode == 0 and "cannot be measured" in r.stderr


# --- estimates -------------------------------------------------------------------------------


def test_a_corpus_models_estimate_is_the_composition_of_its_nodes(trained_home, monkeypatch):
    from leti.estimator import zoo
    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.estimate import load_estimator

    monkeypatch.setenv("LETI_HOME", str(trained_home))
    est = load_estimator(DeviceSpec.parse("host"))
    name = _smallest_shipped(128)
    e = est.predict(zoo.graph(name, 128))
    parts = e.invoke_overhead_ms + sum(n.ms for n in e.nodes)
    assert e.total_ms == pytest.approx(parts, rel=1e-9) and e.total_ms > 0
    assert len(e.nodes) == len(zoo.graph(name, 128).nodes)
    assert e.total_ms == est.predict_totals([zoo.graph(name, 128)])[0]


def test_little_data_gives_an_interval_no_narrower_than_an_uncalibrated_one(
    trained_home, shared_models, monkeypatch
):
    import math

    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.estimate import load_estimator

    monkeypatch.setenv("LETI_HOME", str(trained_home))
    est = load_estimator(DeviceSpec.parse("host"))
    assert est.composition.networks < 8  # the smoke suite: too few to check the sum
    e = est.predict(shared_models / "hair_segmentation.tflite")
    lo, hi = e.total_interval_ms
    assert hi >= e.total_ms * math.exp(est.throughput.log_residual_q90) * (1 - 1e-9)
    assert lo <= e.total_ms * math.exp(min(est.throughput.log_residual_q10, 0.0)) * (1 + 1e-9)
    assert hi / e.total_ms > 1.5  # on a smoke build hair_segmentation ran 2.2x its estimate


# --- a phone's CPU by transfer ----------------------------------------------------------------


def test_a_phone_cpu_is_learned_by_transfer_and_scored_by_family(
    trained_home, tmp_path, leti_cli, monkeypatch
):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    dev = "phone/pixel4/cpu-1large"
    r = leti_cli("train", "--device", dev, home=home)
    assert r.returncode == 2 and "never imported" in r.stderr and "leti db import" in r.stderr
    assert leti_cli("db", "import", str(PHONE_SUBSET), home=home).returncode == 0
    r = leti_cli("train", "--device", dev, home=home)
    assert r.returncode == 0, r.stderr
    r = leti_cli("evaluate", "--device", dev, "--format", "json", home=home)
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert set(ev["scores"]) == {"leti", "host-total-x-median-ratio", "flops-proportional"}
    fams = Counter(m["family"] for m in ev["models"])
    assert ev["families"] == len(fams) >= 3 and 0 <= ev["coverage_90"] <= 100
    from leti.estimator import zoo

    model = tmp_path / "m.tflite"
    name = ev["models"][0]["model"]
    model.write_bytes(zoo.skeleton(name))
    r = leti_cli("estimate", str(model), "--device", dev, "--format", "json", home=home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    host = json.loads(leti_cli("estimate", str(model), "--format", "json", home=home).stdout)
    assert out["total_ms"] > 0 and out["total_ms"] != host["total_ms"]
    # the viewer's payload: the phone's CPU node by node, beside its GPU or the host
    from leti.estimator.db import open_db
    from leti.estimator.devices import DeviceSpec
    from leti.estimator.services.estimate import load_estimator
    from leti.estimator.services.page import estimate_payload

    monkeypatch.setenv("LETI_HOME", str(home))
    db = open_db()
    graph = zoo.graph(name)
    page = estimate_payload(load_estimator(DeviceSpec.parse(dev), db), graph, name, db)
    assert page["estimator"]["kind"] == "transfer" and len(page["nodes"]) == len(graph.nodes)
    assert page["total_ms"] == pytest.approx(out["total_ms"])
    # the subset's RegNet has grouped convolutions: the phone prices them apart, per GFLOP
    phone = load_estimator(DeviceSpec.parse(dev), db)
    assert phone.transfer.per_grouped_gflop_ms is not None
    # one rule on both sides: the carried total is the fit's prediction from the model's row
    from leti.estimator.learn import transfer as tl

    t = phone.transfer
    row = tl.nodes_row(phone.base.predict(graph).nodes)
    fitted = t.overhead_ms + float(tl._design([row], t.columns)[0] @ np.array(t.coef))
    assert phone.predict(graph).total_ms == pytest.approx(fitted, rel=1e-9)
    regnet = phone.predict(zoo.graph("regnetx002"))
    grouped = [n for n in regnet.nodes if n.kind == "CONV_2D:GROUPED"]
    assert grouped and all("per GFLOP" in n.note for n in grouped)
    assert not any("per GFLOP" in n.note for n in regnet.nodes if n.kind != "CONV_2D:GROUPED")
    db.engine.dispose()
    # the transfer is learned from one host training: retraining the host makes it stale
    assert leti_cli("train", "--device", "host", home=home).returncode == 0
    r = leti_cli("estimate", str(model), "--device", dev, home=home)
    assert r.returncode == 2 and "retrained since" in r.stderr
    assert f"leti train --device {dev}" in r.stderr


def test_transfer_prices_grouped_convolutions_per_gflop_where_it_has_evidence():
    """TensorFlow Lite 2.10 runs grouped convolutions on its reference kernel: a phone where
    they cost 4 ms per GFLOP whatever the host took gets that price back, charged to exactly
    the grouped nodes; a transfer trained on no grouped convolution prices them as
    convolutions (their host ms in "conv") rather than for nothing."""
    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(2)
    families = [f"f{i % 6}" for i in range(36)]
    rows = []
    for i, _ in enumerate(families):
        gflop = float(rng.uniform(0.05, 0.4)) if i % 3 == 0 else 0.0
        rows.append(tl.model_columns({"conv": float(rng.uniform(2, 20)), "elementwise": 0.5},
                                     40, 10.0, gflop, gflop * 3.0))  # fmt: skip
    y = [1.5 * r["all"] + 4.0 * r["grouped"] + 0.3 for r in rows]
    t = tl.fit(rows, y, families)
    assert t.per_grouped_gflop_ms == pytest.approx(4.0, rel=1e-3)
    assert t.form.endswith("grouped convolutions per GFLOP")
    form = t.form.split(", patch matrices")[0].split(", grouped")[0]  # the name before suffixes
    held = tl.cross_validate(rows, y, families, form)
    assert np.max(np.abs(held - y) / y) < 1e-3  # every fold had grouped models to learn from

    def node(i: int, kind: str, ms: float, flops: int) -> NodeEstimate:
        return NodeEstimate(0, i, "CONV_2D", ms, (ms * 0.8, ms * 1.2), 0.0, "learned",
                            flops=flops, kind=kind)  # fmt: skip

    nodes = [node(0, "CONV_2D:GROUPED", 0.5, 250_000_000), node(1, "CONV_2D", 2.0, 10**9)]
    host = ModelEstimate("m", "host", 2.5, (2.0, 3.0), nodes)
    base = SimpleNamespace(device_id="host/x/t1", metadata={})
    g, dense = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host).nodes  # type: ignore[arg-type]
    extra = t.per_node_ms  # no activations on these nodes
    assert g.ms == pytest.approx(4.0 * 0.25 + extra, rel=1e-3)
    assert g.interval_ms[0] < g.ms < g.interval_ms[1] and "per GFLOP" in g.note
    assert dense.ms == pytest.approx(2.0 * t.scale_of("conv") + extra, rel=1e-3)
    # no grouped convolution among the training models: no evidence, priced as convolutions
    plain = [tl.model_columns({"conv": r["conv"], "elementwise": 0.5}, 40, 10.0) for r in rows]
    t0 = tl.fit(plain, [1.5 * r["all"] + 0.3 for r in plain], families)
    assert t0.per_grouped_gflop_ms is None and "grouped" not in t0.form
    g0, _ = TransferEstimator("phone/x/cpu-1large", base, t0)._carry(host).nodes  # type: ignore[arg-type]
    assert g0.ms == pytest.approx(0.5 * t0.scale_of("conv") + t0.per_node_ms, rel=1e-3)
    assert tl._design([rows[0]], tl.FORMS["one scale"])[0, 0] == pytest.approx(
        rows[0]["all"] + rows[0]["grouped_ms"]
    )
    # the host-total baseline counts the grouped convolutions' host ms too
    from leti.estimator.services.transfer_train import evaluate_transfer

    twice = [2 * (r["all"] + r["grouped_ms"]) for r in rows]
    ev = evaluate_transfer([f"m{i}" for i in range(36)], rows, twice, families, [1.0] * 36)
    assert ev["scores"]["host-total-x-median-ratio"]["mape"] == pytest.approx(0.0, abs=1e-9)


def test_every_transfer_fits_the_whole_form_and_reports_the_smaller_ones():
    """No form is chosen: a phone whose truth is one host scale and a per-run cost still gets
    the whole form (its other terms fitted at zero, so its predictions are exact), and the
    training report keeps each smaller candidate's out-of-family error beside it."""
    from leti.estimator.learn import transfer as tl

    rng = np.random.default_rng(4)
    families = [f"f{i % 6}" for i in range(36)]
    rows = [
        tl.model_columns({"conv": float(rng.uniform(2, 20)), "elementwise": 0.5,
                          "depthwise": float(rng.uniform(0, 3))}, 40, float(rng.uniform(1, 80)),
                         gflop_by_class={"conv": float(rng.uniform(0.2, 6.0))})
        for _ in families
    ]  # fmt: skip
    y = [1.5 * r["all"] + 0.3 for r in rows]
    t = tl.fit(rows, y, families)
    assert t.form == tl.FORM and t.columns == tl.columns_of(tl.FORM, rows)
    assert t.per_act_mb_ms == pytest.approx(0.0, abs=1e-6)
    held = tl.cross_validate(rows, y, families)
    assert np.array_equal(held, tl.cross_validate(rows, y, families, tl.FORM))
    assert np.max(np.abs(held - y) / y) < 1e-6
    scores = t.report["form_cv_mape"]
    assert set(scores) == set(tl.candidates(rows)) and tl.FORM in scores
    assert "one scale" not in scores  # it would leave the depthwise convolutions free


def test_layout_ops_traffic_has_its_own_price():
    """A phone copying layout ops' activations (concatenation, padding) at 0.05 ms a megabyte
    and moving the other nodes' at 0.2: the whole form recovers both; a node's columns put its
    traffic in its own part (and in the sum the smaller forms price), and the carried estimate
    charges a concatenation the layout price, a convolution the other."""
    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(7)
    families = [f"f{i % 6}" for i in range(36)]
    rows = []
    for _ in families:
        act, layout = float(rng.uniform(10, 80)), float(rng.uniform(0, 60))
        rows.append(tl.model_columns({"conv": float(rng.uniform(2, 20))}, 40, act + layout,
                                     layout_act_mb=layout))  # fmt: skip
    y = [1.2 * r["all"] + 0.2 * r[tl.ACT_REST] + 0.05 * r[tl.ACT_LAYOUT] + 0.3 for r in rows]
    t = tl.fit(rows, y, families)
    assert t.per_act_mb_ms == pytest.approx(0.2, rel=1e-3)
    assert t.per_layout_act_mb_ms == pytest.approx(0.05, rel=1e-3)

    conv = NodeEstimate(0, 0, "CONV_2D", 2.0, (1.8, 2.2), 0.0, "learned", kind="CONV_2D",
                        act_bytes=4_000_000)  # fmt: skip
    concat = NodeEstimate(0, 1, "CONCATENATION", 0.1, (0.1, 0.1), 0.0, "learned",
                          kind="CONCATENATION", act_bytes=8_000_000)  # fmt: skip
    assert tl.node_columns(concat)[tl.ACT_LAYOUT] == tl.node_columns(concat)["act"] == 8.0
    assert tl.ACT_LAYOUT not in tl.node_columns(conv) and tl.node_columns(conv)[tl.ACT_REST] == 4
    host = ModelEstimate("m", "host", 2.1, (1.9, 2.3), [conv, concat])
    base = SimpleNamespace(device_id="host/x/t1", metadata={})
    c, k = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host).nodes  # type: ignore[arg-type]
    assert k.ms == pytest.approx(0.1 * t.scale_of("layout") + 0.05 * 8, rel=1e-3)
    assert c.ms == pytest.approx(2.0 * t.scale_of("conv") + t.per_node_ms + 0.2 * 4, rel=1e-3)
    assert "8 MB of activations" in k.note


def test_transfer_cross_validation_never_sees_the_held_out_family():
    from leti.estimator.services.transfer_train import evaluate_transfer

    rng = np.random.default_rng(0)
    families = [f"f{i % 4}" for i in range(16)]
    rows = []
    for _ in families:
        conv, depthwise, dense = (float(v) for v in rng.uniform(1, 9, 3))
        by = {"conv": conv, "depthwise": depthwise, "dense": dense}
        rows.append({**by, "elementwise": 0.5, "pool": 0.1, "layout": 0.0, "other": 0.0})
    from leti.estimator.learn.transfer import model_columns

    rows = [model_columns(r, 20) for r in rows]
    y = [3 * r["conv"] + 1.5 * r["dense"] + 2 for r in rows]
    flops = [1e9 * (1 + i) for i in range(16)]
    names = [f"m{i}" for i in range(16)]
    a = evaluate_transfer(names, rows, y, families, flops)
    y2 = [v * (5 if f == "f0" else 1) for v, f in zip(y, families, strict=True)]
    b = evaluate_transfer(names, rows, y2, families, flops)
    for ma, mb in zip(a["models"], b["models"], strict=True):
        if ma["family"] == "f0":  # its own measurements changed, its prediction cannot
            assert ma["predicted_ms"] == pytest.approx(mb["predicted_ms"], rel=1e-9)
        else:
            assert ma["predicted_ms"] != pytest.approx(mb["predicted_ms"], rel=1e-6)


def test_transfer_finds_the_activation_traffic_a_phone_pays_and_charges_it_node_by_node():
    """A phone whose memory costs it 0.2 ms per activation megabyte: the fit recovers that
    cost; without such a cost in the truth, none is charged (the term's fitted cost is zero);
    the carried estimate adds it to exactly the nodes that move activations."""
    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(1)
    families = [f"f{i % 5}" for i in range(30)]
    rows = [
        tl.model_columns({"conv": float(rng.uniform(2, 20)), "elementwise": 0.5},
                         int(rng.integers(20, 200)), float(rng.uniform(1, 80)))
        for _ in families
    ]  # fmt: skip
    with_act = [1.5 * r["all"] + 0.2 * r["act"] + 0.3 for r in rows]
    t = tl.fit(rows, with_act, families)
    assert tl.ACT_REST in t.columns and t.per_act_mb_ms == pytest.approx(0.2, rel=1e-3)
    without = [1.5 * r["all"] + 0.3 for r in rows]
    assert tl.fit(rows, without, families).per_act_mb_ms == pytest.approx(0.0, abs=1e-6)

    def node(i: int, ms: float, act: int, source: str) -> NodeEstimate:
        return NodeEstimate(0, i, "CONV_2D", ms, (ms * 0.9, ms * 1.1), 0.0, source,
                            act_bytes=act)  # fmt: skip

    nodes = [node(0, 2.0, 4_000_000, "learned"), node(1, 0.0, 9_000_000, "free")]
    host = ModelEstimate("m", "host", 3.0, (2.0, 4.0), nodes)
    base = SimpleNamespace(device_id="host/x/t1", metadata={})  # only named in the summary
    phone = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host)  # type: ignore[arg-type]
    a, free = phone.nodes
    assert a.ms == pytest.approx(2.0 * t.scale_of("conv") + t.per_node_ms + 0.2 * 4, rel=1e-3)
    assert "4 MB of activations" in a.note and free.ms == 0.0


def test_transfer_finds_a_phone_rate_per_convolution_gflop_and_charges_it_node_by_node():
    """A phone whose convolutions cost 0.5 ms per GFLOP beyond a multiple of the host's time
    (its own kernels, not the host's): the fit recovers the rate; without such a cost in the
    truth, none is charged; the carried estimate adds it to the convolution by its FLOPs and to
    nothing else."""
    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(3)
    families = [f"f{i % 6}" for i in range(36)]
    rows = [
        tl.model_columns({"conv": float(rng.uniform(2, 20)), "elementwise": 0.5}, 40, 10.0,
                         gflop_by_class={"conv": float(rng.uniform(0.2, 6.0))})
        for _ in families
    ]  # fmt: skip
    with_rate = [1.2 * r["all"] + 0.5 * r["gflop:conv"] + 0.3 for r in rows]
    t = tl.fit(rows, with_rate, families)
    assert "gflop:conv" in t.columns and t.form.endswith("per GFLOP of convolutions")
    assert t.per_gflop_ms("conv") == pytest.approx(0.5, rel=1e-3)
    assert t.per_gflop_ms("depthwise") == pytest.approx(0.0, abs=1e-9)
    without = [1.2 * r["all"] + 0.3 for r in rows]
    assert tl.fit(rows, without, families).per_gflop_ms("conv") == pytest.approx(0.0, abs=1e-6)

    def node(i: int, op: str, ms: float, flops: int) -> NodeEstimate:
        return NodeEstimate(0, i, op, ms, (ms * 0.9, ms * 1.1), 0.0, "learned", flops=flops,
                            kind=op)  # fmt: skip

    nodes = [node(0, "CONV_2D", 2.0, 2 * 10**9), node(1, "ADD", 0.2, 10**6)]
    host = ModelEstimate("m", "host", 2.2, (2.0, 2.4), nodes)
    base = SimpleNamespace(device_id="host/x/t1", metadata={})
    phone = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host)  # type: ignore[arg-type]
    conv, add = phone.nodes
    extra = t.per_node_ms  # no activations on these nodes; an ADD pays no per-node cost
    assert conv.ms == pytest.approx(2.0 * t.scale_of("conv") + 0.5 * 2 + extra, rel=1e-3)
    assert add.ms == pytest.approx(0.2 * t.scale_of("elementwise"), rel=1e-3)
    assert conv.interval_ms[0] < conv.ms < conv.interval_ms[1] and "ms a GFLOP" in conv.note
    assert "GFLOP" not in add.note
    assert phone.total_ms == pytest.approx(t.overhead_ms + conv.ms + add.ms)


def test_transfer_prices_depthwise_convolutions_from_their_own_size_not_the_hosts_time():
    """The host's XNNPACK runs 7x7 depthwise convolutions ~10x slower per FLOP than 3x3 ones;
    a phone does not. Truth where depthwise layers cost 2 ms per GFLOP whatever the host took
    (their host ms drawn at random, 10x apart): the transfer recovers the rate and never
    scales the host's depthwise time, so two depthwise nodes of equal FLOPs cost the phone the
    same; a transfer stored before the rule (no ``host_scaled``) still scales them by "all"."""
    from dataclasses import replace

    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(4)
    families = [f"f{i % 6}" for i in range(36)]
    rows = []
    for _ in families:
        dw_gflop = float(rng.uniform(0.02, 0.2))
        dw_ms = dw_gflop * float(rng.choice([30.0, 300.0]))  # 3x3-like or 7x7-like on x86
        rows.append(tl.model_columns({"conv": float(rng.uniform(2, 20)), "depthwise": dw_ms},
                                     40, 10.0, gflop_by_class={"depthwise": dw_gflop}))  # fmt: skip
    assert all(r["all"] == r["conv"] for r in rows)  # the host's depthwise ms are not scaled
    y = [1.3 * r["conv"] + 2.0 * r["gflop:depthwise"] + 0.3 for r in rows]
    t = tl.fit(rows, y, families)
    assert "depthwise" not in t.columns and t.host_scaled is not None
    assert t.scale_of("depthwise") == 0.0 and t.scale_of("conv") == pytest.approx(1.3, rel=1e-3)
    assert t.per_gflop_ms("depthwise") == pytest.approx(2.0, rel=1e-3)

    def node(i: int, ms: float) -> NodeEstimate:
        return NodeEstimate(0, i, "DEPTHWISE_CONV_2D", ms, (ms * 0.8, ms * 1.2), 0.0,
                            "learned", flops=10**8, kind="DEPTHWISE_CONV_2D")  # fmt: skip

    host = ModelEstimate("m", "host", 33.0, (30.0, 36.0), [node(0, 3.0), node(1, 30.0)])
    base = SimpleNamespace(device_id="host/x/t1", metadata={})
    small, big = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host).nodes  # type: ignore[arg-type]
    assert small.ms == pytest.approx(big.ms) == pytest.approx(0.2 + t.per_node_ms, rel=1e-3)
    assert small.interval_ms[0] < small.ms < small.interval_ms[1]
    assert "priced from its own size" in big.note and "GFLOP" in big.note
    old = replace(t, host_scaled=None, columns=["all"], coef=[1.3])
    assert TransferEstimator("p", base, old)._carry(host).nodes[1].ms == pytest.approx(39.0)  # type: ignore[arg-type]


def test_transfer_charges_its_per_node_cost_to_compute_nodes_only():
    """A phone paying 0.05 ms per convolution, depthwise or dense layer and nothing per
    element-wise op (MobileNetV3's many small SE and hard-swish nodes): the transfer recovers
    the cost from the compute-node counts and charges it to the convolution, not to the ADD;
    a transfer stored before the rule (no ``host_scaled``) still charges every costed node."""
    from dataclasses import replace

    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(5)
    families = [f"f{i % 6}" for i in range(36)]
    rows = [
        tl.model_columns({"conv": float(rng.uniform(2, 20)), "elementwise": 0.5},
                         int(rng.integers(20, 200)))
        for _ in families
    ]  # fmt: skip
    y = [1.2 * r["all"] + 0.05 * r["nodes"] + 0.3 for r in rows]
    t = tl.fit(rows, y, families)
    assert t.per_node_ms == pytest.approx(0.05, rel=1e-3)

    def node(i: int, op: str, ms: float) -> NodeEstimate:
        return NodeEstimate(0, i, op, ms, (ms * 0.9, ms * 1.1), 0.0, "learned", kind=op)

    host = ModelEstimate(
        "m", "host", 2.2, (2.0, 2.4), [node(0, "CONV_2D", 2.0), node(1, "ADD", 0.2)]
    )
    base = SimpleNamespace(device_id="host/x/t1", metadata={})
    conv, add = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host).nodes  # type: ignore[arg-type]
    assert conv.ms == pytest.approx(2.0 * t.scale_of("conv") + 0.05, rel=1e-3)
    assert add.ms == pytest.approx(0.2 * t.scale_of("elementwise"), rel=1e-3)
    old = replace(t, node_classes=None)
    _, add_old = TransferEstimator("p", base, old)._carry(host).nodes  # type: ignore[arg-type]
    assert add_old.ms == pytest.approx(add.ms + 0.05, rel=1e-3)


def test_transfer_rows_count_compute_nodes_and_leave_depthwise_host_time_unscaled():
    """What the transfer trains on, from a host estimate: the per-node column counts the
    convolutions, depthwise and dense layers (not the ADDs, not a free RESHAPE), the
    activation megabytes include the ADD the host fused away, "all" holds
    the host ms of the classes scaled from it (not the depthwise), the depthwise GFLOPs are
    kept; and with depthwise convolutions among the models, no form that leaves them free is a
    candidate. A stand-in database and host estimator (the host's own estimates are tested
    elsewhere); the zoo graph is real."""
    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.services.transfer_train import transfer_rows

    def node(i: int, op: str, ms: float, flops: int = 0, source: str = "learned"):
        return NodeEstimate(0, i, op, ms, (ms, ms), 0.0, source, flops=flops, act_bytes=10**6,
                            kind=op)  # fmt: skip

    nodes = [node(0, "CONV_2D", 2.0, 10**9), node(1, "DEPTHWISE_CONV_2D", 3.0, 10**8),
             node(2, "ADD", 0.1), node(3, "FULLY_CONNECTED", 0.5, 10**7),
             node(4, "RESHAPE", 0.0, source="free"),
             node(5, "ADD", 0.0, source="fused")]  # fmt: skip
    nodes[0].patch_bytes = 2_000_000
    base = SimpleNamespace(predict=lambda _g: ModelEstimate("m", "host", 5.6, (5, 6), nodes))
    db = SimpleNamespace(model_times=lambda _d: [{"model": "mobilenetv2_w1", "mean_us": 30_000.0}])
    names, rows, measured, families, _ = transfer_rows(db, "phone/x/cpu-1large", base)  # type: ignore[arg-type]
    (r,) = rows
    assert names == ["mobilenetv2_w1"] and measured == [30.0] and families == ["mobilenetv2"]
    assert r["nodes"] == 3 and r["all"] == pytest.approx(2.6) and r["depthwise"] == 3.0
    # the phone runs the fused ADD: its traffic counts (5 nodes of 1 MB, the free one not)
    assert r["gflop:depthwise"] == pytest.approx(0.1) and r["act"] == pytest.approx(5.0)
    assert r["patch"] == pytest.approx(2.0)
    forms = tl.candidates(rows)
    assert forms and all(tl.prices_depthwise(tl.FORMS[f]) for f in forms)
    assert "one scale" not in forms and len(forms) < len(tl.FORMS)
    plain = [tl.model_columns({"conv": 2.0}, 1)]
    assert tl.candidates(plain) == list(tl.FORMS)


def test_patch_bytes_count_each_output_pixels_input_window_for_kernels_over_1x1():
    """A convolution's patch matrix (im2col), on real zoo graphs: the stem 7x7 stride-2
    convolution of a ResNet-18 copies 112 x 112 windows of 7 x 7 x 3 floats; a 1x1
    convolution and a depthwise one build none; a grouped 3x3 convolution's windows span all
    its input channels."""
    from dataclasses import replace

    from leti.estimator import zoo
    from leti.estimator.features import op_kind, patch_bytes

    g = zoo.graph("resnet18_wd4")
    stem = next(n for n in g.nodes if n.op == "CONV_2D")
    assert patch_bytes(stem) == 112 * 112 * 7 * 7 * 3 * 4
    ones = [n for n in g.nodes if n.op == "CONV_2D" and n.inputs[1].shape[1:3] == [1, 1]]
    assert ones and all(patch_bytes(n) == 0 for n in ones)
    grouped = next(n for n in zoo.graph("resnext14_32x4d").nodes if op_kind(n).endswith("GROUPED"))
    cin, (_, oh, ow, _) = grouped.inputs[0].shape[3], grouped.outputs[0].shape
    assert patch_bytes(grouped) == oh * ow * 3 * 3 * cin * 4 and grouped.inputs[1].shape[3] < cin
    dw = next(n for n in zoo.graph("mobilenetv2_w1").nodes if n.op == "DEPTHWISE_CONV_2D")
    assert patch_bytes(dw) == 0
    four = replace(stem, outputs=[replace(stem.outputs[0], shape=[4, 112, 112, 16])])
    assert patch_bytes(four) == 4 * patch_bytes(stem)  # a batch of 4 copies 4x the windows


def test_transfer_prices_patch_matrices_and_the_traffic_of_nodes_the_host_fuses():
    """A phone paying 0.3 ms per megabyte of convolution patch matrices: every form carries
    the term when the models have patch matrices and the fit recovers it; without any in the
    models there is no such column. The carried estimate adds it to the convolution by its
    patch bytes, and a residual ADD the host fused away pays its activation traffic, where a
    transfer stored before that rule (``fused_traffic`` False) leaves it free."""
    from dataclasses import replace

    from leti.estimator.learn import transfer as tl
    from leti.estimator.predict.results import ModelEstimate, NodeEstimate
    from leti.estimator.predict.transfer_estimator import TransferEstimator

    rng = np.random.default_rng(6)
    families = [f"f{i % 6}" for i in range(36)]
    rows = [
        tl.model_columns({"conv": float(rng.uniform(2, 20))}, 40, float(rng.uniform(1, 80)),
                         patch_mb=float(rng.uniform(0, 60)))
        for _ in families
    ]  # fmt: skip
    y = [1.2 * r["all"] + 0.1 * r["act"] + 0.3 * r["patch"] + 0.3 for r in rows]
    t = tl.fit(rows, y, families)
    assert t.fused_traffic and all(tl.PATCH in tl.columns_of(f, rows) for f in tl.FORMS)
    assert "patch matrices per MB" in t.form
    assert t.per_patch_mb_ms == pytest.approx(0.3, rel=1e-3)
    assert t.per_act_mb_ms == pytest.approx(0.1, rel=1e-3)
    plain = [tl.model_columns({"conv": 2.0}, 1)]
    assert tl.PATCH not in tl.columns_of("one scale", plain)

    conv = NodeEstimate(0, 0, "CONV_2D", 2.0, (1.8, 2.2), 0.0, "learned", kind="CONV_2D",
                        patch_bytes=5_000_000)  # fmt: skip
    add = NodeEstimate(0, 1, "ADD", 0.0, (0.0, 0.0), 0.0, "fused", act_bytes=3_000_000,
                       kind="ADD")  # fmt: skip
    host = ModelEstimate("m", "host", 2.0, (1.8, 2.2), [conv, add])
    base = SimpleNamespace(device_id="host/x/t1", metadata={})
    phone = TransferEstimator("phone/x/cpu-1large", base, t)._carry(host)  # type: ignore[arg-type]
    c, a = phone.nodes
    assert c.ms == pytest.approx(2.0 * 1.2 + t.per_node_ms + 0.3 * 5, rel=1e-3)
    assert "5 MB patch matrix" in c.note
    assert a.ms == pytest.approx(0.1 * 3, rel=1e-3) and "fused" in a.note
    assert a.source == "learned"  # priced on the phone: the viewer badges its time
    assert phone.total_ms == pytest.approx(t.overhead_ms + c.ms + a.ms)
    old = replace(t, fused_traffic=False)
    assert TransferEstimator("p", base, old)._carry(host).nodes[1].ms == 0.0  # type: ignore[arg-type]
