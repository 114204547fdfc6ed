"""The core's loggers: under ``vs_common``, silent unless the application configures logging.

Retries, re-asks, fallbacks and top-ups are logged (keys redacted) at INFO and
DEBUG. The package logger gets a :class:`logging.NullHandler` when the first
module that logs is imported, so ``import vs_common`` itself needs no logging.

Example:
    >>> logger("vs_common.sampling").name
    'vs_common.sampling'
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

_PACKAGE = logging.getLogger("vs_common")
if not any(isinstance(h, logging.NullHandler) for h in _PACKAGE.handlers):
    _PACKAGE.addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger ``name`` (a module of ``vs_common``)."""
    return logging.getLogger(name)
