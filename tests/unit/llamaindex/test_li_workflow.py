"""VerbalizedSamplingWorkflow and the reusable VS steps, over scripted LLMs."""

from __future__ import annotations

import pytest
from li_fakes import ScriptedLLM, ScriptedToolLLM, vs_json
from llama_index.core import Settings
from llama_index.core.workflow import StartEvent, StopEvent, step

from llamaindex_vs import (
    VerbalizedSamplingSteps,
    VerbalizedSamplingWorkflow,
    VSDistributionEvent,
    VSGenerateEvent,
    VSParseEvent,
    VSProgressEvent,
    VSSelectedEvent,
    VSStartEvent,
    VSStopEvent,
)
from vs_common import (
    RetryPolicy,
    Usage,
    VSConfig,
    VSConfigError,
    VSSamplingError,
    parse_distribution,
)

TWO = vs_json([("Decaf?", 0.5), ("Bean there", 0.5)])
OTHER = vs_json([("Espresso yourself", 0.2), ("decaf", 0.8)])


async def test_run_pools_n_over_ceil_n_over_k_calls_and_streams_progress():
    llm = ScriptedLLM(replies=[TWO, OTHER])
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=2, n=4), seed=3)
    handler = wf.run(prompt="Tell a joke about coffee")
    progress = [ev async for ev in handler.stream_events() if isinstance(ev, VSProgressEvent)]
    result = await handler
    assert isinstance(result, VSStopEvent)
    assert len(llm.conversations) == 2
    assert result.distribution.num_calls == 2
    assert result.distribution.texts == ["Decaf?", "Bean there", "Espresso yourself"]
    assert result.distribution.candidates[0].count == 2  # "Decaf?" and "decaf" merged
    assert result.distribution.usage == Usage(prompt_tokens=22, completion_tokens=44)
    assert result.text in result.distribution.texts
    assert result.candidate.text == result.text
    assert [p.calls_done for p in progress] == [1, 2]
    assert progress[-1].calls_planned == 2


async def test_same_seed_same_choice_and_per_run_seed():
    replies = [vs_json([(f"joke {i}", 0.1) for i in range(10)])]
    texts = []
    for _ in range(2):
        wf = VerbalizedSamplingWorkflow(llm=ScriptedLLM(replies=replies), config=VSConfig(k=10))
        texts.append((await wf.run(prompt="p", seed=11)).text)
    assert texts[0] == texts[1]
    wf = VerbalizedSamplingWorkflow(llm=ScriptedLLM(replies=replies), config=VSConfig(k=10), seed=1)
    # no generator state between runs: the same prompt gets the same choice...
    assert len({(await wf.run(prompt="p")).text for _ in range(4)}) == 1
    # ...and the seed mixed with each prompt decorrelates different prompts
    assert len({(await wf.run(prompt=f"p{i}")).text for i in range(12)}) > 1
    assert len({(await wf.run(prompt="p", seed=s)).text for s in range(12)}) > 1


async def test_strategy_argmax_and_config_override_per_run():
    llm = ScriptedLLM(replies=[vs_json([("rare", 0.1), ("common", 0.9)])])
    wf = VerbalizedSamplingWorkflow(llm=llm, strategy="argmax")
    result = await wf.run(prompt="p", config=VSConfig(k=2, threshold=0.2))
    assert result.text == "common"
    system = llm.conversations[0][0].content
    assert system is not None
    assert "Generate 2 responses" in system
    assert "less than 0.2" in system


async def test_tail_strategy_uses_the_threshold():
    llm = ScriptedLLM(replies=[vs_json([("rare", 0.05), ("common", 0.95)])])
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=2, threshold=0.1), strategy="tail")
    assert (await wf.run(prompt="p", seed=0)).text == "rare"
    with pytest.raises(VSConfigError, match="threshold"):
        VerbalizedSamplingWorkflow(llm=llm, strategy="tail")


async def test_run_with_output_parses_without_calling_the_llm():
    llm = ScriptedLLM()
    wf = VerbalizedSamplingWorkflow(llm=llm, seed=0)
    result = await wf.run(output="1. Hot (probability: 0.3)\n2. Iced (probability: 0.7)")
    assert result.distribution.texts == ["Hot", "Iced"]
    assert llm.conversations == [] and llm.prompts == []


async def test_partial_failures_are_kept_not_lost():
    llm = ScriptedLLM(replies=[TWO, RuntimeError("boom"), OTHER])
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=2, n=6), max_concurrency=1)
    result = await wf.run(prompt="p")
    dist = result.distribution  # the failed call is recorded and topped up
    assert (dist.num_calls, dist.top_up_calls, dist.shortfall) == (4, 1, 0)
    assert [f.error_type for f in result.distribution.failures] == ["RuntimeError"]
    assert "Espresso yourself" in result.distribution.texts


