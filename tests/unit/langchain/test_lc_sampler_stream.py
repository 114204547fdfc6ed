"""The sampler streams the pooled distribution as each call ends; the last item is invoke's."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.prompts import ChatPromptTemplate
from lc_fakes import FakeVSChatModel, RunRecorder, vs_json

from langchain_vs import VerbalizedSampler
from vs_common import Candidate, RetryPolicy, VerbalizedDistribution, VSSamplingError

FAST = RetryPolicy(backoff_base=0.0, jitter=0.0, max_retries=0, max_reasks=0)


def _model(calls: int) -> FakeVSChatModel:
    replies = [vs_json([(f"joke {i}a", 0.5), (f"joke {i}b", 0.5)]) for i in range(calls)]
    return FakeVSChatModel(replies=replies, latency=0.01)


def test_stream_grows_one_call_at_a_time() -> None:
    sampler = VerbalizedSampler(llm=_model(3), k=2, n=6, structured="text", retry=FAST)
    items = list(sampler.stream("Joke"))
    sizes = [len(d.candidates) for d in items]  # type: ignore[union-attr]
    assert sizes[:3] == [2, 4, 6]  # after each call
    final = items[-1]
    assert isinstance(final, VerbalizedDistribution)
    assert final.num_calls == 3
    assert final.usage is not None  # the final item carries the run's totals
    assert sorted(final.texts) == sorted(sampler.invoke("Joke").texts)  # type: ignore[union-attr]


async def test_astream_grows_and_ends_with_ainvoke_result() -> None:
    sampler = VerbalizedSampler(llm=_model(3), k=2, n=6, structured="text", retry=FAST)
    items = [d async for d in sampler.astream("Joke")]
    assert [len(d.candidates) for d in items[:3]] == [2, 4, 6]  # type: ignore[union-attr]
    assert items[-1].num_calls == 3  # type: ignore[union-attr]


def test_with_a_strategy_only_the_choice_is_streamed() -> None:
    def sampler() -> VerbalizedSampler:
        # One reply for every call: which call gets which reply depends on thread
        # timing, and the pooled order (so the seeded choice) with it.
        return VerbalizedSampler(
            llm=_model(1), k=2, n=6, structured="text", retry=FAST, strategy="weighted", seed=7
        )

    items = list(sampler().stream("Joke"))
    assert len(items) == 1
    assert isinstance(items[0], Candidate)
    assert items[0].text == sampler().invoke("Joke").text  # type: ignore[union-attr]


async def test_stream_of_a_failed_run_raises_after_partial_items() -> None:
    llm = FakeVSChatModel(replies=["no structure at all"] * 4)
    sampler = VerbalizedSampler(llm=llm, k=2, n=4, structured="text", retry=FAST)
    with pytest.raises(VSSamplingError):
        _ = [d async for d in sampler.astream("Joke")]
    with pytest.raises(VSSamplingError):
        list(sampler.stream("Joke"))


def test_streaming_through_a_chain_and_trace_nesting() -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "Write a joke about {topic}")])
    recorder = RunRecorder()
    sampler = VerbalizedSampler(llm=_model(2), k=2, n=4, structured="text", retry=FAST)
    chain = prompt | sampler
    items = list(chain.stream({"topic": "tea"}, config={"callbacks": [recorder]}))
    assert len(items[-1].candidates) == 4  # type: ignore[union-attr]
    kinds = {e["kind"] for e in recorder.events}
    sampler_runs = [e for e in recorder.events if e["name"] == "VerbalizedSampler"]
    assert sampler_runs, recorder.events
    models = [e for e in recorder.events if e["kind"] != "chain"]
    assert len(models) == 2, kinds
    assert {e["parent"] for e in models} == {sampler_runs[0]["run_id"]}


async def test_breaking_out_of_astream_cancels_the_calls() -> None:
    llm = FakeVSChatModel(replies=[vs_json([("a", 1.0)])] * 10, latency=0.2)
    sampler = VerbalizedSampler(llm=llm, k=1, n=10, structured="text", retry=FAST)
    stream = sampler.astream("Joke", config={"max_concurrency": 1})
    first = await asyncio.wait_for(anext(stream), timeout=5)
    assert len(first.candidates) == 1  # type: ignore[union-attr]
    await stream.aclose()
    calls = len(llm.calls)
    await asyncio.sleep(0.5)
    assert len(llm.calls) <= calls + 1  # no new calls after the consumer left
