"""Translation between LangChain objects and the core's plain dicts.

Nothing here decides policy: it only maps messages, usage, finish reasons,
tool calls and provider errors to and from :mod:`vs_common` types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue

from vs_common import (
    CallResponse,
    Message,
    Usage,
    VSConfigError,
    VSStructuredOutputUnsupported,
)
from vs_common.providers import (
    normalize_finish_reason,
    pick_tool_arguments,
    structured_rejection,
    tool_finish_reason,
)

__all__ = [
    "as_core_messages",
    "as_lc_messages",
    "finish_reason_of",
    "is_structured_rejection",
    "map_structured_error",
    "max_tokens_of",
    "message_output",
    "message_response",
    "usage_of",
]

_ROLE_OF_TYPE = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def _core_message(message: BaseMessage) -> Message:
    role = message.role if isinstance(message, ChatMessage) else message.type
    return {"role": _ROLE_OF_TYPE.get(role, role), "content": message.text}


def as_core_messages(value: Any) -> str | list[Message]:
    """A sampler input (text, messages, a PromptValue) as the core's prompt.

    Args:
        value: A string, a PromptValue, a BaseMessage, or a sequence of
            messages in any form ``convert_to_messages`` accepts.

    Returns:
        The prompt string, or the conversation as role/content dicts.

    Raises:
        VSConfigError: The input cannot be read as a prompt.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, PromptValue):
        return [_core_message(m) for m in value.to_messages()]
    if isinstance(value, BaseMessage):
        return [_core_message(value)]
    if isinstance(value, Sequence):
        try:
            messages = convert_to_messages(value)
        except (ValueError, TypeError, NotImplementedError) as exc:
            msg = f"cannot read the input as chat messages: {exc}"
            raise VSConfigError(msg, field="input") from exc
        return [_core_message(m) for m in messages]
    msg = (
        "the input must be a string, a list of messages or a PromptValue"
        f" (or a dict when the sampler has a prompt), got {type(value).__name__}"
    )
    raise VSConfigError(msg, field="input")


def as_lc_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    """The core's role/content dicts as LangChain messages."""
    out: list[BaseMessage] = []
    for m in messages:
        role, content = m["role"], m["content"]
        if role == "system":
            out.append(SystemMessage(content=content))
        elif role == "user":
            out.append(HumanMessage(content=content))
        elif role == "assistant":
            out.append(AIMessage(content=content))
        else:
            out.append(ChatMessage(role=role, content=content))
    return out


def usage_of(message: BaseMessage) -> Usage | None:
    """Token usage of a reply, from ``AIMessage.usage_metadata``."""
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return None
    return Usage(
        prompt_tokens=int(meta.get("input_tokens") or 0),
        completion_tokens=int(meta.get("output_tokens") or 0),
    )


def finish_reason_of(message: BaseMessage) -> str | None:
    """The reply's finish reason, ``length`` for any provider's "cut off"."""
    meta = message.response_metadata or {}
    reason = meta.get("finish_reason") or meta.get("stop_reason")
    return normalize_finish_reason(reason)


def message_output(
    message: BaseMessage, tool_name: str | None = None
) -> str | Mapping[str, Any] | Sequence[Any]:
    """What the parser should read from a reply: tool-call arguments or text.

    The core's rule (:func:`vs_common.providers.pick_tool_arguments`): the
    call named ``tool_name``, else the first call with arguments; arguments
    LangChain could not decode (``invalid_tool_calls``, e.g. cut off by
    max_tokens) come as their raw string, which the robust parser repairs;
    with no usable call, the text.
    """
    arguments = _arguments(message, tool_name)
    return arguments if arguments is not None else message.text


def _arguments(
    message: BaseMessage, tool_name: str | None
) -> str | dict[str, Any] | list[Any] | None:
    calls = [
        (call.get("name"), call.get("args"))
        for call in [
            *(getattr(message, "tool_calls", None) or []),
            *(getattr(message, "invalid_tool_calls", None) or []),
        ]
    ]
    return pick_tool_arguments(calls, tool_name or "")


def message_response(
    message: BaseMessage, tool_name: str | None = None, *, max_tokens: int | None = None
) -> CallResponse:
    """A chat model reply as the core's :class:`~vs_common.CallResponse`.

    With ``tool_name`` (a tool-mode reply), tool-call arguments cut off by
    ``max_tokens`` get the finish reason ``length``
    (:func:`vs_common.providers.tool_finish_reason`).
    """
    usage = usage_of(message)
    finish_reason = finish_reason_of(message)
    metadata: dict[str, Any] = {"model": (message.response_metadata or {}).get("model_name")}
    arguments = _arguments(message, tool_name)
    output: str | Mapping[str, Any] | Sequence[Any] = message.text
    if arguments is not None:
        output = arguments
        reported = finish_reason
        if tool_name is not None:
            finish_reason = tool_finish_reason(
                reported,
                arguments,
                completion_tokens=usage.completion_tokens if usage is not None else None,
                max_tokens=max_tokens,
            )
        if finish_reason != reported:
            metadata["reported_finish_reason"] = reported
    return CallResponse(output=output, usage=usage, finish_reason=finish_reason, metadata=metadata)


def max_tokens_of(llm: Any) -> int | None:
    """The reply token limit a chat model sends, if it says.

    ``extra_body["max_tokens"]`` first (what llama.cpp reads; ChatOpenAI's
    own ``max_tokens`` goes out as ``max_completion_tokens``, which it
    ignores), then ``model_kwargs["max_tokens"]``, then ``max_tokens``.
    """
    for source in (getattr(llm, "extra_body", None), getattr(llm, "model_kwargs", None)):
        if isinstance(source, Mapping):
            value = source.get("max_tokens")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    value = getattr(llm, "max_tokens", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_structured_rejection(exc: BaseException) -> bool:
    """Whether an error says the model or server refuses tools / a response format.

    The core's one policy (:func:`vs_common.providers.structured_rejection`):
    ``NotImplementedError`` (no ``bind_tools``), an HTTP 4xx/501 naming tools
    or the response format, and a 5xx validation error about them
    (llama-cpp-python's server answers ``json_schema`` with a 500).
    """
    return structured_rejection(exc)


def map_structured_error(exc: BaseException) -> BaseException:
    """Map a rejection of tool calling or JSON-schema output to the core's type.

    Called only for a structured-mode request: a rejection (see
    :func:`is_structured_rejection`) becomes
    :class:`~vs_common.VSStructuredOutputUnsupported`, so the orchestration
    falls back to text. Any other error is returned unchanged: the core's
    ``is_transient`` already recognises openai/httpx errors and status codes.
    """
    if is_structured_rejection(exc):
        return VSStructuredOutputUnsupported(f"{type(exc).__name__}: {exc}"[:500])
    return exc
