"""A phone's CPU priced by transfer from the host: every node as the host estimator prices it,
scaled by what one host millisecond of its op class costs on the phone
(:mod:`..learn.transfer`; grouped convolutions per GFLOP where it prices them apart, and
depthwise convolutions from their own size alone), plus the fitted per-GFLOP (convolutions,
depthwise convolutions), per-compute-node (convolutions, depthwise convolutions, dense layers),
per-activation-megabyte (nodes the host fuses away included), per-patch-matrix-megabyte
(convolutions with kernels over 1x1) and per-run costs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import ModelGraph, read_model
from ..learn.transfer import Transfer
from ..ops import GROUPED_CONV
from .composition import op_class
from .estimator import LatencyEstimator
from .results import ModelEstimate, NodeEstimate, format_ms


class TransferEstimator:
    """The host's estimator, carried over to a phone's CPU core set."""

    kind = "transfer"
    gpu = False
    calibrated = True

    def __init__(
        self,
        device_id: str,
        base: LatencyEstimator,
        transfer: Transfer,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.device_id = device_id
        self.base = base
        self.transfer = transfer
        self.metadata = metadata or {}

    def predict(
        self, model: str | Path | bytes | ModelGraph, name: str | None = None
    ) -> ModelEstimate:
        graph = model if isinstance(model, ModelGraph) else read_model(model, name=name)
        return self._carry(self.base.predict(graph))

    def predict_many(self, models: list[Any]) -> list[ModelEstimate]:
        return [self._carry(e) for e in self.base.predict_many(models)]

    def predict_totals(self, models: Iterable[Any], chunk: int = 256) -> np.ndarray:
        return np.array([self._carry(e).total_ms for e in self.base.predict_many(list(models))])

    def _carry(self, host: ModelEstimate) -> ModelEstimate:
        t = self.transfer
        nodes = []
        per_gflop = t.per_grouped_gflop_ms
        for n in host.nodes:
            costed = n.source not in ("free", "fused")
            if n.source == "fused" and t.fused_traffic and t.per_act_mb_ms and n.act_bytes:
                nodes.append(self._fused(n))
                continue
            apart = costed and per_gflop is not None and n.kind == GROUPED_CONV
            cls = op_class(n.op)
            launch = t.per_node_ms if t.pays_per_node(cls) else 0.0
            patch = t.per_patch_mb_ms * n.patch_bytes / 1e6
            extra = launch + t.per_act_mb_ms * n.act_bytes / 1e6 + patch if costed else 0.0
            # the host interval's relative spread, kept where a node is not priced from host ms
            spread = (n.interval_ms[0] / n.ms, n.interval_ms[1] / n.ms) if n.ms else (1, 1)
            if apart:  # per GFLOP, as the transfer was fitted
                ms = per_gflop * n.flops / 1e9 + extra
                lo, hi = (ms - extra) * spread[0] + extra, (ms - extra) * spread[1] + extra
            else:
                scale = t.scale_of(cls)
                # its FLOPs' own price on the phone where the transfer has one (learn.transfer;
                # a grouped convolution priced as a convolution was fitted by its host ms only)
                grouped = n.kind == GROUPED_CONV
                flop_ms = t.per_gflop_ms(cls) * n.flops / 1e9 if costed and not grouped else 0.0
                ms = n.ms * scale + flop_ms + extra
                own = t.own_size(cls)
                if not costed:
                    lo, hi = 0.0, 0.0
                elif own:  # priced from its own size
                    lo, hi = ms * spread[0], ms * spread[1]
                else:
                    lo = n.interval_ms[0] * scale + flop_ms + extra
                    hi = n.interval_ms[1] * scale + flop_ms + extra
            moved = (
                f", + {format_ms(t.per_act_mb_ms * n.act_bytes / 1e6)} for its "
                f"{n.act_bytes / 1e6:.3g} MB of activations"
                if t.per_act_mb_ms and n.act_bytes
                else ""
            ) + (
                f", + {format_ms(patch)} for its {n.patch_bytes / 1e6:.3g} MB patch matrix"
                if costed and patch
                else ""
            )
            if apart:
                note = (
                    f"grouped convolution: {n.flops / 1e9:.3g} GFLOP × {per_gflop:.3g} ms per "
                    "GFLOP, what the phone's TensorFlow Lite (its reference kernel for groups "
                    f"> 1) took for them{moved}"
                )
            elif costed:
                flops = (
                    f", + {format_ms(flop_ms)} for its {n.flops / 1e9:.3g} GFLOP at "
                    f"{t.per_gflop_ms(cls):.3g} ms a GFLOP, the phone's own rate for {cls} FLOPs"
                    if flop_ms
                    else ""
                )
                note = (
                    f"this machine's estimate ({format_ms(n.ms)}) × {scale:.3g}, what a host "
                    f"ms of {cls} ops costs on this phone's CPU{flops}{moved}"
                    if not own
                    else f"{cls} priced from its own size on the phone, not from this machine's "
                    f"time for it ({format_ms(n.ms)})"
                    + (f", + {format_ms(launch)} a node" if launch else "")
                    + f"{flops}{moved}"
                )
            else:
                note = n.note
            nodes.append(replace(n, ms=ms, interval_ms=(lo, hi), note=note))
        total = t.overhead_ms + sum(n.ms for n in nodes)
        for n in nodes:
            n.share = n.ms / total if total > 0 else 0.0
        return ModelEstimate(
            model=host.model,
            device=self.device_id,
            total_ms=total,
            total_interval_ms=(total * math.exp(t.log_q05), total * math.exp(t.log_q95)),
            nodes=nodes,
            invoke_overhead_ms=t.overhead_ms,
            calibrated=True,
            estimator=self.summary(),
            subgraphs=host.subgraphs,
        )

    def _fused(self, n: NodeEstimate) -> NodeEstimate:
        """A node the host fuses away (a residual ADD after a convolution): the phone runs
        it, and pays its activation traffic (learn.transfer), so on the phone it is priced
        ("learned"), not fused. Its interval is the point: the fit's spread is in the
        total's interval, and the host gives the node none of its own."""
        ms = self.transfer.per_act_mb_ms * n.act_bytes / 1e6
        note = (
            f"free on this machine (fused); the phone runs it: {format_ms(ms)} for its "
            f"{n.act_bytes / 1e6:.3g} MB of activations"
        )
        return replace(n, ms=ms, interval_ms=(ms, ms), note=note, source="learned")

    def summary(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "calibrated": True,
            "kind": "transfer",
            "from": self.base.device_id,
            "composition": self.transfer.form,
            "trained_at": self.metadata.get("trained_at"),
            "networks": self.transfer.report.get("models", 0),
        }

    def to_meta(self) -> dict[str, Any]:
        return {
            "base": self.base.device_id,
            "base_trained_at": self.base.metadata.get("trained_at"),
            "transfer": asdict(self.transfer),
        }
