"""Starting threads in a command that Ctrl-C (or SIGTERM) must stop cleanly.

``threading.Thread.start()`` waits on a Condition. A KeyboardInterrupt raised in the main thread
between that Condition's lock release and its re-acquire ends in ``RuntimeError: release
unlocked lock`` and a traceback instead of a clean stop (``leti-view`` met it about once in 150
starts stopped at once). Both commands that start threads, ``leti-view`` (its warm-up) and
``leti db build`` with several devices, start them with the stop signals held back, and each
thread lets them through again for itself, so that a child process it starts (a runtime, adb)
does not inherit the held-back mask. Both also stop on SIGINT and SIGTERM whatever the parent
left (:func:`stop_on_signals`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence

from .logs import keep_python_stderr

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the body runs; one that came meanwhile is raised
    right after it, in the caller's own code. A no-op where there is no ``pthread_sigmask``
    (Windows)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def start_threads(threads: Sequence[threading.Thread], started: threading.Event) -> None:
    """Start ``threads`` with the stop signals held back, then set ``started`` (also when a
    signal that came meanwhile is raised on leaving). Each thread waits for ``started`` before
    it lets the signals through (:func:`let_signals_through`): a thread that unblocked them
    sooner could take a SIGINT while the main thread is still inside the next
    ``Thread.start()``, whose handler would then run there after all.

    Python's stderr gets a descriptor of its own first (:func:`.logs.keep_python_stderr`): the
    threads silence descriptor 2 while they open interpreters, and the line saying the command
    stopped went to /dev/null with the runtime's when it came meanwhile (the viewer's, and
    ``leti db build``'s with several devices: its Ctrl-C test met it once, 2026-12-07)."""
    keep_python_stderr()
    try:
        with signals_deferred():
            for t in threads:
                t.start()
    finally:
        started.set()


def let_signals_through(started: threading.Event | None = None) -> None:
    """In a thread started by :func:`start_threads`: once every thread has started, undo the
    inherited mask (only the main thread gets Python's signal handlers; this is for the
    processes the thread starts)."""
    if started is not None:
        started.wait()
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def wait_all(
    threads: Sequence[threading.Thread], done: Sequence[threading.Event], slice_s: float = 0.2
) -> None:
    """Wait until each started thread of ``threads`` has set its ``done`` event, in slices of
    ``slice_s`` seconds. The kernel may hand a process's SIGINT or SIGTERM to any thread that
    lets it through, and then only a flag is set: a main thread asleep in a plain ``join()``
    would not run the Python handler (and stop) until the thread it waits for had finished, a
    whole suite later. An event, not ``join(timeout)``: on CPython 3.10-3.12 a
    KeyboardInterrupt raised inside ``join()`` marks that thread stopped while it still runs
    (python/cpython#90882), and the cleanup would then not wait for it."""
    for t, d in zip(threads, done, strict=True):
        while t.ident is not None and not d.is_set():
            d.wait(slice_s)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """Stop on SIGINT and SIGTERM whatever the parent left: a shell starts background jobs with
    SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own, so Ctrl-C
    or ``kill -INT`` would never stop the command; SIGTERM would end it with no word said. A
    KeyboardInterrupt lets the command say what it kept (and a build record its status)."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (an embedding program's choice)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
