"""A GPU delegate's kernel labels: what the delegate ran, and which of its graph's nodes it
linked into that kernel.

The TFLite GPU delegate builds its own graph from the model (one node per TFLite operator, and
one more for an operator's fused activation), then merges zero padding into convolutions and
links element-wise nodes into the kernel that produces their input. Its profiler names each
kernel it runs after the nodes it covers, in two spellings:

- mobile-ml-benchmark's TFLite 2.10 fork: ``convolution_2d_3_linked_:_add_4_linked_:_relu_5``,
  ``depthwise_conv_plus_1x1_conv_3_4_5_linked_:_relu_6`` (one kernel over nodes 3, 4 and 5);
- ``benchmark_model --enable_op_profiling`` of newer OpenCL builds: ``convolution_2d 3 -> add
  4 -> relu 5``.

Both parse into the same :class:`Label`; nothing here knows a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import LetiError

_LINKED = "_linked_:_"
_ARROW = " -> "
_DATASET_PART = re.compile(r"^(?P<name>.*?)(?P<ids>(?:_\d+)+)$")
_PROFILE_PART = re.compile(r"^(?P<name>\S.*?)\s+(?P<ids>\d+(?:[ _]\d+)*)$")


@dataclass(frozen=True)
class Label:
    """One kernel: its kind (``head``), the delegate node ids it runs, and the element-wise
    nodes linked into it, in order, as (name, node id)."""

    text: str
    head: str
    ids: tuple[int, ...]
    linked: tuple[tuple[str, int], ...] = ()

    @property
    def linked_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.linked)

    @property
    def node_ids(self) -> tuple[int, ...]:
        """Every delegate node the kernel covers."""
        return self.ids + tuple(i for _, i in self.linked)


def parse(text: str) -> Label:
    """A label in either spelling; raises LetiError on one that names no node."""
    text = text.strip()
    arrow = " " in text  # the dataset's spelling has no spaces
    parts = text.split(_ARROW) if arrow else text.split(_LINKED)
    pattern = _PROFILE_PART if arrow else _DATASET_PART
    out: list[tuple[str, tuple[int, ...]]] = []
    for part in parts:
        m = pattern.match(part.strip())
        if m is None:
            raise LetiError(f"kernel label {text!r}: {part!r} names no delegate node")
        ids = tuple(int(i) for i in re.split(r"[ _]", m.group("ids").strip("_")) if i)
        out.append((m.group("name"), ids))
    (head, ids), rest = out[0], out[1:]
    return Label(text, head, ids, tuple((name, i[0]) for name, i in rest))
