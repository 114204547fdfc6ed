"""The core client's transport (aiohttp) against a server that writes raw bytes, direct and proxied.

Every hostile reply of ``vs_common.testing.hostile_replies`` (bad chunk sizes,
Transfer-Encoding with Content-Length, status 20000, gzip bombs, a 244 KiB
head...) goes to the client directly and through a loopback forward proxy,
on asyncio's loop and on uvloop's: each must end as the case expects, with an
error that names the problem in one readable line, never at the timeout.
Then: a reply over the size limit is never retried, the connection of a bad
reply is not reused, the proxy is read from the environment once, URLs are
percent-encoded, ``user:pass@`` becomes basic authentication, TLS checks the
certificate.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vs_common import RetryPolicy, VSConfig, VSSamplingError, run_sampling
from vs_common.backends import OpenAICompatClient, VSHTTPError, VSReplyError, VSReplyTooLarge
from vs_common.calls import CallRequest
from vs_common.errors import VSError, VSTransientError
from vs_common.providers import is_transient
from vs_common.testing import ForwardProxy, RawReply, RawReplyServer, hostile_replies

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]

LIMIT = 1 << 20  # the client's reply limit in these tests
HUGE = 8 << 20  # what the oversized replies hold (the bomb inflates to it)
CASES = hostile_replies(huge=HUGE)
REQUEST = CallRequest(messages=[{"role": "user", "content": "Tell me a joke."}])
EXPECTED: dict[str, type[BaseException] | None] = {
    "ok": None,
    "too_large": VSReplyTooLarge,
    "malformed": VSReplyError,
    "transient": VSTransientError,
    "http_error": VSHTTPError,
}


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


@pytest.fixture
def raw() -> Iterator[RawReplyServer]:
    with RawReplyServer() as server:
        yield server


def _port(server: RawReplyServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(params=["direct", "proxy"])
def base_url(
    request: pytest.FixtureRequest, raw: RawReplyServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The raw server's API root, reached directly or through a forward proxy."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "direct":
        yield raw.base_url
        return
    with ForwardProxy(upstream=("127.0.0.1", _port(raw))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        # A name the client cannot reach itself: only the proxy knows where it is.
        yield raw.base_url.replace("127.0.0.1", "api.example.invalid")
        assert proxy.requests, "the request did not go through the proxy"
        assert all(line.startswith("POST http://api.example.invalid:") for line in proxy.requests)


def _readable(message: str) -> bool:
    return message.isprintable() and "\\x00" not in message and len(message) < 600


@pytest.mark.parametrize("case", list(CASES))
def test_each_hostile_reply_ends_as_expected_in_one_readable_line(
    on_loop: Runner[Any], raw: RawReplyServer, base_url: str, case: str
) -> None:
    reply = CASES[case]
    raw.reply(reply)
    client = OpenAICompatClient(base_url, "m", timeout=30, max_reply_bytes=LIMIT)
    expected = EXPECTED[reply.expect]
    if expected is None:
        response = on_loop(client(REQUEST))
        assert "Hostile" in str(response.output)
        return
    with pytest.raises(VSError) as info:
        on_loop(client(REQUEST))
    error = info.value
    assert type(error) is expected, (case, repr(error))
    message = str(error)
    assert reply.needle in message, (case, message)
    assert _readable(message), (case, message)
    assert "Timed out" not in message  # failed on the bytes, not at the timeout
    assert is_transient(error) == (reply.expect == "transient"), case


def test_an_oversized_body_is_dropped_not_drained(
    on_loop: Runner[Any], raw: RawReplyServer
) -> None:
    huge = 256 << 20

    def chunks() -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for _ in range(huge >> 16):
            yield b"10000\r\n" + bytes(1 << 16) + b"\r\n"

    raw.reply(RawReply(stream=chunks))
    client = OpenAICompatClient(raw.base_url, "m", timeout=30, max_reply_bytes=LIMIT)
    with pytest.raises(VSReplyTooLarge, match="1 MiB") as info:
        on_loop(client(REQUEST))
    assert info.value.limit == LIMIT
    # The server could write little more than the limit (plus what the sockets
    # buffer) before the client closed the connection: most was never sent.
    assert raw.written[-1] < huge // 8, raw.written


@pytest.mark.parametrize(
    "case", ["gzip bomb", "huge body", "chunk size -2", "Transfer-Encoding and Content-Length"]
)
def test_an_oversized_or_malformed_reply_is_asked_once_not_retried(
    raw: RawReplyServer, case: str
) -> None:
    for _ in range(4):
        raw.reply(CASES[case])
    client = OpenAICompatClient(raw.base_url, "m", timeout=30, max_reply_bytes=LIMIT)
    policy = RetryPolicy(max_retries=3, max_reasks=2, backoff_base=0.01)
    with pytest.raises(VSSamplingError) as info:
        asyncio.run(run_sampling("Joke", VSConfig(k=2), client, retry=policy))
    [failure] = info.value.failures
    assert failure.error_type in {"VSReplyTooLarge", "VSReplyError"}
    assert failure.attempts == 1
    assert len(raw.requests) == 1


def test_a_cut_reply_is_retried_and_the_next_reply_is_read(raw: RawReplyServer) -> None:
    raw.reply(CASES["body cut short"])
    client = OpenAICompatClient(raw.base_url, "m", timeout=30)
    policy = RetryPolicy(max_retries=3, backoff_base=0.01)
    dist = asyncio.run(run_sampling("Joke", VSConfig(k=1), client, retry=policy))
    assert dist.texts == ["Hostile"]
    assert len(raw.requests) == 2


def test_the_connection_of_a_bad_reply_is_not_reused(
    on_loop: Runner[Any], raw: RawReplyServer
) -> None:
    bad = CASES["chunk size 0x3"]
    raw.reply(RawReply(bad.data, close=False))  # the server would go on; the client must not

    async def run() -> str:
        async with OpenAICompatClient(raw.base_url, "m", timeout=30) as client:
            with pytest.raises(VSReplyError):
                await client(REQUEST)
            return str((await client(REQUEST)).output)

    assert "Hostile" in on_loop(run())
    assert raw.connections == 2


def test_keep_alive_connections_are_reused(on_loop: Runner[Any], raw: RawReplyServer) -> None:
    async def run() -> None:
        async with OpenAICompatClient(raw.base_url, "m", timeout=30) as client:
            for _ in range(3):
                await client(REQUEST)

    on_loop(run())
    assert (len(raw.requests), raw.connections) == (3, 1)


def test_max_reply_bytes_is_checked() -> None:
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="max_reply_bytes"):
            OpenAICompatClient("http://127.0.0.1:1/v1", "m", max_reply_bytes=bad)  # type: ignore[arg-type]


# --- the proxy, read once ----------------------------------------------------------


def test_the_proxy_is_read_from_the_environment_once_when_the_client_is_made(
    raw: RawReplyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ForwardProxy(upstream=("127.0.0.1", _port(raw))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        url = raw.base_url.replace("127.0.0.1", "api.example.invalid")
        proxied = OpenAICompatClient(url, "m", timeout=30)
        monkeypatch.delenv("HTTP_PROXY")
        assert proxied.proxy == proxy.url
        assert "Hostile" in str(asyncio.run(proxied(REQUEST)).output)  # still through it
        assert len(proxy.requests) == 1

        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "api.example.invalid")
        exempt = OpenAICompatClient(url, "m", timeout=30)
        assert exempt.proxy is None
        with pytest.raises(VSTransientError, match="Could not reach"):
            asyncio.run(exempt(REQUEST))  # direct: the name does not resolve

        monkeypatch.delenv("NO_PROXY")
        assert OpenAICompatClient(raw.base_url, "m").proxy is None  # loopback: always direct
        assert len(proxy.requests) == 1


def test_proxy_credentials_in_the_environment_are_sent_to_the_proxy(
    raw: RawReplyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ForwardProxy(upstream=("127.0.0.1", _port(raw))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://ann:s%40cret@"))
        url = raw.base_url.replace("127.0.0.1", "api.example.invalid")
        asyncio.run(OpenAICompatClient(url, "m", timeout=30)(REQUEST))
    # "ann:s@cret" in base64: the proxy forwards the header, so the server sees it.
    assert b"Proxy-Authorization: Basic YW5uOnNAY3JldA==\r\n" in raw.requests[0]


# --- URLs and credentials ------------------------------------------------------------


def test_the_url_is_percent_encoded(raw: RawReplyServer) -> None:
    client = OpenAICompatClient(raw.base_url + "/my model/caf\u00e9", "m", timeout=30)
    asyncio.run(client(REQUEST))
    assert raw.requests[0].startswith(b"POST /v1/my%20model/caf%C3%A9/chat/completions HTTP/1.1")


def test_user_and_password_in_the_base_url_are_basic_auth_never_shown(
    raw: RawReplyServer,
) -> None:
    secret = "pa:ss w@rd"
    quoted = "pa%3Ass%20w%40rd"
    url = raw.base_url.replace("http://", f"http://ann:{quoted}@")
    client = OpenAICompatClient(url, "m", timeout=30)
    assert quoted not in repr(client) and secret not in repr(client)
    assert client.base_url == raw.base_url
    asyncio.run(client(REQUEST))
    assert b"Authorization: Basic YW5uOnBhOnNzIHdAcmQ=\r\n" in raw.requests[0]
    raw.reply(
        RawReply(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 40\r\n\r\n"
            + json.dumps({"e": f"bad {secret}"}).encode().ljust(40)
        )
    )
    with pytest.raises(VSHTTPError) as info:
        asyncio.run(client(REQUEST))
    assert secret not in str(info.value) and quoted not in str(info.value)
    assert "401" in str(info.value)


def test_user_and_password_in_the_base_url_with_an_api_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="user:password") as info:
        OpenAICompatClient("http://ann:secret@127.0.0.1:1/v1", "m", api_key="sk-x")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "http:///v1", "http://ann:secret@/v1"])
def test_a_base_url_without_http_or_a_host_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ValueError, match="http") as info:
        OpenAICompatClient(url, "m")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("key", ["sk-\u00e9t\u00e9", "sk-a\tb", "sk-a\x7fb"])
def test_an_api_key_a_header_cannot_carry_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        OpenAICompatClient("http://127.0.0.1:1/v1", "m", api_key=key)
    assert key not in str(info.value)


# --- TLS ----------------------------------------------------------------------------


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
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(chat), chat))
        await writer.drain()
        writer.close()

    async def run() -> str:
        server = await asyncio.start_server(handle, "localhost", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        url = f"https://localhost:{port}/v1"
        async with server:
            async with OpenAICompatClient(url, "m", timeout=30) as untrusting:
                with pytest.raises(VSTransientError, match="CERTIFICATE_VERIFY_FAILED"):
                    await untrusting(REQUEST)
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what a user does for a private CA
            async with OpenAICompatClient(url, "m", timeout=30) as client:
                return str((await client(REQUEST)).output)

    assert on_loop(run()) == "over TLS"
