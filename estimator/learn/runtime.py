"""Learn what the runtime does beyond running ops, from the device's own measurements: which
op kinds a GPU delegate refuses (its reports, stored with every GPU measurement), which
consumers the runtime fuses into their producer (the fusion probes), and which element-wise
ops cost more between two ops than alone (the middle probes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from statistics import median
from typing import Any

from ..features import tile_class
from ..predict.runtime import Runtime

# A pair is taken as fused when its consumer keeps less than this share of its own cost,
# in the median over at least MIN_PROBES probes; otherwise nodes keep their whole cost.
FUSED_BELOW = 0.5
MIN_PROBES = 2
# An op taken as costing more inside a chain: at least this multiple of its cost alone in
# every one of its (at least MIN_PROBES) middle probes of one tile class, and then the median
# of them (below it: what it costs alone; less, where a producer folds it in, is the fusion
# probes' to say). Every probe, not their median: two probes' median is their mean, and one
# probe taken in a slow spell made rules of nothing (LOGISTIC at 16 channels, 2026-12-07).
MORE_FROM = 1.4


def fit(rows: list[dict[str, Any]], networks: list[dict[str, Any]], gpu: bool) -> Runtime:
    return Runtime(gpu=gpu, support=support(rows, networks) if gpu else {},
                   fusion=fusion(rows), middle=middle(rows))  # fmt: skip


def support(rows: list[dict[str, Any]], networks: list[dict[str, Any]]) -> dict[str, dict]:
    """Per op kind: measured how often, refused how often, and the delegate's reason. A
    single-op model that was not fully accelerated counts its op as refused."""
    seen: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reasons: dict[str, str] = {}
    for r in rows:
        stats = r.get("stats") or {}
        report = stats.get("delegation")
        if report is None or r["op_type"].startswith(("FUSION:", "MIDDLE:", "REFERENCE:")):
            continue
        kind = r["op_type"]
        base = kind.split(":")[0]
        refused = base in report.get("refused", {}) or stats.get("fully_accelerated") is False
        seen[kind][0] += 1
        seen[kind][1] += int(refused)
        if refused:
            reasons[kind] = report.get("refused", {}).get(base, "not fully accelerated")
    for n in networks:  # a network's report names refused op types (never accepted ones)
        report = (n.get("stats") or {}).get("delegation") or {}
        for op, why in report.get("refused", {}).items():
            seen[op][0] += 1
            seen[op][1] += 1
            reasons.setdefault(op, why)
    return {
        kind: {"supported": refused * 2 < measured, "measured": measured, "refused": refused,
               "reason": reasons.get(kind, "")}
        for kind, (measured, refused) in seen.items()
    }  # fmt: skip


def _probe_shares(
    rows: list[dict[str, Any]], prefix: str, key: Callable[[str, dict[str, Any]], str | None]
) -> dict[str, list[float]]:
    """The consumer shares the probes of one kind (op types ``prefix``...) measured, grouped by
    ``key`` (of the op type's rest and the row; None leaves the row out)."""
    shares: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if not r["op_type"].startswith(prefix):
            continue
        probe = (r.get("stats") or {}).get("fusion")
        k = key(r["op_type"][len(prefix) :], r) if probe is not None else None
        if k is not None:
            shares[k].append(float(probe["consumer_share"]))
    return shares


def fusion(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``"PRODUCER>CONSUMER"`` -> the consumer's median kept share, for pairs that fuse."""
    out = {}
    for pair, values in _probe_shares(rows, "FUSION:", lambda pair, _r: pair).items():
        m = median(values)
        if len(values) >= MIN_PROBES and m < FUSED_BELOW:
            out[pair] = max(m, 0.0)
    return out


def middle(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``"OP@TILE"`` -> the median multiple of its cost alone an op pays between two ops, for
    the op kinds and channel tile classes (``features.tile_class``) whose middle probes all
    say it pays at least :data:`MORE_FROM` times it."""

    def op_at_tile(op: str, r: dict[str, Any]) -> str | None:
        channels = (r.get("config") or {}).get("c")
        return f"{op}@{tile_class(int(channels))}" if channels else None

    return {
        key: median(values)
        for key, values in _probe_shares(rows, "MIDDLE:", op_at_tile).items()
        if len(values) >= MIN_PROBES and min(values) >= MORE_FROM
    }
