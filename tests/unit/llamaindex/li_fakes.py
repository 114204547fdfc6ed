"""Scripted LlamaIndex LLMs for the adapter tests (MockLLM cannot be scripted).

``ScriptedLLM`` is a ``CustomLLM`` (chat or completion); ``ScriptedToolLLM`` is
a ``FunctionCallingLLM`` that returns tool calls. Each script item is used in
call order: a ``str`` is a text reply, a ``dict`` with ``"tool"`` is a tool
call (``{"tool": name, "args": dict | str}``), an ``Exception`` is raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.tools.types import BaseTool
from pydantic import Field, PrivateAttr


def vs_json(pairs: Sequence[tuple[str, float]]) -> str:
    return json.dumps({"responses": [{"text": t, "probability": p} for t, p in pairs]})


class HTTPError(Exception):
    """Looks like a provider's HTTP error: has a status_code."""

    def __init__(self, status_code: int, message: str = "") -> None:
        super().__init__(message or f"HTTP {status_code}")
        self.status_code = status_code


_K_RE = re.compile(r"Generate (\d+) responses")


def _default_reply(prompt: str) -> str:
    m = _K_RE.search(prompt)
    k = int(m.group(1)) if m else 3
    return vs_json([(f"option {i + 1}", 1.0 / k) for i in range(k)])


class _Script:
    def __init__(self, items: list[Any]) -> None:
        self.items = list(items)
        self.n = 0

    def next(self, prompt: str) -> Any:
        if not self.items:
            return _default_reply(prompt)
        item = self.items[self.n % len(self.items)]
        self.n += 1
        return item


class ScriptedLLM(CustomLLM):
    """A CustomLLM whose replies are scripted; records every prompt or conversation."""

    replies: list[Any] = Field(default_factory=list)
    chat_model: bool = True
    usage: tuple[int, int] | None = (11, 22)
    finish_reason: str = "stop"
    prompts: list[str] = Field(default_factory=list)
    conversations: list[list[ChatMessage]] = Field(default_factory=list)
    call_kwargs: list[dict[str, Any]] = Field(default_factory=list)
    _script: _Script = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._script = _Script(self.replies)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=4096,
            num_output=256,
            is_chat_model=self.chat_model,
            model_name="scripted",
        )

    def _raw(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "model": "scripted",
            "choices": [{"finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            raw["usage"] = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1]}
        return raw

    def _answer(self, prompt: str) -> str:
        item = self._script.next(prompt)
        if isinstance(item, BaseException):
            raise item
        return item if isinstance(item, str) else json.dumps(item)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        self.call_kwargs.append(dict(kwargs))
        return CompletionResponse(text=self._answer(prompt), raw=self._raw())

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        text = self.complete(prompt, formatted=formatted, **kwargs).text

        def gen() -> Iterator[CompletionResponse]:
            yield CompletionResponse(text=text, delta=text)

        return gen()

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.conversations.append(list(messages))
        self.call_kwargs.append(dict(kwargs))
        prompt = "\n".join(m.content or "" for m in messages)
        text = self._answer(prompt)
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=text), raw=self._raw()
        )

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self.chat(messages, **kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        response = self.chat(messages, **kwargs)

        def gen() -> Iterator[ChatResponse]:
            yield ChatResponse(message=response.message, delta=response.message.content)

        return gen()

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        response = self.chat(messages, **kwargs)

        async def gen() -> AsyncIterator[ChatResponse]:
            yield ChatResponse(message=response.message, delta=response.message.content)

        return gen()

    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        text = self.complete(prompt, formatted=formatted, **kwargs).text

        async def gen() -> AsyncIterator[CompletionResponse]:
            yield CompletionResponse(text=text, delta=text)

        return gen()


class ScriptedToolLLM(FunctionCallingLLM):
    """A function-calling LLM: script items may be tool calls; records tools and tool_choice."""

    replies: list[Any] = Field(default_factory=list)
    function_calling: bool = True
    max_tokens: int | None = None
    usage: tuple[int, int] | None = (7, 9)
    finish_reason: str = "tool_calls"
    tool_specs: list[list[dict[str, Any]]] = Field(default_factory=list)
    tool_choices: list[Any] = Field(default_factory=list)
    conversations: list[list[ChatMessage]] = Field(default_factory=list)
    _script: _Script = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._script = _Script(self.replies)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=4096,
            num_output=256,
            is_chat_model=True,
            is_function_calling_model=self.function_calling,
            model_name="scripted-tools",
        )

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        specs = [t.metadata.to_openai_tool(skip_length_check=True) for t in tools]
        choice = tool_choice or ("required" if tool_required else "auto")
        return {"messages": messages, "tools": specs, "tool_choice": choice, **kwargs}

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not calls and error_on_no_tool_call:
            msg = "no tool call"
            raise ValueError(msg)
        out = []
        for b in calls:
            args = b.tool_kwargs
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    args = {}
            out.append(
                ToolSelection(
                    tool_id=b.tool_call_id or "id", tool_name=b.tool_name, tool_kwargs=args
                )
            )
        return out

    def _respond(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.conversations.append(list(messages))
        self.tool_specs.append(list(kwargs.get("tools") or []))
        self.tool_choices.append(kwargs.get("tool_choice"))
        prompt = "\n".join(m.content or "" for m in messages)
        item = self._script.next(prompt)
        if isinstance(item, BaseException):
            raise item
        raw: dict[str, Any] = {"choices": [{"finish_reason": self.finish_reason}]}
        if self.usage is not None:
            raw["usage"] = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1]}
        if isinstance(item, dict) and "tool" in item:
            blocks: list[Any] = [
                ToolCallBlock(
                    tool_call_id=f"call{len(self.conversations)}",
                    tool_name=item["tool"],
                    tool_kwargs=item["args"],
                )
            ]
            message = ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)
        else:
            text = item if isinstance(item, str) else json.dumps(item)
            raw["choices"] = [{"finish_reason": "stop"}]
            message = ChatMessage(role=MessageRole.ASSISTANT, blocks=[TextBlock(text=text)])
        return ChatResponse(message=message, raw=raw)

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._respond(messages, **kwargs)

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._respond(messages, **kwargs)

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        response = self._respond(messages, **kwargs)

        def gen() -> Iterator[ChatResponse]:
            yield response

        return gen()

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        response = self._respond(messages, **kwargs)

        async def gen() -> AsyncIterator[ChatResponse]:
            yield response

        return gen()

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        response = self._respond([ChatMessage(role=MessageRole.USER, content=prompt)], **kwargs)
        return CompletionResponse(text=response.message.content or "", raw=response.raw)

    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return self.complete(prompt, formatted=formatted, **kwargs)

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        response = self.complete(prompt, formatted=formatted, **kwargs)

        def gen() -> Iterator[CompletionResponse]:
            yield response

        return gen()

    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        response = self.complete(prompt, formatted=formatted, **kwargs)

        async def gen() -> AsyncIterator[CompletionResponse]:
            yield response

        return gen()
