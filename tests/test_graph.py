"""The graph reader against models built with TensorFlow, with expectations computed by hand."""

from __future__ import annotations

import json

import pytest
from leti.estimator.graph import read_model


def ops(graph):
    return [n.op for n in graph.nodes]


def only(graph, op):
    found = [n for n in graph.nodes if n.op == op]
    assert len(found) == 1, ops(graph)
    return found[0]


def test_conv_shapes_options_and_macs(tf_model):
    g = read_model(tf_model("conv"))
    n = only(g, "CONV_2D")
    assert n.inputs[0].shape == [1, 16, 16, 3]
    assert n.outputs[0].shape == [1, 8, 8, 8]
    assert n.inputs[1].shape == [8, 3, 3, 3] and n.inputs[1].is_constant
    assert n.options["stride_h"] == 2 and n.options["stride_w"] == 2
    assert n.options["padding"] == "SAME"
    assert n.options["kernel_h"] == 3 and n.options["kernel_w"] == 3
    assert n.options["dilation_h_factor"] == 1
    assert n.fused_activation == "RELU"
    # 8x8 output positions x 8 filters x (3x3 window x 3 input channels)
    assert n.macs == 8 * 8 * 8 * 3 * 3 * 3
    assert n.params == 8 * 3 * 3 * 3 + 8
    assert n.bytes_activations_read == 16 * 16 * 3 * 4
    assert n.bytes_weights_read == (8 * 27 + 8) * 4
    assert n.bytes_written == 8 * 8 * 8 * 4
    assert n.role == "compute" and not n.is_custom
    assert n.key == "0:0" and n.index == 0


def test_depthwise(tf_model):
    n = only(read_model(tf_model("depthwise")), "DEPTHWISE_CONV_2D")
    assert n.outputs[0].shape == [1, 8, 8, 8]
    assert n.options["depth_multiplier"] in (1, 2)  # newer converters store 1 and infer it
    assert n.options["padding"] == "VALID"
    assert n.macs == 8 * 8 * 8 * 3 * 3
    assert n.params == 3 * 3 * 8 + 8


def test_dense(tf_model):
    n = only(read_model(tf_model("dense")), "FULLY_CONNECTED")
    assert n.inputs[1].shape == [10, 32]
    assert n.macs == 32 * 10
    assert n.params == 32 * 10 + 10
    assert n.flops == 2 * 320 + 10


def test_pooling(tf_model):
    g = read_model(tf_model("pooling"))
    mx, avg = only(g, "MAX_POOL_2D"), only(g, "AVERAGE_POOL_2D")
    assert mx.outputs[0].shape == [1, 6, 6, 5]
    assert (mx.options["kernel_h"], mx.options["stride_w"]) == (2, 2)
    assert avg.outputs[0].shape == [1, 4, 4, 5]
    assert (avg.options["filter_width"], avg.options["stride_h"]) == (3, 1)
    assert avg.flops == 4 * 4 * 5 * 9
    assert mx.macs == 0 and avg.params == 0


def test_add_and_concat(tf_model):
    g = read_model(tf_model("add_concat"))
    add, cat = only(g, "ADD"), only(g, "CONCATENATION")
    assert [t.shape for t in add.inputs] == [[1, 6, 6, 4], [1, 6, 6, 4]]
    assert add.flops == 6 * 6 * 4
    assert cat.outputs[0].shape == [1, 6, 6, 8]
    assert cat.options["axis"] in (3, -1)
    assert cat.bytes_activations_read == 2 * 6 * 6 * 4 * 4


def test_fp16_weights_are_weight_prep(tf_model):
    g = read_model(tf_model("fp16_conv"))
    deq = [n for n in g.nodes if n.op == "DEQUANTIZE"]
    assert deq, ops(g)
    assert all(n.role == "weight_prep" for n in deq)
    assert all(n.inputs[0].dtype == "FLOAT16" and n.inputs[0].is_constant for n in deq)
    conv = only(g, "CONV_2D")
    # the dequantized filter is read as a weight, not as an activation
    assert conv.bytes_activations_read == 16 * 16 * 8 * 4
    assert conv.bytes_weights_read == (16 * 3 * 3 * 8 + 16) * 4
    assert conv.macs == 16 * 16 * 16 * 3 * 3 * 8


def test_zero_padding_into_a_conv_is_merged(tf_model):
    g = read_model(tf_model("pads"))
    pads = {n.outputs[0].shape[1]: n for n in g.nodes if n.op == "PAD"}
    assert pads[20].role == "merged"  # feeds the valid conv: the runtime pads inside it
    assert pads[18].role == "compute"  # feeds a RELU: a real copy


def test_dynamic_batch_and_quantized_weights(tf_model):
    g = read_model(tf_model("dynamic_batch_int8_dense"))
    fc = only(g, "FULLY_CONNECTED")
    assert fc.inputs[0].shape_signature[0] == -1
    assert fc.inputs[0].dynamic
    w = fc.inputs[1]
    assert w.dtype == "INT8" and w.quantization is not None
    assert w.quantization["scale"] and w.nbytes == 64 * 64
    d = fc.to_dict()
    assert d["inputs"][0]["dynamic"] is True
    assert fc.macs == 64 * 64  # batch counted as 1


