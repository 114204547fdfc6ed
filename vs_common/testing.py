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

:class:`RawReplyServer` answers each request with exact bytes: the malformed,
oversized and hostile replies of :func:`hostile_replies` (bad chunk sizes, a
gzip bomb, a 244 KiB head...), to check that a client fails at once, in
bounded memory, naming what was wrong. :class:`ForwardProxy` is a loopback
HTTP forward proxy, to run the same checks through a proxy.

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
import gzip
import json
import random
import socket
import struct
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Protocol, Self

__all__ = [
    "ALL_FAULTS",
    "Fault",
    "FaultInjectingServer",
    "FaultRates",
    "FixedLatencyServer",
    "ForwardProxy",
    "RawReply",
    "RawReplyServer",
    "ServedRequest",
    "gzip_bomb",
    "hostile_replies",
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


# -- raw replies: malformed, oversized and hostile servers -----------------------------


@dataclass(frozen=True)
class RawReply:
    """One scripted reply of a :class:`RawReplyServer`: the exact bytes it writes.

    Attributes:
        data: The bytes, written at once (head and body, as a server would).
        stream: Instead of ``data``: a function returning the pieces to write
            one after another (a body of gigabytes never has to be in memory).
        close: Close the connection after writing (no keep-alive).
        expect: What a strict, bounded client makes of it: ``"ok"`` (the
            reply is read), ``"too_large"`` (over its size limit, not retried),
            ``"malformed"`` (it breaks HTTP; not retried), ``"transient"`` (cut
            short or not JSON; worth retrying) or ``"http_error"`` (a status
            that retrying will not fix).
        needle: A phrase the client's error message should hold.
    """

    data: bytes = b""
    stream: Callable[[], Iterable[bytes]] | None = None
    close: bool = True
    expect: str = "ok"
    needle: str = ""

    def pieces(self) -> Iterable[bytes]:
        """What to write, in order."""
        return self.stream() if self.stream is not None else (self.data,)


_CHAT_REPLY = json.dumps(
    _completion(json.dumps({"responses": [{"text": "Hostile", "probability": 1.0}]}), None, "stop")
).encode()


def _head(status: str = "200 OK", **headers: str | int) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def gzip_bomb(size: int) -> bytes:
    """A gzip body (about ``size / 1000`` bytes) that inflates to ``size`` zero bytes.

    Each MiB of zeros is compressed once, after a full flush (which resets the
    compressor, so every such MiB comes out as the same bytes), and repeated;
    the trailer's CRC-32 and length are those of the whole: a valid gzip
    member, made in seconds for any size.

    Example:
        >>> import gzip
        >>> len(gzip_bomb(1 << 20)) < 2000, len(gzip.decompress(gzip_bomb(3 << 19)))
        (True, 1572864)
    """
    block = bytes(1 << 20)
    whole, rest = divmod(size, len(block))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = compressor.compress(block[:rest]) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.flush()[:-8]  # the final empty block; the trailer is the whole's
    crc = zlib.crc32(block[:rest])
    for _ in range(whole):
        crc = zlib.crc32(block, crc)
    return head + repeated * whole + last + struct.pack("<II", crc, size & 0xFFFFFFFF)


def _zeros(head: bytes, size: int, *, chunked: bool) -> Callable[[], Iterator[bytes]]:
    """A streamed body of ``size`` zero bytes after ``head``."""

    def pieces() -> Iterator[bytes]:
        yield head
        block = bytes(1 << 20)
        left = size
        while left > 0:
            piece = block[: min(left, len(block))]
            left -= len(piece)
            yield b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
        if chunked:
            yield b"0\r\n\r\n"

    return pieces


def hostile_replies(huge: int = 64 << 20, body: bytes = _CHAT_REPLY) -> dict[str, RawReply]:
    """Replies an OpenAI-compatible server should never send, and what a client should do.

    Each is a :class:`RawReply` with its expected outcome: the malformed
    framings, oversized bodies and decompression bombs a client of arbitrary
    servers must survive, failing at once (not at its timeout) with an error
    that names the problem, in memory bounded by its reply limit.

    Args:
        huge: The size of the oversized bodies and of what the gzip bomb
            inflates to (make it larger than the client's reply limit).
        body: The valid chat reply the well-formed cases carry.

    Example:
        >>> replies = hostile_replies(huge=1 << 20)
        >>> replies["chunk size 0x3"].expect, replies["two-member gzip"].expect
        ('malformed', 'ok')
    """
    gz = gzip.compress(body)
    half = len(body) // 2
    two_members = gzip.compress(body[:half]) + gzip.compress(body[half:])
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    te = _head(Transfer_Encoding="chunked")
    bad_chunk = "Invalid character in chunk size"
    bomb = gzip_bomb(huge)
    return {
        "valid reply": RawReply(_head(Content_Length=len(body)) + body),
        "gzip bomb": RawReply(
            _head(Content_Encoding="gzip", Content_Length=len(bomb)) + bomb,
            expect="too_large",
            needle="max_reply_bytes",
        ),
        "huge body": RawReply(
            stream=_zeros(_head(Content_Length=huge), huge, chunked=False),
            expect="too_large",
            needle="Content-Length",
        ),
        "huge chunked body": RawReply(
            stream=_zeros(te, huge, chunked=True), expect="too_large", needle="max_reply_bytes"
        ),
        "Content-Length of a terabyte": RawReply(
            _head(Content_Length=1 << 40) + body, expect="too_large", needle="Content-Length"
        ),
        "chunk size 0x3": RawReply(
            te + b"0x3\r\nabc\r\n0\r\n\r\n", expect="malformed", needle=bad_chunk
        ),
        "chunk size -2": RawReply(
            te + b"-2\r\nab\r\n0\r\n\r\n", expect="malformed", needle=bad_chunk
        ),
        "chunk size 0_3": RawReply(
            te + b"0_3\r\nabc\r\n0\r\n\r\n", expect="malformed", needle=bad_chunk
        ),
        "no CRLF after a chunk": RawReply(
            te + b"%x\r\n%sXX0\r\n\r\n" % (len(body), body), expect="malformed", needle="chunk"
        ),
        "Transfer-Encoding and Content-Length": RawReply(
            _head(Transfer_Encoding="chunked", Content_Length=5) + chunk,
            expect="malformed",
            needle="Content-Length",
        ),
        "status 20000": RawReply(
            _head("20000 OK", Content_Length=len(body)) + body,
            expect="malformed",
            needle="status",
        ),
        "two-member gzip": RawReply(
            _head(Content_Encoding="gzip", Content_Length=len(two_members)) + two_members
        ),
        "gzip without its trailer": RawReply(
            _head(Content_Encoding="gzip", Content_Length=len(gz) - 8) + gz[:-8]
        ),
        "gzip cut in the middle": RawReply(
            _head(Content_Encoding="gzip", Content_Length=len(gz) // 2) + gz[: len(gz) // 2],
            expect="transient",
            needle="non-JSON",
        ),
        "junk after gzip": RawReply(
            _head(Content_Encoding="gzip", Content_Length=len(gz) + 4) + gz + b"junk",
            expect="malformed",
            needle="gzip",
        ),
        "chunk size too large for a number": RawReply(
            te + b"fffffffffffffffffffffffff\r\nabc\r\n", expect="malformed", needle="overflow"
        ),
        "Content-Length too large for a number": RawReply(
            _head(Content_Length="9" * 30) + body, expect="malformed", needle="overflow"
        ),
        "bare LF line ends": RawReply(
            _head(Content_Length=len(body)).replace(b"\r\n", b"\n") + body
        ),
        "bare LF in a chunked body": RawReply(
            te.replace(b"\r\n", b"\n") + chunk.replace(b"\r\n", b"\n"),
            expect="malformed",
            needle="LF",
        ),
        "244 KiB head in one write": RawReply(
            b"HTTP/1.1 200 OK\r\n"
            + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(244))
            + b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
            expect="malformed",
            needle="headers",
        ),
        "one 244 KiB header": RawReply(
            b"HTTP/1.1 200 OK\r\nX-Big: "
            + b"a" * (244 << 10)
            + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
            expect="malformed",
            needle="8190 bytes",
        ),
        "NUL in a header": RawReply(
            _head(X_A="a\0b", Content_Length=len(body)) + body, expect="malformed", needle="header"
        ),
        "garbage status line": RawReply(b"garbage\r\n\r\n", expect="malformed", needle="status"),
        "body cut short": RawReply(
            _head(Content_Length=len(body) + 100) + body, expect="transient", needle="cut short"
        ),
        "binary body": RawReply(
            _head(Content_Length=4096) + bytes(4096), expect="transient", needle="not text"
        ),
        "JSON nested 100,000 deep": RawReply(
            _head(Content_Length=100_000) + b"[" * 100_000, expect="transient", needle="non-JSON"
        ),
        "redirect": RawReply(
            _head("302 Found", Location="http://elsewhere.invalid/", Content_Length=0),
            expect="http_error",
            needle="not followed",
        ),
    }


@dataclass
class _Script:
    replies: list[RawReply]
    default: RawReply
    requests: list[bytes] = field(default_factory=list)
    written: list[int] = field(default_factory=list)
    connections: int = 0


class RawReplyServer:
    """A loopback server that answers each request with a :class:`RawReply`'s exact bytes.

    It reads each request (head and ``Content-Length`` body), records it, and
    writes the next scripted reply (then ``default`` for every later one),
    respecting back-pressure, so a client that stops reading stops it too.
    Runs its own event loop on a background thread. Standard library only.

    Args:
        replies: The replies to the first requests, in order.
        default: The reply to every request after them (a valid chat reply).

    Attributes:
        requests: Every request received (its head and body), in order.
        written: Bytes written in answer to each request, in order.
        connections: Connections accepted.

    Example:
        >>> import asyncio
        >>> from vs_common.backends import OpenAICompatClient, VSReplyError
        >>> from vs_common.calls import CallRequest
        >>> bad = hostile_replies(huge=1 << 20)["chunk size -2"]
        >>> with RawReplyServer([bad]) as server:
        ...     client = OpenAICompatClient(server.base_url, "m")
        ...     request = CallRequest(messages=[{"role": "user", "content": "Hi"}])
        ...     try:
        ...         asyncio.run(client(request))
        ...     except VSReplyError as exc:
        ...         print(str(exc).split(": ", 1)[1])
        Invalid character in chunk size
    """

    def __init__(self, replies: Iterable[RawReply] = (), default: RawReply | None = None) -> None:
        default = default or RawReply(
            _head(Content_Length=len(_CHAT_REPLY)) + _CHAT_REPLY, close=False
        )
        self._script = _Script(list(replies), default)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._address: tuple[str, int] | None = None

    @property
    def requests(self) -> list[bytes]:
        """Every request received, in order."""
        return self._script.requests

    @property
    def written(self) -> list[int]:
        """Bytes written in answer to each request, in order."""
        return self._script.written

    @property
    def connections(self) -> int:
        """Connections accepted."""
        return self._script.connections

    @property
    def base_url(self) -> str:
        """The API root, ``http://127.0.0.1:PORT/v1``."""
        if self._address is None:
            msg = "the server is not running"
            raise RuntimeError(msg)
        return f"http://{self._address[0]}:{self._address[1]}/v1"

    def reply(self, *replies: RawReply) -> None:
        """Add replies for the next requests."""
        self._script.replies.extend(replies)

    def start(self) -> Self:
        """Start serving on a background thread."""
        self._thread = _serve_in_thread(self._handle, self)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        _stop_thread(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = self._script
        script.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                script.requests.append(request)
                script.written.append(0)
                reply = script.replies.pop(0) if script.replies else script.default
                for piece in reply.pieces():
                    writer.write(piece)
                    await writer.drain()
                    script.written[-1] += len(piece)
                if reply.close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the client gave up: the point of most replies
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head and body, or None when the client closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


class ForwardProxy:
    """A loopback HTTP forward proxy: what a client behind ``HTTP_PROXY`` talks to.

    For each client connection it reads the first request (absolute-form,
    ``POST http://host:port/path HTTP/1.1``), connects to that host (or to
    ``upstream``), sends the request on in origin form, and from then on
    copies bytes both ways until either side closes. Standard library only.

    Args:
        upstream: Send every connection to this ``(host, port)`` whatever
            host the request names (a test can then use a name that does
            not resolve, which a client never sends directly).

    Attributes:
        requests: The first request line of each connection, as received.

    Example:
        >>> with ForwardProxy() as proxy:
        ...     proxy.url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, upstream: tuple[str, int] | None = None) -> None:
        self.upstream = upstream
        self.requests: list[str] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``HTTP_PROXY``."""
        if self._address is None:
            msg = "the proxy is not running"
            raise RuntimeError(msg)
        return f"http://{self._address[0]}:{self._address[1]}"

    def start(self) -> Self:
        """Start serving on a background thread."""
        self._thread = _serve_in_thread(self._handle, self)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        _stop_thread(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            request = await _read_request(reader)
            if request is None:
                return
            line, _, rest = request.partition(b"\r\n")
            self.requests.append(line.decode("latin-1"))
            method, target, version = line.split(b" ", 2)
            parts = urllib.parse.urlsplit(target.decode("latin-1"))
            host, port = self.upstream or (parts.hostname, parts.port or 80)
            up_reader, upstream = await asyncio.open_connection(host, port)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            upstream.write(b"%s %s %s\r\n%s" % (method, path.encode(), version, rest))
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except (ConnectionError, OSError, ValueError):
            return
        finally:
            writer.close()
            if upstream is not None:
                upstream.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class _Served(Protocol):
    _thread: threading.Thread | None
    _loop: asyncio.AbstractEventLoop | None
    _ready: threading.Event
    _address: tuple[str, int] | None


def _serve_in_thread(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    owner: _Served,
) -> threading.Thread:
    """Run ``asyncio.start_server(handle)`` on loopback in a thread until :func:`_stop_thread`."""

    def run() -> None:
        loop = asyncio.new_event_loop()
        owner._loop = loop
        try:
            server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
            host, port = server.sockets[0].getsockname()[:2]
            owner._address = (str(host), int(port))
            owner._ready.set()
            loop.run_forever()
            server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
        finally:
            owner._ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="raw-server", daemon=True)
    thread.start()
    owner._ready.wait()
    return thread


def _stop_thread(owner: _Served) -> None:
    loop, thread = owner._loop, owner._thread
    if loop is not None and thread is not None and thread.is_alive():
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
    owner._thread = None
    owner._address = None


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
