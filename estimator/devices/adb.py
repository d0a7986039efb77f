"""Android phones over ``adb``, timed with TFLite's ``benchmark_model`` (GPU delegate or CPU).

All device traffic goes through :meth:`AdbDevice._adb`, one subprocess per command, so the
transport can be replaced by a fake ``adb`` program in tests while the command lines, the
parsing and the orchestration stay real.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import LetiError
from ..timing import Timing
from . import benchmark_output
from .base import DeviceProfile, adb_profile_id

REMOTE_DIR = "/data/local/tmp"
REMOTE_BINARY = f"{REMOTE_DIR}/benchmark_model"
BINARY_HINT = (
    "download TFLite's prebuilt android_aarch64_benchmark_model (a nightly) or build "
    "//tensorflow/lite/tools/benchmark:benchmark_model with bazel for android_arm64, then "
    "pass --benchmark-binary PATH or set LETI_BENCHMARK_MODEL"
)


class DeviceLost(LetiError):
    """The phone went away (unplugged, rebooted, unauthorised) in the middle of work."""


@dataclass
class AdbEntry:
    serial: str
    state: str
    description: str


def adb_path() -> str | None:
    return shutil.which(os.environ.get("LETI_ADB", "adb"))


def list_adb_devices(timeout: float = 10) -> list[AdbEntry]:
    """Every entry of ``adb devices -l``; raises LetiError when adb itself is missing."""
    adb = adb_path()
    if adb is None:
        raise LetiError("adb is not installed", "install Android platform-tools to use phones")
    try:
        proc = subprocess.run(
            [adb, "devices", "-l"], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise LetiError("'adb devices' did not answer in time", "run 'adb kill-server'") from None
    entries = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith(("List of devices", "*")):
            continue
        parts = line.split()
        if len(parts) >= 2:
            entries.append(AdbEntry(parts[0], parts[1], " ".join(parts[2:])))
    return entries


def find_binary(explicit: str | None = None) -> Path:
    candidate = explicit or os.environ.get("LETI_BENCHMARK_MODEL")
    if not candidate:
        raise LetiError("no benchmark_model binary is configured", BINARY_HINT)
    path = Path(candidate).expanduser()
    if not path.is_file():
        raise LetiError(f"benchmark_model binary not found at {path}", BINARY_HINT)
    return path


class AdbDevice:
    """One phone. ``delegate`` is ``gpu`` (default) or ``cpu``."""

    def __init__(
        self,
        serial: str,
        delegate: str = "gpu",
        threads: int = 1,
        binary: str | None = None,
        warmup_runs: int = 10,
        runs: int = 50,
        cooldown_s: float = 1.0,
        cpu_mask: str = "f0",
        timeout_s: float = 300,
    ) -> None:
        if delegate not in ("gpu", "cpu"):
            raise LetiError(f"unknown delegate {delegate!r}", "use --delegate gpu or cpu")
        self.serial = serial
        self.delegate = delegate
        self.threads = threads
        self.binary = binary
        self.warmup_runs, self.runs = warmup_runs, runs
        self.cooldown_s = cooldown_s
        self.cpu_mask = cpu_mask
        self.timeout_s = timeout_s
        self._prepared = False
        self._profile: DeviceProfile | None = None

    # --- transport -------------------------------------------------------------------------

    def _adb(self, *args: str, timeout: float | None = None) -> str:
        adb = adb_path()
        if adb is None:
            raise LetiError("adb is not installed", "install Android platform-tools")
        cmd = [adb, "-s", self.serial, *args]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout or self.timeout_s
            )
        except subprocess.TimeoutExpired:
            raise DeviceLost(
                f"adb:{self.serial} did not answer within {timeout or self.timeout_s:.0f} s",
                "check the cable and that the phone is unlocked; rerun to resume",
            ) from None
        out = proc.stdout + proc.stderr
        lost = re.search(r"device '?[^']*'? not found|device offline|no devices|unauthorized", out)
        if lost:
            raise DeviceLost(
                f"adb:{self.serial} is not reachable ({lost.group(0)})",
                "reconnect the phone and accept USB debugging; rerun to resume",
            )
        if proc.returncode != 0:
            raise LetiError(f"adb {' '.join(args[:2])} failed: {out.strip()[:300]}")
        return proc.stdout

    def _shell(self, command: str, timeout: float | None = None) -> str:
        return self._adb("shell", command, timeout=timeout)

    # --- set-up ------------------------------------------------------------------------------

    def check(self) -> None:
        state = self._adb("get-state", timeout=15).strip()
        if state != "device":
            raise DeviceLost(f"adb:{self.serial} is in state {state!r}, not 'device'")

    def prepare(self) -> None:
        """Check the phone, push benchmark_model once per session."""
        if self._prepared:
            return
        binary = find_binary(self.binary)
        self.check()
        self._adb("push", str(binary), REMOTE_BINARY)
        self._shell(f"chmod +x {REMOTE_BINARY}")
        self._prepared = True

    @property
    def profile(self) -> DeviceProfile:
        if self._profile is None:
            fp = self.fingerprint()
            self._profile = DeviceProfile(
                id=adb_profile_id(fp.get("model", ""), self.serial, self.delegate, self.threads),
                kind="adb",
                delegate=self.delegate,
                threads=self.threads,
                runtime="benchmark_model",
                runtime_version=fp.get("benchmark_model", "unknown"),
                fingerprint=fp,
            )
        return self._profile

    def fingerprint(self) -> dict[str, str]:
        props = {
            "model": "ro.product.model",
            "manufacturer": "ro.product.manufacturer",
            "soc": "ro.board.platform",
            "android": "ro.build.version.release",
            "sdk": "ro.build.version.sdk",
            "build": "ro.build.fingerprint",
        }
        fp = {k: self._shell(f"getprop {v}", timeout=15).strip() for k, v in props.items()}
        gles = self._shell("dumpsys SurfaceFlinger | grep GLES", timeout=30).strip()
        fp["gpu"] = gles.replace("GLES:", "").strip()
        fp["serial"] = self.serial
        return fp

    # --- measuring ---------------------------------------------------------------------------

    def command_line(self, remote_model: str, runs: int, profile: bool = False) -> str:
        flags = [
            f"--graph={remote_model}",
            f"--num_threads={self.threads}",
            f"--warmup_runs={self.warmup_runs}",
            f"--num_runs={runs}",
            "--min_secs=0",
            "--warmup_min_secs=0",
        ]
        if self.delegate == "gpu":
            flags.append("--use_gpu=true")
        if profile:
            flags.append("--enable_op_profiling=true")
        return " ".join(["taskset", self.cpu_mask, REMOTE_BINARY, *flags])

    def run_raw(self, model: bytes, runs: int | None = None, profile: bool = False) -> str:
        self.prepare()
        digest = hashlib.sha256(model).hexdigest()[:16]
        remote = f"{REMOTE_DIR}/leti_{digest}.tflite"
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "m.tflite"
            local.write_bytes(model)
            self._adb("push", str(local), remote)
        try:
            return self._shell(self.command_line(remote, runs or self.runs, profile))
        finally:
            try:
                self._shell(f"rm -f {shlex.quote(remote)}", timeout=30)
            except LetiError:
                pass

    def profile_kernels(self, model: bytes, runs: int | None = None
                        ) -> tuple[list[tuple[str, float]], Timing]:  # fmt: skip
        """The GPU delegate's kernels as they ran inside the model, (label, µs) in run order,
        from an op-profiling run; and the model end to end from a plain run of its own
        (profiling perturbs the timings)."""
        if self.delegate != "gpu":
            raise LetiError("kernel profiles come from the GPU delegate", "use --delegate gpu")
        kernels = benchmark_output.parse(self.run_raw(model, runs, profile=True)).gpu_kernels()
        if not kernels:
            raise benchmark_output.BenchmarkOutputError(
                "benchmark_model's op profile lists no GPU kernel: this build profiles the GPU "
                "delegate as one node",
                "use a benchmark_model whose OpenCL delegate profiles each kernel (a current "
                "nightly)",
            )
        return kernels, self.measure(model, runs)

    def measure(self, model: bytes, runs: int | None = None) -> Timing:
        text = self.run_raw(model, runs)
        result = benchmark_output.parse(text)
        if self.cooldown_s:
            time.sleep(self.cooldown_s)  # let the SoC cool so the next op is not throttled
        facts = result.facts()
        return Timing(
            median_ms=result.latency_ms,
            p10_ms=None,  # benchmark_model prints no such percentile; p5/p95 are in extra
            p90_ms=None,
            runs=result.runs,
            mean_ms=result.avg_us / 1000,
            extra=facts,
        )
