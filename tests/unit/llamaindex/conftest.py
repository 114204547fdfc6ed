"""Every LlamaIndex unit test runs offline with scripted models set explicitly.

``Settings.llm`` is a scripted ``CustomLLM`` and ``Settings.embed_model`` a
``MockEmbedding``, so nothing reaches for OpenAI; network sockets are disabled
(unix sockets stay allowed: asyncio's event loop needs a socketpair).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from li_fakes import ScriptedLLM
from llama_index.core import Settings
from llama_index.core.embeddings import MockEmbedding

try:
    from pytest_socket import disable_socket, enable_socket
except ImportError:  # pragma: no cover - pytest-socket comes with the dev group
    disable_socket = enable_socket = None


@pytest.fixture(autouse=True)
def offline_settings() -> Iterator[None]:
    old_llm, old_embed = Settings._llm, Settings._embed_model
    Settings.llm = ScriptedLLM()
    Settings.embed_model = MockEmbedding(embed_dim=8)
    if disable_socket is not None:
        disable_socket(allow_unix_socket=True)
    try:
        yield
    finally:
        if enable_socket is not None:
            enable_socket()
        Settings._llm, Settings._embed_model = old_llm, old_embed
