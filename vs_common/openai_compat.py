"""Deprecated location of the OpenAI-compatible client: use :mod:`vs_common.backends`.

Deprecated: the client moved to :mod:`vs_common.backends.openai_compat`. This module
re-exports its public names for one more release and will then be
removed; import ``from vs_common.backends import OpenAICompatClient`` instead.

Example:
    >>> from vs_common.openai_compat import OpenAICompatClient
    >>> OpenAICompatClient.__module__
    'vs_common.backends.openai_compat'
"""

from vs_common.backends.openai_compat import OpenAICompatClient, VSHTTPError

__all__ = ["OpenAICompatClient", "VSHTTPError"]
