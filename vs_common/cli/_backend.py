"""The ``vs`` command's backend: the core's rule (:mod:`vs_common.backends.resolve`), printed.

Which server a command talks to is decided by
:func:`vs_common.backends.resolve.open_backend`, the rule
:func:`vs_common.verbalize` follows too: ``--base-url``; else OpenAI when
``OPENAI_API_KEY`` (or ``--api-key-env``) is set; else the embedded
SmolLM2-135M model, started for the run and stopped afterwards. This module
only says what happens on stderr and turns the core's errors into the
command's one-line errors. Tests inject a ``call`` instead and no server is
involved.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TextIO

from vs_common.backends.local_server import LocalServerDied
from vs_common.backends.resolve import (
    DEFAULT_API_KEY_ENV,
    DEFAULT_OPENAI_BASE_URL,
    DEFAULT_OPENAI_MODEL,
    Backend,
    BackendOptions,
    BackendUnavailable,
    display_url,
)
from vs_common.backends.resolve import open_backend as _open_backend
from vs_common.calls import Call
from vs_common.cli._common import CLIError, UsageError, eprint
from vs_common.errors import VSConfigError

__all__ = [
    "DEFAULT_API_KEY_ENV",
    "DEFAULT_OPENAI_BASE_URL",
    "DEFAULT_OPENAI_MODEL",
    "Backend",
    "BackendOptions",
    "display_url",
    "open_backend",
]

_FLAGS = {"base_url": "--base-url", "api_key_env": "--api-key-env"}


@contextlib.contextmanager
def open_backend(
    options: BackendOptions, err: TextIO, *, call: Call | None = None
) -> Iterator[Backend]:
    """Resolve the backend and keep it up for the block, reporting on ``err``.

    Args:
        options: The command's server options.
        err: Where to say that the embedded model is starting.
        call: A call to use instead of any server (tests).

    Yields:
        The backend.

    Raises:
        UsageError: A bad ``--base-url`` or an unset ``--api-key-env`` variable.
        CLIError: The server cannot be reached, or the embedded model cannot
            start or died (the message names ``pip install ...[local]`` when
            missing).
    """
    if call is not None:
        yield Backend(call=call, model=options.model or "injected", label="injected call")
        return
    stack = contextlib.ExitStack()
    try:  # only the set-up's errors are translated here, not the command's own
        backend = stack.enter_context(
            _open_backend(options, on_status=lambda text: eprint(f"vs: {text}", err))
        )
    except VSConfigError as exc:
        flag = _FLAGS.get(exc.field or "")
        if flag is None:
            raise CLIError(str(exc)) from None
        detail = str(exc).removeprefix(f"{exc.field}: ")
        msg = f"argument {flag}: {detail}"
        raise UsageError(msg) from None
    except (BackendUnavailable, LocalServerDied) as exc:
        raise CLIError(str(exc)) from None
    try:
        with stack:
            yield backend
    except LocalServerDied as exc:  # the embedded model died during the run
        raise CLIError(str(exc)) from exc.__cause__
