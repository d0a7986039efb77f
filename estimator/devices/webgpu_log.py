"""Read what LiteRT's GPU accelerator (ML Drift over WebGPU/Dawn) prints about itself: the
adapter it selected, why it found none, which operations its delegate refused, and how many
ran on the GPU or fell back to the CPU.

The runtime offers no API for these facts; its log lines are the only report, so the parsing
is tolerant (other lines interleave) and every pattern is pinned by recorded output in the
tests (from an NVIDIA H100 and from Mesa's software Vulkan driver).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ADAPTER = re.compile(r"Selected adapter:\s*(?P<name>.+?),\s*(?:arch=(?P<arch>[^,]*),\s*)?"
                      r"vendor=(?P<vendor>[^,]*),\s*backend=(?P<backend>[^,]*),\s*"
                      r"adapterType=(?P<type>.+?)\s*$", re.M)  # fmt: skip
_REFUSED_HEAD = re.compile(r"Following operations are not supported by GPU delegate:")
_REFUSED = re.compile(r"^(?:(?:ERROR|WARNING|INFO):\s*)?([A-Z][A-Z0-9_]+(?::\w+)?):\s*(.+?)\s*$")
_LEVELS = {"INFO", "WARNING", "ERROR", "VERBOSE", "DEBUG", "FATAL"}
_SPLIT = re.compile(
    r"(\d+) operations will run on the GPU, and the remaining (\d+) operations? will run on "
    r"the CPU"
)
_NO_ADAPTER = re.compile(r"No adapters found")
_NO_LOADER = re.compile(r"Couldn't load Vulkan: ([^\n]+)")
_NO_ICD = re.compile(r"loader_get_json: Failed to open JSON file ([^\n]+)")
_WAIT_TIMEOUT = re.compile(r"WaitForCompletion timeout")


@dataclass
class Adapter:
    name: str
    vendor: str
    backend: str
    type: str
    arch: str = ""

    @property
    def software(self) -> bool:
        return "software" in (self.type + " " + self.arch).lower()


@dataclass
class Delegation:
    """What the delegate reported for one model."""

    refused: dict[str, str] = field(default_factory=dict)  # op type -> the delegate's reason
    gpu_ops: int | None = None
    cpu_ops: int | None = None
    wait_timeouts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"refused": dict(self.refused), "gpu_ops": self.gpu_ops, "cpu_ops": self.cpu_ops,
                "wait_timeouts": self.wait_timeouts}  # fmt: skip


def adapter(log: str) -> Adapter | None:
    found = list(_ADAPTER.finditer(log))
    if not found:
        return None
    m = found[-1]
    return Adapter(m["name"].strip(), m["vendor"].strip(), m["backend"].strip(),
                   m["type"].strip(), (m["arch"] or "").strip())  # fmt: skip


def unavailable_reason(log: str) -> str | None:
    """Why no adapter could be used, in words a user can act on; None when one was found."""
    if adapter(log) is not None:
        return None
    loader = _NO_LOADER.search(log)
    if loader:
        return (f"no Vulkan loader ({loader.group(1).strip()}); install Debian's libvulkan1 "
                "(or your platform's Vulkan loader) and a GPU driver")  # fmt: skip
    if _NO_ADAPTER.search(log):
        icd = _NO_ICD.search(log)
        where = f" (driver file {icd.group(1).strip()} missing)" if icd else ""
        return (f"no GPU adapter found{where}; install the GPU's Vulkan driver, or point "
                "VK_DRIVER_FILES at its ICD json")  # fmt: skip
    return None


def delegation(log: str) -> Delegation:
    out = Delegation()
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if _REFUSED_HEAD.search(line):
            for follow in lines[i + 1 :]:
                m = _REFUSED.match(follow.strip())
                if not m or m.group(1) in _LEVELS or _SPLIT.search(follow):
                    break
                out.refused[m.group(1)] = m.group(2)
    splits = list(_SPLIT.finditer(log))
    if splits:
        out.gpu_ops, out.cpu_ops = int(splits[-1].group(1)), int(splits[-1].group(2))
    out.wait_timeouts = len(_WAIT_TIMEOUT.findall(log))
    return out
