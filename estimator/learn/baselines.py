"""The two baselines every accuracy report compares against, fitted on the same database.

- FLOPs-proportional: latency = k * FLOPs, one scale fitted on the measured networks (or, with
  none, on the single-op measurements).
- GSoC-style: a random forest on convolution features only (kernel, filters, H, W, Cin,
  stride); a model's latency is the sum over its convolutions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import ModelGraph


class FlopsProportional:
    name = "flops-proportional"

    def fit(
        self, rows: list[dict[str, Any]], networks: list[tuple[ModelGraph, float]]
    ) -> FlopsProportional:
        """One ms-per-FLOP scale: the median over whole networks, or over single ops."""
        if networks:
            ratios = [ms / max(g.totals()["flops"], 1) for g, ms in networks]
        else:
            ratios = [r["median_ms"] / max(r["features"]["flops"], 1) for r in rows]
        self.ms_per_flop = float(np.median(ratios))
        return self

    def predict_total(self, graph: ModelGraph) -> float:
        return self.ms_per_flop * graph.totals()["flops"]


def _gsoc_features(h: int, w: int, cin: int, cout: int, k: int, s: int) -> list[float]:
    return [h, w, cin, cout, k, s]


class ConvOnly:
    name = "gsoc-conv-only"

    def fit(self, rows: list[dict[str, Any]], networks: Any = None) -> ConvOnly:
        from sklearn.ensemble import RandomForestRegressor

        X, y = [], []
        for r in rows:
            if r["op_type"] != "CONV_2D":
                continue
            f = r["features"]
            X.append(_gsoc_features(f["in_shape"][1], f["in_shape"][2], f["in_shape"][3],
                                    f["out_shape"][3], f["options"].get("kernel_h", 1),
                                    f["options"].get("stride_h", 1)))  # fmt: skip
            y.append(r["median_ms"])
        self.model = (
            RandomForestRegressor(n_estimators=100, random_state=0).fit(X, y) if X else None
        )
        return self

    def predict_total(self, graph: ModelGraph) -> float:
        X = []
        for n in graph.nodes:
            if n.op != "CONV_2D" or len(n.inputs[0].shape) != 4:
                continue
            i, o = n.inputs[0].shape, n.outputs[0].shape
            X.append(_gsoc_features(i[1], i[2], i[3], o[3], n.options.get("kernel_h", 1),
                                    n.options.get("stride_h", 1)))  # fmt: skip
        if not X or self.model is None:
            return 0.0
        return float(self.model.predict(X).sum())
