"""make_llm_call: chat, completion and tool calls; usage, finish reason, error mapping."""

from __future__ import annotations

import pytest
from li_fakes import HTTPError, ScriptedLLM, ScriptedToolLLM, vs_json
from llama_index.core.llms import MessageRole

from llamaindex_vs import make_llm_call
from vs_common import (
    CallRequest,
    Usage,
    VSConfig,
    VSConfigError,
    VSStructuredOutputUnsupported,
    build_messages,
    response_schema,
    run_sampling,
)

CONFIG = VSConfig(k=2)
MESSAGES = build_messages("Tell a joke about tea", CONFIG)
SCHEMA = response_schema(CONFIG)
TOOL_ARGS = {
    "responses": [{"text": "Oolong", "probability": 0.5}, {"text": "Chai", "probability": 2}]
}


async def test_chat_model_uses_achat_with_roles_usage_and_finish_reason():
    llm = ScriptedLLM(replies=["hello"], finish_reason="length", usage=(5, 6))
    response = await make_llm_call(llm, llm_kwargs={"seed": 3})(CallRequest(messages=MESSAGES))
    assert response.output == "hello"
    assert response.usage == Usage(prompt_tokens=5, completion_tokens=6)
    assert response.finish_reason == "length"
    sent = llm.conversations[0]
    assert [m.role for m in sent] == [MessageRole.SYSTEM, MessageRole.USER]
    assert sent[1].content == "Tell a joke about tea"
    assert llm.call_kwargs[0] == {"seed": 3}


async def test_completion_model_uses_acomplete_with_rendered_messages():
    llm = ScriptedLLM(replies=["plain"], chat_model=False, usage=None)
    response = await make_llm_call(llm)(CallRequest(messages=MESSAGES))
    assert response.output == "plain"
    assert response.usage is None
    assert llm.conversations == []
    assert "Generate 2 responses" in llm.prompts[0]
    assert "Tell a joke about tea" in llm.prompts[0]


async def test_tool_mode_forces_a_tool_with_the_core_schema():
    llm = ScriptedToolLLM(replies=[{"tool": "submit_responses", "args": TOOL_ARGS}])
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    response = await make_llm_call(llm)(request)
    assert response.output == TOOL_ARGS
    assert llm.tool_choices == ["submit_responses"]
    [spec] = llm.tool_specs[0]
    assert spec["function"]["name"] == "submit_responses"
    assert spec["function"]["parameters"] == SCHEMA
    assert response.usage == Usage(prompt_tokens=7, completion_tokens=9)


async def test_tool_mode_string_arguments_cut_at_max_tokens_report_length():
    cut = '{"responses": [{"text": "Oolong", "probability": 0.5}, {"text": "Ch'
    llm = ScriptedToolLLM(replies=[{"tool": "submit_responses", "args": cut}], max_tokens=9)
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    response = await make_llm_call(llm)(request)
    assert response.output == cut
    assert response.finish_reason == "length"
    assert response.metadata["reported_finish_reason"] == "tool_calls"


async def test_tool_mode_text_reply_is_kept_for_the_parser():
    llm = ScriptedToolLLM(replies=[vs_json([("a", 1.0)])])
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    response = await make_llm_call(llm)(request)
    assert response.output == vs_json([("a", 1.0)])


async def test_tool_mode_without_function_calling_is_unsupported():
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    with pytest.raises(VSStructuredOutputUnsupported):
        await make_llm_call(ScriptedLLM())(request)
    with pytest.raises(VSStructuredOutputUnsupported):
        await make_llm_call(ScriptedToolLLM(function_calling=False))(request)


async def test_server_rejection_of_tools_maps_to_unsupported_but_429_passes_through():
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    rejecting = ScriptedToolLLM(replies=[HTTPError(400, "tool_choice is not supported")])
    with pytest.raises(VSStructuredOutputUnsupported, match="rejected"):
        await make_llm_call(rejecting)(request)
    validation = ScriptedToolLLM(
        replies=[HTTPError(500, "1 validation error: tools literal_error")]
    )
    with pytest.raises(VSStructuredOutputUnsupported):
        await make_llm_call(validation)(request)
    limited = ScriptedToolLLM(replies=[HTTPError(429, "rate limit on tool calls")])
    with pytest.raises(HTTPError):
        await make_llm_call(limited)(request)


async def test_json_schema_mode_passes_response_format():
    llm = ScriptedLLM(replies=[vs_json([("a", 1.0)])])
    request = CallRequest(messages=MESSAGES, structured="json_schema", schema=SCHEMA)
    await make_llm_call(llm)(request)
    fmt = llm.call_kwargs[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"] == SCHEMA


async def test_run_sampling_auto_falls_back_to_text_when_tools_are_rejected():
    llm = ScriptedToolLLM(
        replies=[HTTPError(400, "tools not supported"), vs_json([("x", 0.3), ("y", 0.7)])]
    )
    dist = await run_sampling("Joke", CONFIG, make_llm_call(llm))
    assert dist.texts == ["x", "y"]
    assert dist.failures == []
    assert llm.tool_specs[0] != []  # first try: with the tool
    assert llm.tool_specs[1] == []  # then text
    assert dist.usage == Usage(prompt_tokens=7, completion_tokens=9)  # the rejected try had none


async def test_run_sampling_in_tool_mode_sums_usage_over_calls():
    llm = ScriptedToolLLM(replies=[{"tool": "submit_responses", "args": TOOL_ARGS}])
    dist = await run_sampling("Joke", VSConfig(k=2, n=6), make_llm_call(llm), structured="tool")
    assert dist.num_calls == 3
    assert dist.usage == Usage(prompt_tokens=21, completion_tokens=27)
    assert sorted(dist.texts) == ["Chai", "Oolong"]
    assert [c.count for c in dist.candidates] == [3, 3]


COMPLETION = CallRequest(messages=[], prompt="### User: A joke\n### Assistant: ", stop=("###",))


async def test_a_completion_request_is_acomplete_on_the_raw_prompt():
    llm = ScriptedLLM(replies=[" Decaf.\n### User: more"], chat_model=False, usage=(3, 4))
    response = await make_llm_call(llm)(COMPLETION)
    assert llm.prompts == ["### User: A joke\n### Assistant: "]  # no template around it
    assert llm.conversations == []
    assert response.output == " Decaf.\n### User: more"  # the core cuts at the marker
    assert response.usage == Usage(prompt_tokens=3, completion_tokens=4)


async def test_a_chat_model_refuses_a_completion_request_clearly():
    llm = ScriptedLLM(replies=["never sent"])
    with pytest.raises(VSConfigError, match="is_chat_model=False") as info:
        await make_llm_call(llm)(COMPLETION)
    assert info.value.field == "llm"
    assert llm.conversations == [] and llm.prompts == []


async def test_direct_base_end_to_end_and_a_chat_model_fails_before_any_call():
    from llamaindex_vs import verbalized_sampling_tool

    base = ScriptedLLM(replies=[" One.\n### User:", " Two."], chat_model=False)
    dist = await run_sampling("A joke", VSConfig(method="direct_base", n=2), make_llm_call(base))
    assert sorted(dist.texts) == ["One.", "Two."]
    chat = ScriptedLLM(replies=["never sent"])
    tool = verbalized_sampling_tool(llm=chat, config=VSConfig(method="direct_base", n=2))
    with pytest.raises(VSConfigError, match="chat model"):
        await tool.acall(prompt="A joke")
    assert chat.conversations == []
