"""Device input is checked once, at the edge: ``--device`` and its options are argparse types, so
a bad device is the subcommand's own usage error; the device kinds are one registry; each
profile-id form is written once and read back by the same template; the published phones'
ids validate against the dataset's phones. And the viewer's server calls the services only."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import pytest
from leti.estimator.devices import DeviceSpec, cli_args, device_kind, open_device, profile_id
from leti.estimator.devices.base import (
    PRECISIONS,
    KernelProfiler,
    adb_profile_id,
    gpu_profile_id,
    host_profile_id,
    phone_profile_id,
    read_id,
)
from leti.estimator.devices.published import PHONES
from leti.estimator.errors import LetiError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def view(capfd):
    """``leti-view ARGS...`` in-process, for its usage errors (nothing is served)."""
    from conftest import run_main
    from leti.server.cli import main

    return lambda *args: run_main(main, args, capfd)


def usage_error(r, prog: str) -> str:
    """The one error line of an argparse usage error of ``prog`` (exit 2), after its usage."""
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"usage: {prog} "), r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith(("usage:", " "))]
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith(f"{prog}: error: "), r.stderr
    return errors[0]


COMMANDS = [
    ("leti estimate", ("estimate", "m.tflite")),
    ("leti train", ("train",)),
    ("leti db build", ("db", "build")),
    ("leti measure", ("measure", "m.tflite")),
    ("leti evaluate", ("evaluate",)),
]


@pytest.mark.parametrize("prog,args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_bad_device_is_the_subcommands_usage_error(leti_cli, prog, args):
    line = usage_error(leti_cli(*args, "--device", "toaster"), prog)
    assert "argument --device: unknown device 'toaster'" in line and "'adb:SERIAL'" in line
    line = usage_error(leti_cli(*args, "--device", "phone/nokia3310/gpu"), prog)
    assert "no published phone 'nokia3310'" in line and "pixel4" in line
    line = usage_error(leti_cli(*args, "--device", "gpu/nvidia/vulkan/fp8"), prog)
    assert "not a well-formed gpu profile id" in line
    line = usage_error(leti_cli(*args, "--precision", "fp8"), prog)
    assert "argument --precision: unknown precision 'fp8' (use fp16 or fp32)" in line
    line = usage_error(leti_cli(*args, "--threads", "0"), prog)
    assert "argument --threads: threads must be at least 1, got 0" in line
    line = usage_error(leti_cli(*args, "--delegate", "npu"), prog)
    assert "argument --delegate: unknown delegate 'npu'" in line


def test_a_bad_device_is_leti_views_usage_error(view):
    line = usage_error(view("m.tflite", "--device", "toaster"), "leti-view")
    assert "argument --device: unknown device 'toaster'" in line
    line = usage_error(view("m.tflite", "--device", "phone/nokia3310/gpu"), "leti-view")
    assert "no published phone 'nokia3310'" in line
    line = usage_error(view("m.tflite", "--precision", "fp64"), "leti-view")
    assert "unknown precision 'fp64'" in line
    line = usage_error(view("m.tflite", "--threads", "two"), "leti-view")
    assert "argument --threads: a whole number is needed, got 'two'" in line


def test_several_devices_each_checked(leti_cli):
    r = leti_cli("db", "build", "--device", "host", "--device", "gpu/a")
    line = usage_error(r, "leti db build")
    assert "'gpu/a' is not a well-formed gpu profile id" in line


def test_the_options_combine_with_the_device_once():
    from leti.estimator.cli import build_parser
    from leti.estimator.cli.options import spec_from_args, specs_from_args

    args = build_parser().parse_args(
        ["measure", "m.tflite", "--device", "adb:X", "--delegate", "cpu", "--threads", "4"]
    )
    assert spec_from_args(args) == DeviceSpec("adb", "X", 4, "cpu", "fp16", "adb:X")
    args = build_parser().parse_args(["db", "build", "--device", "gpu", "--precision", "fp32"])
    assert [s.precision for s in specs_from_args(args)] == ["fp32"]
    assert specs_from_args(build_parser().parse_args(["db", "build"]))[0].kind == "host"
    # a stored profile id says its own options: the command line's do not change it
    args = build_parser().parse_args(["train", "--device", "gpu/a/b/fp32", "--precision", "fp16"])
    assert spec_from_args(args).precision == "fp32"


def test_precision_is_checked_in_one_place():
    assert PRECISIONS == ("fp16", "fp32")
    with pytest.raises(LetiError, match="unknown precision 'fp8'"):
        DeviceSpec.parse("gpu", precision="fp8")
    with pytest.raises(LetiError, match="unknown precision"):
        DeviceSpec("gpu", precision="half")
    with pytest.raises(LetiError, match="threads must be at least 1"):
        DeviceSpec.parse("host", threads=0)


# --- the registry ------------------------------------------------------------------------------


def test_the_registry_opens_host_gpu_and_adb(fake_adb):
    from leti.estimator.devices.adb import AdbDevice
    from leti.estimator.devices.gpu import GpuDevice
    from leti.estimator.devices.host import HostDevice

    host = open_device(DeviceSpec.parse("host", threads=2))
    assert isinstance(host, HostDevice) and host.profile.id == host_profile_id(2)
    gpu = open_device(DeviceSpec.parse("gpu", precision="fp32"))  # opening starts no runtime
    assert isinstance(gpu, GpuDevice) and gpu.precision == "fp32"
    phone = open_device(DeviceSpec.parse("adb:PHONE1", delegate="cpu", threads=3), cooldown_s=0)
    assert isinstance(phone, AdbDevice)
    assert (phone.serial, phone.delegate, phone.threads) == ("PHONE1", "cpu", 3)
    with pytest.raises(LetiError, match="phone NOPE is not connected"):
        open_device(DeviceSpec.parse("adb:NOPE"))
    with pytest.raises(LetiError, match="'unauthorized', not ready"):
        open_device(DeviceSpec.parse("adb:PHONE2"))
    # capabilities are declared: a kind times in context, a device profiles kernels
    assert device_kind("gpu").in_context and not device_kind("host").in_context
    assert not device_kind("adb").in_context
    assert isinstance(phone, KernelProfiler) and not isinstance(host, KernelProfiler)


def test_the_registry_opens_a_published_phone_to_a_clear_error():
    for device in ("phone/pixel4/gpu", "phone/iphone7/gpu", "phone/s10/cpu-1large"):
        with pytest.raises(LetiError) as err:
            open_device(DeviceSpec.parse(device))
        assert str(err.value).startswith(
            f"{device} is known from published measurements: nothing to measure"
        )
    with pytest.raises(LetiError, match="stored profile, not a device that can measure"):
        open_device(DeviceSpec.parse("host/some-cpu-abc123/t2"))
    with pytest.raises(LetiError, match="no device kind 'toaster'"):
        device_kind("toaster")


def test_in_context_comes_from_the_device_kind():
    from leti.estimator.devices import DeviceProfile
    from leti.estimator.services.context import in_context

    class Double:  # a device that declares nothing beyond the protocol
        def __init__(self, kind: str) -> None:
            self.profile = DeviceProfile(f"{kind}/x/y", kind, "gpu", 1, "test-double", "0")

    assert in_context(Double("gpu")) and not in_context(Double("host"))


# --- profile ids: written once, read back the same way -----------------------------------------


def _measured_ids() -> list[str]:
    ids = [host_profile_id(t) for t in (1, 2, 3, 4, 8)]
    for model in ("Pixel 7", "SM-G973F", "", "Redmi Note 8 Pro"):
        for serial in ("ABC123", "R58M4", "0123456789ABCDEF"):
            ids.append(adb_profile_id(model, serial, "gpu", 1))
            ids += [adb_profile_id(model, serial, "cpu", t) for t in (1, 2, 4, 8)]
    adapters = [("NVIDIA H200", "Vulkan"), ("llvmpipe (LLVM 15, 256 bits)", "vulkan")]
    for adapter, backend in adapters + [("Apple M2", "Metal")]:
        ids += [gpu_profile_id(adapter, backend, p) for p in PRECISIONS]
    return ids


def _reparsed(args: str) -> DeviceSpec:
    """``args`` as the ``leti`` command line parses them again."""
    from leti.estimator.cli import build_parser
    from leti.estimator.cli.options import spec_from_args

    return spec_from_args(build_parser().parse_args(["train", *shlex.split(args)]))


@pytest.mark.parametrize("device_id", _measured_ids())
def test_the_cli_args_of_an_id_measure_into_it_again(device_id):
    spec = read_id(device_id)
    again = _reparsed(cli_args(spec))
    assert not again.profile  # a device to measure on, not the stored id itself
    assert profile_id(again, known=[device_id, "adb/Other-ZZZ/gpu", "gpu/other/metal/x"]) == (
        device_id
    )


SPECS = [
    ("host", {}),
    ("host", {"threads": 6}),
    ("gpu", {}),
    ("gpu", {"precision": "fp32"}),
    ("adb:ABC123", {}),
    ("adb:ABC123", {"threads": 4}),  # the GPU delegate: threads make no profile of their own
    ("adb:ABC123", {"delegate": "cpu"}),
    ("adb:ABC123", {"delegate": "cpu", "threads": 4}),
]


@pytest.mark.parametrize("text,options", SPECS)
def test_a_spec_and_its_cli_args_mean_one_profile(text, options):
    spec = DeviceSpec.parse(text, **options)
    if spec.kind == "host":
        device_id = host_profile_id(spec.threads)
    elif spec.kind == "gpu":
        device_id = gpu_profile_id("NVIDIA H200", "Vulkan", spec.precision)
    else:
        device_id = adb_profile_id("Pixel 7", spec.serial, spec.delegate, spec.threads)
    known = [device_id, adb_profile_id("Pixel 7", "ABC123", "cpu", 2)]
    assert profile_id(spec, known) == device_id
    assert profile_id(_reparsed(cli_args(spec)), known) == device_id
    assert read_id(device_id).form().read(device_id) is not None  # its own form reads it


def test_a_missing_profile_names_the_build_to_run():
    with pytest.raises(LetiError) as err:
        profile_id(DeviceSpec.parse("adb:ABC123", delegate="cpu", threads=4), known=[])
    assert "no measurements for phone ABC123 (cpu, 4 threads)" in str(err.value)
    assert "leti db build --device adb:ABC123 --delegate cpu --threads 4" in str(err.value)
    with pytest.raises(LetiError, match="several profiles match the GPU"):
        profile_id(DeviceSpec.parse("gpu"), ["gpu/a/vulkan", "gpu/b/vulkan"])


# --- the published phones ------------------------------------------------------------------------


def test_the_published_phone_ids_validate():
    from conftest import PHONE_SUBSET
    from leti.estimator.devices.published import read_dataset

    for phone in PHONES:
        configs = [("gpu", "float"), ("gpu", "quant"), ("1large", "float"), ("2med", "quant")]
        for config, precision in configs:
            device_id = phone_profile_id(phone, config, precision)
            spec = DeviceSpec.parse(device_id)
            assert (spec.kind, spec.profile) == ("phone", device_id)
            assert cli_args(spec) == f"--device {device_id}"
            assert _reparsed(cli_args(spec)).profile == device_id
    imported = [p.id for p in read_dataset(PHONE_SUBSET).profiles]
    assert imported and all(DeviceSpec.parse(i).kind == "phone" for i in imported)
    for bad in ("phone/nokia3310/gpu", "phone/pixel4", "phone/pixel4/npu"):
        with pytest.raises(LetiError):
            DeviceSpec.parse(bad)


# --- the planner takes bytes or a parsed graph; the server calls the services only --------------


def test_the_planner_takes_bytes_or_the_parsed_graph(tmp_path, monkeypatch):
    from leti.estimator.generate import netgen
    from leti.estimator.graph import read_model
    from leti.estimator.services import build

    data = netgen.build(dict(family="plain", res=32, width=8, depth=2, seed=1))
    path = tmp_path / "net.tflite"
    path.write_bytes(data)
    keys = [i.key for i in build.make_plan(None, [str(path)]).items]
    parses = []
    monkeypatch.setattr(build, "read_model", lambda *a, **k: parses.append(a) or read_model(*a))
    graph = read_model(data, "net.tflite")
    plan = build.make_plan(None, [build.SourceModel("net.tflite", data, graph)])
    assert [i.key for i in plan.items] == keys and not parses  # the caller's parse is used
    plan = build.make_plan(None, [build.SourceModel("net.tflite", data)])
    assert [i.key for i in plan.items] == keys and len(parses) == 1  # bytes: parsed once


ALLOWED = ("leti.estimator.services", "leti.estimator.errors", "leti.estimator.paths")


def test_the_server_imports_the_services_only():
    for path in sorted((ROOT / "server").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("leti.estimator"):
                    assert name.startswith(ALLOWED), f"{path.name} imports {name}"
