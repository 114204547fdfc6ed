"""A minimal OpenAI-compatible chat client implementing the ``call`` contract.

:class:`OpenAICompatClient` sends one :class:`~vs_common.calls.CallRequest` to
``POST {base_url}/chat/completions`` and returns a
:class:`~vs_common.calls.CallResponse`. It needs only the standard library
(``urllib`` run in a worker thread), so the core can talk to vLLM, Ollama,
llama.cpp, OpenAI or the embedded :class:`~vs_common.local_server.LocalModelServer`
without the openai or httpx packages.

Structured modes:

* ``text``: plain chat; the reply text is returned for the robust parser.
* ``tool``: one function tool whose parameters are ``request.schema``, forced
  with ``tool_choice``; the decoded arguments are returned (or the raw
  arguments string when it is not valid JSON, so the parser can repair it).
* ``json_schema``: ``response_format={"type": "json_schema", ...}``; the reply
  text is returned.

Errors: HTTP 408/409/425/429/5xx, timeouts and dropped connections raise
:class:`~vs_common.errors.VSTransientError` (with ``retry_after`` from the
``Retry-After`` header); a 400/422 that names tools or the response format in
tool or json_schema mode raises
:class:`~vs_common.errors.VSStructuredOutputUnsupported`; other HTTP errors
raise :class:`VSHTTPError`. The API key never appears in ``repr()`` or in
error messages.

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
import email.utils
import http.client
import ipaddress
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from vs_common.calls import CallRequest, CallResponse, Usage, is_structured_rejection
from vs_common.errors import VSError, VSStructuredOutputUnsupported, VSTransientError

__all__ = ["OpenAICompatClient", "VSHTTPError"]

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
_FIRST_ERROR_STATUS = 400
_FIRST_SERVER_ERROR = 500
_BODY_PREVIEW = 500
_USER_AGENT = "verbalized-sampling-kit"
_REDACTED = "***"


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


def _parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAICompatClient:
    """Send :class:`~vs_common.calls.CallRequest` s to an OpenAI-compatible server.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8080/v1`` or
            ``https://api.openai.com/v1``.
        model: The model name to send.
        api_key: Sent as ``Authorization: Bearer ...`` when given; never shown
            in ``repr()`` or errors.
        timeout: Seconds to wait on the socket (connect, and for the reply).
        temperature: Sampling temperature; the server's default when None.
        max_tokens: Reply token limit, sent as ``max_tokens`` (llama.cpp
            ignores ``max_completion_tokens``).
        extra_body: More fields merged into every request body (they win).

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
    ) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in {"http", "https"}:
            msg = f"base_url must be an http(s) URL, got {base_url!r}"
            raise ValueError(msg)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        handlers: list[urllib.request.BaseHandler] = []
        if _is_loopback(self.base_url):
            # A proxy from the environment must not intercept a loopback server.
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        key = _REDACTED if self._api_key else None
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key={key!r}, timeout={self.timeout!r}, temperature={self.temperature!r}, "
            f"max_tokens={self.max_tokens!r})"
        )

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
        schema = request.schema
        if request.structured == "tool" and schema is not None:
            payload["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": request.tool_name,
                        "description": "Submit the answer in the structure given.",
                        "parameters": schema,
                    },
                }
            ]
            payload["tool_choice"] = {"type": "function", "function": {"name": request.tool_name}}
        elif request.structured == "json_schema" and schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.tool_name, "schema": schema},
            }
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
        payload = self.build_payload(request)
        status, headers, body = await asyncio.to_thread(self._post, payload)
        if status >= _FIRST_ERROR_STATUS:
            raise self._http_error(status, headers, body, request)
        return self._decode(body, request)

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, _REDACTED)
        return text

    def _post(self, payload: dict[str, Any]) -> tuple[int, Mapping[str, str], bytes]:
        data = json.dumps(payload).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        # The URL's scheme was checked in __init__ (http or https only).
        http_request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with self._opener.open(http_request, timeout=self.timeout) as response:
                return response.status, _lower_headers(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            try:
                error_body = exc.read()
            except (OSError, http.client.HTTPException):
                error_body = b""
            finally:
                exc.close()
            return exc.code, _lower_headers(exc.headers), error_body
        except TimeoutError as exc:
            msg = f"Timed out after {self.timeout:g} s waiting for {self.url}"
            raise VSTransientError(msg) from exc
        except urllib.error.URLError as exc:
            reason = self._redact(str(exc.reason))
            if isinstance(exc.reason, TimeoutError):
                msg = f"Timed out after {self.timeout:g} s waiting for {self.url}"
            else:
                msg = f"Could not reach {self.url}: {reason}"
            raise VSTransientError(msg) from None
        except (ConnectionError, http.client.HTTPException) as exc:
            msg = f"Connection to {self.url} failed: {type(exc).__name__}: {self._redact(str(exc))}"
            raise VSTransientError(msg) from None

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
        if self._rejects_structured(status, text.lower(), request):
            msg = f"The server rejected structured output mode {request.structured!r}: {detail}"
            return VSStructuredOutputUnsupported(msg)
        if status in _TRANSIENT_STATUS or (
            status >= _FIRST_SERVER_ERROR and status != HTTPStatus.NOT_IMPLEMENTED
        ):
            return VSTransientError(detail, retry_after=_parse_retry_after(headers))
        return VSHTTPError(detail, status_code=status, body=preview)

    @staticmethod
    def _rejects_structured(status: int, lowered_body: str, request: CallRequest) -> bool:
        """Whether an error reply to a structured request rejects that mode."""
        if request.structured not in {"tool", "json_schema"} or request.schema is None:
            return False
        return is_structured_rejection(status, lowered_body)

    def _decode(self, body: bytes, request: CallRequest) -> CallResponse:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            preview = self._redact(body[:_BODY_PREVIEW].decode("utf-8", errors="replace"))
            msg = f"Unreadable (non-JSON) reply from {self.url}: {preview!r}"
            raise VSTransientError(msg) from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            preview = self._redact(json.dumps(data)[:_BODY_PREVIEW])
            msg = f"Reply from {self.url} has no choices: {preview}"
            raise VSHTTPError(msg, body=preview)
        choice: dict[str, Any] = choices[0]
        message = choice.get("message")
        message = message if isinstance(message, dict) else {}
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        output: str | dict[str, Any] | list[Any] = text
        metadata: dict[str, Any] = {"model": data.get("model"), "id": data.get("id")}
        if request.structured == "tool" and request.schema is not None:
            arguments = _tool_arguments(message, request.tool_name)
            if arguments is not None:
                output = arguments
                if text:
                    metadata["content"] = text
        usage = _usage(data.get("usage"))
        finish_reason = _str_or_none(choice.get("finish_reason"))
        if (
            isinstance(output, str)
            and request.structured == "tool"
            and finish_reason == "tool_calls"
            and self.max_tokens is not None
            and usage is not None
            and usage.completion_tokens >= self.max_tokens
        ):
            # llama-cpp-python reports "tool_calls" even when max_tokens cut the
            # arguments off; say "length" so callers know the reply is truncated.
            metadata["reported_finish_reason"] = finish_reason
            finish_reason = "length"
        return CallResponse(
            output=output,
            usage=usage,
            finish_reason=finish_reason,
            metadata=metadata,
        )


def _lower_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    return {str(key).lower(): str(value) for key, value in headers.items()}


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


def _tool_arguments(
    message: Mapping[str, Any], tool_name: str
) -> str | dict[str, Any] | list[Any] | None:
    """The decoded arguments of the call to ``tool_name`` (else of the first call).

    Arguments that are not valid JSON come back as the raw string, for the
    robust parser to repair.
    """
    calls = message.get("tool_calls")
    functions: list[Mapping[str, Any]] = []
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                functions.append(function)
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        functions.append(legacy)
    if not functions:
        return None
    chosen = next((f for f in functions if f.get("name") == tool_name), functions[0])
    arguments = chosen.get("arguments")
    if isinstance(arguments, dict | list):
        return arguments
    return _decode_arguments(arguments) if isinstance(arguments, str) else None


def _decode_arguments(arguments: str) -> str | dict[str, Any] | list[Any]:
    try:
        decoded = json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
    if isinstance(decoded, dict | list):
        return decoded
    return arguments
