"""Phones known from published measurements: the mobile-ml-benchmark dataset.

Z. Li, M. Paolieri, L. Golubchik, "A Benchmark for ML Inference Latency on Mobile Devices",
EdgeSys '24; repository ``qed-usc/mobile-ml-benchmark`` (MIT License, (c) 2024 Zhuojin Li).
Its ``dataset/`` folder (commit 40ba833) times real CNNs of the imgclsmob zoo on six phones
with TFLite 2.10: ``tflite_cnn_ops_gpu.csv`` has one row per GPU kernel as the delegate ran it
inside the whole model (µs, with the delegate's own kernel label), ``tflite_cnn_e2e.csv`` one
row per model, end to end, on the GPU and on several CPU core sets (mean and std, µs).

:func:`read_dataset` reads and checks both files completely before anything is stored: a
malformed row stops the import with the file, the line and what is wrong. Nothing here
touches a database (``services.published`` stores what this returns).

Profile ids: ``phone/<phone>/gpu`` (the float GPU column), ``phone/<phone>/cpu-<cores>``
(e.g. ``cpu-1large``), and ``…-quant`` for the dataset's quantised-model columns.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LetiError
from .base import DeviceProfile, phone_profile_id

DATASET = "mobile-ml-benchmark"
UPSTREAM = "github.com/qed-usc/mobile-ml-benchmark"
COMMIT = "40ba833"
LICENCE = "MIT License, (c) 2024 Zhuojin Li"
CITATION = (
    'Z. Li, M. Paolieri, L. Golubchik, "A Benchmark for ML Inference Latency on Mobile '
    "Devices\", EdgeSys '24"
)
KERNELS_FILE = "tflite_cnn_ops_gpu.csv"
MODELS_FILE = "tflite_cnn_e2e.csv"
RUNTIME = "TFLite 2.10 GPU delegate"
PRECISION = "as published (fp16 per the dataset README; the collection script says float32)"
KERNEL_COLUMNS = ("model", "operation", "feature")
MODEL_COLUMNS = ("model", "FLOPS", "size")
FEATURE_KEYS = (
    "Input_shape",
    "Input_channel",
    "Output_shape",
    "Stride",
    "Kernel",
    "Filter",
    "Group",
    "FLOPS",
)


@dataclass(frozen=True)
class Phone:
    id: str
    name: str
    soc: str
    gpu: str
    os: str


# From the upstream collection script.
PHONES = {
    p.id: p
    for p in (
        Phone("pixel4", "Google Pixel 4", "Snapdragon 855", "Adreno 640", "Android"),
        Phone("s10", "Samsung Galaxy S10", "Exynos 9820", "Mali-G76 MP12", "Android"),
        Phone("mi8se", "Xiaomi Mi 8 SE", "Snapdragon 710", "Adreno 616", "Android"),
        Phone("a03s", "Samsung Galaxy A03s", "Helio P35", "PowerVR GE8320", "Android"),
        Phone("iphone7", "Apple iPhone 7", "A10 Fusion", "Apple/PowerVR GT7600 Plus", "iOS"),
        Phone("iphonexs", "Apple iPhone XS", "A12 Bionic", "Apple GPU (4-core)", "iOS"),
    )
}


@dataclass(frozen=True)
class KernelRow:
    device_id: str
    model: str
    position: int  # the kernel's place among its model's rows
    operation: str
    kernel: str  # the delegate's label
    features: dict[str, Any]  # the row's feature dict, values as published
    time_us: float
    line: int


@dataclass(frozen=True)
class ModelRow:
    device_id: str
    model: str
    mean_us: float
    std_us: float | None
    flops: float
    size_bytes: float
    line: int


@dataclass
class Dataset:
    folder: Path
    sha256: dict[str, str]  # file name -> sha256 of its bytes
    kernels: list[KernelRow] = field(default_factory=list)
    models: list[ModelRow] = field(default_factory=list)
    profiles: list[DeviceProfile] = field(default_factory=list)

    def model_names(self) -> list[str]:
        return list(dict.fromkeys([r.model for r in self.models] + [r.model for r in self.kernels]))

    def provenance(self, file: str, line: int) -> dict[str, Any]:
        return {
            "dataset": DATASET,
            "upstream": UPSTREAM,
            "commit": COMMIT,
            "file": file,
            "sha256": self.sha256[file],
            "line": line,
        }


def is_dataset(folder: Path) -> bool:
    """A folder with both of the dataset's files (the subset shipped here or upstream's)."""
    return folder.is_dir() and any((folder / f).is_file() for f in (KERNELS_FILE, MODELS_FILE))


def read_dataset(folder: Path, known_model: Callable[[str], bool] | None = None) -> Dataset:
    """Both files of ``folder``, every row checked (see the module docstring)."""
    if not folder.is_dir():
        raise LetiError(f"{folder}: no such folder")
    missing = [f for f in (KERNELS_FILE, MODELS_FILE) if not (folder / f).is_file()]
    if missing:
        raise LetiError(
            f"{folder}: not a {DATASET} folder ({' and '.join(missing)} missing)",
            f"pass the folder that holds {KERNELS_FILE} and {MODELS_FILE}",
        )
    if known_model is None:
        from ..zoo import known as known_model
    data = Dataset(folder, {f: _sha256(folder / f) for f in (KERNELS_FILE, MODELS_FILE)})
    profiles: dict[str, DeviceProfile] = {}
    kernel_phones = _read_kernels(folder / KERNELS_FILE, data, known_model, profiles)
    _read_models(folder / MODELS_FILE, data, known_model, profiles, kernel_phones)
    data.profiles = [profiles[k] for k in sorted(profiles)]
    return data


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Rows:
    """A CSV file's rows with their line numbers, its header checked first."""

    def __init__(self, path: Path, first: tuple[str, ...], pattern: str, parts: int) -> None:
        self.path = path
        self.file = path.open(newline="", encoding="utf-8")
        self.reader = csv.reader(self.file)
        header = next(self.reader, None)
        if header is None:
            self.fail(1, "the file is empty")
        self.header: list[str] = header  # type: ignore[assignment]
        if tuple(self.header[: len(first)]) != first:
            self.fail(
                1,
                f"header starts {', '.join(self.header[: len(first)])!r}, not "
                f"{', '.join(first)!r}: not this dataset's {path.name}",
            )
        for col in self.header[len(first) :]:
            if len(col.split("|")) != parts or col.split("|")[0] not in PHONES:
                self.fail(1, f"column {col!r} is not {pattern} (phones: {', '.join(PHONES)})")

    def fail(self, line: int, what: str) -> None:
        self.file.close()
        raise LetiError(f"{self.path}: line {line}: {what}", "nothing was imported")

    def __iter__(self):
        try:
            for values in self.reader:
                line = self.reader.line_num
                if not values:
                    continue
                if len(values) != len(self.header):
                    self.fail(line, f"{len(values)} values for {len(self.header)} columns")
                yield line, dict(zip(self.header, values, strict=True))
        finally:
            self.file.close()

    def number(self, line: int, column: str, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            self.fail(line, f"column {column}: {text!r} is not a number")
        if not math.isfinite(value) or value < 0:
            self.fail(line, f"column {column}: {text!r} is not a time")
        return value

    def model(self, line: int, name: str, known: Callable[[str], bool]) -> str:
        if not known(name):
            self.fail(line, f"model {name!r} is not a model of the imgclsmob zoo (tf2cv)")
        return name


def _read_kernels(
    path: Path, data: Dataset, known: Callable[[str], bool], profiles: dict[str, DeviceProfile]
) -> set[str]:
    rows = _Rows(path, KERNEL_COLUMNS, "'{phone}|gpu|float' or '{phone}|gpu|kernel'", 3)
    phones = list(dict.fromkeys(c.split("|")[0] for c in rows.header[3:]))
    for p in phones:
        for col in (f"{p}|gpu|float", f"{p}|gpu|kernel"):
            if col not in rows.header:
                rows.fail(1, f"column {col!r} is missing")
    positions: dict[str, int] = {}
    seen = dict.fromkeys(phones, 0)
    for line, r in rows:
        model = rows.model(line, r["model"], known)
        feature = _feature(rows, line, r["feature"])
        pos = positions.get(model, 0)
        positions[model] = pos + 1
        for p in phones:
            text = r[f"{p}|gpu|float"].strip()
            label = r[f"{p}|gpu|kernel"].strip()
            if not text and not label:
                continue  # this phone did not run this model
            if not label:
                rows.fail(line, f"column {p}|gpu|kernel is empty")
            data.kernels.append(
                KernelRow(
                    phone_profile_id(p, "gpu"),
                    model,
                    pos,
                    r["operation"].strip(),
                    label,
                    feature,
                    rows.number(line, f"{p}|gpu|float", text),
                    line,
                )
            )
            seen[p] += 1
    for p, n in seen.items():
        if not n:
            rows.fail(1, f"phone {p} has a column but no measurement in any row")
        profiles.setdefault(phone_profile_id(p, "gpu"), _profile(p, "gpu", "float"))
    return set(phones)


def _feature(rows: _Rows, line: int, text: str) -> dict[str, Any]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, dict):
        rows.fail(line, f"feature {text[:60]!r} is not a dict literal")
    missing = [k for k in FEATURE_KEYS if k not in value]
    if missing:
        rows.fail(line, f"feature lacks {', '.join(missing)}")
    return value


