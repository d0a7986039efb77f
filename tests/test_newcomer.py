"""What a new user hits first in the CLI: hints that can be followed, figures with units,
help that says the defaults, usage errors that name the subcommand."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import HERE
from leti.estimator.devices import list_devices


def gpu_ready() -> bool:
    return any(r["device"] == "gpu" and r["state"] == "ready" for r in list_devices())


def test_a_gpu_hint_is_given_only_where_it_can_work(leti_cli, tf_model):
    if gpu_ready():
        pytest.skip("this machine has a usable GPU: building on it would work")
    r = leti_cli("estimate", str(tf_model("conv")), "--device", "gpu")
    assert r.returncode == 2 and "no usable GPU" in r.stderr and "db build" not in r.stderr
    r = leti_cli("db", "build", "--device", "gpu", "--suite", "smoke", "--no-progress")
    assert r.returncode == 2 and "no usable GPU" in r.stderr
    assert "rerun to resume" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_phone_that_is_not_there_is_said_so(leti_cli, tf_model, fake_adb):
    r = leti_cli("estimate", str(tf_model("conv")), "--device", "adb:NOPE")
    assert r.returncode == 2 and "phone NOPE is not connected" in r.stderr
    assert "db build" not in r.stderr
    r = leti_cli("estimate", str(tf_model("conv")), "--device", "adb:PHONE1")
    assert r.returncode == 2 and "leti db build --device adb:PHONE1" in r.stderr  # it can work


def test_help_says_the_defaults(leti_cli):
    build = " ".join(leti_cli("db", "build", "--help").stdout.split())
    for text in (
        "CPU threads, a distinct profile (default: 1)",
        "(default: gpu)",
        "heat up (default: 1)",
        "default: smoke when nothing else is asked for",
        "--no-progress print no progress bar",
        "a stored profile id such as 'phone/pixel4/gpu'",
    ):
        assert text in build, text
    estimate = " ".join(leti_cli("estimate", "--help").stdout.split())
    assert "model a .tflite file" in estimate and "(default: host)" in estimate
    view = subprocess.run(["leti-view", "--help"], capture_output=True, text=True).stdout
    view = " ".join(view.split())
    assert "--max-upload-mb MB the largest model the page may upload (default: 256)" in view
    assert "model a .tflite file to open" in view and "'phone/pixel4/gpu'" in view


def test_an_unknown_option_prints_the_subcommands_usage(leti_cli, tf_model):
    r = leti_cli("inspect", str(tf_model("conv")), "--device", "gpu")
    assert r.returncode == 2 and r.stderr.startswith("usage: leti inspect")
    assert "leti inspect: error: unrecognized arguments: --device gpu" in r.stderr


def test_figures_have_units_and_no_python_none(smoke_home, monkeypatch, leti_cli, tf_model):
    monkeypatch.setenv("LETI_HOME", str(smoke_home[0]))
    r = leti_cli("train", "--device", "host")
    assert r.returncode == 0, r.stderr
    assert "None" not in r.stdout and "–" in r.stdout  # ops too few to cross-validate
    r = leti_cli("estimate", str(tf_model("conv")))
    tail = r.stdout.strip().splitlines()[-1]
    assert "per-run overhead" in tail
    figure = tail.split("per-run overhead ", 1)[1].split(";")[0].split()
    assert figure[-1] in ("ms", "µs"), tail


def test_build_times_are_quoted_with_their_machine():
    from leti.estimator.generate.suite_times import _recorded, quoted

    machine = _recorded()["machine"]
    assert quoted("default").endswith(f"on {machine}") and "min" in quoted("default")


def test_no_wheel_files_are_tracked():
    git = shutil.which("git")
    if git is None or not (HERE.parent / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        [git, "ls-files", "*.whl"], cwd=HERE.parent, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == []
