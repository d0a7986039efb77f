"""benchmark_model output parsing, on format samples of each version (see tests/data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from leti.estimator.devices.benchmark_output import BenchmarkOutputError, parse

DATA = Path(__file__).parent / "data"


def test_old_format_uses_second_block_and_average():
    r = parse((DATA / "bm_old.txt").read_text())
    assert r.runs == 50 and r.avg_us == 797.6 and r.median_us is None
    assert r.latency_ms == pytest.approx(0.7976)
    assert r.init_us == 38467 and r.warmup_avg_us == 8680.33
    assert r.fully_delegated and not r.partially_delegated


def test_new_format_has_median_and_percentiles():
    r = parse((DATA / "bm_new.txt").read_text())
    assert r.runs == 50 and r.median_us == 1294 and r.p5_us == 1265 and r.p95_us == 1360
    assert r.latency_ms == pytest.approx(1.294)
    assert r.init_us == 870557 and r.first_us == 130565 and r.warmup_avg_us == 14210.5


def test_partial_delegation_detected():
    r = parse((DATA / "bm_partial.txt").read_text())
    assert r.partially_delegated and not r.fully_delegated
    assert (r.delegated_nodes, r.total_nodes, r.partitions) == (41, 47, 3)
    assert r.delegate_name == "TfLiteGpuDelegateV2"
    assert r.facts()["partially_delegated"] is True


def test_unconsumed_flags_are_an_error():
    with pytest.raises(BenchmarkOutputError, match="--use_gpu_fast"):
        parse((DATA / "bm_unconsumed.txt").read_text())


def test_no_timings_is_an_error():
    with pytest.raises(BenchmarkOutputError, match="no timings"):
        parse("ERROR: Could not open '/data/local/tmp/x.tflite'.\nAborted")


def test_op_profiling_run_order_table():
    r = parse((DATA / "bm_profile.txt").read_text())
    assert [row.node_type for row in r.op_profile] == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN"]
    assert r.op_profile[0].avg_ms == 0.602 and r.op_profile[0].name == "[conv1]:0"
    assert r.op_profile[1].percent == pytest.approx(21.277)
    assert r.median_us == 844 and r.runs == 20


def test_op_profiling_without_start_column():
    text = (DATA / "bm_profile.txt").read_text()
    lines = []
    for line in text.splitlines():
        if "[start]" in line:
            line = line.replace("\t  [start]", "")
        elif "CONV_2D" in line or "MEAN" in line:
            parts = line.split("\t")
            del parts[2]  # drop the start value
            line = "\t".join(parts)
        lines.append(line)
    r = parse("\n".join(lines))
    assert [row.avg_ms for row in r.op_profile] == [0.602, 0.180, 0.064]
