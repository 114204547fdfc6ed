"""One retry layer: against a server that always answers 503, one call sends retries + 1 requests.

Through the core client, LangChain's ``ChatOpenAI`` (whose openai SDK retries
twice by default) and LlamaIndex's ``OpenAILike`` (a tenacity loop and the
SDK, both ``max_retries=3`` by default): the core's policy alone decides.
A model whose client retries in a way the adapter cannot switch off keeps its
own retries, and the core's go off, with a warning in the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai import ChatOpenAI
from llama_index.core.base.llms.types import CompletionResponse, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.llms.openai_like import OpenAILike

from langchain_vs import VerbalizedSampler
from llamaindex_vs import VerbalizedSamplingWorkflow, make_llm_call
from vs_common import RetryPolicy, VSConfig, VSSamplingError, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.testing import FaultInjectingServer, FaultRates

RETRIES = 3
POLICY = RetryPolicy(max_retries=RETRIES, max_reasks=0, backoff_base=0.01, backoff_max=0.02)
CONFIG = VSConfig(k=1, n=1)  # one call


@pytest.fixture
def always_503() -> Iterator[FaultInjectingServer]:
    with FaultInjectingServer(FaultRates(status_503=1.0)) as server:
        yield server


def _failed_once(exc: pytest.ExceptionInfo[VSSamplingError]) -> None:
    [failure] = exc.value.failures
    assert "503" in failure.message


def test_the_core_client(always_503: FaultInjectingServer) -> None:
    client = OpenAICompatClient(always_503.base_url, "m")
    with pytest.raises(VSSamplingError) as info:
        asyncio.run(run_sampling("Joke", CONFIG, client, retry=POLICY, structured="text"))
    _failed_once(info)
    assert len(always_503.requests) == RETRIES + 1


@pytest.mark.parametrize("max_retries", [None, 5])
@pytest.mark.parametrize("sync", [False, True])
def test_langchain_chat_openai(
    always_503: FaultInjectingServer, max_retries: int | None, sync: bool
) -> None:
    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    llm = ChatOpenAI(model="m", base_url=always_503.base_url, api_key="k", **kwargs)
    sampler = VerbalizedSampler(llm=llm, config=CONFIG, structured="text", retry=POLICY)
    with pytest.raises(VSSamplingError) as info:
        sampler.invoke("Joke") if sync else asyncio.run(sampler.ainvoke("Joke"))
    _failed_once(info)
    assert len(always_503.requests) == RETRIES + 1
    # The user's model is as it was: its own calls still retry as they did.
    assert llm.root_async_client.max_retries == (2 if max_retries is None else max_retries)


def test_langchain_tool_mode_binds_the_model_without_retries(
    always_503: FaultInjectingServer,
) -> None:
    llm = ChatOpenAI(model="m", base_url=always_503.base_url, api_key="k")
    sampler = VerbalizedSampler(llm=llm, config=CONFIG, structured="tool", retry=POLICY)
    with pytest.raises(VSSamplingError):
        asyncio.run(sampler.ainvoke("Joke"))
    assert len(always_503.requests) == RETRIES + 1


async def test_llamaindex_openai_like(always_503: FaultInjectingServer) -> None:
    llm = OpenAILike(model="m", api_base=always_503.base_url, api_key="k", is_chat_model=True)
    workflow = VerbalizedSamplingWorkflow(llm=llm, config=CONFIG, structured="text", retry=POLICY)
    with pytest.raises(VSSamplingError) as info:
        await workflow.run(prompt="Joke")
    _failed_once(info)
    assert len(always_503.requests) == RETRIES + 1
    assert workflow.llm is llm and llm.max_retries == 3  # the user's LLM is unchanged


def test_llamaindex_make_llm_call_with_a_client_made_already(
    always_503: FaultInjectingServer,
) -> None:
    llm = OpenAILike(model="m", api_base=always_503.base_url, api_key="k", is_chat_model=True)
    llm._get_aclient()  # made with the SDK's retries (max_retries=3)
    call = make_llm_call(llm)
    with pytest.raises(VSSamplingError):
        asyncio.run(run_sampling("Joke", CONFIG, call, retry=POLICY, structured="text"))
    assert len(always_503.requests) == RETRIES + 1


# --- a client the adapter cannot change: its retries stay, the core's go ------------


def _post(url: str, retries: int) -> str:
    """What a client with its own retry loop does: ask 1 + retries times."""
    for _ in range(retries + 1):
        request = urllib.request.Request(  # noqa: S310 - a loopback test server
            f"{url}/chat/completions", data=b'{"messages": []}', method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
                return str(json.loads(reply.read())["choices"][0]["message"]["content"])
        except urllib.error.HTTPError as exc:
            error = exc
    raise error


class RetryingChatModel(BaseChatModel):
    url: str
    max_retries: int = 2

    @property
    def _llm_type(self) -> str:
        return "retrying"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = _post(self.url, self.max_retries)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


class RetryingLLM(CustomLLM):
    url: str
    max_retries: int = 2

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="retrying", is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=_post(self.url, self.max_retries))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_langchain_model_that_retries_by_itself(
    always_503: FaultInjectingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    llm = RetryingChatModel(url=always_503.base_url)
    sampler = VerbalizedSampler(llm=llm, config=CONFIG, structured="text", retry=POLICY)
    with pytest.raises(VSSamplingError):
        asyncio.run(sampler.ainvoke("Joke"))
    assert len(always_503.requests) == 2 + 1  # the model's own 1 + max_retries, once
    assert "RetryingChatModel retries failed requests itself" in caplog.text
    assert "core's retries are off" in caplog.text


async def test_llamaindex_llm_that_retries_by_itself(
    always_503: FaultInjectingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    llm = RetryingLLM(url=always_503.base_url)
    workflow = VerbalizedSamplingWorkflow(llm=llm, config=CONFIG, structured="text", retry=POLICY)
    with pytest.raises(VSSamplingError):
        await workflow.run(prompt="Joke")
    assert len(always_503.requests) == 2 + 1
    assert "RetryingLLM retries failed requests itself" in caplog.text
