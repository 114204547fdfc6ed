"""OpenAICompatClient against SmolLM2 behind the real llama-cpp-python server.

The server handles one request at a time, so the replies are kept short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from vs_common.backends import OpenAICompatClient, VSHTTPError
from vs_common.backends.local_server import LocalModelServer
from vs_common.calls import CallRequest
from vs_common.errors import VSStructuredOutputUnsupported
from vs_common.providers import is_transient

Schema = Callable[[int], dict[str, Any]]

MESSAGES = [
    {
        "role": "system",
        "content": (
            "Generate 3 responses to the user query, each with a probability. "
            "Return a 'responses' list of objects with 'text' and 'probability'."
        ),
    },
    {"role": "user", "content": "Tell me a short joke about coffee."},
]


def _client(server: LocalModelServer, max_tokens: int) -> OpenAICompatClient:
    return OpenAICompatClient(
        server.base_url,
        server.model,
        api_key=server.api_key,
        temperature=0.7,
        max_tokens=max_tokens,
    )


async def test_text_mode_returns_the_reply(local_server: LocalModelServer):
    client = _client(local_server, max_tokens=24)
    response = await client(CallRequest(messages=MESSAGES[1:]))
    assert isinstance(response.output, str)
    assert response.output.strip()
    assert response.finish_reason in {"stop", "length"}
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0
    assert response.usage.completion_tokens <= 24
    assert response.metadata["model"] == local_server.model


@pytest.mark.parametrize("k", [2, 3])
async def test_tool_mode_returns_exactly_k_responses(
    local_server: LocalModelServer, vs_schema: Schema, k: int
):
    client = _client(local_server, max_tokens=400)
    request = CallRequest(messages=MESSAGES, structured="tool", schema=vs_schema(k))
    response = await client(request)
    assert isinstance(response.output, dict), response.output
    responses = response.output["responses"]
    assert isinstance(responses, list)
    assert len(responses) == k
    for item in responses:
        assert isinstance(item["text"], str)
        assert isinstance(item["probability"], int | float)
    assert response.finish_reason == "tool_calls"
    assert response.usage is not None
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0


async def test_tool_mode_cut_off_by_max_tokens_returns_raw_arguments(
    local_server: LocalModelServer, vs_schema: Schema
):
    client = _client(local_server, max_tokens=12)
    request = CallRequest(messages=MESSAGES, structured="tool", schema=vs_schema(5))
    response = await client(request)
    # The grammar-constrained JSON is unfinished: it comes back as text for the parser.
    assert isinstance(response.output, str)
    assert response.output.lstrip().startswith("{")
    # llama-cpp-python says "tool_calls"; the client corrects it.
    assert response.finish_reason == "length"
    assert response.metadata["reported_finish_reason"] == "tool_calls"


async def test_json_schema_mode_is_rejected_as_unsupported(
    local_server: LocalModelServer, vs_schema: Schema
):
    # llama-cpp-python 0.3.x accepts response_format types "text" and
    # "json_object" only, and answers "json_schema" with HTTP 500 (a request
    # validation error); the client must not treat that as transient.
    client = _client(local_server, max_tokens=16)
    request = CallRequest(messages=MESSAGES, structured="json_schema", schema=vs_schema(3))
    with pytest.raises(VSStructuredOutputUnsupported, match="json_schema") as info:
        await client(request)
    assert not is_transient(info.value)


async def test_unknown_route_is_a_plain_http_error(local_server: LocalModelServer):
    client = OpenAICompatClient(f"{local_server.base_url}/nope", local_server.model)
    with pytest.raises(VSHTTPError) as info:
        await client(CallRequest(messages=MESSAGES[1:]))
    assert info.value.status_code == 404
    assert not is_transient(info.value)
