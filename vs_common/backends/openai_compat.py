"""An async OpenAI-compatible chat client implementing the ``call`` contract.

:class:`OpenAICompatClient` sends one :class:`~vs_common.calls.CallRequest` to
``POST {base_url}/chat/completions`` and returns a
:class:`~vs_common.calls.CallResponse`, so the core can talk to vLLM, Ollama,
llama.cpp, OpenAI or the embedded model server without the openai SDK. A
completion request (``request.prompt`` set: the ``direct_base`` method, for a
base model) goes to ``POST {base_url}/completions`` instead, with no chat template.

It keeps a pool of keep-alive connections per event loop: N requests
awaited at once are N requests in flight (no thread pool, no new connection
per request). The transport is :class:`vs_common.backends._http.HTTPPool`, a
lean HTTP/1.1 client made for this one job (POST JSON to one URL); when the
environment names a proxy for the URL (``HTTPS_PROXY``, ``HTTP_PROXY``,
``NO_PROXY``), it is aiohttp, which speaks to proxies. Measured against a
server that answers after 100 ms, 128 in flight: the lean pool costs about
130 us of CPU a request, aiohttp about 420 us (at 128 in flight one Python
process is CPU-bound, so this sets the ceiling of ``vs batch``); at 64 in
flight aiohttp gives 569 requests/s, httpx 0.28 89 (upstream: encode/httpx
issue 3215), urllib in ``asyncio.to_thread`` 56 (the default thread pool has
min(32, cores + 4) workers); see ``benchmarks/throughput.py``.

The pool belongs to the event loop that first used the client. It is closed
when that loop is shut down by :func:`asyncio.run` (as an async generator:
``loop.shutdown_asyncgens()`` closes it), or earlier with ``await
client.aclose()`` or ``async with client:``. One client may serve several
loops one after another (each gets its own pool).

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
408, 409, 425, 429, every 5xx but 501), a timeout, a dropped connection or an
undecodable 200 body raise :class:`~vs_common.errors.VSTransientError` (with
``retry_after`` from the ``Retry-After`` header); an error that rejects tools
or the response format in tool or json_schema mode raises
:class:`~vs_common.errors.VSStructuredOutputUnsupported`; other HTTP errors
raise :class:`VSHTTPError`. The API key never appears in ``repr()``, errors
or logs.

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
import copy
import ipaddress
import json
import threading
import time
import urllib.parse
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vs_common._logging import logger
from vs_common.backends._http import AsyncClosing, ConnectFailed, HTTPPool, uses_proxy
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

__all__ = ["OpenAICompatClient", "VSHTTPError"]

_log = logger(__name__)

_FIRST_ERROR_STATUS = 400
_BODY_PREVIEW = 500
_USER_AGENT = "verbalized-sampling-kit"
_REDACTED = "***"
# uvicorn (behind llama-cpp-python's server and vLLM) closes a connection idle
# for 5 s; dropping ours first avoids sending a request into one it is closing.
_KEEPALIVE_SECONDS = 4.0


class VSHTTPError(VSError):
    """The server answered with an HTTP error that retrying will not fix.

    Attributes:
        status_code: The HTTP status, or None when the body was unusable.
        body: The start of the response body (API key redacted).
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Pool:
    """The connection pool of one event loop and the generator that closes it.

    ``lean`` when the server is reached directly; ``session`` (aiohttp, with
    ``url`` parsed once) when a proxy is in the way.
    """

    keeper: AsyncGenerator[None, None]
    lean: HTTPPool | None = None
    session: aiohttp.ClientSession | None = None
    url: yarl.URL | None = None

    @property
    def closed(self) -> bool:
        if self.lean is not None:
            return self.lean.closed
        return self.session is None or self.session.closed


