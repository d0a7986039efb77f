"""The ``gpu`` device: LiteRT's GPU accelerator (ML Drift over WebGPU -> Vulkan, Metal or
D3D12) on this machine's graphics adapter, timed in a worker process (:mod:`.gpu_worker`).

Honest timing: every run uses ``benchmark_mode`` (run() waits for the GPU), and the device
proves it before recording anything: a chain of 8 heavy convolutions must take clearly longer
than one (measured on an H100: 0.39 vs 0.13 ms in that mode, 0.14 vs 0.07 ms without it).
Compile and first-run times (shader compilation) are kept apart from steady-state latency,
and every measurement stores what the delegate reported: the ops it refused, how many ran
on the GPU and the CPU, whether the model was fully accelerated.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import LetiError
from ..timing import Timing, summarize
from .base import DeviceProfile, gpu_profile_id
from .webgpu_log import Adapter, adapter, delegation, unavailable_reason

# The self-check: chains of N identical 3x3 convolutions (1x128x128x64 -> 64, 1.2 GFLOP each).
CHAIN = dict(res=128, channels=64)
CHAIN_RATIO = 2.5  # t(8 convs) / t(1 conv) must reach this to believe run() waits for the GPU
INSTALL_HINT = (
    "on Linux install the Vulkan loader (Debian: libvulkan1) and the GPU vendor's Vulkan driver "
    "(VK_DRIVER_FILES may point at its ICD json); see 'leti devices'"
)


class GpuUnavailable(LetiError):
    """No GPU adapter can be used on this machine."""


class WorkerError(LetiError):
    """The GPU runtime failed on one model (or died); the device itself may still work."""


@dataclass
class Probe:
    """Whether the GPU can be used here, and which adapter it is."""

    adapter: Adapter | None
    reason: str | None
    runtime_version: str

    def row(self) -> dict[str, str]:
        if self.adapter is None:
            return {"device": "gpu", "state": "unavailable",
                    "description": f"{self.reason}"}  # fmt: skip
        a = self.adapter
        kind = "software renderer, not a GPU's speed" if a.software else a.type
        return {"device": "gpu", "state": "ready",
                "description": f"{a.name} ({a.vendor}, {a.backend}, {kind}; LiteRT "
                               f"{self.runtime_version})"}  # fmt: skip


class Worker:
    """One gpu_worker process and its protocol; restarted after a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def request(self, req: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                worker_command(), env=worker_env(),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, bufsize=1,
            )  # fmt: skip
        assert self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = _readline(self.proc, timeout)
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self.proc.poll()
            self.close()
            raise WorkerError(f"the GPU runtime process died (exit status {code})",
                              "a driver fault; the next model gets a fresh process")  # fmt: skip
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
        self.proc = None


def worker_command() -> list[str]:
    """The GPU runtime's process: ours, or the program LETI_GPU_WORKER names (the tests' fake
    runtime, for machines without a GPU)."""
    override = os.environ.get("LETI_GPU_WORKER")
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "leti.estimator.devices.gpu_worker"]


def worker_env() -> dict[str, str]:
    """The worker's environment. LETI_VULKAN_ROOT names a folder where a Vulkan loader and a
    driver were unpacked from packages rather than installed (CI does this with Mesa's
    software driver); only the GPU runtime's process then sees them."""
    env = dict(os.environ)
    root = env.get("LETI_VULKAN_ROOT")
    if root:
        libs = [str(p) for p in Path(root).glob("usr/lib/*-linux-gnu") if p.is_dir()]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [env.get("LD_LIBRARY_PATH", "")])
        icds = sorted(Path(root).glob("usr/share/vulkan/icd.d/*.json"))
        if icds and not env.get("VK_DRIVER_FILES"):
            env["VK_DRIVER_FILES"] = os.pathsep.join(str(p) for p in icds)
    return env


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    if not sel.select(timeout):
        proc.kill()
        raise WorkerError(f"the GPU runtime did not answer within {timeout:.0f} s")
    return proc.stdout.readline()  # type: ignore[union-attr]


def _litert_version() -> str:
    from .host import litert_version

    return litert_version()


def chain_model(n: int) -> bytes:
    """The self-check's model: ``n`` 3x3 convolutions in a row."""
    from ..generate.layers import Net

    net = Net(seed=n)
    x = net.input([1, CHAIN["res"], CHAIN["res"], CHAIN["channels"]])
    for _ in range(n):
        x = net.conv(x, CHAIN["channels"], 3)
    net.output(x)
    return net.build(description=f"leti-view GPU self-check: chain of {n} convolutions")


