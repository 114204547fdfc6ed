"""VerbalizedSampler: VS over any LangChain chat model, as a Runnable."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import operator
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
)
from langchain_core.language_models import BaseChatModel, BaseLLM, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import ensure_config, patch_config
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError

from langchain_vs._config import as_config_error, take_config_fields
from langchain_vs._convert import (
    as_core_messages,
    as_lc_messages,
    map_structured_error,
    max_tokens_of,
    message_response,
)
from langchain_vs._retries import single_retry_layer
from vs_common import (
    Call,
    CallRequest,
    CallResponse,
    Candidate,
    Message,
    Progress,
    RetryPolicy,
    Strategy,
    Structured,
    VerbalizedDistribution,
    VSConfig,
    VSConfigError,
    VSStructuredOutputUnsupported,
    pool,
    run_sync,
)
from vs_common.calls import redact_secrets
from vs_common.distinct import DistinctPolicy
from vs_common.providers import response_format, tool_spec
from vs_common.sampler import SamplerSettings

__all__ = ["SamplerInput", "SamplerOutput", "VerbalizedSampler"]

SamplerInput: TypeAlias = str | Sequence[Any] | PromptValue | dict[str, Any]
"""A prompt string, chat messages, a PromptValue, or a dict for ``prompt``."""

SamplerOutput: TypeAlias = VerbalizedDistribution | Candidate
"""The pooled distribution, or the chosen candidate when a strategy is set."""

_log = logging.getLogger(__name__)


class VerbalizedSampler(RunnableSerializable[SamplerInput, SamplerOutput]):
    """Verbalized Sampling over any chat model: n samples over ceil(n/k) calls.

    A thin adapter over :func:`vs_common.run_sampling`: it turns the input
    into the core's prompt, gives the core a ``call`` that invokes ``llm``
    with a child config (so traces nest under the sampler's run), and returns
    the pooled distribution, or one candidate chosen with ``strategy`` and
    ``seed``. Concurrency comes from ``max_concurrency`` in the
    RunnableConfig (else the field). Retries, re-asks, the tool/text
    fallback and partial failures follow the core's policy; token usage is
    summed on ``result.usage``.

    Attributes:
        llm: The chat model; or, for ``method="direct_base"`` (a plain-text
            completion for a base model, no chat template), a completion
            model (a ``BaseLLM`` such as ``langchain_openai.OpenAI``). Any
            other pairing is refused when the sampler is made.
        config: Method, k, n, threshold, formats (VSConfig fields may also be
            passed directly: ``VerbalizedSampler(llm=llm, k=5, n=30)``).
        prompt: Formats dict inputs (a ChatPromptTemplate, or any Runnable that
            returns a PromptValue or messages); without it a dict
            input must hold ``input`` (text) or ``messages``.
        structured: ``auto`` (tool calling, falling back to text when the
            model or server rejects it), ``tool``, ``json_schema`` or ``text``.
        retry: Retry, re-ask and timeout policy of the core.
        min_successes: Fewest successful calls to accept.
        max_concurrency: Calls in flight when the RunnableConfig sets none.
        strategy: If set, return one candidate chosen this way.
        seed: Seed of the choice: same seed, same prompt and same replies give
            the same choice; different prompts draw independently (see
            :mod:`vs_common.sampler`).
        threshold: For the ``tail`` strategy (default: ``config.threshold``).
        temperature: For the ``temperature`` strategy.
        distinct: Keep asking until n *distinct* candidates (True, or a
            :class:`vs_common.distinct.DistinctPolicy`); ``result.distinct``
            says how many, after how many calls, and why it stopped.

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> llm = FakeListChatModel(
        ...     responses=['[{"text": "A", "probability": 0.7}, {"text": "B", "probability": 0.3}]']
        ... )
        >>> sampler = VerbalizedSampler(llm=llm, k=2, structured="text")
        >>> sampler.invoke("Name a letter").texts
        ['A', 'B']
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: BaseChatModel | BaseLLM
    config: VSConfig = Field(default_factory=VSConfig)
    prompt: Runnable[Any, Any] | None = None
    structured: Structured = "auto"
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    min_successes: int = 1
    max_concurrency: int = Field(default=8, ge=1)
    strategy: Strategy | None = None
    seed: int | None = None
    threshold: float | None = None
    temperature: float | None = None
    distinct: DistinctPolicy | bool | None = None
    _single_layer: tuple[BaseChatModel | BaseLLM, BaseChatModel | BaseLLM, int] | None = (
        PrivateAttr(default=None)
    )

    def __init__(self, **kwargs: Any) -> None:
        # VSConfig fields given directly are folded into ``config`` here, before
        # pydantic runs, so a bad value raises VSConfigError naming the field.
        try:
            super().__init__(**take_config_fields(kwargs))
        except ValidationError as exc:
            raise as_config_error(exc, type(self).__name__) from None
        self._settings()  # the core checks every setting once, as in every adapter
        _check_model_kind(self.llm, self.config)

    def _model(self) -> tuple[BaseChatModel | BaseLLM, int]:
        """The model the calls go to (its client's own retries off) and retries it keeps."""
        cached = self._single_layer
        if cached is None or cached[0] is not self.llm:
            model, retries = single_retry_layer(self.llm)
            cached = self._single_layer = (self.llm, model, retries)
        return cached[1], cached[2]

    def _settings(self) -> SamplerSettings:
        settings = SamplerSettings(
            config=self.config,
            structured=self.structured,
            retry=self.retry,
            max_concurrency=self.max_concurrency,
            min_successes=self.min_successes,
            strategy=self.strategy,
            seed=self.seed,
            threshold=self.threshold,
            temperature=self.temperature,
            distinct=self.distinct,  # type: ignore[arg-type]  # True is read as the default
        )
        return settings.over_retrying_client(type(self.llm).__name__, self._model()[1])

    @property
    def OutputType(self) -> Any:
        """The distribution, or a candidate when a strategy is set."""
        return Candidate if self.strategy is not None else VerbalizedDistribution

    def invoke(
        self, input: SamplerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> SamplerOutput:
        """Sample (blocking). See the class docstring."""
        return self._call_with_config(self._invoke, input, config, **kwargs)

    async def ainvoke(
        self, input: SamplerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> SamplerOutput:
        """Sample (async). See the class docstring."""
        return await self._acall_with_config(self._ainvoke, input, config, **kwargs)

    def _invoke(
        self,
        input_: SamplerInput,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> SamplerOutput:
        prompt = self._core_prompt(input_, config)
        child = patch_config(config, callbacks=run_manager.get_child())
        workers = self._concurrency(config)
        # The sync path calls llm.invoke in threads: async HTTP clients that a
        # model caches must not be reused across the fresh loops of run_sync.
        with ThreadPoolExecutor(workers, thread_name_prefix="vs-call") as executor:
            call = self._call(child, executor)
            dist = run_sync(self._run(prompt, call, workers))
        return self._output(dist, prompt)

    async def _ainvoke(
        self,
        input_: SamplerInput,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> SamplerOutput:
        prompt = self._core_prompt(input_, config)
        child = patch_config(config, callbacks=run_manager.get_child())
        workers = self._concurrency(config)
        dist = await self._run(prompt, self._call(child, None), workers)
        return self._output(dist, prompt)

    async def _run(
        self,
        prompt: str | list[Message],
        call: Call,
        workers: int,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> VerbalizedDistribution:
        return await self._settings().run(
            prompt, call, max_concurrency=workers, on_progress=on_progress
        )

    # -- streaming: the pooled distribution grows as each call ends ---------------

    def stream(
        self, input: SamplerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[SamplerOutput]:
        """Yield the pooled distribution after each call, then the final result.

        With a selection strategy only the chosen candidate is yielded, once.
        The last item is what ``invoke`` returns.
        """
        yield from self.transform(iter([input]), config, **kwargs)

    async def astream(
        self, input: SamplerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[SamplerOutput]:
        """Async :meth:`stream`."""

        async def one() -> AsyncIterator[SamplerInput]:
            yield input

        async for item in self.atransform(one(), config, **kwargs):
            yield item

    def transform(
        self,
        input: Iterator[SamplerInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[SamplerOutput]:
        """Stream from an input stream (the input is read whole first)."""
        yield from self._transform_stream_with_config(input, self._transform, config, **kwargs)

    async def atransform(
        self,
        input: AsyncIterator[SamplerInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[SamplerOutput]:
        """Async :meth:`transform`."""
        async for item in self._atransform_stream_with_config(
            input, self._atransform, config, **kwargs
        ):
            yield item

    def _transform(
        self,
        inputs: Iterator[SamplerInput],
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> Iterator[SamplerOutput]:
        prompt = self._core_prompt(_whole(list(inputs)), config)
        child = patch_config(config, callbacks=run_manager.get_child())
        workers = self._concurrency(config)
        updates: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

        def work() -> None:
            try:
                with ThreadPoolExecutor(workers, thread_name_prefix="vs-call") as executor:
                    call = self._call(child, executor)
                    on_progress = functools.partial(_put_progress, updates)
                    dist = run_sync(self._run(prompt, call, workers, on_progress))
                updates.put(("done", dist))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                updates.put(("error", exc))

        ctx = contextvars.copy_context()
        worker = threading.Thread(target=ctx.run, args=(work,), name="vs-stream", daemon=True)
        worker.start()
        try:
            yield from self._drain(iter(updates.get, None), [], prompt)
        finally:
            worker.join()

    async def _atransform(
        self,
        inputs: AsyncIterator[SamplerInput],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> AsyncIterator[SamplerOutput]:
        prompt = self._core_prompt(_whole([x async for x in inputs]), config)
        child = patch_config(config, callbacks=run_manager.get_child())
        workers = self._concurrency(config)
        updates: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        on_progress = functools.partial(_put_progress, updates)
        task = asyncio.ensure_future(
            self._run(prompt, self._call(child, None), workers, on_progress)
        )
        task.add_done_callback(functools.partial(_put_result, updates))
        partial: list[VerbalizedDistribution] = []
        try:
            while True:
                update = await updates.get()
                for item in self._drain(iter([update]), partial, prompt):
                    yield item
                if update[0] != "dist":
                    return
        finally:
            task.cancel()

    def _drain(
        self,
        updates: Iterator[tuple[str, Any]],
        partial: list[VerbalizedDistribution],
        prompt: str | list[Message],
    ) -> Iterator[SamplerOutput]:
        """Turn progress updates into outputs (``partial`` keeps the calls so far)."""
        for kind, value in updates:
            if kind == "dist":
                partial.append(value)
                if self.strategy is None:
                    yield pool(partial)
                continue
            if kind == "error":
                raise value
            yield self._output(value, prompt)
            return

    def _concurrency(self, config: RunnableConfig) -> int:
        value = config.get("max_concurrency")
        return value if isinstance(value, int) and value >= 1 else self.max_concurrency

    def _core_prompt(self, input_: SamplerInput, config: RunnableConfig) -> str | list[Message]:
        if isinstance(input_, Mapping):
            if self.prompt is not None:
                value = self.prompt.invoke(dict(input_), patch_config(config, callbacks=None))
                return as_core_messages(value)
            for key in ("messages", "input"):
                if key in input_:
                    return as_core_messages(input_[key])
            msg = (
                "a dict input needs a prompt template (VerbalizedSampler(prompt=...))"
                f" or an 'input' or 'messages' key; got keys {sorted(input_)}"
            )
            raise VSConfigError(msg, field="input")
        return as_core_messages(input_)

    def _output(self, dist: VerbalizedDistribution, prompt: str | list[Message]) -> SamplerOutput:
        if self.strategy is None:
            return dist
        return self._settings().choose(dist, prompt)

    def _call(self, child: RunnableConfig, pool: ThreadPoolExecutor | None) -> Call:
        """The core's ``call``: one request to ``llm`` with the child config."""
        bound: dict[str, Runnable[LanguageModelInput, BaseMessage]] = {}
        max_tokens = max_tokens_of(self.llm)
        llm = self._model()[0]

        async def call(request: CallRequest) -> CallResponse:
            if request.is_completion:
                return await _complete(self._completion_model(llm), request, child, pool)
            messages = as_lc_messages(request.messages)
            if request.structured == "text" or request.schema is None:
                reply = await _invoke_model(self._chat_model(llm), messages, child, pool)
                return message_response(reply)
            try:
                model = bound.get(request.structured)
                if model is None:
                    model = bound[request.structured] = self._structured_model(
                        self._chat_model(llm), request
                    )
                reply = await _invoke_model(model, messages, child, pool)
            except VSStructuredOutputUnsupported:
                raise
            except Exception as exc:
                mapped = map_structured_error(exc)
                if mapped is exc:
                    raise
                _log.debug(
                    "%s rejected %s mode: %s",
                    type(self.llm).__name__,
                    request.structured,
                    redact_secrets(str(exc))[:300],
                )
                raise mapped from exc
            return message_response(reply, request.tool_name, max_tokens=max_tokens)

        return call

    def _chat_model(self, llm: BaseChatModel | BaseLLM) -> BaseChatModel:
        """``llm`` (the user's model, or its copy without client retries) for a chat request."""
        _check_model_kind(self.llm, self.config)
        if not isinstance(llm, BaseChatModel):  # a chat request for a completion model
            msg = f"{type(llm).__name__} is a completion model; chat requests need a chat model"
            raise VSConfigError(msg, field="llm")
        return llm

    def _completion_model(self, llm: BaseChatModel | BaseLLM) -> BaseLLM:
        """``llm`` (the user's model, or its copy without client retries) for a completion."""
        _check_model_kind(self.llm, self.config)
        if not isinstance(llm, BaseLLM):  # a completion request for a chat model
            msg = f"{type(llm).__name__} is a chat model; completion requests need a BaseLLM"
            raise VSConfigError(msg, field="llm")
        return llm

    @staticmethod
    def _structured_model(
        llm: BaseChatModel, request: CallRequest
    ) -> Runnable[LanguageModelInput, BaseMessage]:
        schema = request.schema or {}
        if request.structured == "tool":
            tool = tool_spec(request.tool_name, schema)
            return llm.bind_tools([tool], tool_choice=request.tool_name)
        if not _is_openai_chat(llm):
            msg = f"json_schema output is not supported for {type(llm).__name__}"
            raise VSStructuredOutputUnsupported(msg)
        return llm.bind(response_format=response_format(request.tool_name, schema))


def _whole(chunks: list[SamplerInput]) -> SamplerInput:
    """The input from its streamed chunks: added up when they can be, else the last."""
    if not chunks:
        msg = "the sampler received no input"
        raise VSConfigError(msg, field="input")
    try:
        whole: SamplerInput = functools.reduce(operator.add, chunks)
    except TypeError:
        return chunks[-1]
    return whole


def _put_progress(
    updates: queue.SimpleQueue[tuple[str, Any]] | asyncio.Queue[tuple[str, Any]], p: Progress
) -> None:
    if p.distribution is not None:
        updates.put_nowait(("dist", p.distribution))


def _put_result(updates: asyncio.Queue[tuple[str, Any]], task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    updates.put_nowait(("error", exc) if exc is not None else ("done", task.result()))


async def _invoke_model(
    model: Runnable[LanguageModelInput, BaseMessage],
    messages: list[BaseMessage],
    config: RunnableConfig,
    pool: ThreadPoolExecutor | None,
) -> BaseMessage:
    if pool is None:
        return await model.ainvoke(messages, config=config)
    ctx = contextvars.copy_context()
    func = functools.partial(ctx.run, model.invoke, messages, config=ensure_config(config))
    return await asyncio.get_running_loop().run_in_executor(pool, func)


def _check_model_kind(llm: BaseChatModel | BaseLLM, config: VSConfig) -> None:
    """Refuse a model that cannot serve the method: chat models chat, completion models complete."""
    if config.method.is_completion and not isinstance(llm, BaseLLM):
        msg = (
            f"method {config.method.value!r} sends a plain-text completion prompt (no chat"
            f" template) for a base model; llm is the chat model {type(llm).__name__}: pass a"
            " completion model (a BaseLLM, e.g. langchain_openai.OpenAI(base_url=..., model=...))"
        )
        raise VSConfigError(msg, field="llm")
    if not config.method.is_completion and isinstance(llm, BaseLLM):
        msg = (
            f"llm is the completion model {type(llm).__name__}: it serves only"
            f" method='direct_base'; {config.method.value!r} needs a chat model (BaseChatModel)"
        )
        raise VSConfigError(msg, field="llm")


async def _complete(
    llm: BaseLLM,
    request: CallRequest,
    config: RunnableConfig,
    pool: ThreadPoolExecutor | None,
) -> CallResponse:
    """A completion request on a completion model (``llm.ainvoke(prompt, stop=...)``)."""
    prompt = request.prompt or ""
    stop = list(request.stop) or None
    if pool is None:
        text = await llm.ainvoke(prompt, config=config, stop=stop)
    else:
        ctx = contextvars.copy_context()
        func = functools.partial(
            ctx.run, llm.invoke, prompt, config=ensure_config(config), stop=stop
        )
        text = await asyncio.get_running_loop().run_in_executor(pool, func)
    return CallResponse(output=text)


def _is_openai_chat(llm: BaseChatModel) -> bool:
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # langchain-openai is optional at runtime
        return False
    return isinstance(llm, BaseChatOpenAI)
