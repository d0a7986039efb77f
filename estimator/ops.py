"""What leti-view knows about TFLite operator types, in one place.

Every rule that depends on an op type (how it costs, whether the runtime folds it away, which
builtin a custom op computes like, what a generator can make) names its set here, so that a
reader finds the whole of the runtime's reality in one file, the way Netron keeps its
per-format metadata apart from its readers.
"""

from __future__ import annotations

# --- reading a graph ----------------------------------------------------------------------------

# MediaPipe's transposed convolution: stride and padding sit in opaque custom options.
TRANSPOSE_CONV_CUSTOM = "CUSTOM:Convolution2DTransposeBias"
# A float CONV_2D with groups > 1 (its filter sees a fraction of the input channels): its own op
# kind, since it costs what its grouped computation costs (a 7x7 one with groups = channels:
# as much as the same depthwise convolution, 17x what the CONV_2D regressor priced it).
GROUPED_CONV = "CONV_2D:GROUPED"

# Ops that only turn stored constants into the form the kernels use. A delegate (and the CPU
# runtime, at prepare time) does this once, so they cost nothing per inference.
WEIGHT_PREP_OPS = frozenset({"DEQUANTIZE", "DENSIFY"})

# Convolutions whose input zero padding the runtimes merge into the convolution itself
# (XNNPACK's subgraph rewrite, the GPU delegate's merge_padding_with pass). Measured on the
# host: PAD(1) + 3x3 conv times as the conv alone (0.148 vs 0.148 ms at 224x224x3) while the
# PAD alone takes 0.41 ms.
PAD_MERGING_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D"})

# Node roles (graph.reader) that cost nothing per inference: constant-weight preparation done
# once, zero padding merged into the next convolution, and integer shape arithmetic.
FREE_ROLES = ("weight_prep", "merged", "shape")

# Ops whose producer can carry a fused activation in TFLite.
FUSABLE = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL"})

# --- arithmetic cost ----------------------------------------------------------------------------

ELEMENTWISE_BINARY = frozenset(
    {"ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "POW", "FLOOR_DIV",
     "FLOOR_MOD"}
)  # fmt: skip
# FLOPs per output element of element-wise unary ops (a tanh is several multiply-adds).
ELEMENTWISE_UNARY_COST = {
    "RELU": 1, "RELU6": 1, "RELU_N1_TO_1": 1, "RELU_0_TO_1": 1, "LEAKY_RELU": 2, "PRELU": 2,
    "LOGISTIC": 4, "TANH": 4, "HARD_SWISH": 4, "GELU": 8, "EXP": 4, "LOG": 4, "SQRT": 2,
    "RSQRT": 2, "SQUARE": 1, "ABS": 1, "NEG": 1, "ELU": 4, "QUANTIZE": 2, "DEQUANTIZE": 2,
    "CAST": 1,
}  # fmt: skip
POOLS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"})
REDUCTIONS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY"})
NORMALIZATIONS = frozenset(
    {"SOFTMAX", "LOG_SOFTMAX", "L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION"}
)

# --- pricing ------------------------------------------------------------------------------------

# Custom ops that compute exactly what a builtin does, priced with the builtin's regressor.
# Measured on the host: MediaPipe's Convolution2DTransposeBias and a TRANSPOSE_CONV of the same
# shapes time within 1-9 % of each other (six layers of hair/selfie segmentation).
SAME_COMPUTATION = {TRANSPOSE_CONV_CUSTOM: "TRANSPOSE_CONV"}

# What the GPU delegate is believed to run, for op types no GPU measurement has settled yet: a
# prior from the delegate's op parsers. Measured delegation reports override it per op type
# (the delegate refuses DENSIFY and L2_NORMALIZATION, which an older list here claimed).
GPU_PRIOR_SUPPORTED = frozenset(
    {"ABS", "ADD", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CAST", "CONCATENATION", "CONV_2D", "COS",
     "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DIV", "ELU", "EQUAL", "EXP", "FLOOR", "FLOOR_DIV",
     "FLOOR_MOD", "FULLY_CONNECTED", "GATHER", "GELU", "GREATER", "GREATER_EQUAL", "HARD_SWISH",
     "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG", "LOGISTIC", "MAX_POOL_2D", "MAXIMUM", "MEAN",
     "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "PACK", "PAD", "PADV2", "POW", "PRELU",
     "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "RELU", "RELU6", "RELU_N1_TO_1",
     "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SIN", "SLICE", "SOFTMAX",
     "SPACE_TO_DEPTH", "SPLIT", "SQRT", "SQUARE", "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB",
     "SUM", "TANH", "TILE", "TRANSPOSE", "TRANSPOSE_CONV", "UNPACK",
     TRANSPOSE_CONV_CUSTOM, "CUSTOM:MaxPoolingWithArgmax2D", "CUSTOM:MaxUnpooling2D"}
)  # fmt: skip

# --- generating benchmark models ----------------------------------------------------------------

ACTIVATION_OPS = ("RELU", "RELU6", "PRELU", "LOGISTIC", "TANH", "HARD_SWISH")

# Ops the random sampler sometimes gives a batch larger than 1 (KNIFT matches 200 patches).
BATCHED_OPS = frozenset(
    {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "CONCATENATION"}
)

# --- GPU delegate kernels -----------------------------------------------------------------------

# The TFLite GPU delegate's name for the node it makes of an op (its profiler's labels), and for
# the extra node it adds for an op's fused activation. Ops not named here are their lower-case
# op type. A global average pooling is named as MEAN: the two are the same work, and converter
# versions emit either (mobile-ml-benchmark's models have MEAN where today's converter writes
# AVERAGE_POOL_2D).
GPU_NODE_NAMES = {
    "CONV_2D": "convolution_2d", "DEPTHWISE_CONV_2D": "depthwise_convolution",
    "FULLY_CONNECTED": "fully_connected", "MEAN": "mean", "AVERAGE_POOL_2D": "pooling_2d",
    "MAX_POOL_2D": "pooling_2d", "CONCATENATION": "concat", "LOGISTIC": "sigmoid",
    "RELU6": "relu", "RELU_N1_TO_1": "relu", "TRANSPOSE_CONV": "convolution_transposed",
    TRANSPOSE_CONV_CUSTOM: "convolution_transposed", "RESIZE_BILINEAR": "resize",
    "RESIZE_NEAREST_NEIGHBOR": "resize", "SQUARED_DIFFERENCE": "squared_diff",
}  # fmt: skip
GPU_ACTIVATION_NAMES = {"RELU": "relu", "RELU6": "relu", "RELU_N1_TO_1": "relu", "TANH": "tanh",
                        "SIGN_BIT": "sign_bit"}  # fmt: skip
# Ops a delegate may link into the kernel that produces their input: element-wise ones.
LINKABLE = frozenset(ELEMENTWISE_BINARY | set(ELEMENTWISE_UNARY_COST) - WEIGHT_PREP_OPS)
