"""One retry layer: the LLM's own client must not retry under the core's retries.

LlamaIndex's ``OpenAI`` (and ``OpenAILike``, ``AzureOpenAI``...: every
subclass) retries twice over: a tenacity loop around each call and the openai
SDK's own retries, both ``max_retries`` times (3 by default), under the
core's three. :func:`single_retry_layer` returns a copy with
``max_retries=0`` (the SDK clients it already made get
``with_options(max_retries=0)``: the same connection pool); the user's LLM
is left as it was. Any other LLM that declares ``max_retries`` keeps them,
and the caller turns the core's retries off instead
(:meth:`vs_common.sampler.SamplerSettings.over_retrying_client`).
"""

from __future__ import annotations

import sys

from llama_index.core.llms import LLM

__all__ = ["single_retry_layer"]


def single_retry_layer(llm: LLM) -> tuple[LLM, int]:
    """The LLM to call, and the retries it still makes by itself (0 when switched off).

    Example:
        >>> from llama_index.core.llms import MockLLM
        >>> single_retry_layer(MockLLM())[1]
        0
    """
    # llama-index-llms-openai is optional: an LLM can only be its class if it is loaded.
    module = sys.modules.get("llama_index.llms.openai.base")
    openai_llm = getattr(module, "OpenAI", None)
    if openai_llm is not None and isinstance(llm, openai_llm):
        clients = [getattr(llm, name, None) for name in ("_client", "_aclient")]
        if llm.max_retries == 0 and all(c is None or c.max_retries == 0 for c in clients):
            return llm, 0  # one layer already: the clients it makes later inherit it
        copy = llm.model_copy(update={"max_retries": 0})
        for name in ("_client", "_aclient"):
            client = getattr(copy, name, None)
            if client is not None:  # made already, or passed in: same pool, no retries
                setattr(copy, name, client.with_options(max_retries=0))
        return copy, 0
    value = getattr(llm, "max_retries", None)
    declared = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return llm, value if declared else 0  # type: ignore[return-value]
