from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.rate_limiters import InMemoryRateLimiter
from lc_fakes import FakeVSChatModel, HTTPStatusError, RunRecorder, vs_json

from langchain_vs import VerbalizedSampler
from vs_common import (
    Candidate,
    RetryPolicy,
    Usage,
    VerbalizedDistribution,
    VSConfig,
    VSConfigError,
    VSSamplingError,
    response_schema,
)

FAST = RetryPolicy(backoff_base=0.0, jitter=0.0)


def _six_ways(runnable, inp):
    out = {"invoke": runnable.invoke(inp), "batch": runnable.batch([inp])[0]}
    out["stream"] = list(runnable.stream(inp))[-1]

    async def _async():
        a = await runnable.ainvoke(inp)
        b = (await runnable.abatch([inp]))[0]
        c = [x async for x in runnable.astream(inp)][-1]
        return a, b, c

    out["ainvoke"], out["abatch"], out["astream"] = asyncio.run(_async())
    return out


@pytest.mark.parametrize("structured", ["auto", "text"])
def test_all_six_call_styles_agree(structured):
    sampler = VerbalizedSampler(llm=FakeVSChatModel(), k=3, n=7, structured=structured, retry=FAST)
    results = _six_ways(sampler, "coffee")
    first = results["invoke"]
    assert isinstance(first, VerbalizedDistribution)
    assert first.texts == ["coffee #0", "coffee #1", "coffee #2"]
    assert [c.count for c in first.candidates] == [3, 3, 3]
    assert first.num_calls == 3
    for name, value in results.items():
        assert value == first, name


def test_all_six_call_styles_agree_on_the_seeded_choice():
    sampler = VerbalizedSampler(llm=FakeVSChatModel(), k=5, strategy="weighted", seed=11)
    results = _six_ways(sampler, "tea")
    assert isinstance(results["invoke"], Candidate)
    assert len({v.text for v in results.values()}) == 1
    # a different seed eventually picks something else: the seed matters
    texts = {
        VerbalizedSampler(llm=FakeVSChatModel(), k=5, strategy="weighted", seed=s)
        .invoke("tea")
        .text
        for s in range(20)
    }
    assert len(texts) > 1


def test_n_over_ceil_n_over_k_calls_and_usage_summed():
    llm = FakeVSChatModel(usage=(7, 11))
    dist = VerbalizedSampler(llm=llm, k=5, n=30).invoke("x")
    assert len(llm.calls) == 6
    assert dist.num_calls == 6
    assert dist.usage == Usage(prompt_tokens=42, completion_tokens=66)


def test_tool_mode_binds_the_schema_and_forces_the_tool():
    llm = FakeVSChatModel()
    cfg = VSConfig(k=4)
    dist = VerbalizedSampler(llm=llm, config=cfg, structured="tool").invoke("rivers")
    kwargs = llm.calls[0]["kwargs"]
    fn = kwargs["tools"][0]["function"]
    assert fn["parameters"] == response_schema(cfg)
    assert fn["parameters"]["properties"]["responses"]["minItems"] == 4
    assert kwargs["tool_choice"] == fn["name"]
    assert dist.texts == [f"rivers #{i}" for i in range(4)]


def test_text_mode_never_binds_tools():
    llm = FakeVSChatModel()
    VerbalizedSampler(llm=llm, k=2, structured="text").invoke("x")
    assert "tools" not in llm.calls[0]["kwargs"]


@pytest.mark.parametrize("mode", ["reject", "not_implemented"])
def test_auto_falls_back_to_text_when_tools_are_rejected(mode):
    llm = FakeVSChatModel(tool_mode=mode, replies=[vs_json([("a", 0.5), ("b", 0.5)])])
    dist = VerbalizedSampler(llm=llm, k=2, n=4, structured="auto").invoke("x")
    assert dist.texts == ["a", "b"]
    assert not dist.failures
    # calls already in flight may try tools once each; every call then ends in text mode
    used_tools = ["tools" in c["kwargs"] for c in llm.calls]
    assert used_tools.count(False) == 2
    assert used_tools.count(True) <= 2  # (none when bind_tools itself refuses)


def test_forced_tool_mode_that_is_rejected_fails_cleanly():
    llm = FakeVSChatModel(tool_mode="reject")
    with pytest.raises(VSSamplingError) as info:
        VerbalizedSampler(llm=llm, k=2, structured="tool").invoke("x")
    assert info.value.failures[0].error_type == "VSStructuredOutputUnsupported"


