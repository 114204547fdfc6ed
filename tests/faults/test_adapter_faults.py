"""n=100, k=5 through the LangChain sampler and the LlamaIndex workflow, 30% of calls faulted.

Every candidate of every successful call is kept, every failure is recorded,
retries stay within their bound, and nothing hangs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vs_common import RetryPolicy, VerbalizedDistribution, VSConfig
from vs_common.testing import ALL_FAULTS, FaultInjectingServer, FaultRates

POLICY = RetryPolicy(max_retries=4, max_reasks=2, backoff_base=0.01, backoff_max=0.05, timeout=3.0)
BOUND = 1 + POLICY.max_retries + POLICY.max_reasks + 1
CONFIG = VSConfig(k=5, n=100)


def _server() -> FaultInjectingServer:
    return FaultInjectingServer(
        FaultRates.uniform(0.3), seed=21, hang_seconds=4.0, retry_after=0.1, schedule=ALL_FAULTS
    )


def _check(dist: VerbalizedDistribution, server: FaultInjectingServer) -> None:
    counts = server.fault_counts()
    assert dist.num_calls == 20 + dist.top_up_calls  # top-ups for what faults lost
    assert dist.top_up_calls <= 10
    assert set(counts) == {"ok", *ALL_FAULTS}
    assert set(dist.texts) == server.delivered_texts()  # nothing lost, nothing invented
    assert len(dist.candidates) == len(server.delivered_texts())
    assert (dist.requested, dist.shortfall) == (100, 0)  # n is a promise
    assert dist.num_samples >= 100
    assert len(server.requests) <= dist.num_calls * BOUND
    assert all(1 <= f.attempts <= BOUND for f in dist.failures)
    assert all(f.error_type and f.message for f in dist.failures)
    assert dist.usage is not None
    assert dist.usage.total_tokens > 0


@pytest.mark.parametrize("structured", ["tool", "text"])
async def test_langchain_sampler_under_faults(structured: str) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_vs import VerbalizedSampler

    with _server() as server:
        llm = langchain_openai.ChatOpenAI(
            model="fault", base_url=server.base_url, api_key="k", max_retries=0, timeout=1.0
        )
        sampler = VerbalizedSampler(
            llm=llm, config=CONFIG, structured=structured, retry=POLICY, max_concurrency=8
        )
        dist: Any = await asyncio.wait_for(sampler.ainvoke("Joke about coffee"), timeout=90)
        _check(dist, server)


def test_langchain_sync_invoke_under_faults() -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_vs import VerbalizedSampler

    with _server() as server:
        llm = langchain_openai.ChatOpenAI(
            model="fault", base_url=server.base_url, api_key="k", max_retries=0, timeout=1.0
        )
        sampler = VerbalizedSampler(llm=llm, config=CONFIG, structured="tool", retry=POLICY)
        dist: Any = sampler.invoke("Joke about coffee")
        _check(dist, server)


async def test_llamaindex_workflow_under_faults() -> None:
    openai_like = pytest.importorskip("llama_index.llms.openai_like")
    from llamaindex_vs import VerbalizedSamplingWorkflow

    with _server() as server:
        llm = openai_like.OpenAILike(
            model="fault",
            api_base=server.base_url,
            api_key="k",
            is_chat_model=True,
            is_function_calling_model=True,
            max_retries=0,
            timeout=1.0,
        )
        workflow = VerbalizedSamplingWorkflow(
            llm=llm, config=CONFIG, retry=POLICY, seed=3, timeout=120, max_concurrency=8
        )
        result = await asyncio.wait_for(workflow.run(prompt="Joke about coffee"), timeout=120)
        _check(result.distribution, server)
        assert result.text in result.distribution.texts
