"""A lean HTTP/1.1 client for one endpoint: JSON POSTs over pooled keep-alive connections.

:class:`OpenAICompatClient` sends every request to one URL, with the same
headers, and reads a JSON body back. That needs far less than a general HTTP
client, and at high concurrency the difference is the whole CPU budget: on
these 2-core machines aiohttp's request path costs about 420 us of CPU a
request (its request and response objects, connector, tracing hooks, header
multidicts), while the :class:`asyncio.Protocol` below costs about 130 us
(``benchmarks/throughput.py``, section ``transports``). At 128 requests in
flight against a 100 ms server, ``vs batch`` is CPU-bound, so that is the
difference between falling short of and reaching 0.9 of the ideal rate.

What it does: HTTP/1.1 over TCP or TLS (the default certificate checks of
:func:`ssl.create_default_context`, which honours ``SSL_CERT_FILE``), one
request at a time per connection, connections kept alive and reused (most
recently used first) until idle for ``keepalive`` seconds. Bodies framed by
``Content-Length``, by ``Transfer-Encoding: chunked`` or by the end of the
connection; ``gzip`` and ``deflate`` content codings; 1xx replies skipped;
``Connection: close`` and HTTP/1.0 replies honoured. What it does not: proxies
(the client uses aiohttp when the environment names one for the URL),
redirects, cookies, HTTP/2.

Errors: :class:`ConnectFailed` (refused, unresolvable, TLS handshake),
:class:`ConnectionFailed` (reset or closed before the reply was complete, or
a malformed reply), :class:`TimeoutError` (the whole exchange, connecting
included, took longer than ``timeout``). A connection that failed or timed
out is closed, never reused.

Example:
    >>> import asyncio
    >>> from vs_common.testing import FixedLatencyServer
    >>> with FixedLatencyServer(0.01) as server:
    ...
    ...     async def ask() -> int:
    ...         async with HTTPPool(server.base_url + "/chat/completions") as pool:
    ...             status, headers, body = await pool.post(b'{"messages": []}')
    ...             return status
    ...
    ...     asyncio.run(ask())
    200
"""

from __future__ import annotations

import abc
import asyncio
import collections
import ssl
import urllib.parse
import zlib
from collections.abc import Mapping
from types import TracebackType
from typing import Self, cast

__all__ = ["AsyncClosing", "ConnectFailed", "ConnectionFailed", "HTTPPool", "Reply", "uses_proxy"]

Reply = tuple[int, dict[str, str], bytes]
"""Status, headers (names in lower case) and the decoded body."""

_MAX_HEAD_BYTES = 64 * 1024
_MAX_CHUNK_LINE = 4096
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ConnectFailed(OSError):
    """No connection could be made (refused, unresolvable, unreachable, TLS handshake)."""


class ConnectionFailed(OSError):
    """The connection broke, or the reply was malformed, before the reply was complete."""


