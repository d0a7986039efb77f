"""What the viewer's page shows, computed here so the server only routes: a model's estimate
with each node's shapes and what was measured, the estimator's own accuracy, its exports, the
devices and profiles with their reports, and the suites' build times the page quotes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..devices import DeviceSpec
from ..graph import ModelGraph
from ..predict.kernel_estimator import KernelEstimator
from ..predict.transfer_estimator import TransferEstimator
from ..render import RENDERERS, as_json, render

if TYPE_CHECKING:
    from ..db import Database
    from ..predict.estimator import LatencyEstimator

# The export formats by file extension (``model-explorer.json``, ``csv``, ``json``).
EXPORTS = {r.extension: r for r in RENDERERS.values() if r.name != "table"}


def estimate_payload(
    est: LatencyEstimator | KernelEstimator,
    graph: ModelGraph,
    name: str,
    db: Database,
    host: DeviceSpec | None = None,
) -> dict[str, Any]:
    """The estimate of ``graph`` as the page reads it. ``host``: this machine's CPU, whose
    trained estimator (loaded only for a GPU estimate the CPU takes part in) says when a partly
    delegated model would run faster on the CPU alone."""
    from .estimate import single_op_medians

    payload = as_json(est.predict(graph))
    payload["name"] = name
    payload["operators"] = len(graph.nodes)
    payload["subgraphs"] = [s.name for s in graph.subgraphs]
    payload["estimator"] = estimator_info(est)
    single = single_op_medians(db, est.device_id, graph)
    for n, node in zip(payload["nodes"], graph.nodes, strict=True):
        n["inputs"] = [t.shape_signature for t in node.inputs if not t.is_constant]
        n["outputs"] = [t.shape_signature for t in node.outputs]
        n["fused_activation"] = node.fused_activation
        n["measured_ms"] = single.get(node.key)
    payload["measured_ms"] = db.model_median(est.device_id, graph.sha256)
    payload["cpu_alone_ms"] = None
    if host is not None and est.gpu and payload["partitions"] > 1:
        cpu = _trained(host)
        payload["cpu_alone_ms"] = cpu.predict(graph).total_ms if cpu is not None else None
    return payload


def _trained(spec: DeviceSpec) -> LatencyEstimator | KernelEstimator | None:
    from ..predict.store import NoEstimator
    from .estimate import load_estimator

    try:
        return load_estimator(spec)
    except NoEstimator:
        return None


def export(est: LatencyEstimator | KernelEstimator, graph: ModelGraph, extension: str) -> str:
    """``graph``'s estimate written in the export format of that file extension (a KeyError
    for one there is none of: :data:`EXPORTS`)."""
    return render(est.predict(graph), EXPORTS[extension].name)


def suite_times() -> dict[str, str]:
    """How long a smoke and a default build take here, as the banner and settings quote it."""
    from ..generate.suite_times import quoted

    return {suite: quoted(suite) for suite in ("smoke", "default")}


def estimator_info(est: LatencyEstimator | KernelEstimator | TransferEstimator) -> dict[str, Any]:
    """How accurate the estimator is by its own training report."""
    info: dict[str, Any] = {"device": est.device_id, "calibrated": est.calibrated}
    report = est.metadata.get("report", {})
    ops = report.get("op_types", [])
    scored = [r for r in ops if r["metrics"].get("mape") is not None and r["op"] != "*"]
    if scored:
        n = sum(r["samples"] for r in scored)
        info["samples"] = n
        info["cv_mape"] = sum(r["metrics"]["mape"] * r["samples"] for r in scored) / n
        info["per_op"] = {r["op"]: r["metrics"] for r in ops}
    info["trained_at"] = est.metadata.get("trained_at")
    info["note"] = est.metadata.get("note")
    if isinstance(est, KernelEstimator | TransferEstimator):
        ev = report.get("evaluation", {})
        info["kind"] = est.kind
        info["networks"] = report.get("networks")
        info["network_mape"] = ev.get("scores", {}).get("leti", {}).get("mape")
        info["network_within_10"] = ev.get("scores", {}).get("leti", {}).get("within_10")
        info["composition"] = (
            est.composition.form if isinstance(est, KernelEstimator) else est.transfer.form
        )
        info["source"] = report.get("source") or report.get("base")
        return info
    comp = est.composition
    info["networks"] = comp.networks
    info["network_mape"] = comp.report.get("cv_mape", comp.report.get("fit_mape"))
    info["composition"] = comp.form
    return info


def profiles(db: Database) -> list[dict[str, Any]]:
    """Every device profile in the database, whether it is trained, and its report."""
    from ..predict.store import read_metadata

    out = []
    for dev in db.device_ids():
        meta = read_metadata(dev)
        out.append(
            {
                "id": dev,
                "trained": meta is not None,
                "trained_at": meta.get("trained_at") if meta else None,
                "report": _report_summary(meta),
            }
        )
    return out


def devices_payload(db: Database, host_spec: DeviceSpec) -> dict[str, Any]:
    """The settings page's devices: what this machine reaches, the published phones imported,
    every profile, the database's counts."""
    from ..devices import list_devices
    from ..generate.suite_times import measured
    from .estimate import resolve_profile
    from .published import imported_phones

    return {
        "devices": list_devices() + imported_phones(db),
        "profiles": profiles(db),
        "status": db.status(),
        "host_profile": resolve_profile(host_spec, None),
        "suite_seconds": measured(),
    }


def _report_summary(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    if not meta:
        return None
    report = meta.get("report", {})
    ev = report.get("evaluation") or {}
    return {
        "kind": report.get("kind", "ops"),
        "samples": report.get("samples"),
        "networks": report.get("networks"),
        "op_types": [
            {"op": r["op"], "samples": r["samples"], "model": r["chosen"], **r["metrics"]}
            for r in report.get("op_types", [])
        ],
        "composition": report.get("composition"),
        "end_to_end": ev.get("scores", {}).get("leti"),
        "protocol": ev.get("protocol"),
    }
