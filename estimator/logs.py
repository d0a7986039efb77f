"""How chatty leti-view is: quiet by default, everything with ``--verbose``.

The runtimes print from native code (``INFO: Created TensorFlow Lite XNNPACK delegate``, absl
and TensorFlow start-up lines) straight to file descriptor 2, where Python's logging cannot
reach; :func:`native_stderr` silences that descriptor for the duration of a call instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

_ENV = "LETI_VERBOSE"
_python_stderr: TextIO | None = None  # the copy keep_python_stderr made, once made


def set_verbose(on: bool) -> None:
    """Remember the choice for this process and the processes it starts (workers, builds)."""
    if on:
        os.environ[_ENV] = "1"
    else:
        os.environ.pop(_ENV, None)
    if not on:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def verbose() -> bool:
    return os.environ.get(_ENV, "") not in ("", "0")


@contextlib.contextmanager
def native_stderr() -> Iterator[None]:
    """Send what native code writes to stderr to /dev/null (unless verbose)."""
    if verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded, closed): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def keep_python_stderr() -> None:
    """Point ``sys.stderr`` at a copy of descriptor 2, for a process in which one thread runs
    :func:`native_stderr` while another prints: the viewer's warm-up thread silences the
    descriptor for a moment as it creates each interpreter, and a "stopped" or error line the
    main thread printed in that moment went to /dev/null with the native lines. For the rest of
    the process; once is enough."""
    global _python_stderr
    if verbose() or sys.stderr is _python_stderr:  # verbose, done, or no stderr (both None)
        return
    try:
        sys.stderr.flush()
        fd = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr: nothing to keep
        return
    _python_stderr = open(  # noqa: SIM115 - lives as long as the process
        fd, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace"
    )
    sys.stderr = _python_stderr
