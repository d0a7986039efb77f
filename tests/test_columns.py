"""The column reader (the prediction fast path) against the object reader: the same feature
table, op kinds, roles and output channels on every model either can read; the schema tables
it uses against the tflite package they were generated from."""

from __future__ import annotations

import numpy as np
import pytest
from leti.estimator.features import op_kind, op_record, table
from leti.estimator.generate import netgen, singles
from leti.estimator.generate.suites import smoke
from leti.estimator.graph import read_model
from leti.estimator.graph.columns import Unsupported, read_columns


def same_as_object_reader(data: bytes) -> None:
    graph = read_model(data)
    cols = read_columns(data)
    expected = table([op_record(n) for n in graph.nodes])
    for key, values in expected.items():
        assert np.array_equal(values, cols.table[key], equal_nan=True), key
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


def test_what_needs_shape_propagation_takes_the_object_path(tf_model):
    with pytest.raises(Unsupported, match="shape propagation"):
        read_columns(tf_model("runtime_reshape").read_bytes())
    with pytest.raises(Unsupported):
        read_columns(b"not a model at all")


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
