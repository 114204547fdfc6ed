"""Translate the core's model calls into LlamaIndex LLM calls.

The orchestration (:func:`vs_common.run_sampling`) awaits a ``call`` per
request; :func:`make_llm_call` builds one from any LlamaIndex LLM: ``achat``
for chat models, ``acomplete`` for completion models, and the LLM's own
function-calling API (``achat_with_tools`` with the tool forced) in tool mode.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.base.llms.generic_utils import (
    messages_to_prompt as generic_messages_to_prompt,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools.types import BaseTool, ToolMetadata, ToolOutput

from llamaindex_vs._retries import single_retry_layer
from vs_common import (
    Call,
    CallRequest,
    CallResponse,
    Message,
    Usage,
    VSConfigError,
    VSStructuredOutputUnsupported,
)
from vs_common.calls import redact_secrets
from vs_common.providers import (
    TOOL_DESCRIPTION,
    normalize_finish_reason,
    pick_tool_arguments,
    response_format,
    structured_rejection,
    tool_finish_reason,
)

__all__ = ["check_completion_model", "make_llm_call"]

_log = logging.getLogger(__name__)


def make_llm_call(llm: LLM, *, llm_kwargs: Mapping[str, Any] | None = None) -> Call:
    """Build the ``call`` that :func:`vs_common.run_sampling` awaits, from a LlamaIndex LLM.

    Text mode uses ``llm.achat`` for chat models and ``llm.acomplete`` (with
    the messages rendered by ``llm.messages_to_prompt``) otherwise. Tool mode
    uses ``llm.achat_with_tools`` with a tool whose parameters are the
    request's schema, forced when the LLM supports ``tool_choice``. A
    completion request (``direct_base``: plain text for a base model, no
    chat template) uses ``llm.acomplete(prompt, formatted=True)`` on a
    completion model (``is_chat_model=False``, e.g. ``OpenAILike(...,
    is_chat_model=False)``, which posts to ``/completions``); a chat model
    would wrap it in its chat template, so it is refused with
    :class:`vs_common.VSConfigError`. An LLM
    that is not a function-calling model, or a server that rejects the tool
    or response format, raises :class:`vs_common.VSStructuredOutputUnsupported`
    so the core falls back to text. Token usage and the finish reason are read
    from the raw response.

    For ``OpenAILike`` pass ``is_function_calling_model=True`` when the server
    supports forced tool calls (tool mode asks for exactly k candidates). One
    retry layer: the calls go to a copy of an ``OpenAI``-family LLM whose own
    retries are off, so the core's :class:`vs_common.RetryPolicy` alone
    decides (the LLM passed in is not changed).

    Args:
        llm: Any LlamaIndex LLM (``OpenAILike``, ``OpenAI``, a ``CustomLLM``...).
        llm_kwargs: Extra keyword arguments for every LLM call.

    Returns:
        An async ``call(request) -> CallResponse``.

    Example:
        >>> from llama_index.core.llms import MockLLM
        >>> call = make_llm_call(MockLLM(max_tokens=3))
        >>> callable(call)
        True
    """
    kwargs = dict(llm_kwargs or {})
    llm = single_retry_layer(llm)[0]

    async def call(request: CallRequest) -> CallResponse:
        if request.is_completion:
            return await _completion_call(llm, request, kwargs)
        if request.structured == "tool" and request.schema is not None:
            return await _tool_call(llm, request, kwargs)
        if request.structured == "json_schema" and request.schema is not None:
            return await _json_schema_call(llm, request, kwargs)
        return await _text_call(llm, request.messages, kwargs)

    return call


def to_chat_messages(messages: Sequence[Message]) -> list[ChatMessage]:
    """Role/content dicts as LlamaIndex chat messages."""
    out: list[ChatMessage] = []
    for m in messages:
        try:
            role = MessageRole(m.get("role", "user"))
        except ValueError:
            role = MessageRole.USER
        out.append(ChatMessage(role=role, content=m.get("content", "")))
    return out


async def _text_call(llm: LLM, messages: list[Message], kwargs: dict[str, Any]) -> CallResponse:
    chat = to_chat_messages(messages)
    if llm.metadata.is_chat_model:
        response = await llm.achat(chat, **kwargs)
        return _from_chat(response)
    render = llm.messages_to_prompt or generic_messages_to_prompt
    prompt = render(chat)
    completion = await llm.acomplete(prompt, formatted=True, **kwargs)
    return _from_completion(completion)


def check_completion_model(llm: LLM) -> None:
    """Refuse a chat model for ``direct_base``: it would wrap the prompt in its chat template.

    Raises:
        VSConfigError: ``llm.metadata.is_chat_model`` is true.
    """
    if llm.metadata.is_chat_model:
        msg = (
            "direct_base sends a plain-text completion prompt (no chat template) for a base"
            f" model; {type(llm).__name__} is a chat model (metadata.is_chat_model): use a"
            " completion model, e.g. OpenAILike(..., is_chat_model=False)"
        )
        raise VSConfigError(msg, field="llm")


async def _completion_call(llm: LLM, request: CallRequest, kwargs: dict[str, Any]) -> CallResponse:
    check_completion_model(llm)
    completion = await llm.acomplete(request.prompt or "", formatted=True, **kwargs)
    return _from_completion(completion)


async def _json_schema_call(llm: LLM, request: CallRequest, kwargs: dict[str, Any]) -> CallResponse:
    if not llm.metadata.is_chat_model:
        msg = f"{type(llm).__name__} is not a chat model; JSON-schema output needs one"
        raise VSStructuredOutputUnsupported(msg)
    fmt = response_format(request.tool_name, request.schema or {})
    try:
        response = await llm.achat(
            to_chat_messages(request.messages), response_format=fmt, **kwargs
        )
    except Exception as exc:
        raise _translate(exc, request) from exc
    return _from_chat(response)


async def _tool_call(llm: LLM, request: CallRequest, kwargs: dict[str, Any]) -> CallResponse:
    if not isinstance(llm, FunctionCallingLLM) or not llm.metadata.is_function_calling_model:
        msg = f"{type(llm).__name__} is not a function-calling model; tool mode needs one"
        raise VSStructuredOutputUnsupported(msg)
    tool = _SchemaTool(request.tool_name, request.schema or {})
    extra: dict[str, Any] = {}
    if _accepts(llm, "tool_choice"):
        extra["tool_choice"] = request.tool_name
    try:
        response = await llm.achat_with_tools(
            [tool],
            chat_history=to_chat_messages(request.messages),
            # Keep every call the model made: LlamaIndex otherwise keeps only the
            # first, and the core's rule picks the forced tool's call by name.
            allow_parallel_tool_calls=True,
            tool_required=True,
            **extra,
            **kwargs,
        )
    except Exception as exc:
        raise _translate(exc, request) from exc
    result = _from_chat(response)
    arguments = _tool_arguments(llm, response, request.tool_name)
    if arguments is None:
        return result  # the model answered in text; the robust parser reads it
    if result.output:
        result.metadata["content"] = result.output
    result.output = arguments
    reported = result.finish_reason
    result.finish_reason = tool_finish_reason(
        reported,
        arguments,
        completion_tokens=result.usage.completion_tokens if result.usage is not None else None,
        max_tokens=_max_tokens(llm, kwargs),
    )
    if result.finish_reason != reported:
        result.metadata["reported_finish_reason"] = reported
    return result


def _accepts(llm: FunctionCallingLLM, name: str) -> bool:
    try:
        params = inspect.signature(llm._prepare_chat_with_tools).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _tool_arguments(
    llm: FunctionCallingLLM, response: ChatResponse, tool_name: str
) -> str | dict[str, Any] | list[Any] | None:
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        return pick_tool_arguments([(b.tool_name, b.tool_kwargs) for b in blocks], tool_name)
    try:
        selections = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    except Exception:  # noqa: BLE001 - a provider may fail to read its own reply; use the text
        return None
    return pick_tool_arguments([(s.tool_name, s.tool_kwargs) for s in selections], tool_name)


def _max_tokens(llm: LLM, kwargs: Mapping[str, Any]) -> int | None:
    limit = kwargs.get("max_tokens", getattr(llm, "max_tokens", None))
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def _translate(exc: Exception, request: CallRequest) -> Exception:
    """The server's rejection of a structured mode as VSStructuredOutputUnsupported."""
    if isinstance(exc, VSStructuredOutputUnsupported):
        return exc
    text = f"{exc} {getattr(exc, 'body', '') or ''}".lower()
    if isinstance(exc, TypeError) and "unexpected keyword" in text:
        msg = f"{request.structured} mode is not accepted by this LLM: {exc}"
    elif structured_rejection(exc):
        msg = f"The server rejected structured output mode {request.structured!r}: {str(exc)[:300]}"
    else:
        return exc
    _log.debug("%s", redact_secrets(msg))
    return VSStructuredOutputUnsupported(msg)


