"""The two adapters mean the same thing by the same settings (the core's SamplerSettings).

Same scripted replies, same seed: LangChain's sampler and LlamaIndex's
workflow, synthesizer-free tool and steps select the same candidates, in the
same sequence; a bad setting is the same VSConfigError through both; and the
two agent tools format their output the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel
from li_fakes import ScriptedLLM

from langchain_vs import VerbalizedSampler, create_vs_tool
from llamaindex_vs import VerbalizedSamplingWorkflow, verbalized_sampling_tool
from vs_common import VerbalizedDistribution, VSConfig, VSConfigError
from vs_common.sampler import format_options

REPLY = json.dumps(
    {
        "responses": [
            {"text": f"joke {i}", "probability": p} for i, p in enumerate([0.4, 0.3, 0.2, 0.1])
        ]
    }
)
PROMPTS = [f"Tell joke number {i}" for i in range(12)]


async def test_same_seed_same_sequence_of_selections_through_both_adapters():
    lc = VerbalizedSampler(
        llm=FakeListChatModel(responses=[REPLY]),
        k=4,
        structured="text",
        strategy="weighted",
        seed=7,
    )
    li = VerbalizedSamplingWorkflow(
        llm=ScriptedLLM(replies=[REPLY]), config=VSConfig(k=4), structured="text", seed=7
    )
    lc_picks = [(await lc.ainvoke(p)).text for p in PROMPTS]
    li_picks = [(await li.run(prompt=p)).text for p in PROMPTS]
    assert lc_picks == li_picks
    assert len(set(lc_picks)) > 1  # the seed is mixed with each prompt
    # and again, in reverse order: no hidden generator state
    assert [(await li.run(prompt=p)).text for p in reversed(PROMPTS)] == li_picks[::-1]
    lc_batch = await lc.abatch(PROMPTS, config={"max_concurrency": 4})
    assert [c.text for c in lc_batch] == lc_picks


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"config": {"k": 0}}, "k"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"config": {"k": 5, "n": 5}, "min_successes": 2}, "min_successes"),
        ({"retry": {"max_retries": -1}}, "max_retries"),
        ({"structured": "xml"}, "structured"),
        ({"seed": -1}, "seed"),
        ({"strategy": "tail"}, "threshold"),
    ],
)
def test_a_bad_setting_is_the_same_config_error_through_both(kwargs: dict[str, Any], field: str):
    lc_kwargs = dict(kwargs)
    if lc_kwargs.get("strategy") is None and "seed" in lc_kwargs:
        lc_kwargs["strategy"] = "weighted"
    with pytest.raises(VSConfigError) as lc:
        VerbalizedSampler(llm=FakeListChatModel(responses=[REPLY]), **lc_kwargs)
    with pytest.raises(VSConfigError) as li:
        VerbalizedSamplingWorkflow(llm=ScriptedLLM(replies=[REPLY]), **kwargs)
    assert lc.value.field == li.value.field == field


def test_a_config_given_as_a_dict_works_through_both():
    lc = VerbalizedSampler(llm=FakeListChatModel(responses=[REPLY]), config={"k": 4, "n": 8})
    li = VerbalizedSamplingWorkflow(llm=ScriptedLLM(replies=[REPLY]), config={"k": 4, "n": 8})
    assert lc.config == li.config == VSConfig(k=4, n=8)


async def test_both_agent_tools_format_the_options_the_same_way():
    dist = VerbalizedDistribution.from_pairs([("Bean there", 0.6), ("Brew-ha-ha", 0.4)])
    reply = json.dumps(
        {"responses": [{"text": c.text, "probability": c.probability} for c in dist.candidates]}
    )
    lc_tool = create_vs_tool(FakeListChatModel(responses=[reply]), structured="text")
    lc_text = await lc_tool.ainvoke({"prompt": "coffee shop names", "k": 2})
    li_tool = verbalized_sampling_tool(
        ScriptedLLM(replies=[reply]), VSConfig(k=2), structured="text", strategy="argmax"
    )
    li_text = (await li_tool.acall(prompt="coffee shop names")).content
    assert lc_text == format_options(dist)
    assert li_text == format_options(dist, dist.candidates[0])
    assert li_text.endswith(lc_text)  # the same option lines, after the sampled response


def _distinct_replies() -> list[str]:
    # every reply but the third brings two new jokes; the third repeats two old ones
    names = [["a", "b"], ["c", "d"], ["a", "b"], ["e", "f"], ["g", "h"]]
    return [
        json.dumps({"responses": [{"text": f"joke {t}", "probability": 0.5} for t in pair]})
        for pair in names
    ]


async def test_distinct_n_is_the_same_through_both_adapters():
    lc = VerbalizedSampler(
        llm=FakeListChatModel(responses=_distinct_replies()),
        k=2,
        n=6,
        structured="text",
        distinct=True,
    )
    workflow = VerbalizedSamplingWorkflow(
        llm=ScriptedLLM(replies=_distinct_replies()),
        config=VSConfig(k=2, n=6),
        structured="text",
        distinct={"max_calls": 9},
    )
    tool = verbalized_sampling_tool(
        llm=ScriptedLLM(replies=_distinct_replies()),
        config=VSConfig(k=2, n=6),
        structured="text",
        distinct=True,
    )
    lc_dist = await lc.ainvoke("Tell a joke")
    li_dist = (await workflow.run(prompt="Tell a joke")).distribution
    tool_dist = (await tool.acall(prompt="Tell a joke")).raw_output.distribution
    expected = ["joke a", "joke b", "joke c", "joke d", "joke e", "joke f"]
    for dist in (lc_dist, li_dist, tool_dist):
        assert dist.texts == expected
        assert dist.distinct is not None
        assert (dist.distinct.calls, dist.distinct.stop_reason) == (4, "reached_n")
        assert dist.distinct.duplicates == 2


def test_a_bad_distinct_setting_is_the_same_config_error_through_both():
    with pytest.raises(VSConfigError) as lc:
        VerbalizedSampler(llm=FakeListChatModel(responses=[REPLY]), distinct={"patience": 0})
    with pytest.raises(VSConfigError) as li:
        VerbalizedSamplingWorkflow(llm=ScriptedLLM(replies=[REPLY]), distinct={"patience": 0})
    assert lc.value.field == li.value.field == "patience"
