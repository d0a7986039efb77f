#!/usr/bin/env python3
"""TEST DOUBLE for LiteRT's GPU runtime process (estimator/devices/gpu_worker.py): the test
machines have no GPU. It speaks the same JSON-lines protocol; the GPU device, the build, the
training and the estimate around it are the real code.

What it answers is fake and says so: a timing made from the model's FLOPs (so more work takes
longer), and the log of a real run replayed (tests/data/gpu/lavapipe_*.log: the adapter line,
and the delegate's refusal of L2_NORMALIZATION when the model has one). Modes, from the
environment: FAKE_GPU_MODE=async (timings that do not grow with the work, as run() without
benchmark_mode), FAKE_GPU_CRASH_AFTER=N (the process dies on its N-th model, as a driver
fault), FAKE_GPU_REFUSE=OP,... (op types the fake delegate refuses), FAKE_GPU_NO_ADAPTER=1.
"""

import json
import os
import sys
from pathlib import Path

from leti.estimator.graph import read_model

DATA = Path(__file__).resolve().parents[1] / "data" / "gpu"
LOG_FULL = (DATA / "lavapipe_face_landmark.log").read_text()
LOG_PARTIAL = (DATA / "lavapipe_knift_float.log").read_text()
LOG_NONE = (DATA / "no_vulkan_driver.log").read_text()
COUNT = Path(os.environ.get("FAKE_GPU_STATE", "/nonexistent"))


def answer(req):
    if os.environ.get("FAKE_GPU_NO_ADAPTER"):
        return {
            "ok": False,
            "error": "ERROR: [litert/runtime/compiled_model.cc:1036]",
            "log": LOG_NONE,
        }
    n = int(COUNT.read_text()) + 1 if COUNT.exists() else 1
    if COUNT.parent.exists():
        COUNT.write_text(str(n))
    crash = os.environ.get("FAKE_GPU_CRASH_AFTER")
    if crash and n == int(crash):
        os._exit(139)  # a driver fault takes the process down mid-request
    graph = read_model(req["path"])
    refuse = set(filter(None, os.environ.get("FAKE_GPU_REFUSE", "L2_NORMALIZATION").split(",")))
    refused = sorted({n.op for n in graph.nodes if n.op in refuse})
    flops = sum(n.flops for n in graph.nodes)
    ms = 0.04 + (0.0 if os.environ.get("FAKE_GPU_MODE") == "async" else flops / 2e9)
    ms += 0.05 * len(refused)
    log = LOG_FULL
    if refused:
        on_cpu = sum(n.op in refuse for n in graph.nodes)
        log = LOG_PARTIAL.replace(
            "L2_NORMALIZATION: Operation is not supported.",
            "\n".join(f"{op}: Operation is not supported." for op in refused),
        ).replace(
            "21 operations will run on the GPU, and the remaining 1 operations",
            f"{len(graph.nodes) - on_cpu} operations will run on the GPU, and the remaining "
            f"{on_cpu} operations",
        )
    runs = req.get("runs") or 12
    return {
        "ok": True,
        "compile_ms": 1.0,
        "first_run_ms": 2.0 * ms,
        "warmup_runs": 3,
        "samples_ms": [ms * (1 + 0.01 * (i % 3)) for i in range(runs)],
        "fully_accelerated": not refused,
        "log": log,
    }


for line in sys.stdin:
    req = json.loads(line)
    if req.get("cmd") == "quit":
        break
    print(json.dumps(answer(req)), flush=True)
