from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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
    start = time.time()
    r = run_at_home(home, "db", "build", "--device", "host", "--suite", "smoke")
    assert r.returncode == 0, r.stderr[-2000:]
    return home, r, time.time() - start


@pytest.fixture(scope="session")
def trained_home(smoke_home):
    """The smoke build with an estimator trained on it."""
    home = smoke_home[0]
    r = run_at_home(home, "train", "--device", "host")
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


@contextlib.contextmanager
def like_a_new_process() -> Iterator[None]:
    """What one in-process command leaves behind is undone before the next: the environment
    (``--verbose`` sets LETI_VERBOSE, commands set what their workers read), the signal
    handlers leti-view installs, the werkzeug log level, the GPU probe cached for the process,
    and every SQLAlchemy engine the command opened (disposed: no pooled connection outlives
    it, so a PostgreSQL database can be dropped and a SQLite file moved)."""
    import sqlalchemy as sa
    from leti.estimator.devices import gpu

    env = dict(os.environ)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    engines: list = []
    create = sa.create_engine

    def recorded(*args, **kw):
        engine = create(*args, **kw)
        engines.append(engine)
        return engine

    gpu.probe.cache_clear()
    sa.create_engine = recorded
    try:
        yield
    finally:
        sa.create_engine = create
        for engine in engines:
            engine.dispose()
        gpu.probe.cache_clear()
        werkzeug.setLevel(level)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for key in set(os.environ) - set(env):
            del os.environ[key]
        os.environ.update(env)


def exit_code(exc: SystemExit) -> int:
    """sys.exit's argument as the process's exit status (argparse: 0 for --help, 2 on usage)."""
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def run_main(main, args: tuple[str, ...], capture, home: Path | None = None) -> Ran:
    """``main(argv)`` with what it writes to file descriptors 1 and 2 captured (``capfd``: the
    runtimes' native lines too, as a subprocess would show them); ``home``: LETI_HOME for this
    run only."""
    capture.readouterr()
    with like_a_new_process():
        if home is not None:
            os.environ["LETI_HOME"] = str(home)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors, --help
            code = exit_code(exc)
        out = capture.readouterr()
    return Ran(int(code or 0), out.out, out.err)


@pytest.fixture
def leti_cli(capfd):
    """``leti ARGS...`` run in-process (``main(argv)``) with its output captured, in the test's
    own LETI_HOME (or ``home=``); a subprocess is kept only where the process itself is under
    test."""
    from leti.estimator.cli import main

    return lambda *args, home=None: run_main(main, args, capfd, home)


@pytest.fixture
def leti_view(capfd):
    """``leti-view ARGS...`` in-process, for what it does before it serves (usage, one-line
    errors): a server that is started, signalled or killed stays a process of its own."""
    from leti.server.cli import main

    return lambda *args, home=None: run_main(main, args, capfd, home)


def run_at_home(home: Path, *args: str) -> Ran:
    """``leti ARGS...`` in-process with LETI_HOME=home, for session fixtures (no ``capfd``
    there: Python's output is captured, the runtimes' native lines are not)."""
    from leti.estimator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with like_a_new_process():
        os.environ["LETI_HOME"] = str(home)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exit_code(exc)
    return Ran(int(code or 0), out.getvalue(), err.getvalue())


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 60) -> int:
    """Ask a process a test started to stop (``sig``), kill it if it has not within
    ``timeout`` seconds, and reap it: every test that starts a process calls this in
    ``finally``. Returns its exit status (negative: the signal that ended it)."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return proc.returncode


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


def leti_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``leti ARGS...`` as a process of its own, for the few tests where the process itself is
    under test (what it imports, what its native code writes to its descriptors)."""
    return subprocess.run(
        [sys.executable, "-m", "leti.estimator.cli", *args],
        capture_output=True,
        text=True,
        env=env,
    )
