"""What a GPU delegate makes of a graph's nodes, as data learned from its own kernel labels
(:mod:`.learn`), the way nn-Meter keeps its kernel detection and fusion rules as data:

- ``becomes``: per TFLite op type, a small decision tree over the node's shape facts that
  names the kernel the delegate runs for it (a 3x3 convolution becomes
  ``convolution_winograd_4x4_6x6`` on one phone and ``convolution_2d`` on another; a 1x1
  convolution on a 1x1 map becomes ``fully_connected``; a grouped one
  ``convolution_2d_grouped``);
- ``links``: for a kernel and the element-wise node that reads its output, how often the
  delegate linked that node into the kernel (``[linked, seen]``), keyed from the most specific
  facts to the least (see :func:`link_keys`); a node is linked when the most specific key seen
  often enough says so in most cases;
- ``pairs``: two kernel-forming nodes the delegate ran as one kernel (a depthwise convolution
  followed by its 1x1 convolution on Apple GPUs): per ``first kernel+second op``, a tree over
  the second node's facts that names the joint kernel, or ``""`` where they stay apart.

Everything here is plain JSON: saved with an estimator, read back without scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A rule is trusted once it has been seen this often; below that a less specific key decides.
MIN_SEEN = 3
# Shape facts a ``becomes`` tree may split on (see :func:`node_facts`).
FACTS = ("kernel", "stride", "dilation", "cin", "cout", "groups", "h", "w", "ho", "wo", "tiles")


def link_keys(head: str, consumer: str, same_shape: bool, operand: str) -> list[str]:
    """Keys of one link decision, the most specific first: the kernel, the element-wise node's
    delegate name, whether its output has the kernel's shape (a broadcast product cannot run
    on the kernel's output grid), and its other operand (``none``, ``const`` or ``tensor``)."""
    shape = "same" if same_shape else "other"
    return [
        f"{head}>{consumer}|{shape}|{operand}",
        f"{head}>{consumer}|{shape}",
        f"*>{consumer}|{shape}|{operand}",
        f"*>{consumer}|{shape}",
    ]


@dataclass
class KernelRules:
    becomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # op -> tree
    links: dict[str, list[int]] = field(default_factory=dict)
    pairs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "head+op" -> tree
    learned_from: dict[str, Any] = field(default_factory=dict)

    def head(self, op: str, facts: dict[str, float], default: str) -> str:
        """The kernel the delegate runs for a node of type ``op`` with these shape facts."""
        tree = self.becomes.get(op)
        return default if tree is None else walk(tree, facts)

    def links_into(self, head: str, consumer: str, same_shape: bool, operand: str) -> bool:
        for key in link_keys(head, consumer, same_shape, operand):
            linked, seen = self.links.get(key, (0, 0))
            if seen >= MIN_SEEN:
                return linked * 2 > seen
        return False  # never seen: its own kernel (what an unlinked node costs is learned)

    def pair(self, first: str, op: str, facts: dict[str, float]) -> str:
        """The joint kernel a ``first`` kernel and the node of type ``op`` (with ``facts``)
        that reads its output make, or ``""`` when they stay two kernels."""
        tree = self.pairs.get(f"{first}+{op}")
        return "" if tree is None else walk(tree, facts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "becomes": self.becomes,
            "links": self.links,
            "pairs": self.pairs,
            "learned_from": self.learned_from,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KernelRules:
        return cls(
            dict(d.get("becomes", {})),
            {k: list(v) for k, v in d.get("links", {}).items()},
            dict(d.get("pairs", {})),
            dict(d.get("learned_from", {})),
        )


def walk(tree: dict[str, Any], facts: dict[str, float]) -> str:
    """The head a tree names for ``facts``: ``{"fact", "at", "le", "gt"}`` splits down to a
    ``{"head", "n"}`` leaf."""
    while "head" not in tree:
        tree = tree["le"] if facts.get(tree["fact"], 0.0) <= tree["at"] else tree["gt"]
    return tree["head"]
