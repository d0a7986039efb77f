"""The TensorFlow-free model builder: every op kind and network family it makes is read back
by the graph reader and run by the interpreter, matches the converter's output for the same
layer, and nothing but the demo needs TensorFlow."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from leti.estimator.features import op_kind
from leti.estimator.generate import netgen, singles
from leti.estimator.generate.check import check_runs, check_single
from leti.estimator.generate.config import GenerationError, OpConfig
from leti.estimator.generate.suites import SMALL
from leti.estimator.graph import read_model


def test_every_op_kind_has_a_small_config_in_the_smoke_suite():
    assert set(SMALL) <= set(singles.SINGLES)
    from leti.estimator.generate.suites import smoke

    assert {c.op for c in smoke()} == set(singles.SINGLES)


@pytest.mark.parametrize("op", sorted(singles.SINGLES))
def test_op_kind_builds_reads_back_and_runs(op):
    """The small config and five random samples: exactly the intended op kind, and one
    interpreter run agrees with every declared output shape (check_single)."""
    from leti.estimator.generate.suites import smoke

    rng = random.Random(op)
    configs = [next(c for c in smoke() if c.op == op)]
    for _ in range(40):
        cfg = singles.sample(op, rng)
        if singles.affordable(cfg) and len(configs) < 6:
            configs.append(cfg)
    assert len(configs) == 6
    for cfg in configs:
        data = singles.build(cfg)
        node = check_single(cfg, data)
        assert op_kind(node) == op
        assert singles.build(cfg) == data  # the same config always gives the same bytes


def only(data: bytes):
    (node,) = read_model(data).nodes
    return node


def test_a_grouped_convolution_is_its_own_op_kind_regenerated_from_a_model_and_priced_apart():
    """A float CONV_2D with groups > 1 (Keras's ConvNeXt writes its 7x7 depthwise layers so)
    costs what its grouped computation costs, not a dense convolution's rate per MAC: the
    node reader and the column reader both call it CONV_2D:GROUPED, its configuration is read
    back from the node, and on the real runtime it takes about what the same depthwise
    convolution takes, several times a dense convolution's time per MAC."""
    from leti.estimator.devices.host import HostDevice
    from leti.estimator.graph.columns import read_columns

    p = dict(h=32, w=32, cin=96, cout=96, groups=96, k=7, s=1)
    grouped = singles.build(OpConfig("CONV_2D:GROUPED", p))
    node = next(n for n in read_model(grouped).nodes if n.op == "CONV_2D")
    assert op_kind(node) == "CONV_2D:GROUPED" and node.macs == 32 * 32 * 96 * 49
    assert "CONV_2D:GROUPED" in list(read_columns(grouped).kind)
    assert singles.from_node(node).params == {**p, "padding": "same"}
    dense_p = dict(h=32, w=32, cin=96, cout=96, k=3, s=1)
    dense = singles.build(OpConfig("CONV_2D", dense_p))
    dense_node = next(n for n in read_model(dense).nodes if n.op == "CONV_2D")
    assert op_kind(dense_node) == "CONV_2D"
    depthwise = singles.build(OpConfig("DEPTHWISE_CONV_2D", dict(h=32, w=32, cin=96, k=7, s=1)))
    host = HostDevice(threads=1)
    g, dw, d = (host.measure(m).median_ms for m in (grouped, depthwise, dense))
    assert 1 / 3 < g / dw < 3
    assert g / node.macs > 3 * d / dense_node.macs


def test_options_are_what_was_asked():
    conv = only(singles.build(OpConfig("CONV_2D", dict(h=20, w=20, cin=8, cout=16, k=3, s=2,
                                                       padding="valid", act="relu6"))))  # fmt: skip
    o = conv.options
    assert (o["stride_h"], o["stride_w"], o["kernel_h"], o["padding"]) == (2, 2, 3, "VALID")
    assert o["fused_activation_function"] == "RELU6" and conv.outputs[0].shape == [1, 9, 9, 16]
    dil = only(singles.build(OpConfig("CONV_2D", dict(h=20, w=20, cin=8, cout=8, k=3, s=1, d=2))))
    assert dil.options["dilation_h_factor"] == 2 and dil.outputs[0].shape == [1, 20, 20, 8]
    dw = only(singles.build(OpConfig("DEPTHWISE_CONV_2D", dict(h=8, w=8, cin=3, k=3, s=1, m=4))))
    assert dw.options["depth_multiplier"] == 4 and dw.outputs[0].shape[-1] == 12
    fc = only(singles.build(OpConfig("FULLY_CONNECTED", dict(t=49, cin=64, cout=256))))
    assert fc.options["keep_num_dims"] and fc.outputs[0].shape == [1, 49, 256]
    assert fc.macs == 49 * 64 * 256  # priced by its rows
    bmm = only(singles.build(OpConfig("BATCH_MATMUL", dict(b=4, m=64, k=16, n=64, adj_y=1))))
    assert bmm.options["adj_y"] and bmm.outputs[0].shape == [1, 4, 64, 64]
    tconv = only(singles.build(OpConfig("TRANSPOSE_CONV", dict(h=8, w=8, cin=4, cout=2, k=2))))
    assert tconv.options["stride_h"] == 2 and tconv.outputs[0].shape == [1, 16, 16, 2]
    q = only(singles.build(OpConfig("CONV_2D:INT8", dict(h=8, w=8, cin=8, cout=8, k=3, s=1))))
    assert q.inputs[0].dtype == "INT8" and q.inputs[1].quantization["channels"] == 8
    batch = only(singles.build(OpConfig("CONV_2D", dict(n=4, h=8, w=8, cin=4, cout=8, k=1, s=1))))
    assert batch.outputs[0].shape == [4, 8, 8, 8]


def test_an_impossible_config_is_a_generation_error():
    with pytest.raises(GenerationError, match="cannot be generated"):
        singles.build(OpConfig("CONV_2D", dict(h=4, w=4, cin=8, cout=8, k=7, s=1,
                                               padding="valid")))  # fmt: skip
    assert not singles.affordable(OpConfig("CONV_2D", dict(h=4, w=4, cin=8, cout=8, k=7, s=1,
                                                           padding="valid")))  # fmt: skip


FAMILY_OPS = {
    "transformer": {"BATCH_MATMUL", "SOFTMAX", "GELU", "MEAN", "SQUARED_DIFFERENCE", "RSQRT",
                    "FULLY_CONNECTED", "TRANSPOSE", "RESHAPE"},
    "convnext": {"DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "GELU", "SQUARED_DIFFERENCE"},
    "inception": {"CONCATENATION", "AVERAGE_POOL_2D", "MAX_POOL_2D"},
    "nasnet": {"DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION", "RELU"},
    "densenet": {"CONCATENATION", "AVERAGE_POOL_2D"},
    "mobilenet_int8": {"QUANTIZE", "DEQUANTIZE", "CONV_2D:INT8", "DEPTHWISE_CONV_2D:INT8"},
    "resnet_int8": {"QUANTIZE", "CONV_2D:INT8", "ADD:INT8"},
    "segment": {"PRELU", "TRANSPOSE_CONV"},
    "se_mobile": {"MEAN", "MUL", "HARD_SWISH"},
}  # fmt: skip


@pytest.mark.parametrize("family", sorted({*netgen.FAMILIES, netgen.HEAVY}))
def test_network_family_builds_and_runs(family):
    spec = dict(family=family, res=64, width=16, depth=3, seed=7, head=10, patch=8)
    if family == "segment":
        spec.update(res=128, width=8)
    data = netgen.build(spec)
    graph = read_model(data)
    check_runs(data, graph, family)
    kinds = {op_kind(n) for n in graph.nodes}
    assert FAMILY_OPS.get(family, set()) <= kinds, kinds
    assert netgen.build(spec) == data


def test_default_suite_spans_many_families():
    specs = netgen.suite_specs("default")
    fams = {s["family"] for s in specs}
    assert len(specs) >= 250 and fams == {*netgen.FAMILIES, netgen.HEAVY}


# --- against TensorFlow's converter ----------------------------------------------------------


def _keras_layers():
    """(config, input shape, the Keras layer); non-zero biases, since the converter drops an
    all-zero one."""
    import tensorflow as tf

    L = tf.keras.layers
    one = "ones"
    return [
        (OpConfig("CONV_2D", dict(h=56, w=56, cin=32, cout=64, k=3, s=2, act="relu6")),
         (56, 56, 32),
         L.Conv2D(64, 3, strides=2, padding="same", activation="relu6", bias_initializer=one)),
        (OpConfig("DEPTHWISE_CONV_2D", dict(h=28, w=28, cin=96, k=5, s=1, padding="valid")),
         (28, 28, 96), L.DepthwiseConv2D(5, padding="valid", bias_initializer=one)),
        (OpConfig("FULLY_CONNECTED", dict(cin=1280, cout=1000)), (1280,),
         L.Dense(1000, bias_initializer=one)),
        (OpConfig("AVERAGE_POOL_2D", dict(h=32, w=32, cin=64, k=3, s=2, padding="same")),
         (32, 32, 64), L.AveragePooling2D(3, strides=2, padding="same")),
        (OpConfig("TRANSPOSE_CONV", dict(h=16, w=16, cin=32, cout=16, k=2, s=2)),
         (16, 16, 32), L.Conv2DTranspose(16, 2, strides=2, padding="same", bias_initializer=one)),
    ]  # fmt: skip


def _run_once(model: bytes) -> np.ndarray:
    """The model's first output for an input of ones, from the interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], np.ones(d["shape"], d["dtype"]))
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def test_builder_matches_the_converter(tmp_path):
    pytest.importorskip("tensorflow")
    import tensorflow as tf
    from leti.estimator.generate.keras import convert

    keys = ("padding", "stride_h", "stride_w", "kernel_h", "kernel_w",
            "fused_activation_function", "dilation_h_factor", "filter_height")  # fmt: skip
    for cfg, shape, layer in _keras_layers():
        x = tf.keras.Input(shape, batch_size=1)
        theirs = convert(tf.keras.Model(x, layer(x)))
        mine = singles.build(cfg)
        a, b = only(theirs), only(mine)
        assert (a.op, b.op) == (cfg.op, cfg.op)
        assert {k: a.options.get(k) for k in keys} == {k: b.options.get(k) for k in keys}
        assert [t.shape for t in a.outputs] == [t.shape for t in b.outputs]
        assert (a.macs, a.params) == (b.macs, b.params)
        # the same operands (shapes and types of inputs and weights), and both run; how long
        # each takes is a bench/ figure, never a test's (timings move under load)
        assert [(t.shape, t.dtype, t.is_constant) for t in a.inputs] == [
            (t.shape, t.dtype, t.is_constant) for t in b.inputs
        ]
        for model in (theirs, mine):
            out = _run_once(model)
            assert out.shape == tuple(a.outputs[0].shape) and np.isfinite(out).all()


# --- nothing but the demo needs TensorFlow ---------------------------------------------------

NO_TF = (
    "import sys, json\n"
    "sys.modules['tensorflow'] = None  # any 'import tensorflow' now raises ImportError\n"
    "sys.modules['keras'] = None\n"
    "from leti.estimator.cli import main\n"
    "code = main(json.loads(sys.argv[1]))\n"
    "assert 'tensorflow' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    "sys.exit(code)\n"
)


def no_tf(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TF, json.dumps(list(args))],
                          capture_output=True, text=True,
                          env={**os.environ, "LETI_HOME": str(home)})  # fmt: skip


def test_build_train_estimate_evaluate_without_tensorflow(tmp_path):
    model = tmp_path / "net.tflite"
    model.write_bytes(netgen.build(dict(family="se_mobile", res=64, width=16, depth=3, seed=3)))
    steps = [
        ("db", "build", "--suite", "smoke", "--no-progress"),
        ("train",),
        ("inspect", str(model)),
        ("estimate", str(model), "--format", "json"),
        ("measure", str(model), "--runs", "5", "--record"),
        ("evaluate", str(model), "--rounds", "1", "--remeasure"),
    ]
    for step in steps:
        r = no_tf(*step, home=tmp_path / "home")
        assert r.returncode == 0, (step, r.stderr[-2000:])


def test_viewer_needs_no_tensorflow(tmp_path, trained_home):
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None\n"
        "from leti.server.app import ViewerState, create_app\n"
        f"data = open({str(tmp_path / 'm.tflite')!r}, 'rb').read()\n"
        "state = ViewerState()\n"
        "m = state.add_model(data, 'm.tflite')\n"
        "client = create_app(state).test_client()\n"
        "r = client.get(f'/api/estimate/{m.id}')\n"
        "assert r.status_code == 200, r.json\n"
        "assert client.get('/settings').status_code == 200\n"
    )
    (tmp_path / "m.tflite").write_bytes(
        netgen.build(dict(family="plain", res=32, width=8, depth=2, seed=1))
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "LETI_HOME": str(trained_home)})  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]


def test_training_reads_networks_back_without_generating(trained_home, tmp_path, monkeypatch):
    """Measured networks are stored as skeletons: training never calls a generator."""
    import shutil

    from leti.estimator.db import open_db
    from leti.estimator.services.train import measured_networks, train

    home = tmp_path / "copy"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("LETI_HOME", str(home))

    def refuse(*_a, **_k):
        raise AssertionError("a generator was called")

    monkeypatch.setattr(netgen, "build", refuse)
    monkeypatch.setattr(singles, "build", refuse)
    db = open_db()
    device = db.device_ids()[0]
    nets = measured_networks(db, device)
    assert len(nets) == 3 and all(g.nodes and ms > 0 for g, ms, _ in nets)
    est, report = train(db, device)
    assert report["networks"] == 3