async def test_transient_errors_are_retried_with_the_core_policy():
    class RateLimited(Exception):
        status_code = 429

    llm = ScriptedLLM(replies=[RateLimited("slow down"), TWO])
    retry = RetryPolicy(max_retries=2, backoff_base=0.0)
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=2), retry=retry)
    result = await wf.run(prompt="p")
    assert result.distribution.texts == ["Decaf?", "Bean there"]
    assert len(llm.conversations) == 2


async def test_every_call_failing_raises_with_the_failures():
    llm = ScriptedLLM(replies=["no structure at all"])
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=2))
    with pytest.raises(VSSamplingError) as info:
        await wf.run(prompt="p")
    assert info.value.failures[0].error_type == "VSParseError"
    assert info.value.failures[0].raw_output == "no structure at all"


async def test_finish_reason_length_drops_the_cut_candidate():
    cut = '{"responses": [{"text": "whole", "probability": 0.5}, {"text": "cut off mid'
    llm = ScriptedLLM(replies=[cut], finish_reason="length")
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=2))
    result = await wf.run(prompt="p")
    assert result.distribution.texts == ["whole"]
    assert result.distribution.repairs


async def test_completion_model_and_tool_model_both_work():
    completion = ScriptedLLM(replies=[TWO], chat_model=False)
    result = await VerbalizedSamplingWorkflow(llm=completion, config=VSConfig(k=2)).run(prompt="p")
    assert sorted(result.distribution.texts) == ["Bean there", "Decaf?"]
    assert len(completion.prompts) == 1
    args = {"responses": [{"text": "t1", "probability": 1}, {"text": "t2", "probability": 3}]}
    tools = ScriptedToolLLM(replies=[{"tool": "submit_responses", "args": args}])
    result = await VerbalizedSamplingWorkflow(llm=tools, config=VSConfig(k=2)).run(prompt="p")
    assert result.distribution.probabilities.tolist() == pytest.approx([0.25, 0.75])
    assert tools.tool_choices == ["submit_responses"]


async def test_settings_llm_is_the_default():
    llm = ScriptedLLM(replies=[TWO])
    Settings.llm = llm
    wf = VerbalizedSamplingWorkflow(config=VSConfig(k=2))
    assert wf.llm is llm
    await wf.run(prompt="p")
    assert len(llm.conversations) == 1


async def test_missing_prompt_is_a_clear_error():
    wf = VerbalizedSamplingWorkflow(llm=ScriptedLLM())
    with pytest.raises(VSConfigError, match="prompt"):
        await wf.run()


class JokeFlow(VerbalizedSamplingSteps):
    @step
    async def ask(self, ev: StartEvent) -> VSGenerateEvent | VSDistributionEvent:
        if ev.get("raw"):
            return VSDistributionEvent(distribution=parse_distribution(ev.raw))
        return VSGenerateEvent(prompt=f"Tell a joke about {ev.topic}")

    @step
    async def shout(self, ev: VSSelectedEvent) -> StopEvent:
        return StopEvent(result=(ev.text.upper(), len(ev.distribution.candidates)))


async def test_steps_compose_into_a_user_workflow():
    llm = ScriptedLLM(replies=[vs_json([("a joke", 1.0)])])
    flow = JokeFlow(llm=llm, config=VSConfig(k=1), timeout=30)
    assert await flow.run(topic="tea") == ("A JOKE", 1)
    assert llm.conversations[0][1].content == "Tell a joke about tea"
    assert await flow.run(raw='["x", "y"]') in {("X", 2), ("Y", 2)}


class OnlyGenerate(VerbalizedSamplingSteps):
    @step
    async def ask(self, ev: StartEvent) -> VSGenerateEvent:
        return VSGenerateEvent(prompt=ev.prompt)

    @step
    async def done(self, ev: VSSelectedEvent) -> StopEvent:
        return StopEvent(result=ev.text)


async def test_a_user_workflow_that_only_generates_validates_and_runs():
    flow = OnlyGenerate(llm=ScriptedLLM(replies=[vs_json([("only", 1.0)])]), config=VSConfig(k=1))
    assert await flow.run(prompt="p") == "only"


async def test_parse_event_in_the_ready_made_workflow_honours_method():
    wf = VerbalizedSamplingWorkflow(llm=ScriptedLLM())
    result = await wf.run(output="A single plain answer.", config=VSConfig(method="direct"))
    assert result.distribution.texts == ["A single plain answer."]
    tail = VerbalizedSamplingWorkflow(llm=ScriptedLLM(), strategy="argmax")
    cut = '[{"text": "kept", "probability": 0.2}, {"text": "cut'
    result = await tail.run(start_event=VSStartEvent(output=cut, seed=1))
    assert result.distribution.texts == ["kept"]
    event = VSParseEvent(output=cut, truncated=True)
    assert event.truncated and event.method is None
