"""Cut one operator out of a real model into its own .tflite file, exactly as it is there.

The model builder (:mod:`.layers`) makes most ops from a configuration, but not custom ops
(MediaPipe's transposed convolution, pooling with argmax), channel padding, strided slices or
batched inputs. Extraction measures those layers too, with their real weights and options. Constant
weights that the model prepares with DEQUANTIZE/DENSIFY come along with their preparing ops,
so the extracted op reads its weights the way it does in the full model.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from ..graph import ModelGraph, Node


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def extract_ops(data: bytes, graph: ModelGraph, nodes: list[Node]) -> dict[str, bytes]:
    """Single-op models for ``nodes`` of ``graph`` (the parse of ``data``), keyed by node key."""
    import flatbuffers

    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    out: dict[str, bytes] = {}
    for node in nodes:
        sub = _submodel(schema, model, graph, node)
        builder = flatbuffers.Builder(1024)
        builder.Finish(sub.Pack(builder), file_identifier=b"TFL3")
        out[node.key] = bytes(builder.Output())
    return out


def _submodel(schema: Any, model: Any, graph: ModelGraph, node: Node) -> Any:
    sg = model.subgraphs[node.subgraph]
    producers = {}
    for n in graph.nodes:
        if n.subgraph == node.subgraph and n.role == "weight_prep":
            for t in n.outputs:
                producers[t.index] = n
    ops = [n for t in node.inputs if (n := producers.get(t.index)) is not None]
    ops.append(node)
    tensor_ids: list[int] = []
    for n in ops:
        for t in n.inputs + n.outputs:
            if t.index not in tensor_ids:
                tensor_ids.append(t.index)
    remap = {old: new for new, old in enumerate(tensor_ids)}
    buffers = [schema.BufferT()]  # buffer 0 is the empty one by convention
    tensors = []
    for old in tensor_ids:
        t = copy.copy(sg.tensors[old])
        src = model.buffers[t.buffer] if t.buffer else None
        if src is not None and (src.data is not None and len(src.data) or src.size):
            buffers.append(src)
            t.buffer = len(buffers) - 1
        else:
            t.buffer = 0
        tensors.append(t)
    codes, code_index = [], {}
    operators = []
    for n in ops:
        src = sg.operators[n.index]
        op = copy.copy(src)
        if src.opcodeIndex not in code_index:
            code_index[src.opcodeIndex] = len(codes)
            codes.append(model.operatorCodes[src.opcodeIndex])
        op.opcodeIndex = code_index[src.opcodeIndex]
        op.inputs = [remap[i] if i >= 0 else -1 for i in src.inputs]
        op.outputs = [remap[i] for i in src.outputs]
        operators.append(op)
    produced = {t.index for n in ops for t in n.outputs}
    sub = schema.SubGraphT()
    sub.tensors = tensors
    sub.operators = operators
    sub.inputs = [remap[t.index] for t in node.inputs
                  if not t.is_constant and t.index not in produced]  # fmt: skip
    sub.outputs = [remap[t.index] for t in node.outputs]
    sub.name = f"{node.op} from {graph.path}"
    out = schema.ModelT()
    out.version = 3
    out.operatorCodes = codes
    out.subgraphs = [sub]
    out.buffers = buffers
    out.description = f"leti-view: operator {node.key} extracted".encode()
    return out


def signature(node: Node) -> str:
    """What makes two extracted ops the same measurement: op, shapes, dtypes and options."""
    parts = [node.op, repr(sorted(node.options.items()))]
    parts += [f"{t.shape}:{t.dtype}:{int(t.is_constant)}" for t in node.inputs + node.outputs]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
