"""One table of wire cases through the three paths to an OpenAI-compatible server.

The core's ``OpenAICompatClient``, LangChain's ``ChatOpenAI`` (the
``VerbalizedSampler``'s call) and LlamaIndex's ``OpenAILike``
(``make_llm_call``) meet the same scripted server. For every case they must
send the same structure (the payloads of ``vs_common.providers``) and come
back with the same output, finish reason and error class (transient with the
same Retry-After, a rejected structured mode, or a plain failure), so the
three cannot drift apart again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import test_openai_compat_http as scripted
from test_openai_compat_http import SCHEMA, FakeServer, Reply, chat_body, tool_call

from vs_common.backends import OpenAICompatClient
from vs_common.calls import Call, CallRequest, StructuredMode
from vs_common.errors import VSStructuredOutputUnsupported
from vs_common.providers import (
    is_transient,
    response_format,
    retry_after_seconds,
    tool_choice,
    tool_spec,
)

fake = scripted.fake  # the scripted loopback server fixture

KEY = "sk-test-paths-0123456789"
MAX_TOKENS = 40
MESSAGES = [{"role": "user", "content": "Tell me a joke."}]
ARGS = {"responses": [{"text": "a", "probability": 0.6}, {"text": "b", "probability": 0.4}]}
CUT = '{"responses": [{"text": "a", "probability": 0.6}, {"text": "b'


def _core(url: str) -> Call:
    return OpenAICompatClient(url, "m", api_key=KEY, max_tokens=MAX_TOKENS, timeout=5)


def _langchain(url: str) -> Call:
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_vs import VerbalizedSampler

    llm = langchain_openai.ChatOpenAI(
        model="m",
        base_url=url,
        api_key=KEY,
        max_retries=0,
        timeout=5,
        extra_body={"max_tokens": MAX_TOKENS},  # what llama.cpp reads
    )
    return VerbalizedSampler(llm=llm)._call({}, None)


def _llamaindex(url: str) -> Call:
    openai_like = pytest.importorskip("llama_index.llms.openai_like")
    from llamaindex_vs import make_llm_call

    llm = openai_like.OpenAILike(
        model="m",
        api_base=url,
        api_key=KEY,
        is_chat_model=True,
        is_function_calling_model=True,
        max_retries=0,
        timeout=5,
        max_tokens=MAX_TOKENS,
    )
    return make_llm_call(llm)


PATHS: dict[str, Callable[[str], Call]] = {
    "core": _core,
    "langchain": _langchain,
    "llamaindex": _llamaindex,
}


@dataclass
class Case:
    """A server reply and what every path must make of it."""

    name: str
    mode: StructuredMode
    reply: Reply
    output: Any = None
    finish: str | None = None
    error: str | None = None  # "transient", "unsupported" or "fatal"
    retry_after: float | None = None


def _tool_reply(arguments: str, *, finish: str = "tool_calls", tokens: int = 12) -> Reply:
    usage = {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": 9 + tokens}
    return Reply(
        body=chat_body(None, tool_calls=tool_call(arguments), finish_reason=finish, usage=usage)
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": "error"}}, headers or {})


CASES = [
    Case("text", "text", Reply(body=chat_body("Hello!")), output="Hello!", finish="stop"),
    Case("text cut by max_tokens", "text", Reply(body=chat_body("Hel", finish_reason="length")),
         output="Hel", finish="length"),
    Case("tool call", "tool", _tool_reply(json.dumps(ARGS)), output=ARGS, finish="tool_calls"),
    Case("named tool call among two", "tool",
         Reply(body=chat_body(None, tool_calls=tool_call('{"x": 1}', name="other")
                              + tool_call(json.dumps(ARGS)), finish_reason="tool_calls")),
         output=ARGS, finish="tool_calls"),
    Case("tool call cut by max_tokens, reported as tool_calls", "tool",
         _tool_reply(CUT, tokens=MAX_TOKENS), output=CUT, finish="length"),
    Case("malformed tool call within the limit", "tool", _tool_reply(CUT, tokens=12),
         output=CUT, finish="tool_calls"),
    Case("no tool call: the text is read", "tool",
         Reply(body=chat_body("1. a (0.5)\n2. b (0.5)")), output="1. a (0.5)\n2. b (0.5)",
         finish="stop"),
    Case("json_schema reply", "json_schema", Reply(body=chat_body(json.dumps(ARGS))),
         output=json.dumps(ARGS), finish="stop"),
    Case("429 with Retry-After", "text", _error(429, "slow down", {"Retry-After": "2"}),
         error="transient", retry_after=2.0),
    Case("429 with retry-after-ms", "text", _error(429, "slow down", {"retry-after-ms": "1500"}),
         error="transient", retry_after=1.5),
    Case("408", "text", _error(408, "timeout"), error="transient"),
    Case("409", "text", _error(409, "conflict"), error="transient"),
    Case("500", "text", _error(500, "boom"), error="transient"),
    Case("503", "tool", _error(503, "overloaded"), error="transient"),
    Case("520 (a CDN's unknown error)", "text", _error(520, "unknown"), error="transient"),
    Case("501", "text", _error(501, "no such route"), error="fatal"),
    Case("401", "text", _error(401, "bad key"), error="fatal"),
    Case("400 unrelated to structure", "tool", _error(400, "context length exceeded"),
         error="fatal"),
    Case("400 rejecting tools", "tool", _error(400, "tools are not supported by this model"),
         error="unsupported"),
    Case("500 validation error on response_format (llama.cpp)", "json_schema",
         _error(500, "1 validation error: literal_error ('body', 'response_format', 'type')"),
         error="unsupported"),
    Case("422 on response_format", "json_schema",
         Reply(422, {"detail": [{"loc": ["body", "response_format"], "msg": "bad"}]}),
         error="unsupported"),
    Case("undecodable 200 body", "text", Reply(200, "<html>502 Bad Gateway</html>"),
         error="transient"),
]  # fmt: skip


def _request(mode: StructuredMode) -> CallRequest:
    return CallRequest(
        messages=MESSAGES, structured=mode, schema=None if mode == "text" else SCHEMA
    )


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_path_reads_the_wire_the_same_way(fake: FakeServer, path: str, case: Case):
    call = PATHS[path](fake.url)
    fake.reply(case.reply)
    try:
        raw = await call(_request(case.mode))
    except Exception as exc:  # noqa: BLE001 - the kind of error is the assertion
        kind = (
            "unsupported"
            if isinstance(exc, VSStructuredOutputUnsupported)
            else "transient"
            if is_transient(exc)
            else "fatal"
        )
        assert (kind, case.error) == (case.error, case.error), (
            f"{path}: {type(exc).__name__}: {exc}"
        )
        if kind == "transient":
            assert retry_after_seconds(exc) == case.retry_after
        assert KEY not in str(exc)
        return
    assert case.error is None, f"{path} returned {raw!r} instead of failing"
    assert raw.output == case.output  # type: ignore[union-attr]
    assert raw.finish_reason == case.finish  # type: ignore[union-attr]


@pytest.mark.parametrize("path", list(PATHS))
async def test_every_path_sends_the_same_structure(fake: FakeServer, path: str):
    call = PATHS[path](fake.url)
    fake.reply(_tool_reply(json.dumps(ARGS)), Reply(body=chat_body(json.dumps(ARGS))))
    await call(_request("tool"))
    await call(_request("json_schema"))
    tool_body, schema_body = (r["json"] for r in fake.requests)
    expected = tool_spec("submit_responses", SCHEMA)["function"]
    [sent] = [t["function"] for t in tool_body["tools"]]
    assert (sent["name"], sent["description"]) == (expected["name"], expected["description"])
    # LlamaIndex's OpenAI adds its own strict flag and additionalProperties=false
    parameters = {k: v for k, v in sent["parameters"].items() if k != "additionalProperties"}
    assert parameters == expected["parameters"]
    assert sent.get("strict", False) is False
    assert tool_body["tool_choice"] == tool_choice("submit_responses")
    assert "response_format" not in tool_body
    assert schema_body["response_format"] == response_format("submit_responses", SCHEMA)
    assert "tools" not in schema_body
