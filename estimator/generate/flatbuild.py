"""Write .tflite models directly: tensors, constant buffers and operators of one subgraph,
serialised through LiteRT's flatbuffer schema (its object API), with no TensorFlow.

Every output shape is computed by :mod:`leti.estimator.graph.shapes`, the rules shape
propagation uses on models read from disk; weights are drawn from a seeded generator, so the
same spec always gives the same bytes. Options are given as the reader reports them
(``{"padding": "SAME", "stride_h": 2, "fused_activation_function": "RELU"}``), so a model
round-trips through the reader with the options it was built with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph.shapes import ShapeError, output_shapes, output_values

_DTYPES = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "INT64": np.int64,
    "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "BOOL": np.bool_,
}  # fmt: skip

# The options table each builtin op carries (schema.fbs's BuiltinOptions union member).
OPTIONS = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
    "ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions",
    "CONCATENATION": "ConcatenationOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions", "REDUCE_PROD": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions", "PAD": "PadOptions", "PADV2": "PadV2Options",
    "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions", "SOFTMAX": "SoftmaxOptions",
    "RESHAPE": "ReshapeOptions", "HARD_SWISH": "HardSwishOptions",
    "BATCH_MATMUL": "BatchMatMulOptions", "GELU": "GeluOptions",
    "SQUARED_DIFFERENCE": "SquaredDifferenceOptions", "TRANSPOSE": "TransposeOptions",
    "GATHER": "GatherOptions", "SLICE": "SliceOptions", "STRIDED_SLICE": "StridedSliceOptions",
    "SPLIT": "SplitOptions", "DEPTH_TO_SPACE": "DepthToSpaceOptions",
    "SPACE_TO_DEPTH": "SpaceToDepthOptions", "L2_NORMALIZATION": "L2NormOptions",
    "QUANTIZE": "QuantizeOptions", "DEQUANTIZE": "DequantizeOptions", "SHAPE": "ShapeOptions",
    "PACK": "PackOptions", "MAXIMUM": "MaximumMinimumOptions",
    "MINIMUM": "MaximumMinimumOptions", "LEAKY_RELU": "LeakyReluOptions",
    "CAST": "CastOptions", "EXP": "ExpOptions", "SQUEEZE": "SqueezeOptions",
}  # fmt: skip


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class Quant:
    """Affine quantization of a tensor (one scale, or one per output channel)."""

    def __init__(self, scale: float | list[float], zero_point: int | list[int] = 0, axis: int = 0):
        self.scale = [float(s) for s in np.ravel(scale)]
        zp = np.ravel(zero_point).tolist()
        self.zero_point = [int(z) for z in (zp * len(self.scale) if len(zp) == 1 else zp)]
        self.axis = axis


class ModelBuilder:
    """One subgraph of tensors and operators, serialised by :meth:`build`."""

    def __init__(self, seed: int = 0, name: str = "main") -> None:
        self.rng = np.random.default_rng(seed)
        self.name = name
        self.shapes: list[list[int]] = []
        self.dtypes: list[str] = []
        self.values: dict[int, np.ndarray] = {}
        self._tensors: list[dict[str, Any]] = []
        self._buffers: list[bytes] = [b""]
        self._codes: dict[str, int] = {}
        self._ops: list[tuple[int, list[int], list[int], str, dict[str, Any]]] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    # --- tensors ---------------------------------------------------------------------------

    def _tensor(self, shape: list[int], dtype: str, name: str, buffer: int = 0,
                quant: Quant | None = None) -> int:  # fmt: skip
        if any(int(d) < 0 for d in shape):
            raise ShapeError(f"tensor {name} has a negative dimension: {shape}")
        self.shapes.append([int(d) for d in shape])
        self.dtypes.append(dtype)
        self._tensors.append({"name": name, "buffer": buffer, "quant": quant})
        return len(self.shapes) - 1

    def input(self, shape: list[int], dtype: str = "FLOAT32", quant: Quant | None = None) -> int:
        t = self._tensor(shape, dtype, f"input_{len(self.inputs)}", quant=quant)
        self.inputs.append(t)
        return t

    def constant(self, array: Any, dtype: str | None = None, quant: Quant | None = None,
                 name: str | None = None) -> int:  # fmt: skip
        dtype = dtype or {np.dtype(v): k for k, v in _DTYPES.items()}[np.asarray(array).dtype]
        arr = np.ascontiguousarray(np.asarray(array, dtype=_DTYPES[dtype]))
        self._buffers.append(arr.tobytes())
        t = self._tensor(list(arr.shape), dtype, name or f"const_{len(self._buffers)}",
                         len(self._buffers) - 1, quant)  # fmt: skip
        if arr.size <= 64 and dtype in ("INT32", "INT64"):
            self.values[t] = arr
        return t

    def weights(self, shape: list[int], scale: float = 0.1) -> int:
        """Seeded random float32 weights: never all zero, so no runtime takes a sparse path."""
        data = (self.rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)) + 0.01
        return self.constant(data.astype(np.float32), "FLOAT32")

    def int8_weights(self, shape: list[int], axis: int = 0) -> int:
        """Seeded random int8 weights with one scale per channel along ``axis``."""
        data = self.rng.integers(-127, 128, size=shape, dtype=np.int8)
        data[data == 0] = 1
        scales = (self.rng.uniform(0.002, 0.02, size=shape[axis])).tolist()
        return self.constant(data, "INT8", Quant(scales, 0, axis))

    # --- operators -------------------------------------------------------------------------

    def op(
        self,
        name: str,
        inputs: list[int],
        options: dict[str, Any] | None = None,
        dtype: str | None = None,
        quant: Quant | None = None,
        outputs: int | None = None,
    ) -> list[int]:
        """Add operator ``name`` reading ``inputs`` (-1: an absent optional input); returns
        its output tensors, whose shapes the shape rules compute."""
        options = dict(options or {})
        present = [i for i in inputs if i >= 0]
        shapes = [self.shapes[i] for i in present]
        vals = [self.values.get(i) for i in present]
        try:
            out_shapes = output_shapes(name, shapes, vals, options)
        except (ShapeError, IndexError, ValueError) as exc:
            raise ShapeError(f"{name}: {exc}") from None
        if outputs is not None and len(out_shapes) != outputs:
            raise ShapeError(f"{name} gives {len(out_shapes)} outputs, not {outputs}")
        data_types = [self.dtypes[i] for i in present if self.dtypes[i] not in ("INT32", "INT64")]
        out_dtype = dtype or (data_types[0] if data_types else "INT32")
        outs = [self._tensor(s, out_dtype, f"{name.lower()}_{len(self._ops)}_{k}", quant=quant)
                for k, s in enumerate(out_shapes)]  # fmt: skip
        got = output_values(name, shapes, vals, options)
        if got is not None:
            for t, v in zip(outs, got, strict=False):
                if np.size(v) <= 64:
                    self.values[t] = np.asarray(v)
        if name not in self._codes:
            self._codes[name] = len(self._codes)
        self._ops.append((self._codes[name], list(inputs), outs, name, options))
        return outs

    def output(self, *tensors: int) -> None:
        self.outputs.extend(tensors)

    # --- serialisation ---------------------------------------------------------------------

    def build(self, description: str = "leti-view generated") -> bytes:
        import flatbuffers

        schema = _schema()
        if not self.outputs:
            raise ShapeError("the model has no outputs")
        model = schema.ModelT()
        model.version = 3
        model.description = description.encode()
        model.buffers = []
        for data in self._buffers:
            b = schema.BufferT()
            if data:
                b.data = np.frombuffer(data, dtype=np.uint8)
            model.buffers.append(b)
        codes = []
        for name in sorted(self._codes, key=self._codes.get):
            code = schema.OperatorCodeT()
            code.builtinCode = getattr(schema.BuiltinOperator, name)
            code.deprecatedBuiltinCode = min(code.builtinCode, 127)
            code.version = 1
            codes.append(code)
        model.operatorCodes = codes
        sub = schema.SubGraphT()
        sub.name = self.name.encode()
        sub.tensors = [self._tensor_t(schema, i) for i in range(len(self.shapes))]
        sub.inputs, sub.outputs = list(self.inputs), list(self.outputs)
        sub.operators = [self._operator_t(schema, *op) for op in self._ops]
        model.subgraphs = [sub]
        builder = flatbuffers.Builder(1024 + sum(len(b) for b in self._buffers))
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def _tensor_t(self, schema: Any, i: int) -> Any:
        t = schema.TensorT()
        t.shape = list(self.shapes[i])
        t.type = getattr(schema.TensorType, self.dtypes[i])
        t.buffer = self._tensors[i]["buffer"]
        t.name = self._tensors[i]["name"].encode()
        q = self._tensors[i]["quant"]
        if q is not None:
            qp = schema.QuantizationParametersT()
            qp.scale, qp.zeroPoint, qp.quantizedDimension = q.scale, q.zero_point, q.axis
            t.quantization = qp
        return t

    def _operator_t(self, schema: Any, code: int, inputs: list[int], outputs: list[int],
                    name: str, options: dict[str, Any]) -> Any:  # fmt: skip
        op = schema.OperatorT()
        op.opcodeIndex = code
        op.inputs, op.outputs = list(inputs), list(outputs)
        table = OPTIONS.get(name)
        if table is not None:
            opts = getattr(schema, table + "T")()
            for key, value in options.items():
                attr = _camel(key)
                if not hasattr(opts, attr):
                    raise ShapeError(f"{name} has no option {key!r}")
                if key == "padding":
                    value = getattr(schema.Padding, value)
                elif key == "fused_activation_function":
                    value = getattr(schema.ActivationFunctionType, value or "NONE")
                setattr(opts, attr, value)
            op.builtinOptionsType = getattr(schema.BuiltinOptions, table)
            op.builtinOptions = opts
        elif options:
            raise ShapeError(f"{name} takes no options, got {sorted(options)}")
        return op
