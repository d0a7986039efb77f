"""``leti db import FOLDER``: a published dataset's measurements into the database, each row
with its provenance, in one transaction; importing it again adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db import Database
from ..devices.published import KERNELS_FILE, MODELS_FILE, Dataset, read_dataset


@dataclass
class Imported:
    dataset: Dataset
    added: dict[str, int]

    def summary(self) -> str:
        a = self.added
        return (
            f"{len(self.dataset.profiles)} phone profiles ({a['devices']} new), "
            f"{a['kernel_times']} kernel rows and {a['model_times']} model rows added "
            f"({len(self.dataset.kernels) - a['kernel_times']} and "
            f"{len(self.dataset.models) - a['model_times']} already there)"
        )


def imported_phones(db: Database) -> list[dict[str, str]]:
    """``leti devices`` rows for the phone profiles imported from published measurements."""
    counts = db.time_counts()
    rows = []
    for dev in db.device_ids():
        if not dev.startswith("phone/"):
            continue
        fp = (db.device(dev) or {}).get("fingerprint") or {}
        n = counts.get(dev, {"kernels": 0, "models": 0})
        what = (
            f"{n['models']} models, {n['kernels']} kernels"
            if n["kernels"]
            else f"{n['models']} models end to end"
        )
        cores = f", cores {fp['cores']}" if fp.get("cores") else ""
        src = (fp.get("provenance") or {}).get("dataset", "published")
        rows.append(
            {
                "device": dev,
                "state": "imported",
                "description": f"{fp.get('phone', '?')} ({fp.get('soc', '?')}, "
                f"{fp.get('gpu', '?')}{cores}), {fp.get('runtime', '')}: "
                f"{what} ({src})",
            }
        )
    return rows


def import_dataset(db: Database, folder: Path) -> Imported:
    """Read and check the whole folder first, then store it (nothing on a malformed row)."""
    data = read_dataset(folder)
    kernels: list[dict[str, Any]] = [
        {
            "device_id": r.device_id,
            "model": r.model,
            "position": r.position,
            "operation": r.operation,
            "kernel": r.kernel,
            "features": r.features,
            "time_us": r.time_us,
            "source": data.provenance(KERNELS_FILE, r.line)["dataset"],
            "provenance": data.provenance(KERNELS_FILE, r.line),
        }
        for r in data.kernels
    ]
    models: list[dict[str, Any]] = [
        {
            "device_id": r.device_id,
            "model": r.model,
            "mean_us": r.mean_us,
            "std_us": r.std_us,
            "flops": r.flops,
            "size_bytes": r.size_bytes,
            "source": data.provenance(MODELS_FILE, r.line)["dataset"],
            "provenance": data.provenance(MODELS_FILE, r.line),
        }
        for r in data.models
    ]
    return Imported(data, db.add_times(data.profiles, kernels, models))
