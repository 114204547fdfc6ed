"""The lean HTTP/1.1 transport (vs_common.backends._http) against a server that writes raw bytes.

Each scripted reply is the exact bytes the server sends, so every framing a
real server may use is exercised: Content-Length, chunked (split across
writes, with extensions and trailers), read-to-close, gzip and deflate, 1xx
interim replies, ``Connection: close``, HTTP/1.0; and every way a reply can
go wrong: cut short, malformed, too slow. Then keep-alive reuse, idle
expiry, the connection bound, TLS, and the switch to aiohttp when the
environment names a proxy.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vs_common.backends import OpenAICompatClient
from vs_common.backends._http import ConnectFailed, ConnectionFailed, HTTPPool
from vs_common.calls import CallRequest
from vs_common.errors import VSTransientError

T = TypeVar("T")

BODY = b'{"hello": "world"}'

Runner = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture(params=["asyncio", "uvloop"])
def on_loop(request: pytest.FixtureRequest) -> Runner[Any]:
    """Run a coroutine on asyncio's own loop, then on uvloop's (uvicorn's and Ray's choice)."""
    if request.param == "uvloop":
        try:
            import uvloop
        except ImportError:  # a failure, not a skip: the dev extra installs it
            pytest.fail("uvloop is missing: install the dev extra (make install)")
        return uvloop.run
    return asyncio.run


@dataclass
class Step:
    """What the server does with one request: send ``data`` (in pieces), then maybe close."""

    data: list[bytes]
    close: bool = False
    delay: float = 0.0


@dataclass
class RawServer:
    port: int
    steps: list[Step]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"


def ok(body: bytes = BODY, *, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    head = f"{version} 200 OK\r\nContent-Type: application/json\r\n{extra}"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_request(conn: socket.socket, pending: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in pending:
        data = conn.recv(65536)
        if not data:
            return None
        pending += data
    end = pending.index(b"\r\n\r\n") + 4
    head = pending[:end].decode("latin-1")
    length = 0
    for line in head.split("\r\n"):
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    while len(pending) < end + length:
        data = conn.recv(65536)
        if not data:
            return None
        pending += data
    request = bytes(pending[: end + length])
    del pending[: end + length]
    return request


@pytest.fixture
def raw() -> Iterator[RawServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    server = RawServer(listener.getsockname()[1], [])
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        pending = bytearray()
        with conn:
            while not stop.is_set():
                request = _read_request(conn, pending)
                if request is None:
                    server.closed_by_client += 1
                    return
                server.requests.append(request)
                step = server.steps.pop(0) if server.steps else Step([ok()])
                time.sleep(step.delay)
                try:
                    for piece in step.data:
                        conn.sendall(piece)
                        time.sleep(0.01)  # separate writes arrive as separate reads
                except OSError:
                    return
                if step.close:
                    return

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            server.connections += 1
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        listener.close()


def post(on_loop: Runner[Any], url: str, *bodies: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    async def run() -> list[tuple[int, dict[str, str], bytes]]:
        async with HTTPPool(url, {"Content-Type": "application/json"}, timeout=5) as pool:
            return [await pool.post(body) for body in bodies]

    result: list[tuple[int, dict[str, str], bytes]] = on_loop(run())
    return result


# --- framing -----------------------------------------------------------------------


def test_content_length_reply_and_the_request_sent(on_loop: Runner[Any], raw: RawServer) -> None:
    raw.steps.append(Step([ok(b'{"a": 1}', extra="X-Thing: One\r\n")]))
    [(status, headers, body)] = post(on_loop, raw.url, b'{"q": 2}')
    assert (status, body) == (200, b'{"a": 1}')
    assert headers["x-thing"] == "One"  # names in lower case
    request = raw.requests[0].decode()
    assert request.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{raw.port}\r\n" in request
    assert "Content-Type: application/json\r\n" in request
    assert "Content-Length: 8\r\n" in request
    assert request.endswith('\r\n\r\n{"q": 2}')


def test_chunked_reply_split_across_writes_with_extension_and_trailer(
    on_loop: Runner[Any], raw: RawServer
) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [head + b'7;name=x\r\n{"hel', b'lo\r\nb\r\n": "wor', b'ld"}\r\n0\r\n', b"T: 1\r\n\r\n"]
    raw.steps.append(Step(pieces))
    raw.steps.append(Step([ok(b"next")]))
    replies = post(on_loop, raw.url, b"{}", b"{}")
    assert [body for _, _, body in replies] == [BODY, b"next"]
    assert raw.connections == 1  # the chunked reply ended cleanly: the connection was reused


def test_reply_read_to_the_close_without_length(on_loop: Runner[Any], raw: RawServer) -> None:
    raw.steps.append(Step([b"HTTP/1.1 200 OK\r\n\r\n", b'{"hello": ', b'"world"}'], close=True))
    raw.steps.append(Step([ok(b"second")]))
    replies = post(on_loop, raw.url, b"{}", b"{}")
    assert [body for _, _, body in replies] == [BODY, b"second"]
    assert raw.connections == 2


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_replies_are_decoded(
    on_loop: Runner[Any], raw: RawServer, coding: str, encoded: bytes
) -> None:
    raw.steps.append(Step([ok(encoded, extra=f"Content-Encoding: {coding}\r\n")]))
    [(_, _, body)] = post(on_loop, raw.url, b"{}")
    assert body == BODY
    assert b"Accept-Encoding: gzip, deflate\r\n" in raw.requests[0]


def test_interim_1xx_reply_is_skipped(on_loop: Runner[Any], raw: RawServer) -> None:
    raw.steps.append(Step([b"HTTP/1.1 100 Continue\r\n\r\n", ok()]))
    [(status, _, body)] = post(on_loop, raw.url, b"{}")
    assert (status, body) == (200, BODY)


@pytest.mark.parametrize(
    ("extra", "version", "reused"),
    [
        ("", "HTTP/1.1", True),
        ("Connection: close\r\n", "HTTP/1.1", False),
        ("", "HTTP/1.0", False),
        ("Connection: keep-alive\r\n", "HTTP/1.0", True),
    ],
)
def test_connection_close_and_http_1_0_are_honoured(
    on_loop: Runner[Any], raw: RawServer, extra: str, version: str, reused: bool
) -> None:
    raw.steps.append(Step([ok(extra=extra, version=version)], close=not reused))
    post(on_loop, raw.url, b"{}", b"{}")
    assert raw.connections == (1 if reused else 2)


# --- failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cut'], "connection lost"),
        ([b"HTTP/1.1 200 OK\r\nContent-"], "connection lost"),
        ([b"garbage\r\n\r\n"], "malformed status line"),
        ([b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"], "malformed header line"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"], "bad Content-Length"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "bad chunk size"),
        ([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc"], "gzip"),
        ([b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc"], "'br'"),
    ],
)
def test_a_broken_reply_fails_naming_why_and_the_connection_is_not_reused(
    on_loop: Runner[Any], raw: RawServer, data: list[bytes], needle: str
) -> None:
    raw.steps.append(Step(data, close=True))

    async def run() -> tuple[str, bytes]:
        async with HTTPPool(raw.url, timeout=5) as pool:
            with pytest.raises(ConnectionFailed) as info:
                await pool.post(b"{}")
            _, _, body = await pool.post(b"{}")  # the next request gets a fresh connection
            return str(info.value), body

    message, body = on_loop(run())
    assert needle in message
    assert body == BODY
    assert raw.connections == 2


def test_a_slow_reply_times_out_and_its_connection_is_closed(
    on_loop: Runner[Any], raw: RawServer
) -> None:
    raw.steps.append(Step([ok(b"late")], delay=1.0))

    async def run() -> bytes:
        async with HTTPPool(raw.url, timeout=0.3) as pool:
            started = time.perf_counter()
            with pytest.raises(TimeoutError):
                await pool.post(b"{}")
            assert time.perf_counter() - started < 0.9
            await asyncio.sleep(1.0)  # the late reply arrives on a closed connection
            _, _, body = await pool.post(b"{}")
            return body

    assert on_loop(run()) == BODY
    assert raw.connections == 2


def test_refused_connection_is_connect_failed(on_loop: Runner[Any]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectFailed):
        post(on_loop, f"http://127.0.0.1:{port}/v1/chat/completions", b"{}")


def test_a_closed_pool_refuses_to_post(on_loop: Runner[Any], raw: RawServer) -> None:
    async def run() -> None:
        pool = HTTPPool(raw.url)
        await pool.aclose()
        with pytest.raises(ConnectionFailed, match="closed"):
            await pool.post(b"{}")

    on_loop(run())


# --- the pool ----------------------------------------------------------------------


def test_idle_connections_are_dropped_after_keepalive(on_loop: Runner[Any], raw: RawServer) -> None:
    async def run() -> None:
        async with HTTPPool(raw.url, keepalive=0.2) as pool:
            await pool.post(b"{}")
            await pool.post(b"{}")  # reused
            await asyncio.sleep(0.4)
            await pool.post(b"{}")  # expired: a new connection

    on_loop(run())
    assert raw.connections == 2


def test_connections_left_from_a_burst_are_closed_once_expired(
    on_loop: Runner[Any], raw: RawServer
) -> None:
    for _ in range(4):
        raw.steps.append(Step([ok()], delay=0.1))

    async def run() -> None:
        async with HTTPPool(raw.url, keepalive=0.5) as pool:
            await asyncio.gather(*(pool.post(b"{}") for _ in range(4)))  # 4 connections
            await asyncio.sleep(0.3)
            await pool.post(b"{}")  # reuses the most recent; 3 stay idle
            await asyncio.sleep(0.3)  # the 3 have expired, the one just used has not
            await pool.post(b"{}")  # closes the 3 and reuses the one
            await asyncio.sleep(0.2)
            assert raw.closed_by_client == 3

    on_loop(run())
    assert raw.connections == 4


def test_a_connection_the_server_closed_while_idle_is_not_reused(
    on_loop: Runner[Any], raw: RawServer
) -> None:
    raw.steps.append(Step([ok()], close=True))  # keep-alive promised, then closed anyway

    async def run() -> None:
        async with HTTPPool(raw.url) as pool:
            await pool.post(b"{}")
            await asyncio.sleep(0.2)  # the close has arrived
            await pool.post(b"{}")

    on_loop(run())
    assert raw.connections == 2


def test_max_connections_bounds_what_is_open_at_once(on_loop: Runner[Any], raw: RawServer) -> None:
    for _ in range(6):
        raw.steps.append(Step([ok()], delay=0.1))

    async def run() -> None:
        async with HTTPPool(raw.url, max_connections=2) as pool:
            await asyncio.gather(*(pool.post(b"{}") for _ in range(6)))

    on_loop(run())
    assert raw.connections == 2


def test_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        HTTPPool("ftp://example.com/x")


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\0", "caf\u00e9\u2603"])
def test_a_header_that_would_break_the_request_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="'X-Key'"):
        HTTPPool("http://127.0.0.1:1/v", {"X-Key": value})


def test_tls_with_the_certificate_checked(
    on_loop: Runner[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "this test needs the openssl command to make a certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    chat = json.dumps({"choices": [{"message": {"content": "over TLS"}}]}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ok(chat))
        await writer.drain()
        writer.close()

    async def run() -> tuple[bytes, str]:
        server = await asyncio.start_server(handle, "localhost", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        url = f"https://localhost:{port}/v1/chat/completions"
        async with server:
            async with HTTPPool(url) as untrusting:  # a self-signed certificate is refused
                with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                    await untrusting.post(b"{}")
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what a user does for a private CA
            async with HTTPPool(url) as pool:
                _, _, body = await pool.post(b"{}")
            client = OpenAICompatClient(url.removesuffix("/chat/completions"), "m")
            async with client:
                response = await client(CallRequest(messages=[{"role": "user", "content": "x"}]))
            return body, str(response.output)

    assert on_loop(run()) == (chat, "over TLS")


# --- the client's choice of transport -------------------------------------------------


def test_a_proxy_in_the_environment_sends_requests_through_aiohttp(
    on_loop: Runner[Any], raw: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = {"choices": [{"message": {"content": "via proxy"}, "finish_reason": "stop"}]}
    raw.steps.append(Step([ok(json.dumps(reply).encode())]))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{raw.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = OpenAICompatClient("http://api.example.invalid:8000/v1", "m", timeout=5)

    async def run() -> str:
        async with client:
            response = await client(CallRequest(messages=[{"role": "user", "content": "x"}]))
            pool = next(iter(client._pools.values()))
            assert pool.session is not None
            assert pool.lean is None
            return str(response.output)

    assert on_loop(run()) == "via proxy"
    # The proxy got the absolute URL (a direct request would have failed to resolve).
    assert raw.requests[0].startswith(
        b"POST http://api.example.invalid:8000/v1/chat/completions HTTP/1.1"
    )

    monkeypatch.setenv("NO_PROXY", "api.example.invalid")
    with pytest.raises(VSTransientError, match="Could not reach"):
        on_loop(client(CallRequest(messages=[{"role": "user", "content": "x"}])))
