"""Parse TFLite ``benchmark_model`` output, old and new formats alike.

The regexes are deliberately tolerant: fields have been added over versions, and a phone's
log interleaves other lines. Anything that makes a number untrustworthy (an ignored flag, a
partly delegated graph) is surfaced rather than silently accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import LetiError

_NUM = r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
_STATS = re.compile(r"count=(\d+)((?:\s+\w+=" + _NUM + r")+)")
_FIELD = re.compile(r"(\w+)=" + _NUM)
_NEW_SUMMARY = re.compile(r"Inference timings in us:(.*)")
_OLD_SUMMARY = re.compile(r"Average inference timings in us:(.*)")
_SUMMARY_FIELD = re.compile(r"([A-Za-z][A-Za-z ()]*?):\s*" + _NUM)
_PARTIAL = re.compile(
    r"Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]+)\) node, "
    r"yielding (\d+) partitions"
)
_FULL = re.compile(r"will be completely executed by the delegate")
_UNCONSUMED = re.compile(r"Unconsumed cmdline flags:\s*(.*)")


class BenchmarkOutputError(LetiError):
    """benchmark_model ran but its output cannot be trusted or read."""


@dataclass
class OpProfileRow:
    node_type: str
    avg_ms: float
    percent: float
    times_called: int
    name: str


@dataclass
class BenchmarkResult:
    runs: int
    avg_us: float
    median_us: float | None
    min_us: float | None
    max_us: float | None
    std_us: float | None
    p5_us: float | None
    p95_us: float | None
    init_us: float | None
    first_us: float | None
    warmup_avg_us: float | None
    delegated_nodes: int | None = None
    total_nodes: int | None = None
    partitions: int | None = None
    delegate_name: str | None = None
    fully_delegated: bool = False
    op_profile: list[OpProfileRow] = field(default_factory=list)

    def gpu_kernels(self) -> list[tuple[str, float]]:
        """(label, average µs) of every GPU kernel the profile lists, in run order: rows named
        in the delegate's spelling (``convolution_2d 3 -> relu 4``), never the delegate's own
        row, which counts the same time again."""
        from ..kernels.labels import parse as parse_label

        out = []
        for row in self.op_profile:
            for text in (row.node_type, row.name):
                if not text or not text[:1].islower():
                    continue  # TFLite op types and the delegate row are capitalised
                try:
                    label = parse_label(text)
                except LetiError:
                    continue
                out.append((label.text, row.avg_ms * 1000))
                break
        return out

    @property
    def partially_delegated(self) -> bool:
        if self.delegated_nodes is None or self.total_nodes is None:
            return False
        return self.delegated_nodes < self.total_nodes or (self.partitions or 1) > 1

    @property
    def latency_ms(self) -> float:
        """Median when the build prints one, else the average (older builds)."""
        return (self.median_us if self.median_us is not None else self.avg_us) / 1000

    def facts(self) -> dict[str, Any]:
        return {
            "avg_us": self.avg_us,
            "median_us": self.median_us,
            "min_us": self.min_us,
            "max_us": self.max_us,
            "std_us": self.std_us,
            "p5_us": self.p5_us,
            "p95_us": self.p95_us,
            "init_us": self.init_us,
            "first_us": self.first_us,
            "warmup_avg_us": self.warmup_avg_us,
            "delegated_nodes": self.delegated_nodes,
            "total_nodes": self.total_nodes,
            "partitions": self.partitions,
            "delegate": self.delegate_name,
            "fully_delegated": self.fully_delegated,
            "partially_delegated": self.partially_delegated,
        }


def parse(text: str) -> BenchmarkResult:
    unconsumed = _UNCONSUMED.search(text)
    if unconsumed:
        raise BenchmarkOutputError(
            f"benchmark_model ignored flags it does not know: {unconsumed.group(1).strip()}",
            "this benchmark_model build is too old or too new for leti; use a current nightly",
        )
    blocks = [_fields(m) for m in _STATS.finditer(text)]
    summary = _summary(text)
    if not blocks and "inference" not in summary:
        tail = " | ".join(text.strip().splitlines()[-3:])
        raise BenchmarkOutputError(f"no timings in benchmark_model output: {tail[:300]}")
    # The first stats block is the warm-up, the second the regular runs (a third may follow
    # for profiling runs); a single block means no warm-up block was printed.
    regular = blocks[1] if len(blocks) > 1 else (blocks[0] if blocks else {})
    avg = regular.get("avg", summary.get("inference"))
    if avg is None:
        raise BenchmarkOutputError("benchmark_model output has no average inference time")
    result = BenchmarkResult(
        runs=int(regular.get("count", 0)),
        avg_us=float(avg),
        median_us=regular.get("median"),
        min_us=regular.get("min"),
        max_us=regular.get("max"),
        std_us=regular.get("std"),
        p5_us=regular.get("p5"),
        p95_us=regular.get("p95"),
        init_us=summary.get("init"),
        first_us=summary.get("first inference"),
        warmup_avg_us=summary.get("warmup (avg)", summary.get("warmup")),
        fully_delegated=bool(_FULL.search(text)),
    )
    partial = _PARTIAL.search(text)
    if partial:
        result.delegated_nodes = int(partial.group(1))
        result.total_nodes = int(partial.group(2))
        result.delegate_name = partial.group(3)
        result.partitions = int(partial.group(4))
    result.op_profile = _op_profile(text)
    return result


def _fields(match: re.Match[str]) -> dict[str, float]:
    out = {"count": float(match.group(1))}
    for k, v in _FIELD.findall(match.group(2)):
        out[k] = float(v)
    return out


def _summary(text: str) -> dict[str, float]:
    m = _NEW_SUMMARY.search(text) or _OLD_SUMMARY.search(text)
    if not m:
        return {}
    return {k.strip().lower(): float(v) for k, v in _SUMMARY_FIELD.findall(m.group(1))}


def _op_profile(text: str) -> list[OpProfileRow]:
    """Rows of the 'Run Order' table of --enable_op_profiling output, if present."""
    start = text.find("Operator-wise Profiling Info for Regular Benchmark Runs")
    if start < 0:
        return []
    section = text[start:]
    order = section.find("Run Order")
    if order < 0:
        return []
    rows: list[OpProfileRow] = []
    lines = section[order:].splitlines()[1:]
    header: list[str] = []
    for line in lines:
        if not line.strip():
            if rows:
                break
            continue
        if "[node type]" in line:
            header = re.findall(r"\[([^\]]+)\]", line)
            continue
        if line.startswith("=") or not header:
            if rows:
                break
            continue
        n_num = len(header) - 2  # all but [node type] and [Name] are numbers
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        if len(cells) == len(header):  # tab-separated: names may hold spaces
            node_type, nums, name = cells[0], cells[1:-1], cells[-1]
        else:
            parts = line.split()
            if len(parts) < n_num + 2:
                continue
            node_type = " ".join(parts[: len(parts) - n_num - 1])
            nums, name = parts[len(parts) - n_num - 1 : -1], parts[-1]
        values = dict(zip(header[1:-1], nums, strict=True))
        try:
            rows.append(
                OpProfileRow(
                    node_type=node_type,
                    avg_ms=float(values["avg ms"]),
                    percent=float(values["%"].rstrip("%")),
                    times_called=int(float(values["times called"])),
                    name=name,
                )
            )
        except (KeyError, ValueError):
            continue
    return rows
