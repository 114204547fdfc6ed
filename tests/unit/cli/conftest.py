"""Fakes for the ``vs`` command tests: a stdlib OpenAI-compatible server and fake calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from vs_common.calls import CallRequest, CallResponse, Usage


def _count_from_system(messages: list[dict[str, Any]]) -> int:
    text = messages[0]["content"] if messages else ""
    for word in text.split():
        if word.isdigit():
            return int(word)
    return 1


def reply_for(request: CallRequest | dict[str, Any]) -> CallResponse:
    """A plausible reply to a VS / Sequence / Direct request, varied by call index."""
    if isinstance(request, CallRequest):
        messages, schema, index = request.messages, request.schema, request.call_index
        tool = request.structured == "tool"
    else:
        messages, schema, index = request["messages"], None, 0
        tool = "tools" in request
        if tool:
            schema = request["tools"][0]["function"]["parameters"]
    prompt = messages[-1]["content"] if len(messages) > 1 else ""
    usage = Usage(prompt_tokens=40, completion_tokens=60)
    system = messages[0]["content"] if messages else ""
    if system.startswith("Generate a response"):  # direct: mode collapse
        return CallResponse(output=f"The same answer to {prompt}", usage=usage)
    k = _count_from_system(messages)
    if schema is not None and tool:
        k = schema["properties"]["responses"].get("minItems", k)
    texts = [f"answer {i} of call {index} to {prompt}: {'word' * (i + 1)}" for i in range(k)]
    if "Python list of strings" in system:
        return CallResponse(output=json.dumps(texts), usage=usage)
    item = schema["properties"]["responses"]["items"] if tool and schema is not None else {}
    if item and "probability" not in item["properties"]:
        return CallResponse(output={"responses": [{"text": t} for t in texts]}, usage=usage)
    output = {"responses": [{"text": t, "probability": 0.5 / (i + 1)} for i, t in enumerate(texts)]}
    return CallResponse(output=output if tool else json.dumps(output), usage=usage)


@dataclass
class FakeCall:
    """An injectable async call that records requests and concurrency."""

    fail_when: str | None = None  # prompts containing this fail (non-transient)
    delay: float = 0.0
    requests: list[CallRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    async def __call__(self, request: CallRequest) -> CallResponse:
        import asyncio

        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            prompt = request.messages[-1]["content"]
            if self.fail_when is not None and self.fail_when in prompt:
                msg = f"refused: {prompt}"
                raise ValueError(msg)
            return reply_for(request)
        finally:
            self.in_flight -= 1


@pytest.fixture
def fake_call() -> FakeCall:
    return FakeCall()


@dataclass
class FakeOpenAI:
    """State of the fake server: requests seen, latency, prompts to fail."""

    url: str = ""
    latency: float = 0.0
    fail_when: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "fake-model"}]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            with state.lock:
                state.requests.append(body)
                state.headers.append(dict(self.headers))
            if state.latency:
                time.sleep(state.latency)
            prompt = body["messages"][-1]["content"]
            if state.fail_when is not None and state.fail_when in prompt:
                self._send(400, {"error": {"message": "this prompt is refused"}})
                return
            reply = reply_for(body)
            message: dict[str, Any] = {"role": "assistant", "content": None}
            if isinstance(reply.output, str):
                message["content"] = reply.output
                finish = "stop"
            else:
                message["tool_calls"] = [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": body["tools"][0]["function"]["name"],
                            "arguments": json.dumps(reply.output),
                        },
                    }
                ]
                finish = "tool_calls"
            self._send(
                200,
                {
                    "id": "chatcmpl-1",
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 40, "completion_tokens": 60, "total_tokens": 100},
                },
            )

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the SIGKILL test) is expected


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A threaded OpenAI-compatible server on loopback; ``.url`` ends in ``/v1``."""
    state = FakeOpenAI()
    server = _QuietServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
