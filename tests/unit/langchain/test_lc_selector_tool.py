from __future__ import annotations

import asyncio

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import ToolMessage
from langchain_core.runnables import ConfigurableField
from langchain_tests.unit_tests import ToolsUnitTests
from lc_fakes import FakeVSChatModel, RunRecorder

from langchain_vs import (
    VerbalizedSampler,
    VerbalizedSamplingTool,
    VerbalizedSelector,
    create_vs_tool,
    format_options,
)
from vs_common import Candidate, VerbalizedDistribution, VSConfigError, select

DIST = VerbalizedDistribution.from_pairs(
    [("tea", 0.5), ("coffee", 0.3), ("mate", 0.15), ("water", 0.05)]
)


def test_selector_is_seeded_and_matches_the_core():
    for seed in range(10):
        chosen = VerbalizedSelector(seed=seed).invoke(DIST)
        assert chosen == select(DIST, "weighted", seed=seed).text
        assert chosen == VerbalizedSelector(seed=seed).invoke(DIST)
    picks = {VerbalizedSelector(seed=s).invoke(DIST) for s in range(40)}
    assert len(picks) >= 3


def test_selector_strategies_and_outputs():
    assert VerbalizedSelector(strategy="argmax").invoke(DIST) == "tea"
    assert VerbalizedSelector(strategy="tail", threshold=0.1, seed=3).invoke(DIST) == "water"
    cand = VerbalizedSelector(strategy="argmax", output="candidate").invoke(DIST.to_dict())
    assert isinstance(cand, Candidate)
    assert cand.text == "tea"
    assert asyncio.run(VerbalizedSelector(strategy="argmax").ainvoke(DIST)) == "tea"
    with pytest.raises(VSConfigError):
        VerbalizedSelector(strategy="tail").invoke(DIST)  # no threshold
    with pytest.raises(VSConfigError):
        VerbalizedSelector().invoke("not a distribution")  # type: ignore[arg-type]


def test_selector_seed_is_configurable_per_call():
    sel = VerbalizedSelector().configurable_fields(seed=ConfigurableField(id="seed"))
    for s in range(5):
        assert sel.invoke(DIST, {"configurable": {"seed": s}}) == select(DIST, seed=s).text


def test_sampler_pipes_into_selector():
    chain = VerbalizedSampler(llm=FakeVSChatModel(), k=4) | VerbalizedSelector(strategy="argmax")
    assert chain.invoke("x") == "x #3"


class TestVerbalizedSamplingToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return VerbalizedSamplingTool

    @property
    def tool_constructor_params(self):
        return {"llm": FakeVSChatModel()}

    @property
    def tool_invoke_params_example(self):
        return {"prompt": "names for a coffee shop", "k": 3}


def test_tool_returns_options_and_artifact():
    tool = create_vs_tool(FakeVSChatModel())
    text = tool.invoke({"prompt": "shop names", "k": 3})
    assert text.splitlines() == [
        "1. shop names #0 (p=0.17)",
        "2. shop names #1 (p=0.33)",
        "3. shop names #2 (p=0.50)",
    ]
    msg = tool.invoke(
        {
            "type": "tool_call",
            "name": "brainstorm",
            "id": "c1",
            "args": {"prompt": "shop names", "k": 2},
        }
    )
    assert isinstance(msg, ToolMessage)
    assert VerbalizedDistribution.from_dict(msg.artifact).texts == [
        "shop names #0",
        "shop names #1",
    ]
    assert asyncio.run(tool.ainvoke({"prompt": "a", "k": 1})) == "1. a #0 (p=1.00)"


def test_tool_schema_and_validation():
    tool = create_vs_tool(FakeListChatModel(responses=["[]"]), name="ideas")
    assert tool.name == "ideas"
    schema = tool.tool_call_schema.model_json_schema()
    assert set(schema["properties"]) == {"prompt", "k"}
    assert schema["required"] == ["prompt"]
    with pytest.raises(ValueError, match="k"):
        tool.invoke({"prompt": "x", "k": 0})


def test_tool_model_runs_nest_under_the_tool_run():
    rec = RunRecorder()
    create_vs_tool(FakeVSChatModel()).invoke({"prompt": "x", "k": 2}, {"callbacks": [rec]})
    (tool_run,) = rec.of("tool")
    sampler = next(e for e in rec.of("chain") if e["name"] == "VerbalizedSampler")
    assert sampler["parent"] == tool_run["run_id"]
    assert all(m["parent"] == sampler["run_id"] for m in rec.of("chat_model"))


def test_format_options():
    assert format_options(DIST).splitlines()[0] == "1. tea (p=0.50)"


def test_tool_with_distinct_keeps_asking_until_k_distinct_options():
    # k=2 from the tool call: the second reply repeats the first, the third brings new ones
    replies = [
        '["joke a", "joke b"]',
        '["joke a", "JOKE B!"]',
        '["joke c", "joke d"]',
    ]
    plain = create_vs_tool(FakeListChatModel(responses=replies), structured="text")
    tool = create_vs_tool(
        FakeListChatModel(responses=replies), structured="text", distinct={"max_calls": 5}
    )
    assert plain.invoke({"prompt": "jokes", "k": 4}).count("joke a") == 1
    msg = tool.invoke(
        {"type": "tool_call", "name": "brainstorm", "id": "c1", "args": {"prompt": "j", "k": 4}}
    )
    dist = VerbalizedDistribution.from_dict(msg.artifact)
    assert dist.texts == ["joke a", "joke b", "joke c", "joke d"]
    assert dist.distinct is not None
    assert (dist.distinct.calls, dist.distinct.stop_reason) == (3, "reached_n")
    with pytest.raises(VSConfigError, match="patience"):
        create_vs_tool(FakeListChatModel(responses=replies), distinct={"patience": 0})
