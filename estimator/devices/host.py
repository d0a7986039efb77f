"""The ``host`` device: this machine's CPU through the LiteRT interpreter with XNNPACK.

It works anywhere the package installs, so every user can calibrate something at once; its
profile records the CPU, thread count and runtime version because timings only transfer
between identical set-ups.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

from ..errors import LetiError
from ..logs import native_stderr
from ..timing import Burst, Timing, is_stable, summarize
from .base import DeviceProfile, cpu_model, host_profile_id


def litert_version() -> str:
    try:
        from importlib.metadata import version

        return version("ai-edge-litert")
    except Exception:
        return "unknown"


def fill_inputs(interp: Any) -> list[tuple[int, Any]]:
    """Set every input of ``interp`` (seeded normals for floats, zeros for bools, ones for
    integers: an op cut out of a model may read an integer input as a shape or an index) and
    return them as (tensor index, value), for callers that set them again."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = []
    for d in interp.get_input_details():
        shape, dtype = d["shape"], d["dtype"]
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            value = np.zeros(shape, dtype)
        else:
            value = np.ones(shape, dtype)
        interp.set_tensor(d["index"], value)
        out.append((d["index"], value))
    return out


class HostDevice:
    """Times models in-process with ``ai_edge_litert.interpreter.Interpreter``."""

    def __init__(
        self,
        threads: int = 1,
        min_runs: int = 15,
        max_runs: int = 400,
        min_seconds: float = 0.1,
        max_seconds: float = 1.5,
        warmup_seconds: float = 0.02,
    ) -> None:
        if threads < 1:
            raise LetiError(f"--threads must be at least 1, got {threads}")
        self.threads = threads
        self.min_runs, self.max_runs = min_runs, max_runs
        self.min_seconds, self.max_seconds = min_seconds, max_seconds
        self.warmup_seconds = warmup_seconds
        cpu = cpu_model()
        fingerprint = {
            "cpu": cpu,
            "machine": platform.machine(),
            "system": platform.system(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "kernels": "xnnpack",
        }
        self.profile = DeviceProfile(
            id=host_profile_id(threads),
            kind="host",
            delegate="xnnpack",
            threads=threads,
            runtime="ai-edge-litert",
            runtime_version=litert_version(),
            fingerprint=fingerprint,
        )

    def check(self) -> None:
        """The host is always reachable; fail early if the interpreter is not importable."""
        try:
            from ai_edge_litert.interpreter import Interpreter  # noqa: F401
        except ImportError as exc:
            raise LetiError(
                f"the LiteRT interpreter is not importable ({exc})",
                "pip install ai-edge-litert",
            ) from None

    def open(self, model: bytes) -> HostRunner:
        """The model on a fresh interpreter, inputs filled, run once and warmed up."""
        from ai_edge_litert.interpreter import Interpreter

        try:
            with native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
                interp = Interpreter(model_content=model, num_threads=self.threads)
                interp.allocate_tensors()
        except Exception as exc:
            msg = str(exc).strip().splitlines()
            raise LetiError(
                f"the interpreter cannot run this model: {msg[-1] if msg else exc}"
            ) from None
        fill_inputs(interp)
        try:  # an op cut out of a model may need input values we cannot know (a shape)
            interp.invoke()
        except RuntimeError as exc:
            msg = str(exc).strip().splitlines()
            raise LetiError(
                f"the interpreter failed to run this model: {msg[-1] if msg else exc}"
            ) from None
        runner = HostRunner(interp)
        runner.warm_up(self.warmup_seconds)
        return runner

    def measure(self, model: bytes, runs: int | None = None) -> Timing:
        """Median-stable timing of one model; ``runs`` forces an exact run count."""
        runner = self.open(model)
        invoke = runner.invoke
        clock = time.perf_counter_ns
        samples: list[float] = []
        start = clock()
        while True:
            t0 = clock()
            invoke()
            samples.append((clock() - t0) / 1e6)
            n = len(samples)
            if runs is not None:
                if n >= runs:
                    break
                continue
            elapsed = (clock() - start) / 1e9
            if n >= self.max_runs or (elapsed > self.max_seconds and n >= 5):
                break
            if n >= self.min_runs and elapsed >= self.min_seconds and is_stable(samples):
                break
        return summarize(samples, warmup_runs=runner.warm)


class HostRunner:
    """One model on its own interpreter, kept open so that it can be timed in short bursts
    between other models' (:class:`..base.Interleaving`)."""

    def __init__(self, interp: Any) -> None:
        self.interp = interp
        self.invoke = interp.invoke
        self.warm = 1  # runs before the first timed one (the check run counts)

    def warm_up(self, seconds: float) -> None:
        clock = time.perf_counter_ns
        start = clock()
        while self.warm < 2 or (clock() - start) < seconds * 1e9:
            self.invoke()
            self.warm += 1

    def burst(self, burst: Burst) -> Timing:
        invoke, clock = self.invoke, time.perf_counter_ns
        invoke()  # the models timed in between left the caches to themselves
        samples: list[float] = []
        start = clock()
        while True:
            t0 = clock()
            invoke()
            t1 = clock()
            samples.append((t1 - t0) / 1e6)
            elapsed = (t1 - start) / 1e9
            if (len(samples) >= burst.min_runs and elapsed >= burst.min_s) or (
                elapsed >= burst.max_s or len(samples) >= burst.max_runs
            ):
                return summarize(samples)

    def close(self) -> None:
        self.interp = self.invoke = None
