"""The columns (the one structural decode, and the prediction fast path) against the Node
objects made from them: the same feature table (from columns, and from node records), op
kinds, roles and output channels; a batch read as one against each file read alone; the
schema tables against the tflite package they were generated from."""

from __future__ import annotations

import numpy as np
import pytest
from leti.estimator.features import node_table, op_kind, op_record, table
from leti.estimator.generate import netgen, singles
from leti.estimator.generate.suites import smoke
from leti.estimator.graph import read_model
from leti.estimator.graph.column_heads import read_head
from leti.estimator.graph.columns import (
    ModelColumns,
    Unsupported,
    read_batch,
    read_columns,
    read_many,
)


def same_as_object_reader(data: bytes) -> None:
    graph = read_model(data)
    cols = read_columns(data)
    expected = table([op_record(n) for n in graph.nodes])
    got = node_table(cols)
    assert list(got) == list(expected)
    for key, values in expected.items():
        assert np.array_equal(values, got[key], equal_nan=True), key
    assert list(cols.kind) == [op_kind(n) for n in graph.nodes]
    assert list(cols.role) == [n.role for n in graph.nodes]
    cout = [n.outputs[0].shape[-1] if n.outputs and n.outputs[0].shape else 0
            for n in graph.nodes]  # fmt: skip
    assert cols.cout.tolist() == cout


@pytest.mark.parametrize("family", sorted({*netgen.FAMILIES, netgen.HEAVY}))
def test_generated_networks(family):
    spec = dict(family=family, res=64, width=16, depth=3, seed=5, head=100, patch=8)
    same_as_object_reader(netgen.build(spec))


def test_every_generated_op_kind():
    for cfg in smoke():
        same_as_object_reader(singles.build(cfg))


def test_real_models(shared_models):
    for path in sorted(shared_models.glob("*.tflite")):
        same_as_object_reader(path.read_bytes())


def test_converter_models(tf_model):
    for name in ("conv", "depthwise", "dense", "pooling", "add_concat", "fp16_conv", "pads",
                 "with_maximum", "dynamic_batch_int8_dense"):  # fmt: skip
        same_as_object_reader(tf_model(name).read_bytes())


COLUMN_NAMES = ("kind", "role", "subgraph", "cout", "producer", "single_reader", "output_read")


def test_what_needs_shape_propagation_is_read_alone(tf_model):
    with pytest.raises(Unsupported, match="shape propagation"):
        read_columns(tf_model("runtime_reshape").read_bytes())
    with pytest.raises(Unsupported):
        read_columns(b"not a model at all")


def test_many_files_read_as_one_equal_each_read_alone(tf_model):
    kinds = (("mobilenet", 32, 1), (netgen.HEAVY, 16, 2), ("resnet", 24, 3))
    nets = [netgen.build(dict(family=f, res=64, width=w, depth=3, seed=s, head=100, patch=8))
            for f, w, s in kinds]  # fmt: skip
    assert all(len(read_head(n).holes[0]) for n in nets)  # weights left out of the batch's copy
    reshape = tf_model("runtime_reshape").read_bytes()
    conv = tf_model("conv").read_bytes()
    batch = [nets[0], b"not a model", reshape, nets[1], conv[: len(conv) // 2], nets[2], conv]
    got = read_many(batch)
    assert len(got) == len(batch)
    for data, cols in zip(batch, got, strict=True):
        try:
            alone = read_columns(data)
        except Unsupported:
            assert isinstance(cols, Unsupported)
            continue
        assert not isinstance(cols, Unsupported)
        for key, values in node_table(alone).items():
            assert np.array_equal(values, node_table(cols)[key], equal_nan=True), key
        for name in COLUMN_NAMES:
            assert np.array_equal(getattr(alone, name), getattr(cols, name)), name
    assert isinstance(got[2], Unsupported) and "shape propagation" in str(got[2])
    same_as_object_reader(nets[1])
    # a parsed graph carries the columns decoded from its file; one whose shapes needed
    # propagation, the columns computed again from the propagated shapes
    parsed = read_model(nets[0]).columns
    assert parsed is not None and parsed.kind.tolist() == got[0].kind.tolist()
    graph = read_model(reshape)
    expected = table([op_record(n) for n in graph.nodes])
    for key, values in node_table(graph.columns).items():
        assert np.array_equal(values, expected[key], equal_nan=True), key


def test_a_batch_read_joined_equals_its_files_read_alone_and_joined(tf_model):
    kinds = (("resnet", 24, 3), ("mobilenet", 32, 1), (netgen.HEAVY, 16, 2))
    nets = [netgen.build(dict(family=f, res=64, width=w, depth=3, seed=s, head=100, patch=8))
            for f, w, s in kinds]  # fmt: skip
    conv = tf_model("conv").read_bytes()
    joined, sizes = read_batch([*nets, conv])
    parts = [read_columns(n) for n in [*nets, conv]]
    assert sizes.tolist() == [len(p) for p in parts]
    expected = ModelColumns.concat(parts)
    for key, values in node_table(expected).items():
        assert np.array_equal(values, node_table(joined)[key], equal_nan=True), key
    for name in COLUMN_NAMES:
        assert np.array_equal(getattr(expected, name), getattr(joined, name)), name
    # a file the batch does not take: no joined read (read_many then says which and why)
    assert read_batch([nets[0], tf_model("runtime_reshape").read_bytes()]) is None
    assert read_batch([nets[0], b"not a model"]) is None
    assert read_batch([]) is None


def test_schema_tables_match_the_tflite_package():
    import tflite
    from leti.estimator.graph import schema_tables as s
    from tflite.utils import BUILTIN_OPCODE2NAME

    for code, name in BUILTIN_OPCODE2NAME.items():
        assert s.BUILTIN_OPERATORS[code] == name
    for names, cls in ((s.BUILTIN_OPTIONS, tflite.BuiltinOptions),
                       (s.TENSOR_TYPES, tflite.TensorType),
                       (s.ACTIVATIONS, tflite.ActivationFunctionType),
                       (s.PADDINGS, tflite.Padding)):  # fmt: skip
        for name, code in vars(cls).items():
            if not name.startswith("_"):
                assert names[code] == name
