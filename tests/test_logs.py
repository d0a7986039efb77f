"""Quiet runtimes, audible leti: native lines on descriptor 2 silenced, Python's kept."""

from __future__ import annotations

import os
import sys

from leti.estimator.logs import keep_python_stderr, native_stderr


def test_python_lines_outlive_another_threads_native_silencing(capfd, monkeypatch):
    """The viewer's warm-up thread silences descriptor 2 while it creates an interpreter; a
    "stopped" line printed meanwhile must still reach the user."""
    monkeypatch.delenv("LETI_VERBOSE", raising=False)
    on_fd2 = open(2, "w", buffering=1, closefd=False)  # a process's own stderr, as at start
    monkeypatch.setattr(sys, "stderr", on_fd2)
    with native_stderr():
        os.write(2, b"native-1\n")
        print("lost", file=sys.stderr)  # without the copy it goes with the native lines
    keep_python_stderr()
    copy = sys.stderr
    try:
        assert copy is not on_fd2
        keep_python_stderr()
        assert sys.stderr is copy  # once is enough: no second copy
        with native_stderr():
            os.write(2, b"native-2\n")
            print("kept", file=sys.stderr)
        os.write(2, b"native-3\n")  # the descriptor itself is back afterwards
    finally:
        monkeypatch.setattr(sys, "stderr", on_fd2)
        copy.close()
    err = capfd.readouterr().err
    assert "kept" in err and "native-3" in err
    assert "lost" not in err and "native-1" not in err and "native-2" not in err
