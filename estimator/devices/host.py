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
from ..timing import Timing, is_stable, summarize
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

    def measure(self, model: bytes, runs: int | None = None) -> Timing:
        """Median-stable timing of one model; ``runs`` forces an exact run count."""
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
        invoke = interp.invoke
        try:  # an op cut out of a model may need input values we cannot know (a shape)
            invoke()
        except RuntimeError as exc:
            msg = str(exc).strip().splitlines()
            raise LetiError(
                f"the interpreter failed to run this model: {msg[-1] if msg else exc}"
            ) from None
        clock = time.perf_counter_ns
        start = clock()
        warm = 1
        while warm < 2 or (clock() - start) < self.warmup_seconds * 1e9:
            invoke()
            warm += 1
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
        return summarize(samples, warmup_runs=warm)
