"""Fakes for the LangChain adapter tests: a chat model that supports bind_tools."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr


class HTTPStatusError(Exception):
    """Looks like a provider's HTTP error: has a status_code."""

    def __init__(self, status_code: int, message: str = "") -> None:
        super().__init__(message or f"HTTP {status_code}")
        self.status_code = status_code


def vs_json(pairs: Sequence[tuple[str, float]]) -> str:
    return json.dumps({"responses": [{"text": t, "probability": p} for t, p in pairs]})


_K_RE = re.compile(r"Generate (\d+) responses")


class FakeVSChatModel(BaseChatModel):
    """A scripted chat model.

    replies: cycled in call order; a str is the text reply, a dict the tool
    arguments (used when tools are bound, else dumped as JSON text). With no
    replies it answers k options derived from the last user message.
    tool_mode: "support", "reject" (HTTP 400 when tools are bound) or
    "not_implemented" (bind_tools raises NotImplementedError).
    fail_first: raise ``fail_with`` on the first N calls.
    """

    replies: list[Any] = Field(default_factory=list)
    tool_mode: str = "support"
    latency: float = 0.0
    usage: tuple[int, int] | None = (10, 20)
    finish_reason: str = "stop"
    fail_first: int = 0
    fail_status: int = 429
    fail_calls: list[int] = Field(default_factory=list)  # 0-based call numbers that fail (500)
    chunk_size: int = 7

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _count: int = PrivateAttr(default=0)
    _in_flight: int = PrivateAttr(default=0)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    peak: int = 0

    @property
    def _llm_type(self) -> str:
        return "fake-vs"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Any:
        if self.tool_mode == "not_implemented":
            msg = "no tools here"
            raise NotImplementedError(msg)
        return self.bind(
            tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs
        )

    # -- the reply -----------------------------------------------------------

    def _next(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            n = self._count
            self._count += 1
            self.calls.append({"messages": messages, "kwargs": kwargs})
        if n < self.fail_first:
            raise HTTPStatusError(self.fail_status, "scripted failure")
        if n in self.fail_calls:
            raise HTTPStatusError(500 if self.fail_status == 429 else self.fail_status, "boom")
        if kwargs.get("tools") and self.tool_mode == "reject":
            raise HTTPStatusError(400, "tools are not supported by this server")
        if self.replies:
            return n, self.replies[n % len(self.replies)]
        user = next((m.text for m in reversed(messages) if m.type == "human"), "x")
        system = next((m.text for m in messages if m.type == "system"), "")
        match = _K_RE.search(system)
        k = int(match.group(1)) if match else 3
        return n, {
            "responses": [{"text": f"{user} #{i}", "probability": (i + 1) / 10} for i in range(k)]
        }

    def _message(self, n: int, reply: Any, kwargs: dict[str, Any]) -> AIMessage:
        meta: dict[str, Any] = {"finish_reason": self.finish_reason, "model_name": "fake-vs"}
        usage = None
        if self.usage is not None:
            usage = {
                "input_tokens": self.usage[0],
                "output_tokens": self.usage[1],
                "total_tokens": sum(self.usage),
            }
        tools = kwargs.get("tools")
        if tools and isinstance(reply, dict):
            name = tools[0]["function"]["name"]
            return AIMessage(
                content="",
                tool_calls=[{"name": name, "args": reply, "id": f"call_{n}"}],
                response_metadata=meta,
                usage_metadata=usage,
            )
        text = reply if isinstance(reply, str) else json.dumps(reply)
        return AIMessage(content=text, response_metadata=meta, usage_metadata=usage)

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._enter()
        try:
            if self.latency:
                time.sleep(self.latency)
            n, reply = self._next(messages, kwargs)
            return ChatResult(generations=[ChatGeneration(message=self._message(n, reply, kwargs))])
        finally:
            self._leave()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._enter()
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            n, reply = self._next(messages, kwargs)
            return ChatResult(generations=[ChatGeneration(message=self._message(n, reply, kwargs))])
        finally:
            self._leave()

    def _chunks(self, message: AIMessage) -> Iterator[AIMessageChunk]:
        size = self.chunk_size
        if message.tool_calls:
            tc = message.tool_calls[0]
            args = json.dumps(tc["args"])
            for i in range(0, len(args), size):
                yield AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "name": tc["name"] if i == 0 else None,
                            "args": args[i : i + size],
                            "id": tc["id"] if i == 0 else None,
                            "index": 0,
                        }
                    ],
                )
        else:
            text = message.text
            for i in range(0, len(text), size):
                yield AIMessageChunk(content=text[i : i + size])
        yield AIMessageChunk(
            content="",
            response_metadata=dict(message.response_metadata),
            usage_metadata=message.usage_metadata,
            chunk_position="last",
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        n, reply = self._next(messages, kwargs)
        for chunk in self._chunks(self._message(n, reply, kwargs)):
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        n, reply = self._next(messages, kwargs)
        for chunk in self._chunks(self._message(n, reply, kwargs)):
            await asyncio.sleep(0)
            yield ChatGenerationChunk(message=chunk)


class RunRecorder(BaseCallbackHandler):
    """Records (kind, run_id, parent_run_id, name, tags) of every start event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _add(self, kind: str, run_id: Any, parent_run_id: Any, name: Any, tags: Any) -> None:
        with self._lock:
            self.events.append(
                {
                    "kind": kind,
                    "run_id": run_id,
                    "parent": parent_run_id,
                    "name": name,
                    "tags": list(tags or []),
                }
            )

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        tags: Any = None,
        **kwargs: Any,
    ) -> None:
        self._add("chain", run_id, parent_run_id, kwargs.get("name"), tags)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        tags: Any = None,
        **kwargs: Any,
    ) -> None:
        self._add("chat_model", run_id, parent_run_id, kwargs.get("name"), tags)

    def on_tool_start(
        self,
        serialized: Any,
        input_str: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        tags: Any = None,
        **kwargs: Any,
    ) -> None:
        self._add("tool", run_id, parent_run_id, kwargs.get("name"), tags)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]