class _Exchange:
    """The reply being read on one connection: its head, then its body."""

    __slots__ = ("body", "chunk_left", "future", "headers", "mode", "need", "status", "version")

    def __init__(self, future: asyncio.Future[Reply]) -> None:
        self.future = future
        self.status = 0
        self.version = ""
        self.headers: dict[str, str] | None = None  # None until the head has arrived
        self.mode = ""  # "length", "chunked" or "close" once the head is read
        self.need = 0  # bytes left to read in "length" mode
        self.chunk_left = -1  # chunked: bytes left in this chunk; -1 before a size line
        self.body = bytearray()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its reply parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.exchange: _Exchange | None = None
        self.reusable = False
        self.idle_since = 0.0

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always an asyncio.Transport subclass (uvloop's is not).
        self.transport = cast("asyncio.Transport", transport)
        self.reusable = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        self._at_end(exc)

    def eof_received(self) -> bool:
        self.reusable = False
        self._at_end(None)
        return False  # let the transport close itself

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        exchange = self.exchange
        if exchange is None:  # bytes nobody asked for: the connection cannot be trusted
            self.reusable = False
            self.close()
            return
        try:
            self._parse(exchange)
        except ConnectionFailed as exc:
            self._fail(exc)

    # -- use ----------------------------------------------------------------------------

    def send(self, data: bytes, future: asyncio.Future[Reply]) -> None:
        """Write one request; ``future`` gets its reply."""
        self.reusable = False  # until the reply has been read whole
        self.exchange = _Exchange(future)
        if self.transport is None:
            self._fail(ConnectionFailed("the connection was closed"))
            return
        self.transport.write(data)

    def close(self) -> None:
        """Close the connection (a pending reply fails)."""
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    # -- the reply ----------------------------------------------------------------------

    def _parse(self, exchange: _Exchange) -> None:
        buffer = self.buffer
        while exchange.headers is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD_BYTES:
                    msg = f"reply headers longer than {_MAX_HEAD_BYTES} bytes"
                    raise ConnectionFailed(msg)
                return
            head = bytes(buffer[:end]).decode("latin-1")
            del buffer[: end + 4]
            self._read_head(exchange, head)
        if exchange.mode == "length":
            if len(buffer) < exchange.need:
                return
            body = bytes(buffer[: exchange.need])
            del buffer[: exchange.need]
            self._complete(exchange, body)
        elif exchange.mode == "chunked":
            self._read_chunks(exchange)
        # "close": the body is everything until the server closes (see _at_end).

    def _read_head(self, exchange: _Exchange, head: str) -> None:
        status_line, _, rest = head.partition("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            msg = f"malformed status line {status_line[:100]!r}"
            raise ConnectionFailed(msg)
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in rest.split("\r\n") if rest else ():
            name, sep, value = line.partition(":")
            if not sep:
                msg = f"malformed header line {line[:100]!r}"
                raise ConnectionFailed(msg)
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if 100 <= status < 200:
            return
        exchange.status = status
        exchange.version = parts[0]
        exchange.headers = headers
        encoding = headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        if "chunked" in encoding:
            exchange.mode = "chunked"
        elif length is not None:
            if not length.strip().isdigit():
                msg = f"bad Content-Length {length[:50]!r}"
                raise ConnectionFailed(msg)
            exchange.mode, exchange.need = "length", int(length)
        elif status in {204, 304}:
            exchange.mode, exchange.need = "length", 0
        else:
            exchange.mode = "close"

    def _read_chunks(self, exchange: _Exchange) -> None:
        buffer = self.buffer
        while True:
            if exchange.chunk_left < 0:  # a size line, or the trailers after the last chunk
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_CHUNK_LINE:
                        msg = "chunk size line too long"
                        raise ConnectionFailed(msg)
                    return
                line = bytes(buffer[:end]).split(b";", 1)[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    msg = f"bad chunk size {line[:50]!r}"
                    raise ConnectionFailed(msg) from None
                if size == 0:
                    trailers = buffer.find(b"\r\n\r\n", end)
                    if trailers < 0:
                        if len(buffer) > _MAX_HEAD_BYTES:
                            msg = "chunked trailers too long"
                            raise ConnectionFailed(msg)
                        return
                    del buffer[: trailers + 4]
                    self._complete(exchange, bytes(exchange.body))
                    return
                del buffer[: end + 2]
                exchange.chunk_left = size
            # the chunk's data and its CRLF
            if len(buffer) < exchange.chunk_left + 2:
                return
            exchange.body += buffer[: exchange.chunk_left]
            del buffer[: exchange.chunk_left + 2]
            exchange.chunk_left = -1

    def _complete(self, exchange: _Exchange, body: bytes) -> None:
        headers = exchange.headers or {}
        self.exchange = None
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection and (
            exchange.version != "HTTP/1.0" or "keep-alive" in connection
        )
        # Bytes past the reply were never asked for: such a connection is not reused.
        self.reusable = (
            keep and exchange.mode != "close" and self.transport is not None and not self.buffer
        )
        if not self.reusable:
            self.close()
        if exchange.future.done():  # timed out or cancelled meanwhile
            return
        try:
            body = _decoded(body, headers.get("content-encoding", ""))
        except ConnectionFailed as exc:
            exchange.future.set_exception(exc)
            return
        exchange.future.set_result((exchange.status, headers, body))

    def _at_end(self, exc: Exception | None) -> None:
        """The server closed: that ends a body read to the close, and fails any other."""
        exchange = self.exchange
        if exchange is None:
            return
        if exchange.mode == "close" and exc is None:
            exchange.body += self.buffer
            self.buffer.clear()
            self._complete(exchange, bytes(exchange.body))
            return
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "the server closed it"
        self._fail(ConnectionFailed(f"connection lost before the reply was complete ({reason})"))

    def _fail(self, exc: ConnectionFailed) -> None:
        exchange, self.exchange = self.exchange, None
        self.close()
        if exchange is not None and not exchange.future.done():
            exchange.future.set_exception(exc)


def uses_proxy(url: str) -> bool:
    """Whether the environment names a proxy for ``url`` that ``NO_PROXY`` does not exempt.

    ``HTTP_PROXY`` for ``http://`` URLs, ``HTTPS_PROXY`` for ``https://`` ones
    (either case), as urllib and aiohttp read them.

    Example:
        >>> isinstance(uses_proxy("http://api.example.com/v1"), bool)
        True
    """
    import urllib.request  # only when a pool opens or the command probes a server

    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    return parts.scheme in proxies and not urllib.request.proxy_bypass(parts.hostname or "")


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _decoded(body: bytes, coding: str) -> bytes:
    coding = coding.strip().lower()
    if not coding or coding == "identity":
        return body
    try:
        if coding in {"gzip", "x-gzip"}:
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        msg = f"cannot decode the {coding} body: {exc}"
        raise ConnectionFailed(msg) from None
    msg = f"unsupported Content-Encoding {coding!r}"
    raise ConnectionFailed(msg)


class AsyncClosing(abc.ABC):
    """``async with x:`` for an object with ``aclose()``: closes it on the way out."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release what the object holds."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class HTTPPool(AsyncClosing):
    """POST to one URL over a pool of keep-alive HTTP/1.1 connections (one event loop).

    Args:
        url: The ``http://`` or ``https://`` URL every request goes to.
        headers: Headers sent with every request (``Host``, ``Content-Length``
            and ``Accept-Encoding`` are added).
        timeout: Seconds one exchange may take, connecting included.
        max_connections: Connections open at once; None for no bound (the
            caller's concurrency bounds it).
        keepalive: Seconds an idle connection is kept for reuse.

    Example:
        >>> HTTPPool("http://127.0.0.1:8080/v1/chat/completions").address
        ('127.0.0.1', 8080)
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 60.0,
        max_connections: int | None = None,
        keepalive: float = 4.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            msg = f"expected an http(s) URL with a host, got {url!r}"
            raise ValueError(msg)
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.address = (host, port)
        self.tls = parts.scheme == "https"
        self.timeout = timeout
        self.keepalive = keepalive
        self.closed = False
        literal = f"[{host}]" if ":" in host else host  # an IPv6 address
        host_header = literal if port == _DEFAULT_PORTS[parts.scheme] else f"{literal}:{port}"
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}"]
        for name, value in (headers or {}).items():
            if any(c in f"{name}{value}" for c in "\r\n\0") or not _latin1(f"{name}{value}"):
                msg = f"header {name!r}: a line break, NUL or non-Latin-1 character"
                raise ValueError(msg)
            lines.append(f"{name}: {value}")
        lines.append("Accept-Encoding: gzip, deflate")
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._idle: collections.deque[_Connection] = collections.deque()
        self._open: set[_Connection] = set()
        self._limit = asyncio.Semaphore(max_connections) if max_connections else None
        self._ssl: ssl.SSLContext | None = None

    async def post(self, body: bytes) -> Reply:
        """Send ``body`` and return the reply.

        Raises:
            ConnectFailed: No connection could be made.
            ConnectionFailed: The connection broke or the reply was malformed.
            TimeoutError: The exchange took longer than ``timeout``.
        """
        if self.closed:
            msg = "the connection pool is closed"
            raise ConnectionFailed(msg)
        if self._limit is None:
            return await self._exchange(body)
        async with self._limit:
            return await self._exchange(body)

    async def _exchange(self, body: bytes) -> Reply:
        loop = asyncio.get_running_loop()
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self.timeout):
                connection = self._reuse(loop) or await self._connect(loop)
                future: asyncio.Future[Reply] = loop.create_future()
                connection.send(b"%s%d\r\n\r\n%s" % (self._head, len(body), body), future)
                reply = await future
        except BaseException:
            if connection is not None:  # a reply may still come: never reuse it
                self._discard(connection)
            raise
        if connection.reusable and not self.closed:
            connection.idle_since = loop.time()
            self._idle.append(connection)
        else:
            self._discard(connection)
        return reply

    def _reuse(self, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        now = loop.time()
        idle = self._idle
        # The oldest first: connections left over from a busier moment are closed, not kept.
        while idle and now - idle[0].idle_since >= self.keepalive:
            self._discard(idle.popleft())
        while idle:
            connection = idle.pop()  # the most recently used: the least likely closed
            if connection.reusable and now - connection.idle_since < self.keepalive:
                return connection
            self._discard(connection)
        return None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        host, port = self.address
        context = None
        if self.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            _, connection = await loop.create_connection(
                _Connection, host, port, ssl=context, server_hostname=host if context else None
            )
        except OSError as exc:  # refused, unresolvable (gaierror), unreachable, TLS (SSLError)
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        self._open.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def aclose(self) -> None:
        """Close every connection; later posts fail."""
        self.closed = True
        self._idle.clear()
        for connection in list(self._open):
            self._discard(connection)
        await asyncio.sleep(0)  # let the transports run their close callbacks
