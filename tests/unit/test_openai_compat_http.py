"""OpenAICompatClient (vs_common.backends) against a scripted stdlib HTTP server on loopback."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from vs_common.backends import OpenAICompatClient, VSHTTPError
from vs_common.calls import CallRequest
from vs_common.errors import VSError, VSStructuredOutputUnsupported, VSTransientError
from vs_common.providers import is_transient, retry_after_seconds

SECRET = "sk-test-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "Tell me a joke."}]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "responses": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "probability": {"type": "number"}},
                "required": ["text", "probability"],
            },
        }
    },
    "required": ["responses"],
}


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


@dataclass
class FakeServer:
    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]]

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1]


def chat_body(
    content: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def tool_call(arguments: str, name: str = "submit_responses") -> list[dict[str, Any]]:
    return [
        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    ]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    replies: list[Reply] = []
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _client_gone(self) -> bool:
            # After a delay the client may have timed out and closed the socket.
            try:
                return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                return False
            except OSError:
                return True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "json": payload}
            )
            reply = replies.pop(0) if replies else Reply(body=chat_body())
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            body = reply.body
            if isinstance(body, dict):
                body = json.dumps(body)
            data = body.encode() if isinstance(body, str) else body
            if self._client_gone():
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            # The client may have given up already (timeout test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_port}/v1", replies, requests)
    finally:
        server.shutdown()
        server.server_close()


def client_for(fake: FakeServer, **kwargs: Any) -> OpenAICompatClient:
    kwargs.setdefault("api_key", SECRET)
    kwargs.setdefault("timeout", 5)
    return OpenAICompatClient(fake.url, "fake-model", **kwargs)


# --- requests ---------------------------------------------------------------


async def test_text_mode_request_and_response(fake: FakeServer):
    client = client_for(fake, temperature=0.9, max_tokens=64)
    response = await client(CallRequest(messages=MESSAGES))
    assert response.output == "Hello!"
    assert response.finish_reason == "stop"
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (11, 7)
    assert response.metadata["model"] == "fake-model"
    sent = fake.last
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"
    body = sent["json"]
    assert body["model"] == "fake-model"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0.9
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body
    assert "tools" not in body
    assert "response_format" not in body


async def test_no_authorization_header_without_key(fake: FakeServer):
    await client_for(fake, api_key=None)(CallRequest(messages=MESSAGES))
    assert "Authorization" not in fake.last["headers"]
    assert "temperature" not in fake.last["json"]
    assert "max_tokens" not in fake.last["json"]


async def test_tool_mode_forces_the_tool_and_decodes_arguments(fake: FakeServer):
    arguments = json.dumps({"responses": [{"text": "a", "probability": 0.6}]})
    fake.reply(
        Reply(body=chat_body(None, tool_calls=tool_call(arguments), finish_reason="tool_calls"))
    )
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    response = await client_for(fake)(request)
    assert response.output == {"responses": [{"text": "a", "probability": 0.6}]}
    assert response.finish_reason == "tool_calls"
    body = fake.last["json"]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "submit_responses",
                "description": body["tools"][0]["function"]["description"],
                "parameters": SCHEMA,
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "submit_responses"}}


async def test_tool_mode_invalid_arguments_come_back_raw(fake: FakeServer):
    broken = '{"responses": [{"text": "a", "probability": 0.6}, {"text": "b'
    fake.reply(Reply(body=chat_body(None, tool_calls=tool_call(broken))))
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    response = await client_for(fake)(request)
    assert response.output == broken


async def test_tool_mode_truncated_tool_call_is_reported_as_length(fake: FakeServer):
    fake.reply(
        Reply(
            body=chat_body(
                None,
                tool_calls=tool_call('{"responses": [{"te'),
                finish_reason="tool_calls",
                usage={"prompt_tokens": 5, "completion_tokens": 10},
            )
        )
    )
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    response = await client_for(fake, max_tokens=10)(request)
    assert response.finish_reason == "length"
    assert response.metadata["reported_finish_reason"] == "tool_calls"


async def test_tool_mode_picks_the_named_call(fake: FakeServer):
    calls = tool_call('{"other": 1}', name="other") + tool_call('{"responses": []}')
    fake.reply(Reply(body=chat_body(None, tool_calls=calls)))
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    assert (await client_for(fake)(request)).output == {"responses": []}


async def test_tool_mode_without_tool_call_returns_the_text(fake: FakeServer):
    fake.reply(Reply(body=chat_body("1. a (0.5)\n2. b (0.5)")))
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    assert (await client_for(fake)(request)).output == "1. a (0.5)\n2. b (0.5)"


async def test_tool_mode_without_schema_is_plain_text(fake: FakeServer):
    await client_for(fake)(CallRequest(messages=MESSAGES, structured="tool", schema=None))
    assert "tools" not in fake.last["json"]


async def test_json_schema_mode_sends_response_format(fake: FakeServer):
    fake.reply(Reply(body=chat_body('{"responses": []}')))
    request = CallRequest(messages=MESSAGES, structured="json_schema", schema=SCHEMA)
    response = await client_for(fake)(request)
    assert response.output == '{"responses": []}'
    assert fake.last["json"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "submit_responses", "schema": SCHEMA, "strict": False},
    }


async def test_extra_body_is_merged(fake: FakeServer):
    client = client_for(fake, max_tokens=5, extra_body={"seed": 3, "max_tokens": 9})
    await client(CallRequest(messages=MESSAGES))
    assert fake.last["json"]["seed"] == 3
    assert fake.last["json"]["max_tokens"] == 9


# --- errors -----------------------------------------------------------------


async def test_429_with_retry_after_is_transient(fake: FakeServer):
    fake.reply(Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "3"}))
    with pytest.raises(VSTransientError, match="429") as info:
        await client_for(fake)(CallRequest(messages=MESSAGES))
    assert info.value.retry_after == 3.0
    assert is_transient(info.value)
    assert retry_after_seconds(info.value) == 3.0


async def test_retry_after_ms_and_http_date(fake: FakeServer):
    fake.reply(
        Reply(429, "{}", {"retry-after-ms": "1500"}),
        Reply(503, "{}", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
    )
    client = client_for(fake)
    with pytest.raises(VSTransientError) as info:
        await client(CallRequest(messages=MESSAGES))
    assert info.value.retry_after == 1.5
    with pytest.raises(VSTransientError) as info:
        await client(CallRequest(messages=MESSAGES))
    assert info.value.retry_after == 0.0  # a date in the past means "now"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_server_errors_are_transient(fake: FakeServer, status: int):
    fake.reply(Reply(status, {"error": {"message": "boom"}}))
    with pytest.raises(VSTransientError, match=str(status)) as info:
        await client_for(fake)(CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA))
    assert info.value.retry_after is None


async def test_400_about_tools_in_tool_mode_is_unsupported(fake: FakeServer):
    fake.reply(Reply(400, {"error": {"message": "tools are not supported by this model"}}))
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    with pytest.raises(VSStructuredOutputUnsupported, match="tool") as info:
        await client_for(fake)(request)
    assert not is_transient(info.value)


async def test_422_about_response_format_in_json_schema_mode_is_unsupported(fake: FakeServer):
    fake.reply(Reply(422, {"detail": [{"loc": ["body", "response_format", "type"]}]}))
    request = CallRequest(messages=MESSAGES, structured="json_schema", schema=SCHEMA)
    with pytest.raises(VSStructuredOutputUnsupported):
        await client_for(fake)(request)


async def test_500_validation_error_about_response_format_is_unsupported(fake: FakeServer):
    # What llama-cpp-python's server really answers to response_format=json_schema.
    message = (
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
        "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
    )
    fake.reply(Reply(500, {"error": {"message": message, "type": "internal_server_error"}}))
    request = CallRequest(messages=MESSAGES, structured="json_schema", schema=SCHEMA)
    with pytest.raises(VSStructuredOutputUnsupported):
        await client_for(fake)(request)


async def test_400_in_text_mode_is_a_plain_http_error(fake: FakeServer):
    fake.reply(Reply(400, {"error": {"message": "tools: bad request"}}))
    with pytest.raises(VSHTTPError) as info:
        await client_for(fake)(CallRequest(messages=MESSAGES))
    error = info.value
    assert error.status_code == 400
    assert isinstance(error, VSError)
    assert not isinstance(error, VSTransientError | VSStructuredOutputUnsupported)
    assert not is_transient(error)
    assert "bad request" in str(error)


async def test_400_unrelated_to_structure_is_a_plain_http_error(fake: FakeServer):
    fake.reply(Reply(400, {"error": {"message": "context length exceeded"}}))
    request = CallRequest(messages=MESSAGES, structured="tool", schema=SCHEMA)
    with pytest.raises(VSHTTPError, match="context length"):
        await client_for(fake)(request)


async def test_invalid_json_body_is_transient_with_a_preview(fake: FakeServer):
    fake.reply(Reply(200, "<html>Bad gateway</html>"))
    with pytest.raises(VSTransientError, match=r"non-JSON.*Bad gateway"):
        await client_for(fake)(CallRequest(messages=MESSAGES))


async def test_reply_without_choices_is_a_clear_error(fake: FakeServer):
    fake.reply(Reply(200, {"error": {"message": "model overloaded?"}}))
    with pytest.raises(VSHTTPError, match="no choices"):
        await client_for(fake)(CallRequest(messages=MESSAGES))


async def test_timeout_is_transient(fake: FakeServer):
    fake.reply(Reply(delay=1.0))
    with pytest.raises(VSTransientError, match="Timed out"):
        await client_for(fake, timeout=0.2)(CallRequest(messages=MESSAGES))


async def test_dropped_connection_is_transient(fake: FakeServer):
    fake.reply(Reply(drop=True))
    with pytest.raises(VSTransientError) as info:
        await client_for(fake)(CallRequest(messages=MESSAGES))
    assert is_transient(info.value)


async def test_connection_refused_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenAICompatClient(f"http://127.0.0.1:{port}/v1", "m", api_key=SECRET)
    with pytest.raises(VSTransientError, match="Could not reach") as info:
        await client(CallRequest(messages=MESSAGES))
    assert SECRET not in str(info.value)


# --- the API key stays secret ----------------------------------------------


def test_api_key_not_in_repr():
    client = OpenAICompatClient("http://127.0.0.1:1/v1", "m", api_key=SECRET)
    assert SECRET not in repr(client)
    assert "***" in repr(client)
    assert SECRET not in str(vars(client).get("api_key", ""))


async def test_api_key_echoed_by_the_server_is_redacted(fake: FakeServer):
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}
    fake.reply(Reply(401, echo), Reply(500, echo), Reply(200, f"not json {SECRET}"))
    client = client_for(fake)
    for _ in range(3):
        with pytest.raises(VSError) as info:
            await client(CallRequest(messages=MESSAGES))
        assert SECRET not in str(info.value)
        assert SECRET not in repr(info.value)
        assert SECRET not in getattr(info.value, "body", "")
    assert "Incorrect API key" in str(info.value) or "not json" in str(info.value)


def test_rejects_non_http_base_url():
    with pytest.raises(ValueError, match="http"):
        OpenAICompatClient("file:///etc/passwd", "m")


@pytest.mark.parametrize("key", [SECRET + "\n", " " + SECRET, SECRET + "\r\nX-Evil: 1"])
def test_an_api_key_with_a_line_break_or_padding_is_refused_without_showing_it(key: str):
    with pytest.raises(ValueError, match="api_key") as info:
        OpenAICompatClient("http://127.0.0.1:1/v1", "m", api_key=key)
    assert SECRET not in str(info.value)


# --- completion requests (direct_base: POST /completions, no chat template) ----------


def completion_body(
    text: str | None = " A base-model joke.", finish: str = "stop"
) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "model": "fake-base",
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
    }


COMPLETION = CallRequest(messages=[], prompt="### User: A joke\n### Assistant: ", stop=("###",))


async def test_a_completion_request_posts_the_prompt_to_completions(fake: FakeServer):
    fake.reply(Reply(body=completion_body(finish="length")))
    client = client_for(fake, temperature=0.8, max_tokens=32, extra_body={"top_p": 0.9})
    response = await client(COMPLETION)
    assert response.output == " A base-model joke."
    assert response.finish_reason == "length"
    assert response.usage is not None and response.usage.completion_tokens == 5
    sent = fake.last
    assert sent["path"] == "/v1/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert sent["json"] == {
        "model": "fake-model",
        "prompt": "### User: A joke\n### Assistant: ",
        "temperature": 0.8,
        "max_tokens": 32,
        "stop": ["###"],
        "top_p": 0.9,
    }


async def test_chat_and_completion_requests_share_one_client_and_one_close(fake: FakeServer):
    fake.reply(
        Reply(body=completion_body()), Reply(body=chat_body()), Reply(body=completion_body())
    )
    client = client_for(fake)
    await client(COMPLETION)
    await client(CallRequest(messages=MESSAGES))
    await client(COMPLETION)
    assert [r["path"] for r in fake.requests] == [
        "/v1/completions", "/v1/chat/completions", "/v1/completions"
    ]  # fmt: skip
    held = list(client._held.values())  # one session for both endpoints
    assert len(held) == 1 and not held[0].session.closed
    await client.aclose()
    assert held[0].session.closed


async def test_completion_errors_name_the_completions_endpoint(fake: FakeServer):
    fake.reply(
        Reply(404, {"error": {"message": "This is a chat model, not a completion model"}}),
        Reply(503, {"error": "busy"}, headers={"Retry-After": "2"}),
        Reply(200, "<html>"),
        Reply(200, {"choices": []}),
        Reply(200, completion_body(text=None)),
    )
    client = client_for(fake)
    with pytest.raises(VSHTTPError, match=r"HTTP 404 from http://127.0.0.1:\d+/v1/completions"):
        await client(COMPLETION)
    with pytest.raises(VSTransientError) as transient:
        await client(COMPLETION)
    assert transient.value.retry_after == 2
    with pytest.raises(VSTransientError, match="non-JSON"):
        await client(COMPLETION)
    with pytest.raises(VSHTTPError, match="no choices"):
        await client(COMPLETION)
    assert (await client(COMPLETION)).output == ""  # a null text: nothing to read, no crash


async def test_seed_varies_per_call_and_repeats_per_run(fake: FakeServer):
    client = client_for(fake, seed=100)
    await client(CallRequest(messages=MESSAGES, call_index=3))
    fake.reply(Reply(body=completion_body()))
    await client(CallRequest(messages=[], prompt="x", call_index=1))
    assert [r["json"]["seed"] for r in fake.requests] == [103, 101]
    await client_for(fake)(CallRequest(messages=MESSAGES))
    assert "seed" not in fake.last["json"]
