"""Exit codes and the errors a command reports (light: the parser and ``main`` import it)."""

from __future__ import annotations

from typing import TextIO

from vs_common.errors import VSError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CLIError",
    "UsageError",
    "eprint",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(VSError):
    """A failure to report as one line on stderr (no traceback), exit code 1."""

    exit_code = EXIT_FAILURE


class UsageError(CLIError):
    """A bad option or option value: reported like an argparse error, exit code 2."""

    exit_code = EXIT_USAGE


def eprint(text: str, stream: TextIO) -> None:
    """Write one line to ``stream`` and flush it."""
    stream.write(text + "\n")
    stream.flush()
