"""The VS agent tool: direct calls, FunctionAgent and ReActAgent."""

from __future__ import annotations

import json

import pytest
from li_fakes import ScriptedLLM, ScriptedToolLLM, vs_json
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent, ToolCallResult
from llama_index.core.tools import FunctionTool, ToolOutput

from llamaindex_vs import VerbalizedSamplingToolResult, verbalized_sampling_tool
from vs_common import VSConfig, VSConfigError

JOKES = vs_json([("Tea-rific!", 0.7), ("Earl Grey matter", 0.3)])


def test_tool_metadata():
    tool = verbalized_sampling_tool(llm=ScriptedLLM(), name="diverse", description="Sample ideas.")
    assert isinstance(tool, FunctionTool)
    assert tool.metadata.name == "diverse"
    assert tool.metadata.description == "Sample ideas."
    params = tool.metadata.get_parameters_dict()
    assert params["required"] == ["prompt"]
    assert params["properties"]["prompt"]["type"] == "string"


async def test_acall_returns_text_for_the_agent_and_objects_as_raw_output():
    llm = ScriptedLLM(replies=[JOKES])
    tool = verbalized_sampling_tool(llm=llm, config=VSConfig(k=2), strategy="argmax")
    output = await tool.acall(prompt="Tell a joke about tea")
    assert isinstance(output, ToolOutput)
    assert not output.is_error
    assert output.content.splitlines() == [
        "Sampled response: Tea-rific!",
        "All options with their probabilities:",
        "1. Tea-rific! (p=0.70)",
        "2. Earl Grey matter (p=0.30)",
    ]
    result = output.raw_output
    assert isinstance(result, VerbalizedSamplingToolResult)
    assert result.distribution.texts == ["Tea-rific!", "Earl Grey matter"]
    assert llm.conversations[0][1].content == "Tell a joke about tea"


def test_sync_call():
    tool = verbalized_sampling_tool(llm=ScriptedLLM(replies=[JOKES]), config=VSConfig(k=2), seed=4)
    output = tool.call(prompt="Tell a joke about tea")
    assert output.raw_output.selected.text in {"Tea-rific!", "Earl Grey matter"}


def test_bad_settings_fail_when_the_tool_is_made():
    with pytest.raises(VSConfigError, match="strategy"):
        verbalized_sampling_tool(llm=ScriptedLLM(), strategy="best")  # type: ignore[arg-type]


async def test_function_agent_calls_the_tool():
    tool_llm = ScriptedLLM(replies=[JOKES])
    agent_llm = ScriptedToolLLM(
        replies=[
            {"tool": "verbalized_sampling", "args": {"prompt": "Tell a joke about tea"}},
            "Here is one: Tea-rific!",
        ]
    )
    tool = verbalized_sampling_tool(llm=tool_llm, config=VSConfig(k=2), strategy="argmax")
    agent = FunctionAgent(tools=[tool], llm=agent_llm, streaming=False)
    handler = agent.run("Give me a joke about tea")
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    answer = await handler
    assert str(answer) == "Here is one: Tea-rific!"
    assert [r.tool_name for r in results] == ["verbalized_sampling"]
    assert results[0].tool_kwargs == {"prompt": "Tell a joke about tea"}
    assert "Sampled response: Tea-rific!" in results[0].tool_output.content
    # the agent's second turn saw the tool's output
    assert any("Tea-rific!" in (m.content or "") for m in agent_llm.conversations[1])
    assert tool_llm.conversations[0][1].content == "Tell a joke about tea"


async def test_function_agent_with_return_direct_ends_with_the_tool_output():
    agent_llm = ScriptedToolLLM(
        replies=[{"tool": "verbalized_sampling", "args": {"prompt": "Joke about tea"}}]
    )
    tool = verbalized_sampling_tool(
        llm=ScriptedLLM(replies=[JOKES]), config=VSConfig(k=2), return_direct=True, seed=0
    )
    agent = FunctionAgent(
        tools=[tool], llm=agent_llm, streaming=False, initial_tool_choice="verbalized_sampling"
    )
    answer = await agent.run("Give me a joke about tea")
    assert str(answer).startswith("Sampled response: ")
    assert len(agent_llm.conversations) == 1
    assert agent_llm.tool_choices == ["verbalized_sampling"]


async def test_react_agent_calls_the_tool():
    tool_llm = ScriptedLLM(replies=[JOKES])
    action = json.dumps({"prompt": "Tell a joke about tea"})
    agent_llm = ScriptedLLM(
        replies=[
            f"Thought: I need diverse jokes.\nAction: verbalized_sampling\nAction Input: {action}",
            "Thought: I can answer without using any more tools.\nAnswer: Tea-rific!",
        ]
    )
    tool = verbalized_sampling_tool(llm=tool_llm, config=VSConfig(k=2), strategy="argmax")
    agent = ReActAgent(tools=[tool], llm=agent_llm)
    handler = agent.run("Give me a joke about tea")
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    answer = await handler
    assert str(answer) == "Tea-rific!"
    assert results[0].tool_kwargs == {"prompt": "Tell a joke about tea"}
    assert results[0].tool_output.raw_output.selected.text == "Tea-rific!"
    observation = "\n".join(m.content or "" for m in agent_llm.conversations[1])
    assert "Observation: Sampled response: Tea-rific!" in observation