def _from_chat(response: ChatResponse) -> CallResponse:
    text = response.message.content or ""
    return CallResponse(
        output=text,
        usage=usage_of(response.raw, response.additional_kwargs),
        finish_reason=finish_reason_of(response.raw, response.additional_kwargs),
        metadata=_metadata(response.raw),
    )


def _from_completion(response: CompletionResponse) -> CallResponse:
    return CallResponse(
        output=response.text or "",
        usage=usage_of(response.raw, response.additional_kwargs),
        finish_reason=finish_reason_of(response.raw, response.additional_kwargs),
        metadata=_metadata(response.raw),
    )


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_of(raw: Any, additional: Mapping[str, Any] | None = None) -> Usage | None:
    """Token usage from a raw provider response (object or dict), else the response's kwargs.

    Example:
        >>> usage_of({"usage": {"prompt_tokens": 3, "completion_tokens": 4}}).total_tokens
        7
    """
    usage = _get(raw, "usage") if raw is not None else None
    sources = [usage, additional or {}]
    for source in sources:
        if source is None:
            continue
        prompt = _int(_get(source, "prompt_tokens"))
        if prompt is None:
            prompt = _int(_get(source, "input_tokens"))
        completion = _int(_get(source, "completion_tokens"))
        if completion is None:
            completion = _int(_get(source, "output_tokens"))
        if prompt is not None or completion is not None:
            return Usage(prompt_tokens=prompt or 0, completion_tokens=completion or 0)
    return None


