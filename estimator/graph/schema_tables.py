"""TFLite's schema (version 3) as data: enum names indexed by their codes, and each
table's fields by field number, so the reader names the fields it reads and takes their
defaults from the schema. Written by ``python -m leti.estimator.graph.schema_gen`` from the
``tflite`` package's generated classes (``tests/test_columns.py`` checks it is current); the
reader never imports that package.

A field is ``(name, type, default)``: ``type`` is a scalar type (``"int8"``, ``"int32"``,
``"float32"``, ``"bool"``...), ``"string"``, ``"table"``, ``"union"``, or one of those in
brackets for a vector; ``default`` is what an absent scalar reads as. ``None`` marks a field
number the schema retired.
"""

from __future__ import annotations

from typing import Any

# fmt: off
BUILTIN_OPERATORS = (
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
    "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL",
    "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
    "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2",
    "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
    "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
    "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
    "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT",
    "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT",
    "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
    "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
    "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
    "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF",
    "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
    "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM",
    "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE",
    "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE",
    "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
    "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC",
    "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE",
    "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
    "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
    "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
    "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE",
    "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW",
    "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT",
    "STABLEHLO_CBRT",
)

BUILTIN_OPTIONS = (
    "NONE", "Conv2DOptions", "DepthwiseConv2DOptions", "ConcatEmbeddingsOptions",
    "LSHProjectionOptions", "Pool2DOptions", "SVDFOptions", "RNNOptions", "FullyConnectedOptions",
    "SoftmaxOptions", "ConcatenationOptions", "AddOptions", "L2NormOptions",
    "LocalResponseNormalizationOptions", "LSTMOptions", "ResizeBilinearOptions", "CallOptions",
    "ReshapeOptions", "SkipGramOptions", "SpaceToDepthOptions", "EmbeddingLookupSparseOptions",
    "MulOptions", "PadOptions", "GatherOptions", "BatchToSpaceNDOptions", "SpaceToBatchNDOptions",
    "TransposeOptions", "ReducerOptions", "SubOptions", "DivOptions", "SqueezeOptions",
    "SequenceRNNOptions", "StridedSliceOptions", "ExpOptions", "TopKV2Options", "SplitOptions",
    "LogSoftmaxOptions", "CastOptions", "DequantizeOptions", "MaximumMinimumOptions",
    "ArgMaxOptions", "LessOptions", "NegOptions", "PadV2Options", "GreaterOptions",
    "GreaterEqualOptions", "LessEqualOptions", "SelectOptions", "SliceOptions",
    "TransposeConvOptions", "SparseToDenseOptions", "TileOptions", "ExpandDimsOptions",
    "EqualOptions", "NotEqualOptions", "ShapeOptions", "PowOptions", "ArgMinOptions",
    "FakeQuantOptions", "PackOptions", "LogicalOrOptions", "OneHotOptions", "LogicalAndOptions",
    "LogicalNotOptions", "UnpackOptions", "FloorDivOptions", "SquareOptions", "ZerosLikeOptions",
    "FillOptions", "BidirectionalSequenceLSTMOptions", "BidirectionalSequenceRNNOptions",
    "UnidirectionalSequenceLSTMOptions", "FloorModOptions", "RangeOptions",
    "ResizeNearestNeighborOptions", "LeakyReluOptions", "SquaredDifferenceOptions",
    "MirrorPadOptions", "AbsOptions", "SplitVOptions", "UniqueOptions", "ReverseV2Options",
    "AddNOptions", "GatherNdOptions", "CosOptions", "WhereOptions", "RankOptions",
    "ReverseSequenceOptions", "MatrixDiagOptions", "QuantizeOptions", "MatrixSetDiagOptions",
    "HardSwishOptions", "IfOptions", "WhileOptions", "DepthToSpaceOptions",
    "NonMaxSuppressionV4Options", "NonMaxSuppressionV5Options", "ScatterNdOptions",
    "SelectV2Options", "DensifyOptions", "SegmentSumOptions", "BatchMatMulOptions", "CumsumOptions",
    "CallOnceOptions", "BroadcastToOptions", "Rfft2dOptions", "Conv3DOptions", "HashtableOptions",
    "HashtableFindOptions", "HashtableImportOptions", "HashtableSizeOptions", "VarHandleOptions",
    "ReadVariableOptions", "AssignVariableOptions", "RandomOptions", "BucketizeOptions",
    "GeluOptions", "DynamicUpdateSliceOptions", "UnsortedSegmentProdOptions",
    "UnsortedSegmentMaxOptions", "UnsortedSegmentMinOptions", "UnsortedSegmentSumOptions",
    "ATan2Options", "SignOptions", "BitcastOptions", "BitwiseXorOptions", "RightShiftOptions",
)

TENSOR_TYPES = (
    "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
    "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4",
    "BFLOAT16",
)