class OpenAICompatClient(AsyncClosing):
    """Send :class:`~vs_common.calls.CallRequest` s to an OpenAI-compatible server.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8080/v1`` or
            ``https://api.openai.com/v1``.
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
    ) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in {"http", "https"}:
            msg = f"base_url must be an http(s) URL, got {base_url!r}"
            raise ValueError(msg)
        if max_connections is not None and (
            isinstance(max_connections, bool) or max_connections < 1
        ):
            msg = f"max_connections must be at least 1 or None, got {max_connections!r}"
            raise ValueError(msg)
        if api_key is not None and (
            api_key != api_key.strip() or any(c in api_key for c in "\r\n\0")
        ):
            # Checked here rather than on the first request; the key itself is never shown.
            msg = "api_key has surrounding white space or a line break (a copy-paste slip?)"
            raise ValueError(msg)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        self.max_connections = max_connections
        self.seed = seed
        self._endpoint = "chat/completions"
        self._completions: OpenAICompatClient | None = None  # the /completions client
        # A proxy from the environment must not intercept a loopback server.
        self._trust_env = not _is_loopback(self.base_url)
        self._lock = threading.Lock()
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}

    def __repr__(self) -> str:
        key = _REDACTED if self._api_key else None
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key={key!r}, timeout={self.timeout!r}, temperature={self.temperature!r}, "
            f"max_tokens={self.max_tokens!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        # Pools and locks belong to this process; a copy (pickle, Ray) opens its own.
        state = dict(self.__dict__)
        state["_lock"] = None
        state["_pools"] = {}
        state["_completions"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The chat completions endpoint."""
        return f"{self.base_url}/{self._endpoint}"

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
            VSHTTPError: any other HTTP error (bad key, unknown model...).
        """
        if request.is_completion:
            return await self._complete(request)
        payload = self.build_payload(request)
        status, headers, body = await self._post(payload)
        if status >= _FIRST_ERROR_STATUS:
            raise self._http_error(status, headers, body, request)
        return self._decode(body, request)

    async def _complete(self, request: CallRequest) -> CallResponse:
        """A completion request: ``POST {base_url}/completions``, the reply's ``text``."""
        client = self._completions_client()
        status, headers, body = await client._post(self.build_completion_payload(request))
        if status >= _FIRST_ERROR_STATUS:
            raise client._http_error(status, headers, body, request)
        data = client._decode_json(body)
        choice = client._first_choice(data)
        text = choice.get("text")
        return CallResponse(
            output=text if isinstance(text, str) else "",
            usage=_usage(data.get("usage")),
            finish_reason=_str_or_none(choice.get("finish_reason")),
            metadata={"model": data.get("model"), "id": data.get("id")},
        )

    def _completions_client(self) -> OpenAICompatClient:
        """This client for ``/completions``: the same settings, its own connection pools.

        The transport posts to one URL per pool, so the completions endpoint
        gets a twin that reuses all of it; :meth:`aclose` closes both.
        """
        with self._lock:
            if self._completions is None:
                twin = copy.copy(self)
                twin._lock = threading.Lock()
                twin._pools = {}
                twin._endpoint = "completions"
                self._completions = twin
            return self._completions

    # -- the connection pool ------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop (if it has one)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            pool = self._pools.get(loop)
            twin = self._completions
        if pool is not None:
            await pool.keeper.aclose()
        if twin is not None:
            await twin.aclose()

    async def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        with self._lock:
            pool = self._pools.get(loop)
        if pool is not None and not pool.closed:
            return pool
        headers = {
            "User-Agent": _USER_AGENT,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if self._trust_env and uses_proxy(self.url):
            import yarl  # aiohttp's own dependency

            session = self._session(headers)
            pool = _Pool(self._keep(loop, session), session=session, url=yarl.URL(self.url))
            transport = "aiohttp, through the proxy the environment names"
        else:
            lean = HTTPPool(
                self.url,
                headers,
                timeout=self.timeout,
                max_connections=self.max_connections,
                keepalive=_KEEPALIVE_SECONDS,
            )
            pool = _Pool(self._keep(loop, lean), lean=lean)
            transport = "direct"
        # Runs to the generator's first ``yield`` without suspending: from then
        # on the loop knows the generator and closes it when it shuts down.
        await pool.keeper.__anext__()
        with self._lock:
            self._pools[loop] = pool
        _log.debug("opened a connection pool for %s (%s)", self.base_url, transport)
        return pool

    def _session(self, headers: dict[str, str]) -> aiohttp.ClientSession:
        import aiohttp  # only when a proxy is in the way

        connector = aiohttp.TCPConnector(
            limit=self.max_connections or 0, keepalive_timeout=_KEEPALIVE_SECONDS
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            trust_env=True,
            headers=headers,
            # An API client has no use for cookies; skipping the jar saves time per request.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def _keep(
        self, loop: asyncio.AbstractEventLoop, held: HTTPPool | aiohttp.ClientSession
    ) -> AsyncGenerator[None, None]:
        """Hold ``held`` open until aclose() or the loop's shutdown of its async generators."""
        try:
            yield  # suspended here until aclose(), by us or by the loop's shutdown
        finally:
            with self._lock:
                pool = self._pools.get(loop)
                if pool is not None and held in (pool.lean, pool.session):
                    del self._pools[loop]
            if isinstance(held, HTTPPool):
                await held.aclose()
            else:
                await held.close()
            _log.debug("closed the connection pool for %s", self.base_url)

    # -- one request -----------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, _REDACTED)
        return redact_secrets(text)

    async def _post(self, payload: dict[str, Any]) -> tuple[int, Mapping[str, str], bytes]:
        pool = await self._pool()
        data = json.dumps(payload).encode("utf-8")
        started = time.perf_counter()
        if pool.lean is None:
            status, reply_headers, body = await self._post_aiohttp(pool, data)
        else:
            try:
                status, reply_headers, body = await pool.lean.post(data)
            except TimeoutError as exc:
                raise self._transport_error(exc) from exc
            except ConnectFailed as exc:  # refused, unresolvable, unreachable, TLS
                raise self._transport_error(exc, connecting=True) from None
            except OSError as exc:  # reset, closed early, a malformed reply
                raise self._transport_error(exc) from None
        _log.debug("POST %s -> HTTP %d in %.3f s", self.url, status, time.perf_counter() - started)
        return status, reply_headers, body

    async def _post_aiohttp(self, pool: _Pool, data: bytes) -> tuple[int, Mapping[str, str], bytes]:
        import aiohttp  # imported by _session already: a dict lookup

        assert pool.session is not None  # noqa: S101 - set with url when a proxy is used
        assert pool.url is not None  # noqa: S101
        try:
            async with pool.session.post(pool.url, data=data) as response:
                body = await response.read()
                # case-insensitive headers; read only on errors
                return response.status, response.headers, body
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise self._transport_error(exc) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, unresolvable, unreachable
            raise self._transport_error(exc, connecting=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            # A reset connection, a body cut short, a malformed reply.
            raise self._transport_error(exc) from None

    def _transport_error(self, exc: BaseException, *, connecting: bool = False) -> VSError:
        """The transient error for a timeout, a failed connect or a broken exchange."""
        if isinstance(exc, TimeoutError):
            msg = f"Timed out after {self.timeout:g} s waiting for {self.url}"
        elif connecting:
            msg = f"Could not reach {self.url}: {self._redact(str(exc))}"
        else:
            reason = self._redact(str(exc)) or type(exc).__name__
            msg = f"Connection to {self.url} failed: {type(exc).__name__}: {reason}"
        return VSTransientError(msg)

    def _http_error(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        request: CallRequest,
    ) -> VSError:
        text = self._redact(body.decode("utf-8", errors="replace"))
        preview = text[:_BODY_PREVIEW]
        detail = f"HTTP {status} from {self.url}: {preview}"
        if self._rejects_structured(status, text, request):
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

    def _decode_json(self, body: bytes) -> Any:
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            preview = self._redact(body[:_BODY_PREVIEW].decode("utf-8", errors="replace"))
            msg = f"Unreadable (non-JSON) reply from {self.url}: {preview!r}"
            raise VSTransientError(msg) from None

    def _first_choice(self, data: Any) -> dict[str, Any]:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            preview = self._redact(json.dumps(data)[:_BODY_PREVIEW])
            msg = f"Reply from {self.url} has no choices: {preview}"
            raise VSHTTPError(msg, body=preview)
        choice: dict[str, Any] = choices[0]
        return choice

    def _decode(self, body: bytes, request: CallRequest) -> CallResponse:
        data = self._decode_json(body)
        choice = self._first_choice(data)
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
