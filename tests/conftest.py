from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
SHARED_MODELS = HERE.parents[1] / "shared" / "models"


@pytest.fixture(autouse=True)
def _leti_home(tmp_path_factory, monkeypatch):
    """Every test gets a private LETI_HOME: nothing touches a user's data."""
    monkeypatch.setenv("LETI_HOME", str(tmp_path_factory.mktemp("leti_home")))


@pytest.fixture(scope="session")
def tf_model(tmp_path_factory):
    """Build a named test model with TensorFlow once per session; return its path."""
    from tfmodels import BUILDERS

    folder = tmp_path_factory.mktemp("tf_models")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = BUILDERS[name](folder / f"{name}.tflite")
        return built[name]

    return get


@pytest.fixture(scope="session")
def shared_models() -> Path:
    if not SHARED_MODELS.is_dir():
        pytest.skip("../shared/models is absent (fresh clone): real-model checks skipped")
    return SHARED_MODELS


@pytest.fixture(scope="session")
def smoke_home(tmp_path_factory):
    """One real smoke build on the host (about 15 s), shared by the tests that only read it."""
    home = tmp_path_factory.mktemp("smoke_home")
    env = {**os.environ, "LETI_HOME": str(home)}
    start = time.time()
    r = subprocess.run(
        [sys.executable, "-m", "leti.estimator.cli", "db", "build", "--device", "host",
         "--suite", "smoke"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return home, r, time.time() - start


@pytest.fixture(scope="session")
def trained_home(smoke_home):
    """The smoke build with an estimator trained on it."""
    home = smoke_home[0]
    r = subprocess.run(
        [sys.executable, "-m", "leti.estimator.cli", "train", "--device", "host"],
        capture_output=True, text=True, env={**os.environ, "LETI_HOME": str(home)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return home


@pytest.fixture
def fake_adb(tmp_path, monkeypatch):
    root = tmp_path / "fake_adb_state"
    root.mkdir()
    (root / "devices").write_text("PHONE1 device\nPHONE2 unauthorized\n")
    shutil.copy(HERE / "data" / "bm_new.txt", root / "output")
    monkeypatch.setenv("FAKE_ADB_DIR", str(root))
    monkeypatch.setenv("PATH", f"{HERE / 'fake_adb'}{os.pathsep}{os.environ['PATH']}")
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake binary")
    monkeypatch.setenv("LETI_BENCHMARK_MODEL", str(binary))
    return root


@dataclass
class Ran:
    """What a command run in-process printed and returned (like subprocess's result)."""

    returncode: int
    stdout: str
    stderr: str


def run_main(main, args: tuple[str, ...], capsys) -> Ran:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    out = capsys.readouterr()
    return Ran(int(code or 0), out.out, out.err)


@pytest.fixture
def leti_cli(capsys):
    """``leti ARGS...`` run in-process (``main(argv)``) with its output captured, in the test's
    own LETI_HOME; a subprocess is kept only where the process itself is under test."""
    from leti.estimator.cli import main

    return lambda *args: run_main(main, args, capsys)


PHONE_SUBSET = HERE / "data" / "mobile-ml-benchmark-subset"


@pytest.fixture(scope="session")
def phone_home(tmp_path_factory):
    """The 12-model mobile-ml-benchmark fixture imported and two phones trained on it
    (phone/pixel4/gpu, phone/s10/gpu: about a minute), shared by the tests that only read it."""
    from leti.estimator.db import open_db
    from leti.estimator.services.published import import_dataset
    from leti.estimator.services.train import train_and_save

    home = tmp_path_factory.mktemp("phone_home")
    old = os.environ.get("LETI_HOME")
    os.environ["LETI_HOME"] = str(home)
    try:
        db = open_db()
        import_dataset(db, PHONE_SUBSET)
        report, _ = train_and_save(db, "phone/pixel4/gpu")
        train_and_save(db, "phone/s10/gpu")
        db.engine.dispose()
    finally:
        if old is None:
            os.environ.pop("LETI_HOME", None)
        else:
            os.environ["LETI_HOME"] = old
    return home, report