def test_multiple_subgraphs(tf_model):
    g = read_model(tf_model("while_loop"))
    assert len(g.subgraphs) >= 3
    assert "WHILE" in ops(g)
    assert {n.subgraph for n in g.nodes} == {s.index for s in g.subgraphs if s.operator_count}
    for s in g.subgraphs:
        idx = [n.index for n in g.nodes if n.subgraph == s.index]
        assert idx == list(range(s.operator_count))
    assert sum(s.operator_count for s in g.subgraphs) == len(g.nodes)


def test_read_from_bytes_matches_file(tf_model):
    path = tf_model("conv")
    a, b = read_model(path), read_model(path.read_bytes(), name="conv")
    assert a.sha256 == b.sha256 and ops(a) == ops(b)


# --- the CLI ---------------------------------------------------------------------------------


def test_inspect_table_and_json(tf_model, leti_cli):
    path = tf_model("conv")
    r = leti_cli("inspect", str(path))
    assert r.returncode == 0, r.stderr
    assert "CONV_2D+RELU" in r.stdout and "TOTAL" in r.stdout
    r = leti_cli("inspect", str(path), "--format", "json")
    data = json.loads(r.stdout)
    assert data["totals"]["operators"] == len(data["nodes"]) == 1
    node = data["nodes"][0]
    assert node["op"] == "CONV_2D" and node["macs"] == 13824 and node["index"] == 0
    assert node["options"]["fused_activation_function"] == "RELU"


def _set_version(data: bytes, version: int) -> bytes:
    """Rewrite the root table's schema version field in place (flatbuffer field 0)."""
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    off = model._tab.Offset(4)
    assert off, "the converter always writes the version"
    out = bytearray(data)
    pos = model._tab.Pos + off
    out[pos : pos + 4] = version.to_bytes(4, "little")
    return bytes(out)


BAD_INPUTS = {
    "missing": (None, "no such file"),
    "directory": (None, "is a directory"),
    "empty": (b"", "file is empty"),
    "png": (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a TFLite model"),
    "onnx": (b"\x08\x07\x12\x07pytorch\x1a\x032.1:\x10\n\x04onnx", "not a TFLite model"),
    "tiny": (b"TFL", "too short"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2(case, tmp_path, leti_cli):
    content, expected = BAD_INPUTS[case]
    path = tmp_path / f"{case}.tflite"
    if case == "directory":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    r = leti_cli("inspect", str(path))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], r.stderr


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.97])
def test_truncated_file(tf_model, tmp_path, keep, leti_cli):
    data = tf_model("fp16_conv").read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: int(len(data) * keep)])
    r = leti_cli("inspect", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "truncated" in r.stderr or "corrupt" in r.stderr


def test_unsupported_schema_version(tf_model, tmp_path, leti_cli):
    path = tmp_path / "v9.tflite"
    path.write_bytes(_set_version(tf_model("conv").read_bytes(), 9))
    r = leti_cli("inspect", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "unsupported TFLite schema version 9" in r.stderr


# --- the outside yardstick (../shared/models) -----------------------------------------------

SHARED_OP_COUNTS = {
    "face_detection_front.tflite": 164,
    "face_landmark.tflite": 97,
    "hand_recrop.tflite": 63,
    "selfie_segmentation.tflite": 246,
    "knift_float.tflite": 22,
    "hair_segmentation.tflite": 259,
    "hand_landmark_sparse.tflite": 98,
}


def test_shared_models_parse(shared_models):
    for name, count in SHARED_OP_COUNTS.items():
        g = read_model(shared_models / name)
        assert len(g.nodes) == count == sum(s.operator_count for s in g.subgraphs), name
        assert g.totals()["macs"] > 0


def test_shared_model_roles(shared_models):
    hair = read_model(shared_models / "hair_segmentation.tflite")
    customs = {n.op for n in hair.nodes if n.role == "custom"}
    assert customs == {
        "CUSTOM:Convolution2DTransposeBias",
        "CUSTOM:MaxPoolingWithArgmax2D",
        "CUSTOM:MaxUnpooling2D",
    }
    assert all(n.is_custom for n in hair.nodes if n.role == "custom")
    sparse = read_model(shared_models / "hand_landmark_sparse.tflite")
    densify = [n for n in sparse.nodes if n.op == "DENSIFY"]
    assert densify and all(n.role == "weight_prep" for n in densify)
    assert all(n.inputs[0].sparse for n in densify)
    face = read_model(shared_models / "face_detection_front.tflite")
    deq = [n for n in face.nodes if n.op == "DEQUANTIZE"]
    assert deq and all(n.role == "weight_prep" for n in deq)
    knift = read_model(shared_models / "knift_float.tflite")
    assert knift.nodes[0].inputs[0].shape[0] == 200  # batch of patches is kept
