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


def test_a_command_s_threads_cannot_silence_its_own_lines(capfd, monkeypatch):
    """Threads started for a command (``start_threads``: the viewer's warm-up, ``leti db
    build``'s builders) silence descriptor 2 while they open interpreters; the line the main
    thread prints meanwhile (a build's "interrupted") must still reach the user."""
    import threading

    from leti.estimator.signals import let_signals_through, start_threads

    monkeypatch.delenv("LETI_VERBOSE", raising=False)
    on_fd2 = open(2, "w", buffering=1, closefd=False)  # a process's own stderr, as at start
    monkeypatch.setattr(sys, "stderr", on_fd2)
    silenced, printed = threading.Event(), threading.Event()

    def opens_an_interpreter(started: threading.Event) -> None:
        let_signals_through(started)
        with native_stderr():
            os.write(2, b"native\n")
            silenced.set()
            printed.wait(10)

    started = threading.Event()
    worker = threading.Thread(target=opens_an_interpreter, args=(started,))
    start_threads([worker], started)
    copy = sys.stderr
    try:
        assert silenced.wait(10)
        print("interrupted", file=sys.stderr)
        printed.set()
        worker.join(10)
    finally:
        printed.set()
        monkeypatch.setattr(sys, "stderr", on_fd2)
        if copy is not on_fd2:
            copy.close()
    err = capfd.readouterr().err
    assert "interrupted" in err and "native" not in err