def finish_reason_of(raw: Any, additional: Mapping[str, Any] | None = None) -> str | None:
    """The finish reason of a raw provider response; ``max_tokens`` spellings become ``length``.

    Example:
        >>> finish_reason_of({"choices": [{"finish_reason": "length"}]})
        'length'
    """
    reason: Any = None
    if raw is not None:
        choices = _get(raw, "choices")
        if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
            reason = _get(choices[0], "finish_reason")
        if reason is None:
            reason = _get(raw, "finish_reason") or _get(raw, "stop_reason")
    if reason is None and additional:
        reason = additional.get("finish_reason") or additional.get("stop_reason")
    return normalize_finish_reason(reason)


def _metadata(raw: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if raw is None:
        return meta
    for key in ("model", "id"):
        value = _get(raw, key)
        if isinstance(value, str):
            meta[key] = value
    return meta


@dataclass
class _SchemaToolMetadata(ToolMetadata):
    """Tool metadata whose parameters are a given JSON schema (not a pydantic model)."""

    schema: dict[str, Any] = field(default_factory=dict)

    def get_parameters_dict(self) -> dict[str, Any]:
        copied: dict[str, Any] = json.loads(json.dumps(self.schema))
        return copied  # a fresh copy: providers mutate it


class _SchemaTool(BaseTool):
    """A tool that only describes the reply's structure; it is never run."""

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self._metadata = _SchemaToolMetadata(
            description=TOOL_DESCRIPTION, name=name, fn_schema=None, schema=schema
        )

    @property
    def metadata(self) -> ToolMetadata:
        return self._metadata

    def __call__(self, input: Any) -> ToolOutput:
        msg = "the structure tool is only described to the model, never called"
        raise NotImplementedError(msg)
