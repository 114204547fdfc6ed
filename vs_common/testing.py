"""Fake OpenAI-compatible servers: one that injects faults, one with a fixed latency.

:class:`FaultInjectingServer` answers ``POST /v1/chat/completions`` on a free
loopback port with a valid VS reply (text, or a forced tool call when the
request has ``tools``), except that, at configurable rates, it answers 429
with Retry-After, 500 or 503, hangs past the client's timeout, resets the
connection, returns a truncated or non-JSON body, cuts the reply at
max_tokens (``finish_reason: "length"``), or replies in the wrong format.

Every candidate text it sends is unique and recorded, so a test can check
that each candidate of each successful call arrived in the result, and that
nothing was invented or lost. Faults are drawn from a seeded generator, so a
run is reproducible. Standard library only.

:class:`FixedLatencyServer` answers every request after exactly the same
latency and serves any number at once, to measure a client's throughput
(``python -m vs_common.testing --latency 0.1`` runs one in its own process).

Example:
    >>> import asyncio
    >>> from vs_common import RetryPolicy, VSConfig, run_sampling
    >>> from vs_common.backends import OpenAICompatClient
    >>> with FaultInjectingServer(FaultRates(status_500=0.5), seed=1) as server:
    ...     client = OpenAICompatClient(server.base_url, "fake")
    ...     policy = RetryPolicy(backoff_base=0.01)
    ...     dist = asyncio.run(run_sampling("Joke", VSConfig(k=3, n=9), client, retry=policy))
    ...     set(dist.texts) == server.delivered_texts()
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

__all__ = [
    "ALL_FAULTS",
    "Fault",
    "FaultInjectingServer",
    "FaultRates",
    "FixedLatencyServer",
    "ServedRequest",
]

Fault = Literal[
    "ok",
    "rate_limit",
    "status_500",
    "status_503",
    "hang",
    "reset",
    "truncated_body",
    "non_json",
    "length",
    "wrong_format",
]


_FIRST_ERROR = 400

ALL_FAULTS: tuple[Fault, ...] = (
    "rate_limit", "status_500", "status_503", "hang", "reset", "truncated_body", "non_json",
    "length", "wrong_format",
)  # fmt: skip
"""Every fault kind, for ``schedule=`` to make each happen once."""


@dataclass(frozen=True)
class FaultRates:
    """The probability of each fault per request (the rest are answered well).

    Attributes:
        rate_limit: 429 with a ``Retry-After`` of ``retry_after`` seconds.
        status_500: 500 Internal Server Error.
        status_503: 503 Service Unavailable.
        hang: No answer for ``hang_seconds`` (past the client's timeout).
        reset: The connection is reset without an answer.
        truncated_body: Headers promise more bytes than the body has.
        non_json: 200 with an HTML body.
        length: A reply cut at max_tokens in the middle of a candidate.
        wrong_format: 200 with prose instead of the requested structure.

    Example:
        >>> FaultRates.uniform(0.3).total
        0.3
    """

    rate_limit: float = 0.0
    status_500: float = 0.0
    status_503: float = 0.0
    hang: float = 0.0
    reset: float = 0.0
    truncated_body: float = 0.0
    non_json: float = 0.0
    length: float = 0.0
    wrong_format: float = 0.0

    def __post_init__(self) -> None:
        """Check that the rates are probabilities that sum to at most 1."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                msg = f"FaultRates.{f.name} must be in [0, 1], got {value}"
                raise ValueError(msg)
        if self.total > 1.0 + 1e-9:
            msg = f"fault rates sum to {self.total:.3f} > 1"
            raise ValueError(msg)

    @classmethod
    def uniform(cls, total: float) -> FaultRates:
        """Every fault equally likely, ``total`` of the requests faulted."""
        each = total / len(fields(cls))
        return cls(**{f.name: each for f in fields(cls)})

    @property
    def total(self) -> float:
        """The share of requests that get a fault."""
        return round(float(sum(getattr(self, f.name) for f in fields(self))), 12)


@dataclass
class ServedRequest:
    """What the server did with one request.

    Attributes:
        serial: Arrival order (0-based).
        fault: The fault injected (``ok`` for a good answer).
        tool_mode: The request asked for a forced tool call.
        texts: Candidate texts delivered complete in the answer.
        received_at: ``time.monotonic()`` at arrival.
    """

    serial: int
    fault: Fault
    tool_mode: bool
    texts: list[str] = field(default_factory=list)
    received_at: float = 0.0


class FaultInjectingServer:
    """An OpenAI-compatible chat server on loopback that injects faults.

    Args:
        rates: How often each fault happens.
        seed: Seed of the fault draw (same seed, same sequence of faults).
        k: Candidates per good answer when the request does not say (the
            tool schema's ``maxItems`` wins when present).
        retry_after: Seconds sent in ``Retry-After`` with a 429.
        hang_seconds: How long a hanging request waits before closing.
        latency: Seconds each answer takes.
        require_api_key: If set, requests must send this bearer token
            (401 otherwise).
        schedule: Faults for the first requests, in order (then the draws
            take over), to make sure each kind happens at least once.
        echo_auth: Error bodies quote the request's Authorization header, as
            careless servers do (to test that keys are redacted).

    Attributes:
        requests: One :class:`ServedRequest` per request, in arrival order.
    """

    def __init__(
        self,
        rates: FaultRates | None = None,
        *,
        seed: int = 0,
        k: int = 5,
        retry_after: float = 0.05,
        hang_seconds: float = 3.0,
        latency: float = 0.0,
        require_api_key: str | None = None,
        schedule: tuple[Fault, ...] = (),
        echo_auth: bool = False,
    ) -> None:
        self.rates = rates or FaultRates()
        self.k = k
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.latency = latency
        self._api_key = require_api_key
        self._schedule = list(schedule)
        self.echo_auth = echo_auth
        self._rng = random.Random(seed)  # noqa: S311 - fault draws, not cryptography
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests: list[ServedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.base_url if self._httpd is not None else "stopped"
        return f"FaultInjectingServer({state}, faults={self.rates.total:.0%})"

    @property
    def base_url(self) -> str:
        """The API root, ``http://127.0.0.1:PORT/v1``."""
        if self._httpd is None:
            msg = "the server is not running"
            raise RuntimeError(msg)
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> Self:
        """Start serving in a background thread."""
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fault-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release hanging requests."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fault_counts(self) -> Counter[str]:
        """How many requests got each fault (``ok`` included)."""
        with self._lock:
            return Counter(r.fault for r in self.requests)

    def delivered_texts(self) -> set[str]:
        """Every candidate text delivered complete in a parseable answer."""
        with self._lock:
            return {t for r in self.requests for t in r.texts}

    # -- request handling (called from the handler threads) -------------------

    def _draw(self) -> Fault:
        if len(self.requests) < len(self._schedule):
            return self._schedule[len(self.requests)]
        x = self._rng.random()
        acc = 0.0
        for f in fields(self.rates):
            acc += getattr(self.rates, f.name)
            if x < acc:
                fault: Fault = f.name  # type: ignore[assignment]
                return fault
        return "ok"

    def _admit(self, tool_mode: bool) -> ServedRequest:
        with self._lock:
            served = ServedRequest(
                serial=len(self.requests),
                fault=self._draw(),
                tool_mode=tool_mode,
                received_at=time.monotonic(),
            )
            self.requests.append(served)
            return served

    def _record_texts(self, served: ServedRequest, texts: list[str]) -> None:
        with self._lock:
            served.texts = list(texts)


def _wanted_k(payload: dict[str, Any], default: int) -> int:
    try:
        params = payload["tools"][0]["function"]["parameters"]
        return int(params["properties"]["responses"]["maxItems"])
    except (KeyError, IndexError, TypeError, ValueError):
        return default


def _completion(content: str | None, tool_args: str | None, finish: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_args is not None:
        message["tool_calls"] = [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": "submit_responses", "arguments": tool_args},
            }
        ]
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fault-injector",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50},
    }


def _make_handler(server: FaultInjectingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            if status >= _FIRST_ERROR and server.echo_auth:
                auth = self.headers.get("Authorization", "")
                message = f"rejected request (Authorization: {auth})"
                body = json.dumps({"error": {"message": message}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                body = {"object": "list", "data": [{"id": "fault-injector", "object": "model"}]}
                self._send(200, json.dumps(body).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            expected = f"Bearer {server._api_key}"
            if server._api_key is not None and self.headers.get("Authorization") != expected:
                self._send(401, b'{"error": {"message": "invalid api key"}}')
                return
            try:
                payload = json.loads(raw)
            except ValueError:
                self._send(400, b'{"error": {"message": "bad json"}}')
                return
            tool_mode = bool(payload.get("tools"))
            served = server._admit(tool_mode)
            if server.latency:
                time.sleep(server.latency)
            self._answer(served, payload)

        def _answer(self, served: ServedRequest, payload: dict[str, Any]) -> None:
            fault = served.fault
            if fault == "rate_limit":
                body = b'{"error": {"message": "rate limited", "type": "rate_limit"}}'
                self._send(429, body, {"Retry-After": f"{server.retry_after:g}"})
            elif fault in ("status_500", "status_503"):
                status = 500 if fault == "status_500" else 503
                self._send(status, b'{"error": {"message": "server fault"}}')
            elif fault == "hang":
                server._stop.wait(server.hang_seconds)
                self.close_connection = True
            elif fault == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
            elif fault == "truncated_body":
                body = json.dumps(_completion("partial", None, "stop")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
            elif fault == "non_json":
                self._send(200, b"<html><body>502 Bad Gateway</body></html>")
            elif fault == "wrong_format":
                prose = "Sure! Coffee jokes are fun, but I will just chat about them instead."
                self._send(200, json.dumps(_completion(prose, None, "stop")).encode())
            else:
                self._good(served, payload, cut=fault == "length")

        def _good(self, served: ServedRequest, payload: dict[str, Any], *, cut: bool) -> None:
            k = _wanted_k(payload, server.k)
            texts = [f"Candidate {served.serial}.{i} about coffee" for i in range(k)]
            items = [{"text": t, "probability": round(1.0 / k, 4)} for t in texts]
            document = json.dumps({"responses": items})
            if cut:
                # Cut in the middle of the last candidate's text: the others are whole.
                marker = document.rfind(texts[-1])
                document = document[: marker + len(texts[-1]) // 2]
                texts = texts[:-1]
            server._record_texts(served, texts)
            finish = "length" if cut else ("tool_calls" if served.tool_mode else "stop")
            if served.tool_mode:
                body = _completion(None, document, finish)
            else:
                body = _completion(document, None, finish)
            self._send(200, json.dumps(body).encode())

    return Handler


# -- a fixed-latency server, for throughput ------------------------------------------

_MAX_HEADER_BYTES = 64 * 1024
_STATUS_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large"}


class FixedLatencyServer:
    """An OpenAI-compatible chat server that answers every request after exactly ``latency``.

    It serves any number of requests at once (asyncio, HTTP/1.1 keep-alive),
    so a client's throughput against it is bounded only by the client:
    ``concurrency / latency`` requests per second is the ideal. Each answer
    is a valid VS reply with k unique candidates (a forced tool call when
    the request has ``tools``; k is the tool schema's ``maxItems`` when
    present). Standard library only.

    A waiting request costs one timer, not a task: the server spends about
    60 µs of CPU on a request, so that at thousands of requests per second
    it leaves the cores to the client it measures.

    Run it in its own process for measurements (the client then has the
    other cores to itself)::

        python -m vs_common.testing --latency 0.1   # prints the base URL, serves until killed

    Args:
        latency: Seconds each answer waits.
        k: Candidates per answer when the request does not say.
        host: Interface to listen on.
        port: Port (0: a free one).

    Attributes:
        served: Chat requests answered (counted when they arrive).
        peak_in_flight: Most chat requests waiting at once.
        connections: TCP connections accepted (few when clients keep them alive).

    Example:
        >>> import asyncio
        >>> from vs_common import VSConfig, run_sampling
        >>> from vs_common.backends import OpenAICompatClient
        >>> with FixedLatencyServer(latency=0.05) as server:
        ...     client = OpenAICompatClient(server.base_url, "fake")
        ...     dist = asyncio.run(run_sampling("Joke", VSConfig(k=5, n=40), client))
        ...     server.served, server.peak_in_flight, len(dist.candidates)
        (8, 8, 40)
    """

    def __init__(
        self, latency: float = 0.1, *, k: int = 5, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not latency >= 0:
            msg = f"latency must be >= 0 seconds, got {latency!r}"
            raise ValueError(msg)
        self.latency = latency
        self.k = k
        self.host = host
        self.port = port
        self.served = 0
        self.peak_in_flight = 0
        self.connections = 0
        self._in_flight = 0
        self._open: set[_LatencyConnection] = set()
        self._templates: dict[tuple[int, bool], bytes] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._address: tuple[str, int] | None = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        state = self.base_url if self._address is not None else "stopped"
        return f"FixedLatencyServer({state}, latency={self.latency:g} s)"

    @property
    def base_url(self) -> str:
        """The API root, ``http://HOST:PORT/v1``."""
        if self._address is None:
            msg = "the server is not running"
            raise RuntimeError(msg)
        host, port = self._address
        return f"http://{host}:{port}/v1"

    def start(self) -> Self:
        """Start serving on a background thread's event loop."""
        self._thread = threading.Thread(target=self._run, name="fixed-latency", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
        self._thread = None
        self._address = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                server = loop.run_until_complete(self._listen())
            except OSError as exc:
                self._error = exc
                return
            self._ready.set()
            loop.run_forever()
            server.close()
            self._close_connections()
            loop.run_until_complete(server.wait_closed())
        finally:
            self._ready.set()
            loop.close()

    async def serve_forever(self) -> None:
        """Serve on the running loop until cancelled (the command line uses this)."""
        server = await self._listen()
        try:
            async with server:
                await server.serve_forever()
        finally:
            self._close_connections()

    async def _listen(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _LatencyConnection(self), self.host, self.port, backlog=4096
        )
        host, port = server.sockets[0].getsockname()[:2]
        self._address = (str(host), int(port))
        return server

    def _close_connections(self) -> None:
        for connection in list(self._open):
            connection.close()

    def _answer(self, serial: int, payload: Any) -> bytes:
        """The reply body: k candidates ``Answer {serial}.{i}`` (a tool call if asked)."""
        payload = payload if isinstance(payload, dict) else {}
        shape = (_wanted_k(payload, self.k), bool(payload.get("tools")))
        template = self._templates.get(shape)
        if template is None:  # encoded once per shape; each reply only fills in its serial
            template = self._templates[shape] = _answer_template(*shape)
        return template.replace(_SERIAL, str(serial).encode())


_SERIAL = b"<serial>"  # a marker that JSON leaves as it is, even in a string in a string


def _answer_template(k: int, tool: bool) -> bytes:
    serial = _SERIAL.decode()
    items = [{"text": f"Answer {serial}.{i}", "probability": round(1.0 / k, 4)} for i in range(k)]
    document = json.dumps({"responses": items})
    if tool:
        return json.dumps(_completion(None, document, "tool_calls")).encode()
    return json.dumps(_completion(document, None, "stop")).encode()


class _LatencyConnection(asyncio.Protocol):
    """One client connection of a :class:`FixedLatencyServer`: HTTP/1.1, one request at a time.

    A request is parsed when its bytes have arrived; a chat request then
    waits on a timer (``loop.call_later``) and is answered when it fires.
    Bytes that arrive meanwhile (a pipelined request) wait in the buffer.
    """

    def __init__(self, server: FixedLatencyServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiting: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - a TCP server's transport
        self.transport = transport
        self.server.connections += 1
        self.server._open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._open.discard(self)
        if self.waiting is not None:  # the client went away: nobody to answer
            self.waiting.cancel()
            self.waiting = None
            self.server._in_flight -= 1
        self.transport = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._next()

    def _next(self) -> None:
        """Handle the buffered requests until one must wait (or more bytes are needed)."""
        while self.waiting is None and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEADER_BYTES:
                    self._reply(413, b'{"error": "headers too large"}', keep=False)
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            method, path = [*lines[0].split(" "), "", ""][:2]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            try:
                length = int(headers.get("content-length") or 0)
            except ValueError:
                self._reply(400, b'{"error": {"message": "bad content-length"}}', keep=False)
                return
            if len(self.buffer) < end + 4 + length:
                return  # the body is still on its way
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self._route(method, path, body, keep=headers.get("connection", "").lower() != "close")

    def _route(self, method: str, path: str, body: bytes, *, keep: bool) -> None:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            listing = {"object": "list", "data": [{"id": "fixed-latency", "object": "model"}]}
            self._reply(200, json.dumps(listing).encode(), keep=keep)
            return
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            self._reply(404, b'{"error": "not found"}', keep=keep)
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._reply(400, b'{"error": {"message": "bad json"}}', keep=keep)
            return
        server = self.server
        server._in_flight += 1
        server.peak_in_flight = max(server.peak_in_flight, server._in_flight)
        serial = server.served
        server.served += 1
        loop = asyncio.get_running_loop()
        self.waiting = loop.call_later(server.latency, self._answer, serial, payload, keep)

    def _answer(self, serial: int, payload: Any, keep: bool) -> None:
        self.waiting = None
        self.server._in_flight -= 1
        self._reply(200, self.server._answer(serial, payload), keep=keep)
        if keep and self.buffer:
            self._next()  # a request that arrived while this one waited

    def _reply(self, status: int, body: bytes, *, keep: bool) -> None:
        if self.transport is None:
            return
        head = (
            f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        )
        self.transport.write(head.encode("latin-1") + body)
        if not keep:
            self.transport.close()
            self.transport = None


def main(argv: list[str] | None = None) -> None:
    """``python -m vs_common.testing``: run a :class:`FixedLatencyServer` until killed.

    Prints the base URL on the first line of stdout, then serves.
    """
    import argparse  # only for the command line

    parser = argparse.ArgumentParser(prog="python -m vs_common.testing", description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--k", type=int, default=5, help="candidates per answer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = FixedLatencyServer(args.latency, k=args.k, host=args.host, port=args.port)

    async def serve() -> None:
        task = asyncio.create_task(server.serve_forever())
        while server._address is None and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            await task  # raises the error that stopped it
        print(server.base_url, flush=True)  # noqa: T201 - the command's output
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
