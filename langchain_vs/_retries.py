"""One retry layer: the chat model's own client must not retry under the core's retries.

The openai SDK retries twice by default, so ``ChatOpenAI`` under the core's
three retries sent 12 requests for one failing call. :func:`single_retry_layer`
returns a copy of a ``ChatOpenAI`` (any ``BaseChatOpenAI``) whose openai
clients have ``max_retries=0`` (``with_options``: the same connection pool);
the user's model is left as it was. Any other model that declares
``max_retries`` keeps them, and the caller turns the core's retries off
instead (:meth:`vs_common.sampler.SamplerSettings.over_retrying_client`).
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

from langchain_core.language_models import BaseLanguageModel

__all__ = ["single_retry_layer"]

_OPENAI_SDK_DEFAULT_RETRIES = 2
_Model = TypeVar("_Model", bound=BaseLanguageModel[Any])


def single_retry_layer(llm: _Model) -> tuple[_Model, int]:
    """The model to call, and the retries it still makes by itself (0 when switched off).

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> model, retries = single_retry_layer(FakeListChatModel(responses=["x"]))
        >>> retries
        0
    """
    # langchain-openai is optional: a model can only be one of its classes if it is loaded.
    module = sys.modules.get("langchain_openai.chat_models.base")
    openai_chat = getattr(module, "BaseChatOpenAI", None)
    if openai_chat is not None and isinstance(llm, openai_chat):
        update: dict[str, object] = {"max_retries": 0}
        for root_name, resource_name in (
            ("root_client", "client"),
            ("root_async_client", "async_client"),
        ):
            root = getattr(llm, root_name, None)
            if root is not None:
                root = root.with_options(max_retries=0)
                update[root_name] = root
                update[resource_name] = root.chat.completions
            elif getattr(llm, resource_name, None) is not None:
                # A client passed in without its root: nothing to call with_options on.
                return llm, _declared(llm, _OPENAI_SDK_DEFAULT_RETRIES)
        return llm.model_copy(update=update), 0
    return llm, _declared(llm, 0)


def _declared(llm: BaseLanguageModel[Any], default: int) -> int:
    value = getattr(llm, "max_retries", None)
    if value is None:
        return default
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
