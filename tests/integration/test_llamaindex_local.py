"""The LlamaIndex adapter with OpenAILike against SmolLM2 on the real llama-cpp-python server.

A 135M model writes poor content; these tests check the path: requests the
server accepts, tool calls read back, rejections mapped, usage and finish
reasons passed through, and the LlamaIndex objects built around the result.
The server serves one request at a time: few, small calls.
"""

from __future__ import annotations

import pytest
from llama_index.core import Document, Settings, SummaryIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.embeddings import MockEmbedding
from llama_index.llms.openai_like import OpenAILike

from llamaindex_vs import (
    VerbalizedSamplingQueryEngine,
    VerbalizedSamplingToolResult,
    VerbalizedSamplingWorkflow,
    get_distribution,
    make_llm_call,
    verbalized_sampling_tool,
)
from vs_common import (
    CallRequest,
    VSConfig,
    VSStructuredOutputUnsupported,
    build_messages,
    response_schema,
)
from vs_common.backends.local_server import LocalModelServer


def make_llm(server: LocalModelServer, max_tokens: int = 200) -> OpenAILike:
    return OpenAILike(
        model=server.model,
        api_base=server.base_url,
        api_key=server.api_key,
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=2048,
        max_tokens=max_tokens,
        timeout=180,
        max_retries=0,
        reuse_client=False,  # each call closes its client inside the test's event loop
    )


@pytest.fixture
def llm(local_server: LocalModelServer):
    llm = make_llm(local_server)
    old_llm, old_embed = Settings._llm, Settings._embed_model
    Settings.llm = llm
    Settings.embed_model = MockEmbedding(embed_dim=8)
    yield llm
    Settings._llm, Settings._embed_model = old_llm, old_embed


async def test_tool_call_returns_exactly_k_responses(llm: OpenAILike):
    config = VSConfig(k=3)
    request = CallRequest(
        messages=build_messages("Name a fruit.", config),
        structured="tool",
        schema=response_schema(config),
    )
    response = await make_llm_call(llm)(request)
    if response.finish_reason == "length":  # cut by max_tokens: the raw arguments, for the parser
        assert isinstance(response.output, str)
        assert response.output.lstrip().startswith("{")
    else:  # complete arguments: the grammar (minItems = maxItems = k) gives exactly k
        assert isinstance(response.output, dict)
        assert len(response.output["responses"]) == 3
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
    assert response.finish_reason in {"tool_calls", "stop", "length"}


async def test_json_schema_rejection_maps_to_unsupported(llm: OpenAILike):
    config = VSConfig(k=2)
    request = CallRequest(
        messages=build_messages("Name a fruit.", config),
        structured="json_schema",
        schema=response_schema(config),
    )
    with pytest.raises(VSStructuredOutputUnsupported):
        await make_llm_call(llm)(request)


async def test_max_tokens_cut_reports_length(local_server: LocalModelServer):
    short = make_llm(local_server, max_tokens=8)
    request = CallRequest(messages=build_messages("Write a long story about the sea.", VSConfig()))
    response = await make_llm_call(short)(request)
    assert response.finish_reason == "length"
    assert response.usage is not None and response.usage.completion_tokens == 8


async def test_workflow_samples_with_tool_calls(llm: OpenAILike):
    wf = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=3), seed=0, timeout=300)
    result = await wf.run(prompt="Tell a joke about coffee.")
    dist = result.distribution
    assert 1 <= len(dist.candidates) <= 3
    assert dist.num_calls == 1
    assert dist.failures == []
    assert result.text in dist.texts
    assert dist.probabilities.sum() == pytest.approx(1.0)
    assert dist.usage is not None and dist.usage.completion_tokens > 0


async def test_distinct_workflow_over_the_local_server(llm: OpenAILike):
    wf = VerbalizedSamplingWorkflow(
        llm=llm, config=VSConfig(k=3, n=5), distinct={"max_calls": 3}, timeout=300
    )
    result = await wf.run(prompt="Name a fruit.")
    dist = result.distribution
    assert dist.distinct is not None
    assert dist.distinct.calls == dist.num_calls <= 3
    assert dist.distinct.distinct == len(dist.candidates) <= 5
    assert result.text in dist.texts


async def test_query_engine_over_an_in_memory_index(llm: OpenAILike):
    docs = [
        Document(text="The museum opens at 9 am."),
        Document(text="Tickets cost 12 euros."),
    ]
    engine = VerbalizedSamplingQueryEngine(
        SummaryIndex.from_documents(docs).as_retriever(), llm=llm, config=VSConfig(k=2), seed=0
    )
    response = await engine.aquery("When does the museum open?")
    dist = get_distribution(response)
    assert str(response) in dist.texts
    assert len(response.source_nodes) == 2
    assert dist.usage is not None and dist.usage.prompt_tokens > 0


async def test_function_agent_calls_the_tool(llm: OpenAILike):
    tool = verbalized_sampling_tool(llm=llm, config=VSConfig(k=2), return_direct=True, seed=0)
    agent = FunctionAgent(
        tools=[tool], llm=llm, initial_tool_choice=tool.metadata.name, streaming=False
    )
    handler = agent.run("Give me a joke about dogs.")
    calls = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    output = await handler
    [call] = calls
    assert call.tool_name == "verbalized_sampling"
    assert isinstance(call.tool_kwargs.get("prompt"), str)
    assert not call.tool_output.is_error
    result = call.tool_output.raw_output
    assert isinstance(result, VerbalizedSamplingToolResult)
    assert result.selected.text in result.distribution.texts
    assert str(output) == str(result)
