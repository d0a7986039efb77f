"""Layers on top of :class:`~.flatbuild.ModelBuilder`: each adds one TFLite operator with the
weights, constants and options the TFLite converter would give the equivalent Keras layer
(and the few multi-op idioms converters emit: layer norm, attention, int8 quantization)."""

from __future__ import annotations

import numpy as np

from .flatbuild import ModelBuilder, Quant

ACT = {None: "NONE", "none": "NONE", "relu": "RELU", "relu6": "RELU6", "tanh": "TANH"}


def _act(act: str | None) -> str:
    return ACT.get(act, str(act).upper())


class Net(ModelBuilder):
    """A model under construction; every method returns the tensor(s) it produced."""

    def channels(self, x: int) -> int:
        return self.shapes[x][-1]

    # --- convolutions and products ---------------------------------------------------------

    def conv(self, x: int, cout: int, k: int = 3, s: int = 1, padding: str = "same",
             act: str | None = None, d: int = 1, groups: int = 1) -> int:  # fmt: skip
        """CONV_2D; ``groups`` > 1: each filter sees cin / groups input channels."""
        w = self.weights([cout, k, k, self.channels(x) // groups], scale=1 / np.sqrt(k * k * 8))
        b = self.weights([cout], scale=0.05)
        opts = dict(padding=padding.upper(), stride_h=s, stride_w=s, dilation_h_factor=d,
                    dilation_w_factor=d, fused_activation_function=_act(act))  # fmt: skip
        return self.op("CONV_2D", [x, w, b], opts)[0]

    def depthwise(self, x: int, k: int = 3, s: int = 1, padding: str = "same",
                  act: str | None = None, m: int = 1, d: int = 1) -> int:  # fmt: skip
        c = self.channels(x) * m
        w = self.weights([1, k, k, c], scale=1 / k)
        b = self.weights([c], scale=0.05)
        opts = dict(padding=padding.upper(), stride_h=s, stride_w=s, depth_multiplier=m,
                    dilation_h_factor=d, dilation_w_factor=d,
                    fused_activation_function=_act(act))  # fmt: skip
        return self.op("DEPTHWISE_CONV_2D", [x, w, b], opts)[0]

    def dense(self, x: int, units: int, act: str | None = None, keep_dims: bool = False) -> int:
        """FULLY_CONNECTED; ``keep_dims`` keeps [1, N, C] token rows as they are."""
        w = self.weights([units, self.channels(x)], scale=1 / np.sqrt(max(self.channels(x), 1)))
        b = self.weights([units], scale=0.05)
        opts = dict(fused_activation_function=_act(act), keep_num_dims=keep_dims)
        return self.op("FULLY_CONNECTED", [x, w, b], opts)[0]

    def transpose_conv(self, x: int, cout: int, k: int = 2, s: int = 2,
                       padding: str = "same") -> int:  # fmt: skip
        n, h, w_, cin = self.shapes[x]
        if padding == "same":
            oh, ow = h * s, w_ * s
        else:
            oh, ow = (h - 1) * s + k, (w_ - 1) * s + k
        shape = self.constant(np.array([n, oh, ow, cout], np.int32))
        w = self.weights([cout, k, k, cin], scale=1 / np.sqrt(k * k * 8))
        b = self.weights([cout], scale=0.05)
        opts = dict(padding=padding.upper(), stride_h=s, stride_w=s)
        return self.op("TRANSPOSE_CONV", [shape, w, x, b], opts)[0]

    def batch_matmul(self, a: int, b: int, adj_x: bool = False, adj_y: bool = False) -> int:
        return self.op("BATCH_MATMUL", [a, b], dict(adj_x=adj_x, adj_y=adj_y))[0]

    # --- element-wise ----------------------------------------------------------------------

    def binary(self, op: str, x: int, y: int, act: str | None = None) -> int:
        if op not in ("ADD", "SUB", "MUL", "DIV"):  # no fused activation in their options
            return self.op(op, [x, y])[0]
        return self.op(op, [x, y], dict(fused_activation_function=_act(act)))[0]

    def binary_const(self, op: str, x: int, per_channel: bool = True) -> int:
        """``x op constant``: one value per channel (input normalisation) or one in all."""
        c = self.channels(x)
        value = np.linspace(0.5, 1.5, c, dtype=np.float32) if per_channel else np.float32(0.5)
        return self.binary(op, x, self.constant(np.asarray(value, np.float32)))

    def unary(self, op: str, x: int) -> int:
        return self.op(op, [x])[0]

    def prelu(self, x: int) -> int:
        alpha = self.constant(np.full([1, 1, self.channels(x)], 0.25, np.float32))
        return self.op("PRELU", [x, alpha])[0]

    def gelu(self, x: int, approximate: bool = False) -> int:
        return self.op("GELU", [x], dict(approximate=approximate))[0]

    def hard_sigmoid_mul(self, x: int, gate: int) -> int:
        """MobileNetV3's squeeze-excite gate: x * relu6(g + 3) / 6, as converters lower it."""
        three = self.constant(np.float32(3.0))
        sixth = self.constant(np.float32(1 / 6))
        g = self.binary("ADD", gate, three, "relu6")
        g = self.binary("MUL", g, sixth)
        return self.binary("MUL", x, g)

    # --- layout, pooling, reductions -------------------------------------------------------

    def pool(self, op: str, x: int, k: int, s: int, padding: str = "valid") -> int:
        opts = dict(padding=padding.upper(), stride_h=s, stride_w=s, filter_height=k,
                    filter_width=k, fused_activation_function="NONE")  # fmt: skip
        return self.op(op, [x], opts)[0]

    def mean(self, x: int, axes: list[int], keep_dims: bool = False) -> int:
        return self.reduce("MEAN", x, axes, keep_dims)

    def reduce(self, op: str, x: int, axes: list[int], keep_dims: bool = False) -> int:
        return self.op(op, [x, self.constant(np.array(axes, np.int32))],
                       dict(keep_dims=keep_dims))[0]  # fmt: skip

    def concat(self, xs: list[int], axis: int = -1, act: str | None = None) -> int:
        axis = axis % len(self.shapes[xs[0]])
        return self.op("CONCATENATION", xs,
                       dict(axis=axis, fused_activation_function=_act(act)))[0]  # fmt: skip

    def pad(self, x: int, pads: list[list[int]]) -> int:
        return self.op("PAD", [x, self.constant(np.array(pads, np.int32))])[0]

    def resize(self, op: str, x: int, h: int, w: int) -> int:
        size = self.constant(np.array([h, w], np.int32))
        return self.op(op, [x, size], dict(align_corners=False, half_pixel_centers=True))[0]

    def softmax(self, x: int, beta: float = 1.0) -> int:
        return self.op("SOFTMAX", [x], dict(beta=beta))[0]

    def reshape(self, x: int, shape: list[int]) -> int:
        target = self.constant(np.array(shape, np.int32))
        return self.op("RESHAPE", [x, target], dict(new_shape=[int(d) for d in shape]))[0]

    def transpose(self, x: int, perm: list[int]) -> int:
        return self.op("TRANSPOSE", [x, self.constant(np.array(perm, np.int32))])[0]

    def gather(self, x: int, indices: list[int], axis: int = 0) -> int:
        idx = self.constant(np.array(indices, np.int32))
        return self.op("GATHER", [x, idx], dict(axis=axis, batch_dims=0))[0]

    def slice(self, x: int, begin: list[int], size: list[int]) -> int:
        b = self.constant(np.array(begin, np.int32))
        return self.op("SLICE", [x, b, self.constant(np.array(size, np.int32))])[0]

    def strided_slice(self, x: int, begin: list[int], end: list[int],
                      strides: list[int]) -> int:  # fmt: skip
        b, e, s = (self.constant(np.array(v, np.int32)) for v in (begin, end, strides))
        return self.op("STRIDED_SLICE", [x, b, e, s], dict(begin_mask=0, end_mask=0))[0]

    def split(self, x: int, n: int, axis: int = -1) -> list[int]:
        axis = axis % len(self.shapes[x])
        dim = self.constant(np.array(axis, np.int32))
        return self.op("SPLIT", [dim, x], dict(num_splits=n), outputs=n)

    def depth_to_space(self, x: int, block: int) -> int:
        return self.op("DEPTH_TO_SPACE", [x], dict(block_size=block))[0]

    def space_to_depth(self, x: int, block: int) -> int:
        return self.op("SPACE_TO_DEPTH", [x], dict(block_size=block))[0]

    def l2_normalize(self, x: int) -> int:
        return self.op("L2_NORMALIZATION", [x], dict(fused_activation_function="NONE"))[0]

    # --- idioms ----------------------------------------------------------------------------

    def layer_norm(self, x: int, eps: float = 1e-6) -> int:
        """LayerNormalization over the last axis, as the converter lowers it: MEAN,
        SQUARED_DIFFERENCE, MEAN, ADD, RSQRT, MUL, MUL, SUB, ADD."""
        axis = [len(self.shapes[x]) - 1]
        c = self.channels(x)
        mu = self.mean(x, axis, keep_dims=True)
        var = self.mean(self.binary("SQUARED_DIFFERENCE", x, mu), axis, keep_dims=True)
        inv = self.unary("RSQRT", self.binary("ADD", var, self.constant(np.float32(eps))))
        scale = self.binary("MUL", inv, self.constant(np.full([c], 1.1, np.float32)))
        shifted = self.binary("SUB", self.constant(np.full([c], 0.1, np.float32)),
                              self.binary("MUL", mu, scale))  # fmt: skip
        return self.binary("ADD", self.binary("MUL", x, scale), shifted)

    def attention(self, x: int, heads: int) -> int:
        """Multi-head self-attention on [1, N, C] tokens: FULLY_CONNECTED projections,
        BATCH_MATMUL for the scores and the mix, SOFTMAX over tokens."""
        _, n, c = self.shapes[x]
        dh = c // heads
        q, k, v = (self.dense(x, c, keep_dims=True) for _ in range(3))

        def heads_first(t: int) -> int:
            return self.transpose(self.reshape(t, [1, n, heads, dh]), [0, 2, 1, 3])

        qh, kh, vh = heads_first(q), heads_first(k), heads_first(v)
        qh = self.binary("MUL", qh, self.constant(np.float32(1 / np.sqrt(dh))))
        scores = self.softmax(self.batch_matmul(qh, kh, adj_y=True))
        mixed = self.transpose(self.batch_matmul(scores, vh), [0, 2, 1, 3])
        return self.dense(self.reshape(mixed, [1, n, c]), c, keep_dims=True)

    # --- int8 quantization -----------------------------------------------------------------

    def quantize(self, x: int, scale: float = 0.05, zero_point: int = 0) -> int:
        return self.op("QUANTIZE", [x], dtype="INT8", quant=Quant(scale, zero_point))[0]

    def dequantize(self, x: int) -> int:
        return self.op("DEQUANTIZE", [x], dtype="FLOAT32")[0]

    def _qout(self) -> Quant:
        return Quant(float(self.rng.uniform(0.03, 0.08)), int(self.rng.integers(-10, 10)))

    def _qbias(self, x: int, w: int, n: int) -> int:
        in_scale = self._tensors[x]["quant"].scale[0]
        scales = [in_scale * s for s in self._tensors[w]["quant"].scale]
        data = self.rng.integers(-1000, 1000, size=n, dtype=np.int32)
        return self.constant(data, "INT32", Quant(scales, 0))

    def qconv(self, x: int, cout: int, k: int = 3, s: int = 1, padding: str = "same",
              act: str | None = None) -> int:  # fmt: skip
        w = self.int8_weights([cout, k, k, self.channels(x)], axis=0)
        opts = dict(padding=padding.upper(), stride_h=s, stride_w=s,
                    fused_activation_function=_act(act))  # fmt: skip
        return self.op("CONV_2D", [x, w, self._qbias(x, w, cout)], opts, quant=self._qout())[0]

    def qdepthwise(self, x: int, k: int = 3, s: int = 1, padding: str = "same",
                   act: str | None = None) -> int:  # fmt: skip
        c = self.channels(x)
        w = self.int8_weights([1, k, k, c], axis=3)
        opts = dict(padding=padding.upper(), stride_h=s, stride_w=s, depth_multiplier=1,
                    fused_activation_function=_act(act))  # fmt: skip
        return self.op("DEPTHWISE_CONV_2D", [x, w, self._qbias(x, w, c)], opts,
                       quant=self._qout())[0]  # fmt: skip

    def qdense(self, x: int, units: int, act: str | None = None) -> int:
        w = self.int8_weights([units, self.channels(x)], axis=0)
        w_scale = self._tensors[w]["quant"].scale
        self._tensors[w]["quant"] = Quant(max(w_scale), 0)  # the int8 FC kernel: one scale
        opts = dict(fused_activation_function=_act(act))
        return self.op("FULLY_CONNECTED", [x, w, self._qbias(x, w, units)], opts,
                       quant=self._qout())[0]  # fmt: skip

    def qadd(self, x: int, y: int, act: str | None = None) -> int:
        return self.op("ADD", [x, y], dict(fused_activation_function=_act(act)),
                       quant=self._qout())[0]  # fmt: skip