def test_json_schema_mode_on_a_non_openai_model_falls_back_in_auto_only():
    llm = FakeVSChatModel(replies=[vs_json([("a", 1.0)])])
    with pytest.raises(VSSamplingError):
        VerbalizedSampler(llm=llm, k=1, structured="json_schema").invoke("x")


def test_transient_errors_are_retried():
    llm = FakeVSChatModel(fail_first=2, fail_status=429)
    dist = VerbalizedSampler(llm=llm, k=2, retry=FAST).invoke("x")
    assert len(llm.calls) == 3
    assert dist.texts == ["x #0", "x #1"]


def test_partial_failure_is_kept_and_recorded():
    llm = FakeVSChatModel(fail_calls=[1], fail_status=400)  # non-transient, text mode
    dist = VerbalizedSampler(
        llm=llm, k=2, n=6, structured="text", retry=FAST, max_concurrency=1
    ).invoke("x")
    # the failed call is recorded, and one top-up call makes up for it: n is kept
    assert (dist.num_calls, dist.top_up_calls, dist.shortfall) == (4, 1, 0)
    assert [f.call_index for f in dist.failures] == [1]
    assert [c.count for c in dist.candidates] == [3, 3]


def test_too_few_successes_raise_with_the_partial_result():
    llm = FakeVSChatModel(fail_calls=[0], fail_status=400)
    sampler = VerbalizedSampler(
        llm=llm,
        k=2,
        n=4,
        structured="text",
        min_successes=2,
        max_concurrency=1,
        retry=replace(FAST, max_top_up_calls=0),
    )
    with pytest.raises(VSSamplingError) as info:
        sampler.invoke("x")
    assert info.value.partial is not None
    assert info.value.partial.texts == ["x #0", "x #1"]


def test_unparseable_reply_is_reasked_once():
    llm = FakeVSChatModel(replies=["no idea", vs_json([("ok", 1.0)])])
    dist = VerbalizedSampler(llm=llm, k=1, structured="text").invoke("x")
    assert dist.texts == ["ok"]
    reask = llm.calls[1]["messages"]
    assert reask[-2].text == "no idea"
    assert "could not be read" in reask[-1].text


def test_finish_reason_length_is_passed_through():
    text = "1. Alpha (probability: 0.5)\n2. Beta (probability: 0.5)\n3. Gam"
    cut = VerbalizedSampler(
        llm=FakeVSChatModel(replies=[text], finish_reason="length"), k=3, structured="text"
    ).invoke("x")
    assert cut.texts == ["Alpha", "Beta"]
    whole = VerbalizedSampler(llm=FakeVSChatModel(replies=[text]), k=3, structured="text").invoke(
        "x"
    )
    assert whole.texts == ["Alpha", "Beta", "Gam"]


@pytest.mark.parametrize("limit", [1, 3])
def test_max_concurrency_from_the_runnable_config_bounds_calls(limit):
    llm = FakeVSChatModel(latency=0.05)
    VerbalizedSampler(llm=llm, k=1, n=6).invoke("x", {"max_concurrency": limit})
    assert llm.peak == limit
    llm2 = FakeVSChatModel(latency=0.05)
    asyncio.run(VerbalizedSampler(llm=llm2, k=1, n=6).ainvoke("x", {"max_concurrency": limit}))
    assert llm2.peak == limit


def test_calls_run_concurrently_by_default():
    llm = FakeVSChatModel(latency=0.2)
    start = time.perf_counter()
    asyncio.run(VerbalizedSampler(llm=llm, k=5, n=30).ainvoke("x"))
    assert time.perf_counter() - start < 0.8  # 6 calls of 0.2 s would take 1.2 s in a row
    assert llm.peak == 6


@pytest.mark.parametrize("use_async", [False, True])
def test_child_model_runs_nest_under_the_sampler_run(use_async):
    rec = RunRecorder()
    sampler = VerbalizedSampler(llm=FakeVSChatModel(), k=2, n=6)
    config = {"callbacks": [rec], "tags": ["mine"], "run_name": "vs"}
    if use_async:
        asyncio.run(sampler.ainvoke("x", config))
    else:
        sampler.invoke("x", config)
    (root,) = rec.of("chain")
    assert root["name"] == "vs"
    models = rec.of("chat_model")
    assert len(models) == 3
    assert all(m["parent"] == root["run_id"] for m in models)
    assert all("mine" in m["tags"] for m in models)


