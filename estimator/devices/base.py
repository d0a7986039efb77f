"""What every device shares: its profile, the protocol a runner follows, and the one mapping
between what a user types (``--device host``, ``adb:SERIAL``, ``gpu``) and the profile id under
which measurements and estimators are stored.

Profile ids:
- ``host/<cpu>-<digest>/t<threads>``: this machine's CPU (LiteRT interpreter, XNNPACK);
- ``adb/<phone model>-<serial>/gpu`` or ``.../cpu-t<threads>``: a phone with benchmark_model;
- ``gpu/<adapter>/<backend>`` (``.../fp32`` when run at full precision): LiteRT's GPU
  accelerator on this machine's graphics adapter;
- ``phone/<phone>/gpu`` or ``.../cpu-<cores>`` (``-quant`` for quantised models): a phone known
  from published measurements (:mod:`.published`), imported with ``leti db import``; it cannot
  measure, only be estimated.
"""

from __future__ import annotations

import hashlib
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import LetiError
from ..timing import Timing

DEVICE_HELP = (
    "'host' (this machine's CPU), 'gpu' (this machine's GPU through LiteRT), 'adb:SERIAL' "
    "(a phone; see 'leti devices') or a stored profile id such as 'phone/pixel4/gpu'"
)
PROFILE_KINDS = ("host", "gpu", "adb", "phone")


@dataclass
class DeviceProfile:
    """Who measured: the key under which measurements and estimators are stored."""

    id: str
    kind: str  # host | gpu | adb | phone
    delegate: str  # xnnpack | gpu | cpu
    threads: int
    runtime: str
    runtime_version: str
    fingerprint: dict[str, Any] = field(default_factory=dict)


class NoProfile(LetiError):
    """No measured profile matches the device asked for."""


class Device(Protocol):
    """What a build, a measurement and an evaluation need from a device."""

    @property
    def profile(self) -> DeviceProfile: ...

    def check(self) -> None: ...

    def measure(self, model: bytes, runs: int | None = None) -> Timing: ...


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed ``--device`` argument with the options that make a distinct profile."""

    kind: str  # host | gpu | adb | phone | id (a full profile id)
    serial: str = ""
    threads: int = 1
    delegate: str = "gpu"  # phones: gpu | cpu
    precision: str = "fp16"  # gpu: fp16 | fp32
    text: str = ""

    @classmethod
    def parse(
        cls, text: str, threads: int = 1, delegate: str = "gpu", precision: str = "fp16"
    ) -> DeviceSpec:
        if threads < 1:
            raise LetiError(f"--threads must be at least 1, got {threads}")
        if precision not in ("fp16", "fp32"):
            raise LetiError(f"unknown precision {precision!r}", "use --precision fp16 or fp32")
        if delegate not in ("gpu", "cpu"):
            raise LetiError(f"unknown delegate {delegate!r}", "use --delegate gpu or cpu")
        if text in ("host", "gpu"):
            return cls(text, "", threads, delegate, precision, text)
        if text.startswith("adb:") and len(text) > 4:
            return cls("adb", text[4:], threads, delegate, precision, text)
        if text.split("/", 1)[0] in PROFILE_KINDS and text.count("/") >= 2:
            return cls("id", "", threads, delegate, precision, text)
        raise LetiError(f"unknown device {text!r}", f"use {DEVICE_HELP}")


def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_profile_id(threads: int) -> str:
    cpu = cpu_model()
    return f"host/{slug(cpu)}-{hashlib.sha1(cpu.encode()).hexdigest()[:6]}/t{threads}"


def adb_profile_id(model: str, serial: str, delegate: str, threads: int) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", model or "phone").strip("-")
    suffix = "gpu" if delegate == "gpu" else f"cpu-t{threads}"
    return f"adb/{name}-{serial}/{suffix}"


def gpu_profile_id(adapter: str, backend: str, precision: str) -> str:
    tail = "" if precision == "fp16" else f"/{precision}"
    return f"gpu/{slug(adapter)}/{slug(backend)}{tail}"


def phone_profile_id(phone: str, config: str, precision: str = "float") -> str:
    """A published phone's profile: ``config`` is ``gpu`` or a CPU core set (``1large``)."""
    tail = "gpu" if config == "gpu" else f"cpu-{config}"
    return f"phone/{phone}/{tail}" + ("-quant" if precision == "quant" else "")


def profile_id(spec: DeviceSpec, known: Iterable[str] = ()) -> str:
    """The profile id ``spec`` means, without touching a phone or a GPU: the host's is
    computed; a phone's or a GPU's is found among the profiles already measured (``known``)."""
    if spec.kind == "id":
        return spec.text
    if spec.kind == "host":
        return host_profile_id(spec.threads)
    known = sorted(known)
    if spec.kind == "adb":
        suffix = "gpu" if spec.delegate == "gpu" else f"cpu-t{spec.threads}"
        found = [k for k in known if re.fullmatch(rf"adb/.*-{re.escape(spec.serial)}/{suffix}", k)]
        what = f"phone {spec.serial} ({suffix})"
    else:
        tail = "" if spec.precision == "fp16" else "/" + spec.precision
        found = [k for k in known if re.fullmatch(rf"gpu/[^/]+/[^/]+{re.escape(tail)}", k)]
        what = f"the GPU ({spec.precision})"
    if len(found) > 1:
        raise LetiError(
            f"several profiles match {what}: {', '.join(found)}", "pass the full profile id"
        )
    if not found:
        raise NoProfile(
            f"no measurements for {what}", f"run 'leti db build {cli_args(spec)}' first"
        )
    return found[0]


def cli_args(spec: DeviceSpec) -> str:
    """The ``--device`` arguments that name ``spec`` again, for hints in messages."""
    if spec.kind == "id":
        return cli_args_for_id(spec.text)
    out = f"--device {spec.text}"
    if spec.kind == "host" and spec.threads != 1:
        out += f" --threads {spec.threads}"
    if spec.kind == "adb" and spec.delegate != "gpu":
        out += f" --delegate {spec.delegate}" + (
            f" --threads {spec.threads}" if spec.threads != 1 else ""
        )
    if spec.kind == "gpu" and spec.precision != "fp16":
        out += f" --precision {spec.precision}"
    return out


def cli_args_for_id(device_id: str) -> str:
    """The ``--device`` arguments that measure into the profile ``device_id``."""
    parts = device_id.split("/")
    if parts[0] == "host" and len(parts) == 3:
        threads = parts[2].lstrip("t")
        return "--device host" + ("" if threads == "1" else f" --threads {threads}")
    if parts[0] == "adb" and len(parts) == 3:
        serial = parts[1].rsplit("-", 1)[-1]
        if parts[2] == "gpu":
            return f"--device adb:{serial}"
        threads = parts[2].rsplit("-t", 1)[-1]
        return f"--device adb:{serial} --delegate cpu" + (
            "" if threads == "1" else f" --threads {threads}"
        )
    if parts[0] == "gpu":
        return "--device gpu" + (f" --precision {parts[3]}" if len(parts) > 3 else "")
    return f"--device {device_id}"


def is_published(device_id: str) -> bool:
    """A profile of published measurements: it is imported, never measured here."""
    return device_id.startswith("phone/")
