"""One exception type for every problem the user can fix, so the CLIs can print it on one line."""

from __future__ import annotations


class LetiError(Exception):
    """A problem with the user's input or environment, with a hint on what to do about it.

    The CLI prints ``str(error)`` and exits with status 2; no traceback reaches the user.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ModelFormatError(LetiError):
    """The file is not a TFLite model this tool can read."""
