"""An async OpenAI-compatible chat client implementing the ``call`` contract.

:class:`OpenAICompatClient` sends one :class:`~vs_common.calls.CallRequest` to
``POST {base_url}/chat/completions`` and returns a
:class:`~vs_common.calls.CallResponse`, so the core can talk to vLLM, Ollama,
llama.cpp, OpenAI or the embedded model server without the openai SDK. A
completion request (``request.prompt`` set: the ``direct_base`` method, for a
base model) goes to ``POST {base_url}/completions`` instead, with no chat template.

The transport is aiohttp: one ``ClientSession`` per event loop, its
keep-alive connections shared by every request of that loop, so N requests
awaited at once are N requests in flight (no thread pool, no new connection
per request). aiohttp parses the replies (llhttp) and decodes gzip and
deflate; nothing of HTTP is written here. A proxy named by the environment
(``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``; never for a loopback server)
is read once, when the client is made, and every request of the client goes
the same way, direct or through it.

The session belongs to the event loop that first used the client. It is
closed when that loop is shut down by :func:`asyncio.run` (as an async
generator: ``loop.shutdown_asyncgens()`` closes it), or earlier with ``await
client.aclose()`` or ``async with client:``. One client may serve several
loops one after another (each gets its own session).

Bounded and strict: a reply is read in pieces, already decompressed, and
reading stops as soon as it holds more than ``max_reply_bytes`` (32 MiB by
default), so a small gzip body that inflates to gigabytes costs at most that
much memory; such a reply raises :class:`VSReplyTooLarge` at once and is not
retried. A reply that breaks HTTP (a bad status line, chunk size or
Content-Length, ``Transfer-Encoding`` with ``Content-Length``, a body that
cannot be decompressed) raises :class:`VSReplyError` naming what was wrong,
in one line, without the raw bytes.

The wire rules (tool and response-format payloads, tool-argument decoding,
cut tool calls, transient statuses, Retry-After) come from
:mod:`vs_common.providers`, as on the LangChain and LlamaIndex paths.

Structured modes:

* ``text``: plain chat; the reply text is returned for the robust parser.
* ``tool``: one function tool whose parameters are ``request.schema``, forced
  with ``tool_choice``; the decoded arguments are returned (or the raw
  arguments string when it is not valid JSON, so the parser can repair it).
* ``json_schema``: ``response_format={"type": "json_schema", ...}``; the reply
  text is returned.

Errors: a transient HTTP status (:func:`vs_common.providers.is_transient_status`:
408, 409, 425, 429, every 5xx but 501), a timeout, a dropped connection, a
reply cut short or a 200 whose body is not JSON raise
:class:`~vs_common.errors.VSTransientError` (with ``retry_after`` from the
``Retry-After`` header); an error that rejects tools or the response format
in tool or json_schema mode raises
:class:`~vs_common.errors.VSStructuredOutputUnsupported`; a reply over the
size limit or one that breaks HTTP raises :class:`VSReplyTooLarge` or
:class:`VSReplyError`; other HTTP errors (and redirects, which are not
followed) raise :class:`VSHTTPError`. The API key, and a password in the base
URL, never appear in ``repr()``, errors or logs.

Example:
    >>> import asyncio
    >>> from vs_common.calls import CallRequest
    >>> client = OpenAICompatClient("http://127.0.0.1:8080/v1", "smollm2", max_tokens=64)
    >>> request = CallRequest(messages=[{"role": "user", "content": "Hi"}])
    >>> response = asyncio.run(client(request))  # doctest: +SKIP
    >>> response.output  # doctest: +SKIP
    'Hello! How can I help you today?'
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from vs_common._logging import logger
from vs_common.calls import CallRequest, CallResponse, Usage, redact_secrets
from vs_common.errors import VSError, VSStructuredOutputUnsupported, VSTransientError
from vs_common.providers import (
    is_structured_rejection,
    is_transient_status,
    parse_retry_after,
    pick_tool_arguments,
    structured_fields,
    tool_calls_of,
    tool_finish_reason,
)

if TYPE_CHECKING:
    import aiohttp
    import yarl

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "OpenAICompatClient",
    "VSHTTPError",
    "VSReplyError",
    "VSReplyTooLarge",
    "env_proxy",
]

_log = logger(__name__)

#: The largest reply the client reads by default: 32 MiB (a chat completion is a few kB).
DEFAULT_MAX_REPLY_BYTES = 32 * 1024 * 1024

_FIRST_ERROR_STATUS = 300  # redirects are not followed: the base URL is wrong
_FIRST_CLIENT_ERROR = 400
_ERROR_BODY_BYTES = 64 * 1024  # of an error reply, only the start is read
_PREVIEW_CHARS = 200
_USER_AGENT = "verbalized-sampling-kit"
_REDACTED = "***"
# uvicorn (behind llama-cpp-python's server and vLLM) closes a connection idle
# for 5 s; dropping ours first avoids sending a request into one it is closing.
_KEEPALIVE_SECONDS = 4.0


class VSHTTPError(VSError):
    """The server answered with an HTTP error that retrying will not fix.

    Attributes:
        status_code: The HTTP status, or None when the reply itself was unusable.
        body: The start of the response body (API key redacted).
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class VSReplyError(VSHTTPError):
    """The server's reply broke HTTP: a server bug that sending the request again will not fix.

    A bad status line or header, a bad chunk size or Content-Length, both
    ``Transfer-Encoding`` and ``Content-Length``, a body that cannot be
    decompressed. The message names what was wrong, in one line. Not retried.
    """