def test_nesting_inside_a_chain():
    rec = RunRecorder()
    prompt = ChatPromptTemplate.from_messages([("human", "About {topic}")])
    chain = prompt | VerbalizedSampler(llm=FakeVSChatModel(), k=2)
    chain.invoke({"topic": "cats"}, {"callbacks": [rec]})
    sampler_run = next(e for e in rec.of("chain") if e["name"] == "VerbalizedSampler")
    (model,) = rec.of("chat_model")
    assert model["parent"] == sampler_run["run_id"]


def test_rate_limiter_works_sync_and_async():
    limiter = InMemoryRateLimiter(
        requests_per_second=50, check_every_n_seconds=0.01, max_bucket_size=1
    )
    llm = FakeVSChatModel(rate_limiter=limiter)
    sampler = VerbalizedSampler(llm=llm, k=1, n=4)
    assert len(sampler.invoke("x").candidates) == 1
    assert len(asyncio.run(sampler.ainvoke("y")).candidates) == 1
    assert len(llm.calls) == 8


def test_inputs_messages_prompt_value_and_dicts():
    llm = FakeVSChatModel()
    s = VerbalizedSampler(llm=llm, k=1)
    s.invoke([SystemMessage("Be kind."), HumanMessage("hello")])
    system = llm.calls[-1]["messages"][0]
    assert system.text.startswith("Be kind.\n\nGenerate 1 responses")
    assert s.invoke({"messages": [("human", "yo")]}).texts == ["yo #0"]
    assert s.invoke({"input": "hey"}).texts == ["hey #0"]
    templ = ChatPromptTemplate.from_messages([("human", "Pet: {animal}")])
    assert s.invoke(templ.invoke({"animal": "dog"})).texts == ["Pet: dog #0"]
    with_prompt = VerbalizedSampler(llm=llm, k=1, prompt=templ)
    assert with_prompt.invoke({"animal": "cat"}).texts == ["Pet: cat #0"]
    with pytest.raises(VSConfigError, match="dict input"):
        s.invoke({"animal": "cat"})
    with pytest.raises(VSConfigError):
        s.invoke(42)  # type: ignore[arg-type]


def test_vs_multi_runs_a_conversation():
    llm = FakeVSChatModel()
    dist = VerbalizedSampler(llm=llm, method="vs_multi", k=2, n=6).invoke("x")
    assert len(llm.calls) == 3
    assert [m.type for m in llm.calls[2]["messages"]] == [
        "system",
        "human",
        "ai",
        "human",
        "ai",
        "human",
    ]
    assert dist.num_calls == 3


def test_shorthand_config_and_output_types():
    s = VerbalizedSampler(llm=FakeListChatModel(responses=["[]"]), k=3, n=9)
    assert s.config == VSConfig(k=3, n=9)
    assert s.OutputType is VerbalizedDistribution
    assert VerbalizedSampler(llm=s.llm, strategy="argmax").OutputType is Candidate
    assert "candidates" in s.get_output_jsonschema()["properties"]
    with pytest.raises(VSConfigError, match="k"):
        VerbalizedSampler(llm=s.llm, k=0)


def test_sync_invoke_inside_a_running_loop():
    async def inner():
        return VerbalizedSampler(llm=FakeVSChatModel(), k=2).invoke("x")

    assert asyncio.run(inner()).texts == ["x #0", "x #1"]


def test_auto_falls_back_without_retrying_a_500_that_rejects_the_tools():
    llm_reply = "1. validation error: 'tools' not supported"

    class Rejecting(FakeVSChatModel):
        def _next(self, messages, kwargs):
            if kwargs.get("tools"):
                with self._lock:
                    self.calls.append({"messages": messages, "kwargs": kwargs})
                raise HTTPStatusError(500, llm_reply)
            return super()._next(messages, kwargs)

    llm = Rejecting()
    dist = VerbalizedSampler(llm=llm, k=2, structured="auto").invoke("x")
    assert dist.texts == ["x #0", "x #1"]
    assert [("tools" in c["kwargs"]) for c in llm.calls] == [True, False]
