"""Backends: the OpenAI-compatible async client, the embedded model server, the offline embedder.

The top of :mod:`vs_common` is the contract and the algorithms; what talks to
a model server or loads a model lives here. Nothing heavy is imported until
it is used (aiohttp on the first request, onnxruntime on the first
embedding; llama-cpp-python runs in the model server's own process).

Example:
    >>> from vs_common.backends import OpenAICompatClient
    >>> OpenAICompatClient("http://127.0.0.1:8080/v1", "smollm2").url
    'http://127.0.0.1:8080/v1/chat/completions'
"""

from vs_common.backends.embeddings import MiniLMEmbedder, default_embedder
from vs_common.backends.local_server import LocalModelServer, LocalServerDied, LocalServerError
from vs_common.backends.openai_compat import (
    OpenAICompatClient,
    VSHTTPError,
    VSReplyError,
    VSReplyTooLarge,
)
from vs_common.backends.resolve import (
    BackendOptions,
    BackendUnavailable,
    embedded_server,
    open_backend,
)

__all__ = [
    "BackendOptions",
    "BackendUnavailable",
    "LocalModelServer",
    "LocalServerDied",
    "LocalServerError",
    "MiniLMEmbedder",
    "OpenAICompatClient",
    "VSHTTPError",
    "VSReplyError",
    "VSReplyTooLarge",
    "default_embedder",
    "embedded_server",
    "open_backend",
]