ACTIVATIONS = (
    "NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT",
)

PADDINGS = (
    "SAME", "VALID",
)

TABLES: dict[str, tuple[tuple[str, str, Any] | None, ...]] = {
    "Model": (
        ('version', 'uint32', 0),
        ('operator_codes', '[table]', None),
        ('subgraphs', '[table]', None),
        ('description', 'string', None),
        ('buffers', '[table]', None),
        ('metadata_buffer', '[int32]', None),
        ('metadata', '[table]', None),
        ('signature_defs', '[table]', None),
    ),
    "OperatorCode": (
        ('deprecated_builtin_code', 'int8', 0),
        ('custom_code', 'string', None),
        ('version', 'int32', 1),
        ('builtin_code', 'int32', 0),
    ),
    "SubGraph": (
        ('tensors', '[table]', None),
        ('inputs', '[int32]', None),
        ('outputs', '[int32]', None),
        ('operators', '[table]', None),
        ('name', 'string', None),
        ('debug_metadata_index', 'int32', -1),
    ),
    "Tensor": (
        ('shape', '[int32]', None),
        ('type', 'int8', 0),
        ('buffer', 'uint32', 0),
        ('name', 'string', None),
        ('quantization', 'table', None),
        ('is_variable', 'bool', False),
        ('sparsity', 'table', None),
        ('shape_signature', '[int32]', None),
        ('has_rank', 'bool', False),
        ('variant_tensors', '[table]', None),
    ),
    "Operator": (
        ('opcode_index', 'uint32', 0),
        ('inputs', '[int32]', None),
        ('outputs', '[int32]', None),
        ('builtin_options_type', 'uint8', 0),
        ('builtin_options', 'union', None),
        ('custom_options', '[uint8]', None),
        ('custom_options_format', 'int8', 0),
        ('mutating_variable_inputs', '[bool]', None),
        ('intermediates', '[int32]', None),
        ('large_custom_options_offset', 'uint64', 0),
        ('large_custom_options_size', 'uint64', 0),
        ('builtin_options2_type', 'uint8', 0),
        ('builtin_options2', 'union', None),
        ('debug_metadata_index', 'int32', -1),
    ),
    "Buffer": (
        ('data', '[uint8]', None),
        ('offset', 'uint64', 0),
        ('size', 'uint64', 0),
    ),
    "QuantizationParameters": (
        ('min', '[float32]', None),
        ('max', '[float32]', None),
        ('scale', '[float32]', None),
        ('zero_point', '[int64]', None),
        ('details_type', 'uint8', 0),
        ('details', 'union', None),
        ('quantized_dimension', 'int32', 0),
    ),
    "SparsityParameters": (
        ('traversal_order', '[int32]', None),
        ('block_map', '[int32]', None),
        ('dim_metadata', '[table]', None),
    ),
    "Conv2DOptions": (
        ('padding', 'int8', 0),
        ('stride_w', 'int32', 0),
        ('stride_h', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
        ('dilation_w_factor', 'int32', 1),
        ('dilation_h_factor', 'int32', 1),
        ('quantized_bias_type', 'int8', 0),
    ),
    "DepthwiseConv2DOptions": (
        ('padding', 'int8', 0),
        ('stride_w', 'int32', 0),
        ('stride_h', 'int32', 0),
        ('depth_multiplier', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
        ('dilation_w_factor', 'int32', 1),
        ('dilation_h_factor', 'int32', 1),
    ),
    "ConcatEmbeddingsOptions": (
        ('num_channels', 'int32', 0),
        ('num_columns_per_channel', '[int32]', None),
        ('embedding_dim_per_channel', '[int32]', None),
    ),
    "LSHProjectionOptions": (
        ('type', 'int8', 0),
    ),
    "Pool2DOptions": (
        ('padding', 'int8', 0),
        ('stride_w', 'int32', 0),
        ('stride_h', 'int32', 0),
        ('filter_width', 'int32', 0),
        ('filter_height', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
    ),
    "SVDFOptions": (
        ('rank', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "RNNOptions": (
        ('fused_activation_function', 'int8', 0),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "FullyConnectedOptions": (
        ('fused_activation_function', 'int8', 0),
        ('weights_format', 'int8', 0),
        ('keep_num_dims', 'bool', False),
        ('asymmetric_quantize_inputs', 'bool', False),
        ('quantized_bias_type', 'int8', 0),
    ),
    "SoftmaxOptions": (
        ('beta', 'float32', 0.0),
    ),
    "ConcatenationOptions": (
        ('axis', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
    ),
    "AddOptions": (
        ('fused_activation_function', 'int8', 0),
        ('pot_scale_int16', 'bool', True),
    ),
    "L2NormOptions": (
        ('fused_activation_function', 'int8', 0),
    ),
    "LocalResponseNormalizationOptions": (
        ('radius', 'int32', 0),
        ('bias', 'float32', 0.0),
        ('alpha', 'float32', 0.0),
        ('beta', 'float32', 0.0),
    ),
    "LSTMOptions": (
        ('fused_activation_function', 'int8', 0),
        ('cell_clip', 'float32', 0.0),
        ('proj_clip', 'float32', 0.0),
        ('kernel_type', 'int8', 0),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "ResizeBilinearOptions": (
        None,
        None,
        ('align_corners', 'bool', False),
        ('half_pixel_centers', 'bool', False),
    ),
    "CallOptions": (
        ('subgraph', 'uint32', 0),
    ),
    "ReshapeOptions": (
        ('new_shape', '[int32]', None),
    ),
    "SkipGramOptions": (
        ('ngram_size', 'int32', 0),
        ('max_skip_size', 'int32', 0),
        ('include_all_ngrams', 'bool', False),
    ),
    "SpaceToDepthOptions": (
        ('block_size', 'int32', 0),
    ),
    "EmbeddingLookupSparseOptions": (
        ('combiner', 'int8', 0),
    ),
    "MulOptions": (
        ('fused_activation_function', 'int8', 0),
    ),
    "PadOptions": (
    ),
    "GatherOptions": (
        ('axis', 'int32', 0),
        ('batch_dims', 'int32', 0),
    ),
    "BatchToSpaceNDOptions": (
    ),
    "SpaceToBatchNDOptions": (
    ),
    "TransposeOptions": (
    ),
    "ReducerOptions": (
        ('keep_dims', 'bool', False),
    ),
    "SubOptions": (
        ('fused_activation_function', 'int8', 0),
        ('pot_scale_int16', 'bool', True),
    ),
    "DivOptions": (
        ('fused_activation_function', 'int8', 0),
    ),
    "SqueezeOptions": (
        ('squeeze_dims', '[int32]', None),
    ),
    "SequenceRNNOptions": (
        ('time_major', 'bool', False),
        ('fused_activation_function', 'int8', 0),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "StridedSliceOptions": (
        ('begin_mask', 'int32', 0),
        ('end_mask', 'int32', 0),
        ('ellipsis_mask', 'int32', 0),
        ('new_axis_mask', 'int32', 0),
        ('shrink_axis_mask', 'int32', 0),
        ('offset', 'bool', False),
    ),
    "ExpOptions": (
    ),
    "TopKV2Options": (
    ),
    "SplitOptions": (
        ('num_splits', 'int32', 0),
    ),
    "LogSoftmaxOptions": (
    ),
    "CastOptions": (
        ('in_data_type', 'int8', 0),
        ('out_data_type', 'int8', 0),
    ),
    "DequantizeOptions": (
    ),
    "MaximumMinimumOptions": (
    ),
    "ArgMaxOptions": (
        ('output_type', 'int8', 0),
    ),
    "LessOptions": (
    ),
    "NegOptions": (
    ),
    "PadV2Options": (
    ),
    "GreaterOptions": (
    ),
    "GreaterEqualOptions": (
    ),
    "LessEqualOptions": (
    ),
    "SelectOptions": (
    ),
    "SliceOptions": (
    ),
    "TransposeConvOptions": (
        ('padding', 'int8', 0),
        ('stride_w', 'int32', 0),
        ('stride_h', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
        ('quantized_bias_type', 'int8', 0),
    ),
    "SparseToDenseOptions": (
        ('validate_indices', 'bool', False),
    ),
    "TileOptions": (
    ),
    "ExpandDimsOptions": (
    ),
    "EqualOptions": (
    ),
    "NotEqualOptions": (
    ),
    "ShapeOptions": (
        ('out_type', 'int8', 0),
    ),
    "PowOptions": (
    ),
    "ArgMinOptions": (
        ('output_type', 'int8', 0),
    ),
    "FakeQuantOptions": (
        ('min', 'float32', 0.0),
        ('max', 'float32', 0.0),
        ('num_bits', 'int32', 0),
        ('narrow_range', 'bool', False),
    ),
    "PackOptions": (
        ('values_count', 'int32', 0),
        ('axis', 'int32', 0),
    ),
    "LogicalOrOptions": (
    ),
    "OneHotOptions": (
        ('axis', 'int32', 0),
    ),
    "LogicalAndOptions": (
    ),
    "LogicalNotOptions": (
    ),
    "UnpackOptions": (
        ('num', 'int32', 0),
        ('axis', 'int32', 0),
    ),
    "FloorDivOptions": (
    ),
    "SquareOptions": (
    ),
    "ZerosLikeOptions": (
    ),
    "FillOptions": (
    ),
    "BidirectionalSequenceLSTMOptions": (
        ('fused_activation_function', 'int8', 0),
        ('cell_clip', 'float32', 0.0),
        ('proj_clip', 'float32', 0.0),
        ('merge_outputs', 'bool', False),
        ('time_major', 'bool', True),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "BidirectionalSequenceRNNOptions": (
        ('time_major', 'bool', False),
        ('fused_activation_function', 'int8', 0),
        ('merge_outputs', 'bool', False),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "UnidirectionalSequenceLSTMOptions": (
        ('fused_activation_function', 'int8', 0),
        ('cell_clip', 'float32', 0.0),
        ('proj_clip', 'float32', 0.0),
        ('time_major', 'bool', False),
        ('asymmetric_quantize_inputs', 'bool', False),
        ('diagonal_recurrent_tensors', 'bool', False),
    ),
    "FloorModOptions": (
    ),
    "RangeOptions": (
    ),
    "ResizeNearestNeighborOptions": (
        ('align_corners', 'bool', False),
        ('half_pixel_centers', 'bool', False),
    ),
    "LeakyReluOptions": (
        ('alpha', 'float32', 0.0),
    ),
    "SquaredDifferenceOptions": (
    ),
    "MirrorPadOptions": (
        ('mode', 'int8', 0),
    ),
    "AbsOptions": (
    ),
    "SplitVOptions": (
        ('num_splits', 'int32', 0),
    ),
    "UniqueOptions": (
        ('idx_out_type', 'int8', 2),
    ),
    "ReverseV2Options": (
    ),
    "AddNOptions": (
    ),
    "GatherNdOptions": (
    ),
    "CosOptions": (
    ),
    "WhereOptions": (
    ),
    "RankOptions": (
    ),
    "ReverseSequenceOptions": (
        ('seq_dim', 'int32', 0),
        ('batch_dim', 'int32', 0),
    ),
    "MatrixDiagOptions": (
    ),
    "QuantizeOptions": (
    ),
    "MatrixSetDiagOptions": (
    ),
    "HardSwishOptions": (
    ),
    "IfOptions": (
        ('then_subgraph_index', 'int32', 0),
        ('else_subgraph_index', 'int32', 0),
    ),
    "WhileOptions": (
        ('cond_subgraph_index', 'int32', 0),
        ('body_subgraph_index', 'int32', 0),
    ),
    "DepthToSpaceOptions": (
        ('block_size', 'int32', 0),
    ),
    "NonMaxSuppressionV4Options": (
    ),
    "NonMaxSuppressionV5Options": (
    ),
    "ScatterNdOptions": (
    ),
    "SelectV2Options": (
    ),
    "DensifyOptions": (
    ),
    "SegmentSumOptions": (
    ),
    "BatchMatMulOptions": (
        ('adj_x', 'bool', False),
        ('adj_y', 'bool', False),
        ('asymmetric_quantize_inputs', 'bool', False),
    ),
    "CumsumOptions": (
        ('exclusive', 'bool', False),
        ('reverse', 'bool', False),
    ),
    "CallOnceOptions": (
        ('init_subgraph_index', 'int32', 0),
    ),
    "BroadcastToOptions": (
    ),
    "Rfft2dOptions": (
    ),
    "Conv3DOptions": (
        ('padding', 'int8', 0),
        ('stride_d', 'int32', 0),
        ('stride_w', 'int32', 0),
        ('stride_h', 'int32', 0),
        ('fused_activation_function', 'int8', 0),
        ('dilation_d_factor', 'int32', 1),
        ('dilation_w_factor', 'int32', 1),
        ('dilation_h_factor', 'int32', 1),
    ),
    "HashtableOptions": (
        ('table_id', 'int32', 0),
        ('key_dtype', 'int8', 0),
        ('value_dtype', 'int8', 0),
    ),
    "HashtableFindOptions": (
    ),
    "HashtableImportOptions": (
    ),
    "HashtableSizeOptions": (
    ),
    "VarHandleOptions": (
        ('container', 'string', None),
        ('shared_name', 'string', None),
    ),
    "ReadVariableOptions": (
    ),
    "AssignVariableOptions": (
    ),
    "RandomOptions": (
        ('seed', 'int64', 0),
        ('seed2', 'int64', 0),
    ),
    "BucketizeOptions": (
        ('boundaries', '[float32]', None),
    ),
    "GeluOptions": (
        ('approximate', 'bool', False),
    ),
    "DynamicUpdateSliceOptions": (
    ),
    "UnsortedSegmentProdOptions": (
    ),
    "UnsortedSegmentMaxOptions": (
    ),
    "UnsortedSegmentMinOptions": (
    ),
    "UnsortedSegmentSumOptions": (
    ),
    "ATan2Options": (
    ),
    "SignOptions": (
    ),
    "BitcastOptions": (
    ),
    "BitwiseXorOptions": (
    ),
    "RightShiftOptions": (
    ),
}
# fmt: on