def _run(worker: Worker, data: bytes, precision: str, runs: int | None = None,
         policy: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as f:
        f.write(data)
    try:
        return worker.request({"cmd": "measure", "path": f.name, "precision": precision,
                               "runs": runs, "policy": policy or {}})  # fmt: skip
    finally:
        Path(f.name).unlink(missing_ok=True)


@cache
def probe(precision: str = "fp16") -> Probe:
    """Start the runtime on a one-convolution model and read which adapter it selected (or
    why none); cached for the process, since it takes a second or more."""
    worker = Worker()
    try:
        reply = _run(worker, chain_model(1), precision, runs=2)
    except LetiError as exc:
        return Probe(None, f"the GPU runtime cannot start ({exc})", _litert_version())
    finally:
        worker.close()
    log = reply.get("log", "")
    found = adapter(log)
    if found is None or not reply.get("ok"):
        known = unavailable_reason(log)
        reason = known or f"{reply.get('error') or 'no GPU adapter reported'}; {INSTALL_HINT}"
        return Probe(None, reason, _litert_version())
    return Probe(found, None, _litert_version())


class GpuDevice:
    """Times models with LiteRT's GPU accelerator (GPU, with CPU fallback for refused ops)."""

    in_context = True  # a single op's cost is measured inside N copies of itself

    def __init__(self, precision: str = "fp16", **policy: Any) -> None:
        self.precision = precision  # a DeviceSpec's, checked where the device was named
        self.policy = policy
        self.worker = Worker()
        self._profile: DeviceProfile | None = None
        self.self_check: dict[str, float] | None = None

    @property
    def profile(self) -> DeviceProfile:
        if self._profile is None:
            p = probe(self.precision)
            if p.adapter is None:
                raise GpuUnavailable(f"no usable GPU: {p.reason}")
            a = p.adapter
            self._profile = DeviceProfile(
                id=gpu_profile_id(a.name, a.backend, self.precision),
                kind="gpu",
                delegate="gpu",
                threads=1,
                runtime="ai-edge-litert-gpu",
                runtime_version=p.runtime_version,
                fingerprint={
                    "adapter": a.name,
                    "vendor": a.vendor,
                    "backend": a.backend,
                    "adapter_type": a.type,
                    "software": a.software,
                    "driver": _driver(),
                    "precision": self.precision,
                    "timing": "benchmark_mode",
                },  # fmt: skip
            )
        return self._profile

    def check(self) -> None:
        """Refuse to record unless run() demonstrably waits for the GPU."""
        self.profile  # noqa: B018  (raises GpuUnavailable with the reason)
        if self.self_check is not None:
            return
        one = summarize(_samples(_run(self.worker, chain_model(1), self.precision, runs=7)))
        eight = summarize(_samples(_run(self.worker, chain_model(8), self.precision, runs=7)))
        ratio = eight.median_ms / max(one.median_ms, 1e-9)
        self.self_check = {"one_ms": one.median_ms, "eight_ms": eight.median_ms, "ratio": ratio}
        if ratio < CHAIN_RATIO:
            raise LetiError(
                f"GPU timings do not grow with the work (8 convolutions {eight.median_ms:.3f} ms, "
                f"1 convolution {one.median_ms:.3f} ms: x{ratio:.2f}, expected at least "
                f"x{CHAIN_RATIO}); run() does not wait for the GPU, so nothing is recorded",
                "update ai-edge-litert (its GpuOptions(benchmark_mode=True) makes run() wait)",
            )

    def measure(self, model: bytes, runs: int | None = None) -> Timing:
        reply = _run(self.worker, model, self.precision, runs, self.policy)
        log = reply.get("log", "")
        if not reply.get("ok"):
            reason = unavailable_reason(log) or reply.get("error", "unknown error")
            refused = delegation(log).refused
            extra = f" (the delegate refused {', '.join(refused)})" if refused else ""
            raise WorkerError(f"the GPU runtime cannot run this model: {reason}{extra}")
        report = delegation(log)
        t = summarize(
            _samples(reply),
            compile_ms=reply["compile_ms"],
            first_run_ms=reply["first_run_ms"],
            warmup_runs=reply["warmup_runs"],
            fully_accelerated=reply["fully_accelerated"],
            delegation=report.to_dict(),
            self_check=self.self_check,
        )
        return t

    def close(self) -> None:
        self.worker.close()


def _samples(reply: dict[str, Any]) -> list[float]:
    if not reply.get("ok"):
        raise WorkerError(f"the GPU runtime failed: {reply.get('error')}")
    return reply["samples_ms"]


def _driver() -> str:
    """The graphics driver's version where the platform tells it (NVIDIA, Mesa ICD)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
        if out.returncode == 0 and out.stdout.strip():
            return f"nvidia {out.stdout.strip().splitlines()[0]}"
    except (OSError, subprocess.SubprocessError):
        pass
    icd = os.environ.get("VK_DRIVER_FILES") or os.environ.get("VK_ICD_FILENAMES") or ""
    return Path(icd.split(os.pathsep)[0]).name if icd else "unknown"