def _read_models(
    path: Path,
    data: Dataset,
    known: Callable[[str], bool],
    profiles: dict[str, DeviceProfile],
    kernel_phones: set[str],
) -> None:
    rows = _Rows(path, MODEL_COLUMNS, "'{phone}|{config}|{float|quant}|{mean|std}'", 4)
    columns: dict[tuple[str, str, str], dict[str, str]] = {}
    for col in rows.header[3:]:
        phone, config, precision, stat = col.split("|")
        if precision not in ("float", "quant") or stat not in ("mean", "std"):
            rows.fail(
                1, f"column {col!r} is not '{{phone}}|{{config}}|{{float|quant}}|{{mean|std}}'"
            )
        columns.setdefault((phone, config, precision), {})[stat] = col
    for key, stats in columns.items():
        if "mean" not in stats:
            rows.fail(1, f"column {'|'.join(key)}|mean is missing")
    seen = dict.fromkeys(columns, 0)
    names: set[str] = set()
    for line, r in rows:
        model = rows.model(line, r["model"], known)
        if model in names:
            rows.fail(line, f"model {model!r} has a second row")
        names.add(model)
        flops = rows.number(line, "FLOPS", r["FLOPS"])
        size = rows.number(line, "size", r["size"])
        for (phone, config, precision), stats in columns.items():
            text = r[stats["mean"]].strip()
            if not text:
                continue
            std = r[stats["std"]].strip() if "std" in stats else ""
            device_id = phone_profile_id(phone, config, precision)
            data.models.append(
                ModelRow(
                    device_id,
                    model,
                    rows.number(line, stats["mean"], text),
                    rows.number(line, stats["std"], std) if std else None,
                    flops,
                    size,
                    line,
                )
            )
            seen[(phone, config, precision)] += 1
    for (phone, config, precision), n in seen.items():
        if not n:
            rows.fail(1, f"phone {phone} ({config}, {precision}) has columns but no measurement")
        profiles.setdefault(
            phone_profile_id(phone, config, precision), _profile(phone, config, precision)
        )


def cores(config: str) -> int:
    """Threads of a CPU core set such as ``1large2med``: 3."""
    import re

    return sum(int(n) for n in re.findall(r"(\d+)[a-z]+", config)) or 1


def _profile(phone: str, config: str, precision: str) -> DeviceProfile:
    p = PHONES[phone]
    gpu = config == "gpu"
    return DeviceProfile(
        id=phone_profile_id(phone, config, precision),
        kind="phone",
        delegate="gpu" if gpu else "cpu",
        threads=1 if gpu else cores(config),
        runtime="tflite",
        runtime_version="2.10",
        fingerprint={
            "phone": p.name,
            "soc": p.soc,
            "gpu": p.gpu,
            "os": p.os,
            "runtime": RUNTIME if gpu else "TFLite 2.10 CPU (XNNPACK)",
            "cores": None if gpu else config,
            "model_precision": "float" if precision == "float" else "quantised",
            "precision": PRECISION if gpu else ("float32" if precision == "float" else "int8"),
            "provenance": {
                "dataset": DATASET,
                "upstream": UPSTREAM,
                "commit": COMMIT,
                "licence": LICENCE,
                "citation": CITATION,
            },
        },
    )
