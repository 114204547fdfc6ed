"""Deprecated location of the embedded model server: use :mod:`vs_common.backends`.

Deprecated: :class:`LocalModelServer` moved to
:mod:`vs_common.backends.local_server`. This module re-exports its public
names for one more release and will then be removed; import
``from vs_common.backends import LocalModelServer`` instead.

Example:
    >>> from vs_common.local_server import LocalModelServer
    >>> LocalModelServer.__module__
    'vs_common.backends.local_server'
"""

from vs_common.backends.local_server import (
    DEFAULT_MODEL_ALIAS,
    LOCAL_EXTRA_HINT,
    PORTABLE_REBUILD_HINT,
    SERVER_MODULE_ENV,
    LocalModelServer,
    LocalServerDied,
    LocalServerError,
    default_model_path,
)

__all__ = [
    "DEFAULT_MODEL_ALIAS",
    "LOCAL_EXTRA_HINT",
    "PORTABLE_REBUILD_HINT",
    "SERVER_MODULE_ENV",
    "LocalModelServer",
    "LocalServerDied",
    "LocalServerError",
    "default_model_path",
]
