from __future__ import annotations

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from lc_fakes import HTTPStatusError

from langchain_vs._convert import (
    as_core_messages,
    as_lc_messages,
    finish_reason_of,
    is_structured_rejection,
    map_structured_error,
    message_response,
)
from vs_common import Usage, VSConfigError, VSStructuredOutputUnsupported, is_transient


def _openai_error(cls, status, body):
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, json=body)
    return cls(f"Error code: {status} - {body}", response=response, body=body)


LLAMA_500 = {
    "error": {
        "message": "1 validation error: literal_error ('body', 'response_format',"
        " 'type') Input should be 'text' or 'json_object'"
    }
}


@pytest.mark.parametrize(
    ("exc", "rejected"),
    [
        (NotImplementedError(), True),
        (HTTPStatusError(400, "tool_choice is not supported"), True),
        (HTTPStatusError(400, "context length exceeded"), False),
        (HTTPStatusError(422, "unprocessable: response_format"), True),
        (HTTPStatusError(404, "tools are not available"), True),
        (HTTPStatusError(404, "model not found"), False),
        (HTTPStatusError(500, "internal error"), False),
        (HTTPStatusError(429, "tool rate limited"), False),
        (ValueError("tool"), False),
    ],
)
def test_structured_rejection_rule(exc, rejected):
    assert is_structured_rejection(exc) is rejected


def test_llama_cpp_500_on_json_schema_is_a_rejection_not_a_transient_error():
    err = _openai_error(openai.InternalServerError, 500, LLAMA_500)
    assert is_transient(err)  # the core alone would retry it
    mapped = map_structured_error(err)
    assert isinstance(mapped, VSStructuredOutputUnsupported)


def test_transient_provider_errors_pass_through_unchanged():
    err = _openai_error(openai.RateLimitError, 429, {"error": {"message": "slow down"}})
    assert map_structured_error(err) is err
    assert is_transient(err)


def test_message_conversions_round_trip():
    core = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]
    lc = as_lc_messages(core)
    assert [type(m) for m in lc] == [SystemMessage, HumanMessage, AIMessage]
    assert as_core_messages(lc) == core
    assert as_core_messages([("human", "hi")]) == [{"role": "user", "content": "hi"}]
    assert as_core_messages(ToolMessage("r", tool_call_id="1")) == [
        {"role": "tool", "content": "r"}
    ]
    with pytest.raises(VSConfigError):
        as_core_messages(3.5)


def test_message_response_reads_usage_finish_reason_and_tool_args():
    msg = AIMessage(
        content="ignored",
        tool_calls=[{"name": "submit_responses", "args": {"responses": []}, "id": "1"}],
        usage_metadata={"input_tokens": 5, "output_tokens": 9, "total_tokens": 14},
        response_metadata={"finish_reason": "length", "model_name": "m"},
    )
    resp = message_response(msg, "submit_responses")
    assert resp.output == {"responses": []}
    assert resp.usage == Usage(prompt_tokens=5, completion_tokens=9)
    assert resp.finish_reason == "length"
    assert message_response(AIMessage(content="t")).output == "t"
    assert message_response(AIMessage(content="t")).usage is None


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"finish_reason": "stop"}, "stop"),
        ({"stop_reason": "max_tokens"}, "length"),
        ({"finish_reason": "MAX_TOKENS"}, "length"),
        ({}, None),
    ],
)
def test_finish_reasons_of_providers(meta, expected):
    assert finish_reason_of(AIMessage(content="", response_metadata=meta)) == expected