class VSReplyTooLarge(VSReplyError):
    """The reply was larger than the client's ``max_reply_bytes`` (after decompression).

    Not retried: the same request would get the same reply.

    Attributes:
        limit: The limit in bytes.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None (also for loopback hosts).

    ``HTTP_PROXY`` for ``http://`` URLs, ``HTTPS_PROXY`` for ``https://``
    ones (either case), unless ``NO_PROXY`` exempts the host, as urllib and
    aiohttp read them. A loopback server is always reached directly.

    Example:
        >>> env_proxy("http://127.0.0.1:8080/v1") is None
        True
    """
    import urllib.request  # only when a client is made or the command probes a server

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if _is_loopback(host):
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


def _size(n: int) -> str:
    """Bytes for a message: ``33554432 bytes (32 MiB)``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n} bytes ({n / scale:g} {unit})"
    return f"{n} bytes"


def _one_line(text: str, limit: int = _PREVIEW_CHARS) -> str:
    """``text`` as one readable line: control characters as spaces, runs of space as one."""
    text = text[: limit * 4]
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line[:limit] + ("..." if len(line) > limit else "")


def _preview(body: bytes | bytearray) -> str:
    """The start of a body for a message: readable text, or what it is when it is not text."""
    text = bytes(body[: _PREVIEW_CHARS * 4]).decode("utf-8", errors="replace")
    readable = sum(c.isprintable() or c in "\r\n\t" for c in text)
    if text and readable < 0.9 * len(text):
        return f"<{len(body)} bytes, not text>"
    return repr(_one_line(text)) if text else "<empty>"


@dataclass
class _Held:
    """The session of one event loop and the generator that closes it."""

    keeper: AsyncGenerator[None, None]
    session: aiohttp.ClientSession


class OpenAICompatClient:
    """Send :class:`~vs_common.calls.CallRequest` s to an OpenAI-compatible server.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8080/v1`` or
            ``https://api.openai.com/v1``. A ``user:password@`` part is sent
            as HTTP basic authentication (then give no ``api_key``).
        model: The model name to send.
        api_key: Sent as ``Authorization: Bearer ...`` when given; never shown
            in ``repr()``, errors or logs.
        timeout: Seconds one request may take (connecting, sending, the reply).
        temperature: Sampling temperature; the server's default when None.
        max_tokens: Reply token limit, sent as ``max_tokens`` (llama.cpp
            ignores ``max_completion_tokens``).
        extra_body: More fields merged into every request body (they win).
        max_connections: Connections open at once per event loop; None (the
            default) leaves the bound to the caller's concurrency
            (``run_sampling(max_concurrency=...)``, ``vs batch --concurrency``).
        seed: The server's sampling seed, if it takes one (OpenAI, vLLM,
            llama.cpp): call ``i`` of a run sends ``seed + i``, so the calls of
            a run differ from one another and a rerun repeats them.
        max_reply_bytes: The largest reply read, after decompression (32 MiB
            by default); a larger one raises :class:`VSReplyTooLarge`.

    Example:
        >>> client = OpenAICompatClient("http://127.0.0.1:8080/v1", "m", api_key="sk-secret")
        >>> "sk-secret" in repr(client)
        False
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_connections: int | None = None,
        seed: int | None = None,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            shown = urllib.parse.urlunsplit(parts._replace(netloc=parts.hostname or ""))
            msg = f"base_url must be an http(s) URL with a host, got {shown!r}"
            raise ValueError(msg)
        _check_positive("max_connections", max_connections, optional=True)
        _check_positive("max_reply_bytes", max_reply_bytes, optional=False)
        if api_key is not None and (
            api_key != api_key.strip() or not (api_key.isascii() and api_key.isprintable())
        ):
            # Checked here rather than on the first request; the key itself is never shown.
            msg = (
                "api_key has surrounding white space, a line break or a character an HTTP"
                " header cannot carry (a copy-paste slip?)"
            )
            raise ValueError(msg)
        self._secrets = [api_key] if api_key else []
        self._authorization = f"Bearer {api_key}" if api_key else None
        if parts.username is not None or parts.password is not None:
            if api_key:
                msg = "base_url has a user:password part and api_key is set too: use one of them"
                raise ValueError(msg)
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._authorization = f"Basic {token}"
            self._secrets += [s for s in (password, parts.password, token) if s]
        netloc = parts.netloc.rpartition("@")[2]
        self.base_url = urllib.parse.urlunsplit(parts._replace(netloc=netloc)).rstrip("/")
        self.model = model
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        self.max_connections = max_connections
        self.seed = seed
        self.max_reply_bytes = max_reply_bytes
        # Read once: every request of this client goes the same way.
        proxy = env_proxy(self.base_url)
        self.proxy = proxy
        self._proxy_headers: dict[str, str] | None = None
        if proxy is not None:
            proxy_parts = urllib.parse.urlsplit(proxy)
            if proxy_parts.username is not None:
                login = urllib.parse.unquote(proxy_parts.username)
                secret = urllib.parse.unquote(proxy_parts.password or "")
                token = base64.b64encode(f"{login}:{secret}".encode()).decode("ascii")
                self._proxy_headers = {"Proxy-Authorization": f"Basic {token}"}
                self._secrets += [s for s in (secret, proxy_parts.password, token) if s]
        self._lock = threading.Lock()
        self._held: dict[asyncio.AbstractEventLoop, _Held] = {}
        self._urls: dict[str, yarl.URL] = {}

    def __repr__(self) -> str:
        key = _REDACTED if self._authorization else None
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key={key!r}, timeout={self.timeout!r}, temperature={self.temperature!r}, "
            f"max_tokens={self.max_tokens!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        # Sessions and locks belong to this process; a copy (pickle, Ray) opens its own.
        state = dict(self.__dict__)
        state["_lock"] = None
        state["_held"] = {}
        state["_urls"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def url(self) -> str:
        """The chat completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def build_payload(self, request: CallRequest) -> dict[str, Any]:
        """The JSON body sent for ``request``.

        Args:
            request: The call to encode.

        Returns:
            The chat-completions request body.

        Example:
            >>> from vs_common.calls import CallRequest
            >>> client = OpenAICompatClient("http://127.0.0.1:1/v1", "m", max_tokens=8)
            >>> body = client.build_payload(
            ...     CallRequest(messages=[{"role": "user", "content": "x"}])
            ... )
            >>> body["max_tokens"], "tools" in body
            (8, False)
        """
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in request.messages],
        }
        if self.temperature is not None:
            payload["temperature"] = self.temperature
        if self.max_tokens is not None:
            payload["max_tokens"] = self.max_tokens
        if self.seed is not None:
            payload["seed"] = self.seed + request.call_index
        payload.update(structured_fields(request))
        payload.update(self.extra_body)
        return payload

    def build_completion_payload(self, request: CallRequest) -> dict[str, Any]:
        """The JSON body of a completion request (``request.prompt`` set).

        Example:
            >>> from vs_common.calls import CallRequest
            >>> client = OpenAICompatClient("http://127.0.0.1:1/v1", "base", seed=7)
            >>> body = client.build_completion_payload(
            ...     CallRequest(messages=[], prompt="Once upon", stop=("###",), call_index=2)
            ... )
            >>> body["prompt"], body["stop"], body["seed"]
            ('Once upon', ['###'], 9)
        """
        payload: dict[str, Any] = {"model": self.model, "prompt": request.prompt or ""}
        if self.temperature is not None:
            payload["temperature"] = self.temperature
        if self.max_tokens is not None:
            payload["max_tokens"] = self.max_tokens
        if request.stop:
            payload["stop"] = list(request.stop)
        if self.seed is not None:
            payload["seed"] = self.seed + request.call_index
        payload.update(self.extra_body)
        return payload

    async def __call__(self, request: CallRequest) -> CallResponse:
        """Send one request and decode the reply.

        Args:
            request: The messages, the structured mode and its schema.

        Returns:
            The reply text (or decoded tool arguments), usage and finish reason.

        Raises:
            VSTransientError: rate limit, server error, timeout, dropped connection
                or an unreadable reply; worth retrying.
            VSStructuredOutputUnsupported: the server rejected tools or the
                response format asked for.
            VSReplyTooLarge: the reply was larger than ``max_reply_bytes``.
            VSReplyError: the reply broke HTTP.
            VSHTTPError: any other HTTP error (bad key, unknown model...).
        """
        if request.is_completion:
            return await self._complete(request)
        data = await self.post_json("chat/completions", self.build_payload(request), request)
        return self._decode(data, request)

    async def _complete(self, request: CallRequest) -> CallResponse:
        """A completion request: ``POST {base_url}/completions``, the reply's ``text``."""
        data = await self.post_json("completions", self.build_completion_payload(request), request)
        choice = self._first_choice(data, f"{self.base_url}/completions")
        text = choice.get("text")
        return CallResponse(
            output=text if isinstance(text, str) else "",
            usage=_usage(data.get("usage")),
            finish_reason=_str_or_none(choice.get("finish_reason")),
            metadata={"model": data.get("model"), "id": data.get("id")},
        )

    async def post_json(
        self, path: str, payload: Mapping[str, Any], request: CallRequest | None = None
    ) -> Any:
        """POST ``payload`` as JSON to ``{base_url}/{path}`` and return the decoded JSON reply.

        The building block of :meth:`__call__` (``chat/completions``), for
        other endpoints of the same server (``completions``...): the same
        session, limits and errors.

        Args:
            path: The endpoint under the base URL, e.g. ``"completions"``.
            payload: The request body.
            request: The call it is for; an error reply that rejects its
                structured mode then raises VSStructuredOutputUnsupported.

        Returns:
            The decoded JSON value of a 2xx reply.

        Raises:
            VSTransientError: see :meth:`__call__`, and a 2xx reply that is not JSON.
            VSStructuredOutputUnsupported: see :meth:`__call__`.
            VSReplyTooLarge: the reply was larger than ``max_reply_bytes``.
            VSReplyError: the reply broke HTTP.
            VSHTTPError: any other HTTP error, or a redirect.
        """
        url = self._urls.get(path)
        if url is None:
            import yarl  # aiohttp's own dependency; percent-encodes the path

            url = self._urls[path] = yarl.URL(f"{self.base_url}/{path.lstrip('/')}")
        status, headers, body = await self._exchange(url, json.dumps(payload).encode("utf-8"))
        if status >= _FIRST_ERROR_STATUS:
            raise self._http_error(str(url), status, headers, body, request)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
            # A 200 from a proxy's error page, or a body cut short: worth another try.
            msg = f"Unreadable (non-JSON) reply from {url}: {self._redact(_preview(body))}"
            raise VSTransientError(msg) from None

    # -- the session of each event loop ---------------------------------------------

    async def aclose(self) -> None:
        """Close the session of the running event loop (if it has one)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            held = self._held.get(loop)
        if held is not None:
            await held.keeper.aclose()

    async def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        with self._lock:
            held = self._held.get(loop)
        if held is not None and not held.session.closed:
            return held.session
        import aiohttp  # on the first request: `import vs_common` and `vs --help` stay fast

        headers = {
            "User-Agent": _USER_AGENT,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        if self._proxy_headers and not self.base_url.startswith("https:"):
            # A plain-HTTP proxy reads it from each request (aiohttp sends
            # proxy_headers only with the CONNECT of an https:// tunnel).
            headers.update(self._proxy_headers)
        proxy = None
        if self.proxy is not None:
            import yarl

            proxy = yarl.URL(self.proxy).with_user(None)
        # aiohttp's default TLS context is made when it is imported; ours honours
        # SSL_CERT_FILE / SSL_CERT_DIR as they are when the session opens.
        tls = ssl.create_default_context() if self.base_url.startswith("https:") else True
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.max_connections or 0, keepalive_timeout=_KEEPALIVE_SECONDS, ssl=tls
            ),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers=headers,
            # An API client has no use for cookies; skipping the jar saves time per request.
            cookie_jar=aiohttp.DummyCookieJar(),
            # The proxy was read from the environment once, in __init__ (trust_env
            # would read it, and ~/.netrc, again on every request).
            proxy=proxy,
        )
        held = _Held(self._keep(loop, session), session)
        # Runs to the generator's first ``yield`` without suspending: from then
        # on the loop knows the generator and closes it when it shuts down.
        await held.keeper.__anext__()
        with self._lock:
            self._held[loop] = held
        _log.debug("opened a session for %s (%s)", self.base_url, "proxy" if proxy else "direct")
        return session

    async def _keep(
        self, loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
    ) -> AsyncGenerator[None, None]:
        """Hold ``session`` open until aclose() or the loop's shutdown of its async generators."""
        try:
            yield  # suspended here until aclose(), by us or by the loop's shutdown
        finally:
            with self._lock:
                held = self._held.get(loop)
                if held is not None and held.session is session:
                    del self._held[loop]
            await session.close()
            _log.debug("closed the session for %s", self.base_url)

    # -- one request -----------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return redact_secrets(text)

    async def _exchange(
        self, url: yarl.URL, data: bytes
    ) -> tuple[int, Mapping[str, str], bytes | bytearray]:
        session = await self._session()
        import aiohttp  # imported by _session already: a dict lookup

        started = time.perf_counter()
        try:
            async with session.post(
                url, data=data, allow_redirects=False, proxy_headers=self._proxy_headers
            ) as response:
                status = response.status
                body = await self._read(response, url, whole=status < _FIRST_ERROR_STATUS)
                headers = response.headers
        except VSError:
            raise
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            msg = f"Timed out after {self.timeout:g} s waiting for {url}"
            raise VSTransientError(msg) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, unresolvable, unreachable, TLS
            msg = f"Could not reach {url}: {self._redact(_one_line(str(exc)))}"
            raise VSTransientError(msg) from None
        except aiohttp.ClientResponseError as exc:  # the head broke HTTP (llhttp said why)
            msg = f"Malformed reply from {url}: {self._redact(_reason(exc.message))}"
            raise VSReplyError(msg) from None
        except aiohttp.ClientPayloadError as exc:
            raise self._payload_error(url, exc) from None
        except (aiohttp.ClientError, OSError) as exc:  # a reset or dropped connection
            reason = self._redact(_one_line(str(exc))) or type(exc).__name__
            msg = f"Connection to {url} failed: {type(exc).__name__}: {reason}"
            raise VSTransientError(msg) from None
        _log.debug("POST %s -> HTTP %d in %.3f s", url, status, time.perf_counter() - started)
        return status, headers, body

    async def _read(
        self, response: aiohttp.ClientResponse, url: yarl.URL, *, whole: bool
    ) -> bytearray:
        """The body, in pieces as they arrive (decompressed), up to ``max_reply_bytes``.

        ``whole``: a reply that does not fit raises :class:`VSReplyTooLarge`;
        otherwise (an error reply) only its start is kept.
        """
        limit = self.max_reply_bytes if whole else min(self.max_reply_bytes, _ERROR_BODY_BYTES)
        declared = response.content_length
        if whole and declared is not None and declared > limit:
            raise self._too_large(url, f"it declares Content-Length: {declared}")
        body = bytearray()
        while chunk := await response.content.readany():
            body += chunk
            if len(body) > limit:
                if whole:
                    response.close()  # the connection is dropped, not drained
                    raise self._too_large(url, "more than that arrived")
                del body[limit:]
                response.close()
                break
        return body

    def _too_large(self, url: yarl.URL, how: str) -> VSReplyTooLarge:
        limit = self.max_reply_bytes
        msg = (
            f"The reply from {url} is larger than max_reply_bytes = {_size(limit)}: {how};"
            " not retried (raise the limit with max_reply_bytes= or vs --max-reply-bytes)"
        )
        return VSReplyTooLarge(msg, limit=limit)

    def _payload_error(self, url: yarl.URL, exc: aiohttp.ClientPayloadError) -> VSError:
        """A body cut short is transient; one that breaks its framing or coding is not."""
        from aiohttp import http_exceptions

        cause = exc.__cause__
        if isinstance(cause, http_exceptions.DecompressSizeError):  # aiohttp 3.13's own bound
            return self._too_large(url, "its decompressed pieces exceed aiohttp's bound")
        if isinstance(
            cause, http_exceptions.ContentLengthError | http_exceptions.TransferEncodingError
        ) and "Not enough data" in str(cause):
            msg = f"The reply from {url} was cut short: {_reason(cause.message)}"
            return VSTransientError(msg)
        reason = cause.message if isinstance(cause, http_exceptions.HttpProcessingError) else ""
        msg = f"Malformed reply from {url}: {self._redact(_reason(reason or str(exc)))}"
        return VSReplyError(msg)

    def _http_error(
        self,
        url: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes | bytearray,
        request: CallRequest | None,
    ) -> VSError:
        text = self._redact(bytes(body).decode("utf-8", errors="replace"))
        preview = _one_line(text)
        detail = f"HTTP {status} from {url}: {preview}"
        if status < _FIRST_CLIENT_ERROR:
            where = headers.get("Location")
            to = f" to {self._redact(_one_line(where))}" if where else ""
            msg = f"HTTP {status} from {url}: redirected{to}, not followed (check the base URL)"
            return VSHTTPError(msg, status_code=status, body=preview)
        if request is not None and self._rejects_structured(status, text, request):
            msg = f"The server rejected structured output mode {request.structured!r}: {detail}"
            return VSStructuredOutputUnsupported(msg)
        if is_transient_status(status):
            return VSTransientError(detail, retry_after=parse_retry_after(headers))
        return VSHTTPError(detail, status_code=status, body=preview)

    @staticmethod
    def _rejects_structured(status: int, body: str, request: CallRequest) -> bool:
        """Whether an error reply to a structured request rejects that mode."""
        if request.structured not in {"tool", "json_schema"} or request.schema is None:
            return False
        return is_structured_rejection(status, body)

    def _first_choice(self, data: Any, url: str) -> dict[str, Any]:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            try:
                shown = json.dumps(data)[: _PREVIEW_CHARS * 4]
            except (ValueError, RecursionError):
                shown = type(data).__name__
            preview = self._redact(_one_line(shown))
            msg = f"Reply from {url} has no choices: {preview}"
            raise VSHTTPError(msg, body=preview)
        choice: dict[str, Any] = choices[0]
        return choice

    def _decode(self, data: Any, request: CallRequest) -> CallResponse:
        choice = self._first_choice(data, self.url)
        message = choice.get("message")
        message = message if isinstance(message, dict) else {}
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        output: str | dict[str, Any] | list[Any] = text
        metadata: dict[str, Any] = {"model": data.get("model"), "id": data.get("id")}
        usage = _usage(data.get("usage"))
        reported = choice.get("finish_reason")
        finish_reason = _str_or_none(reported)
        if request.structured == "tool" and request.schema is not None:
            arguments = pick_tool_arguments(tool_calls_of(message), request.tool_name)
            if arguments is not None:
                output = arguments
                if text:
                    metadata["content"] = text
                finish_reason = tool_finish_reason(
                    reported,
                    arguments,
                    completion_tokens=usage.completion_tokens if usage is not None else None,
                    max_tokens=self.max_tokens,
                )
                if finish_reason != _str_or_none(reported):
                    metadata["reported_finish_reason"] = reported
        return CallResponse(
            output=output,
            usage=usage,
            finish_reason=finish_reason,
            metadata=metadata,
        )


def _check_positive(name: str, value: int | None, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{name} must be a positive integer{' or None' if optional else ''}, got {value!r}"
        raise ValueError(msg)


def _reason(message: str) -> str:
    r"""What llhttp or aiohttp said was wrong, without the raw bytes it quotes.

    ``'Invalid character in chunk size:\n\n  b"0x3"\n  ^'`` becomes
    ``'Invalid character in chunk size'``; ``'Bad status line:\n  Invalid
    response status:\n\n  b"..."'`` becomes ``'Bad status line: Invalid
    response status'``.
    """
    lines: list[str] = []
    for line in str(message).splitlines():
        line = line.strip()
        if not line:
            break
        line = line.split(" b'", 1)[0].split(' b"', 1)[0].rstrip(" :")
        if line:
            lines.append(line)
    return _one_line(": ".join(lines), 200) or "unknown"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens")
    completion = raw.get("completion_tokens")
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else 0,
        completion_tokens=completion if isinstance(completion, int) else 0,
    )
