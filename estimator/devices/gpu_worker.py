"""The GPU runtime's own process: compiles and times models with LiteRT's GPU accelerator.

Run by :class:`~.gpu.GpuDevice` as ``python -m leti.estimator.devices.gpu_worker``; it reads
one JSON request per line on stdin and answers one JSON line on its private protocol channel.
Everything the runtime prints (from native code, on file descriptors 1 and 2) goes to a log
file, and the lines printed while serving a request come back with its answer: the delegate
reports the adapter and what it refused only there. A separate process also means a driver
that crashes takes the worker down, not the build: the device restarts it and the build
records the failure and goes on.

Requests: ``{"cmd": "measure", "path": ..., "precision": "fp16"|"fp32", "runs": null|N,
"policy": {...}}`` and ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any

DEFAULT_POLICY = {
    "min_runs": 10, "max_runs": 300, "min_seconds": 0.1, "max_seconds": 1.5,
    "warmup_runs": 3, "warmup_seconds": 0.05,
}  # fmt: skip


def _compile(path: str, precision: str) -> Any:
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    from ai_edge_litert.options import GpuOptions, Options

    # benchmark_mode: run() returns only once the GPU has finished (it is asynchronous
    # otherwise, and timings stay flat while the work grows 16x)
    gpu = GpuOptions(benchmark_mode=True, enforce_f32=precision == "fp32")
    opts = Options(hardware_accelerators=HardwareAccelerator.GPU | HardwareAccelerator.CPU,
                   gpu_options=gpu)  # fmt: skip
    return CompiledModel.from_file(path, options=opts)


def _fill(buffers: list[Any]) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for b in buffers:
        try:
            d = b.get_tensor_details()
            shape, dtype = d["shape"], np.dtype(d["dtype"])
            if np.issubdtype(dtype, np.floating):
                b.write(rng.standard_normal(shape).astype(dtype))
            else:
                b.write(rng.integers(-20, 20, size=shape).astype(dtype))
        except Exception:  # an input we cannot describe keeps the runtime's own contents
            pass


def measure(req: dict[str, Any]) -> dict[str, Any]:
    from leti.estimator.timing import is_stable

    policy = {**DEFAULT_POLICY, **req.get("policy", {})}
    clock = time.perf_counter
    t0 = clock()
    model = _compile(req["path"], req.get("precision", "fp16"))
    compile_ms = (clock() - t0) * 1000
    ins, outs = model.create_input_buffers(0), model.create_output_buffers(0)
    _fill(ins)
    t0 = clock()
    model.run_by_index(0, ins, outs)  # the first run also compiles the shaders
    first_ms = (clock() - t0) * 1000
    start, warm = clock(), 0
    while warm < policy["warmup_runs"] or clock() - start < policy["warmup_seconds"]:
        model.run_by_index(0, ins, outs)
        warm += 1
        if clock() - start > policy["max_seconds"]:
            break
    samples: list[float] = []
    runs = req.get("runs")
    start = clock()
    while True:
        t0 = clock()
        model.run_by_index(0, ins, outs)
        samples.append((clock() - t0) * 1000)
        n, elapsed = len(samples), clock() - start
        if runs is not None:
            if n >= runs:
                break
            continue
        if n >= policy["max_runs"] or (elapsed > policy["max_seconds"] and n >= 5):
            break
        if n >= policy["min_runs"] and elapsed >= policy["min_seconds"] and is_stable(samples):
            break
    return {
        "ok": True,
        "compile_ms": compile_ms,
        "first_run_ms": first_ms,
        "samples_ms": samples,
        "warmup_runs": warm,
        "fully_accelerated": bool(model.is_fully_accelerated()),
    }


def main() -> int:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    log_fd, log_path = tempfile.mkstemp(prefix="leti-gpu-", suffix=".log")
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = sys.stderr = os.fdopen(os.dup(log_fd), "w", buffering=1)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            if req.get("cmd") == "quit":
                break
            offset = os.path.getsize(log_path)
            try:
                reply = measure(req) if req.get("cmd") == "measure" else {
                    "ok": False, "error": f"unknown command {req.get('cmd')!r}"}  # fmt: skip
            except Exception as exc:
                lines = str(exc).strip().splitlines()
                reply = {"ok": False, "error": lines[-1] if lines else type(exc).__name__}
            sys.stdout.flush()
            with open(log_path, errors="replace") as f:
                f.seek(offset)
                reply["log"] = f.read()[-20000:]
            proto.write(json.dumps(reply) + "\n")
    finally:
        os.unlink(log_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
