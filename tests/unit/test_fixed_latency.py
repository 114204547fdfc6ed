"""The async client keeps N requests in flight on pooled keep-alive connections.

Against ``vs_common.testing.FixedLatencyServer`` (every answer after exactly
the same latency, any number at once): N requests awaited together finish in
about one latency, on N connections that the next wave reuses; ``vs batch
--concurrency N`` has N requests in flight; and the pool is closed when the
event loop ends, without warnings.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
import time
from pathlib import Path

import pytest

from vs_common import VSConfig, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.calls import CallRequest
from vs_common.cli import main
from vs_common.testing import FixedLatencyServer

LATENCY = 0.3
MESSAGES = [{"role": "user", "content": "Tell me a joke."}]


def test_n_requests_awaited_together_are_n_in_flight() -> None:
    with FixedLatencyServer(LATENCY) as server:
        client = OpenAICompatClient(server.base_url, "fixed")

        async def wave() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(client(CallRequest(messages=MESSAGES)) for _ in range(64)))
            return time.perf_counter() - started

        async def two_waves() -> tuple[float, float]:
            return await wave(), await wave()

        first, second = asyncio.run(two_waves())
        assert server.served == 128
        assert server.peak_in_flight == 64
        # A thread pool of min(32, cores + 4) workers would need 64 / 6 waves (3.2 s).
        # The first wave also opens 64 connections: on a loaded shared machine (the
        # whole suite under coverage) that once took 1.2 s, so it gets twice the room.
        assert first < 8 * LATENCY, (first, second)
        assert second < 4 * LATENCY, (first, second)
        assert server.connections == 64  # the second wave reused the first's connections


def test_the_session_closes_with_the_loop_and_a_new_loop_gets_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with FixedLatencyServer(0.01) as server:
        client = OpenAICompatClient(server.base_url, "fixed")
        for _ in range(2):
            dist = asyncio.run(run_sampling("Joke", VSConfig(k=5, n=20), client))
            assert len(dist.candidates) == 20
            assert client._held == {}  # closed by the loop's shutdown
        copy = pickle.loads(pickle.dumps(client))  # noqa: S301 - our own object, as Ray sends it
        assert asyncio.run(run_sampling("Joke", VSConfig(k=5), copy)).texts

        async def explicit() -> None:
            async with client:
                await client(CallRequest(messages=MESSAGES))
                assert len(client._held) == 1
            assert client._held == {}

        asyncio.run(explicit())
    assert "Unclosed" not in caplog.text
    opened = [r for r in caplog.records if "opened a session" in r.getMessage()]
    closed = [r for r in caplog.records if "closed the session" in r.getMessage()]
    assert len(opened) == len(closed) == 4


def test_vs_batch_concurrency_n_means_n_requests_in_flight(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": i, "prompt": f"joke {i}"}) + "\n" for i in range(48))
    )
    target = tmp_path / "out.jsonl"
    with FixedLatencyServer(LATENCY) as server:
        started = time.perf_counter()
        code = main(
            ["batch", str(source), "-o", str(target), "--base-url", server.base_url,
             "--model", "fixed", "--concurrency", "16", "-k", "5", "-q"],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    assert code == 0
    assert target.read_text().count("\n") == 48
    assert server.served == 48
    assert server.peak_in_flight == 16
    assert elapsed < 3 * (48 / 16) * LATENCY, elapsed  # three waves, not 48 / 6


def _exchange(
    server: FixedLatencyServer, raw: bytes, replies: int
) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``raw`` on one connection; read ``replies`` HTTP replies (status, headers, body)."""
    import socket

    host, port = server.base_url.split("//")[1].split("/")[0].split(":")
    out = []
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(raw)
        buffer = b""
        while len(out) < replies:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(out)} replies"
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            length = int(headers["content-length"])
            while len(buffer) < length:
                buffer += sock.recv(65536)
            out.append((int(lines[0].split()[1]), headers, buffer[:length]))
            buffer = buffer[length:]
    return out


def _post(body: bytes, path: str = "/v1/chat/completions", extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def test_fixed_latency_server_answers_pipelined_requests_in_order() -> None:
    tool = {"tools": [{"function": {"parameters": {"properties": {"responses": {"maxItems": 3}}}}}]}
    with FixedLatencyServer(0.05, k=4) as server:
        raw = _post(json.dumps({"messages": []}).encode()) + _post(json.dumps(tool).encode())
        raw += b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        raw += _post(b"{}", path="/v1/other") + _post(b"not json")
        started = time.perf_counter()
        replies = _exchange(server, raw, 5)
        elapsed = time.perf_counter() - started
        assert [status for status, _, _ in replies] == [200, 200, 200, 404, 400]
        text = json.loads(replies[0][2])["choices"][0]["message"]
        assert json.loads(text["content"]) == {
            "responses": [{"text": f"Answer 0.{i}", "probability": 0.25} for i in range(4)]
        }
        call = json.loads(replies[1][2])["choices"][0]
        assert call["finish_reason"] == "tool_calls"
        arguments = json.loads(call["message"]["tool_calls"][0]["function"]["arguments"])
        assert [c["text"] for c in arguments["responses"]] == [f"Answer 1.{i}" for i in range(3)]
        assert json.loads(replies[2][2])["data"][0]["id"] == "fixed-latency"
        assert server.served == 2 and server.peak_in_flight == 1  # one at a time per connection
        assert elapsed >= 2 * 0.05  # each chat request waited its latency, in turn


def test_fixed_latency_server_closes_when_asked_and_forgets_a_client_that_left() -> None:
    import socket

    with FixedLatencyServer(0.3) as server:
        replies = _exchange(server, _post(b"{}", extra="Connection: close\r\n"), 1)
        assert replies[0][1]["connection"] == "close"
        host, port = server.base_url.split("//")[1].split("/")[0].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(_post(b"{}"))
            deadline = time.monotonic() + 2
            while server._in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server._in_flight == 1
        deadline = time.monotonic() + 2  # the client left before its answer
        while server._in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server._in_flight == 0
        assert server.served == 2
