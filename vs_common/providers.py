"""The OpenAI wire rules, written once for every client.

Three paths talk to OpenAI-compatible servers: the core's own
:class:`~vs_common.backends.OpenAICompatClient`, LangChain's ``ChatOpenAI``
(through :mod:`langchain_vs`) and LlamaIndex's ``OpenAILike`` (through
:mod:`llamaindex_vs`). What they send and how they read the answer is decided
here, so the three cannot drift apart:

* **Payloads**: the forced tool (:func:`tool_spec`, :func:`tool_choice`) and
  the JSON-schema response format (:func:`response_format`), with one
  description and one ``strict`` setting.
* **Tool-call arguments**: which call to read (:func:`pick_tool_arguments`)
  and how to decode its arguments (:func:`decode_tool_arguments`: JSON when
  it is valid, else the raw string for the robust parser to repair).
* **Cut tool calls**: llama.cpp reports ``finish_reason="tool_calls"`` even
  when ``max_tokens`` cut the arguments off; :func:`tool_finish_reason` says
  ``length`` then, so the parser drops the cut candidate.
* **Transient failures**: one status table (:func:`is_transient_status`:
  every 5xx but 501, and 408, 409, 425, 429) and :func:`is_transient` for
  any client's exception (timeouts, resets, undecodable 200 bodies, the
  openai/httpx/aiohttp error classes, recognised by name without importing
  them).
* **Retry-After**: one parser (:func:`parse_retry_after`) for
  ``retry-after-ms``, seconds and HTTP dates, on any headers object.
* **Rejected structure**: when an error means "this server does not do tools
  / this response format" (:func:`is_structured_rejection`), so the
  orchestration falls back to text.

Example:
    >>> tool_spec("submit_responses", {"type": "object"})["function"]["name"]
    'submit_responses'
    >>> decode_tool_arguments('{"responses": []}'), decode_tool_arguments('{"resp')
    ({'responses': []}, '{"resp')
    >>> is_transient_status(520), is_transient_status(501), is_transient_status(429)
    (True, False, True)
    >>> parse_retry_after({"Retry-After": "2"})
    2.0
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from vs_common.errors import VSTransientError

if TYPE_CHECKING:
    from vs_common.calls import CallRequest

__all__ = [
    "TOOL_DESCRIPTION",
    "decode_tool_arguments",
    "is_structured_rejection",
    "is_transient",
    "is_transient_status",
    "normalize_finish_reason",
    "parse_retry_after",
    "pick_tool_arguments",
    "response_format",
    "retry_after_seconds",
    "status_of",
    "structured_fields",
    "structured_rejection",
    "tool_calls_of",
    "tool_choice",
    "tool_finish_reason",
    "tool_spec",
]

TOOL_DESCRIPTION = "Submit the candidate responses with their probabilities."
"""What the model is told about the forced tool, on every path."""

ToolArguments = str | dict[str, Any] | list[Any]
"""Decoded tool-call arguments, or the raw string when they are not valid JSON."""

# -- payloads -----------------------------------------------------------------


def tool_spec(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tools`` entry: one function whose parameters are ``schema``.

    Example:
        >>> tool_spec("t", {"type": "object"})["function"]["description"]
        'Submit the candidate responses with their probabilities.'
    """
    return {
        "type": "function",
        "function": {"name": name, "description": TOOL_DESCRIPTION, "parameters": dict(schema)},
    }


def tool_choice(name: str) -> dict[str, Any]:
    """The ``tool_choice`` that forces the tool ``name``.

    Example:
        >>> tool_choice("t")
        {'type': 'function', 'function': {'name': 't'}}
    """
    return {"type": "function", "function": {"name": name}}


def response_format(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``response_format`` asking for JSON that follows ``schema``.

    ``strict`` is off: OpenAI's strict mode demands ``additionalProperties:
    false`` on every object, which the VS schema does not set (and servers
    such as vLLM and llama.cpp ignore the flag).

    Example:
        >>> response_format("t", {"type": "object"})["json_schema"]["strict"]
        False
    """
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": dict(schema), "strict": False},
    }


def structured_fields(request: CallRequest) -> dict[str, Any]:
    """The body fields a request's structured mode adds (none in text mode).

    Example:
        >>> from vs_common.calls import CallRequest
        >>> request = CallRequest(messages=[], structured="tool", schema={"type": "object"})
        >>> sorted(structured_fields(request))
        ['tool_choice', 'tools']
    """
    schema = request.schema
    if schema is None:
        return {}
    if request.structured == "tool":
        return {
            "tools": [tool_spec(request.tool_name, schema)],
            "tool_choice": tool_choice(request.tool_name),
        }
    if request.structured == "json_schema":
        return {"response_format": response_format(request.tool_name, schema)}
    return {}


# -- tool-call arguments ----------------------------------------------------------


def decode_tool_arguments(arguments: Any) -> ToolArguments | None:
    """Tool-call arguments as the parser wants them; None when there are none.

    A dict or list is kept; a string is decoded when it is a JSON object or
    array, and otherwise returned as it is (cut off by max_tokens, or
    malformed: the robust parser repairs it). Empty arguments (``{}``, ``""``)
    count as no call, so the reply's text is read instead.

    Example:
        >>> decode_tool_arguments('[{"text": "a"}]'), decode_tool_arguments("{}")
        ([{'text': 'a'}], None)
    """
    if isinstance(arguments, Mapping):
        return dict(arguments) or None
    if isinstance(arguments, list):
        return arguments or None
    if not isinstance(arguments, str) or not arguments.strip():
        return None
    try:
        decoded = json.loads(arguments)
    except ValueError:  # JSONDecodeError, or a number too long to convert
        return arguments
    if isinstance(decoded, dict | list):
        return decoded or None
    return arguments


def pick_tool_arguments(
    calls: Iterable[tuple[str | None, Any]], tool_name: str
) -> ToolArguments | None:
    """The decoded arguments of the call to ``tool_name``, else of the first call.

    Args:
        calls: ``(name, arguments)`` of each tool call in the reply, in order.
        tool_name: The tool that was forced.

    Returns:
        The arguments (see :func:`decode_tool_arguments`), or None when no
        call has any: the reply's text is read then.

    Example:
        >>> pick_tool_arguments([("other", '{"x": 1}'), ("t", '{"y": 2}')], "t")
        {'y': 2}
    """
    decoded = [(name, args) for name, raw in calls if (args := decode_tool_arguments(raw))]
    if not decoded:
        return None
    return next((args for name, args in decoded if name == tool_name), decoded[0][1])


def tool_calls_of(message: Mapping[str, Any]) -> list[tuple[str | None, Any]]:
    """``(name, arguments)`` of each tool call in an OpenAI chat message dict.

    Reads ``tool_calls`` and the legacy ``function_call``.

    Example:
        >>> tool_calls_of({"tool_calls": [{"function": {"name": "t", "arguments": "{}"}}]})
        [('t', '{}')]
    """
    functions: list[Mapping[str, Any]] = []
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                functions.append(function)
    legacy = message.get("function_call")
    if isinstance(legacy, Mapping):
        functions.append(legacy)
    out: list[tuple[str | None, Any]] = []
    for function in functions:
        name = function.get("name")
        out.append((name if isinstance(name, str) else None, function.get("arguments")))
    return out


_LENGTH_REASONS = frozenset(
    {"length", "max_tokens", "max_output_tokens", "MAX_TOKENS", "model_length"}
)


def normalize_finish_reason(reason: object) -> str | None:
    """A provider's finish reason, with every "hit the token limit" spelling as ``length``.

    Example:
        >>> normalize_finish_reason("MAX_TOKENS"), normalize_finish_reason("stop")
        ('length', 'stop')
    """
    if not isinstance(reason, str) or not reason:
        return None
    return "length" if reason in _LENGTH_REASONS else reason


def tool_finish_reason(
    finish_reason: object,
    arguments: ToolArguments | None,
    *,
    completion_tokens: int | None,
    max_tokens: int | None,
) -> str | None:
    """The finish reason of a tool-call reply, ``length`` when max_tokens cut its arguments.

    llama-cpp-python answers ``"tool_calls"`` even when the token limit cut
    the arguments off. When the arguments did not decode as JSON and the
    reply used every token allowed, they were cut: say ``length`` so the
    parser drops the candidate whose text was cut.

    Args:
        finish_reason: What the server said.
        arguments: The arguments as :func:`pick_tool_arguments` returned them.
        completion_tokens: Tokens the reply used, if reported.
        max_tokens: The reply token limit sent, if known.

    Example:
        >>> tool_finish_reason(
        ...     "tool_calls", '{"responses": [{"te', completion_tokens=64, max_tokens=64
        ... )
        'length'
        >>> tool_finish_reason("tool_calls", {"responses": []}, completion_tokens=64, max_tokens=64)
        'tool_calls'
    """
    reason = normalize_finish_reason(finish_reason)
    if (
        isinstance(arguments, str)
        and reason != "length"
        and isinstance(max_tokens, int)
        and isinstance(completion_tokens, int)
        and 0 < max_tokens <= completion_tokens
    ):
        return "length"
    return reason


# -- transient failures and Retry-After --------------------------------------------

_TRANSIENT_CLIENT_STATUS = frozenset({408, 409, 425, 429})
_NOT_IMPLEMENTED = 501
_FIRST_CLIENT_ERROR = 400
_FIRST_SERVER_ERROR = 500
_LAST_STATUS = 599
_TRANSIENT_NAMES = frozenset(
    {
        # openai
        "RateLimitError",
        "APIConnectionError",
        "APITimeoutError",
        "InternalServerError",
        # httpx, requests, urllib3, http.client
        "ServiceUnavailableError",
        "Timeout",
        "TimeoutException",
        "ConnectError",
        "ReadTimeout",
        "ConnectTimeout",
        "RemoteProtocolError",
        "ReadError",
        "IncompleteRead",
        "ProtocolError",
        # aiohttp
        "ClientConnectionError",
        "ClientPayloadError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        # a client that could not decode the server's reply (an HTML error page
        # from a proxy, a body cut short): the server's fault, worth retrying
        "JSONDecodeError",
    }
)


def is_transient_status(status: int) -> bool:
    """Whether an HTTP error status is worth retrying: every 5xx but 501, 408, 409, 425, 429.

    Example:
        >>> [s for s in (400, 401, 408, 409, 429, 500, 501, 503, 529) if is_transient_status(s)]
        [408, 409, 429, 500, 503, 529]
    """
    if status in _TRANSIENT_CLIENT_STATUS:
        return True
    return _FIRST_SERVER_ERROR <= status <= _LAST_STATUS and status != _NOT_IMPLEMENTED


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (on itself or its ``response``), if any.

    Example:
        >>> class E(Exception):
        ...     status_code = 429
        >>> status_of(E())
        429
    """
    for attr in ("status_code", "status", "code", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= _LAST_STATUS:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def is_transient(exc: BaseException) -> bool:
    """Tell whether a call's exception is worth retrying.

    Recognises :class:`~vs_common.errors.VSTransientError`, timeouts,
    connection errors, an HTTP status that :func:`is_transient_status`
    accepts (on the exception or its ``response``), and the exception class
    names of the openai, httpx and aiohttp clients, without importing them.

    Example:
        >>> is_transient(TimeoutError()), is_transient(ValueError())
        (True, False)
    """
    if isinstance(exc, VSTransientError | TimeoutError | ConnectionError | asyncio.TimeoutError):
        return True
    status = status_of(exc)
    if status is not None and status >= _FIRST_CLIENT_ERROR:  # a 2xx on an error: read failed
        return is_transient_status(status)
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def _header(headers: Any, name: str) -> str | None:
    """A header from any headers object: case-insensitive ones, or a plain dict."""
    try:
        value = headers.get(name)
        if value is None and isinstance(headers, Mapping):
            value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    except Exception:  # noqa: BLE001 - a foreign headers object may fail any way
        return None
    return None if value is None else str(value)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds a server asked to wait: ``retry-after-ms``, else ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP date. Header names are matched
    without regard to case, on a dict or any object with ``get`` (httpx,
    aiohttp and urllib headers).

    Returns:
        The wait in seconds (never negative), or None when nothing usable
        was said.

    Example:
        >>> parse_retry_after({"retry-after-ms": "250"}), parse_retry_after({"Retry-After": "x"})
        (0.25, None)
    """
    if headers is None:
        return None
    millis = _header(headers, "retry-after-ms")
    if millis is not None:
        seconds = _number(millis)
        if seconds is not None:
            return max(0.0, seconds / 1000.0)
    value = _header(headers, "retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait a server asked for (Retry-After), from the exception if known.

    Reads :attr:`VSTransientError.retry_after`, else the headers of
    ``exc.response`` (see :func:`parse_retry_after`).

    Example:
        >>> retry_after_seconds(VSTransientError("429", retry_after=2.0))
        2.0
    """
    if isinstance(exc, VSTransientError) and exc.retry_after is not None:
        return max(0.0, exc.retry_after)
    return parse_retry_after(getattr(getattr(exc, "response", None), "headers", None))


# -- rejected structure -------------------------------------------------------------

_REJECTION_STATUS = frozenset({400, 404, 415, 422, 501})
_REJECTION_HINTS = ("tool", "function", "response_format", "json_schema", "schema")
_REJECTION_MARKERS = (
    "validation error",
    "literal_error",
    "extra_forbidden",
    "not supported",
    "unsupported",
    "not implemented",
)


def is_structured_rejection(status: int | None, message: str) -> bool:
    """Whether an HTTP error to a tool / JSON-schema request rejects that mode.

    A 400/404/415/422/501 counts when its message names tools, functions or
    the response format (a 400 for the context length does not); a 5xx counts
    when its message does and is also a validation or "not supported" message:
    llama-cpp-python's server answers a ``json_schema`` response format with
    HTTP 500 and a validation error (a plain 5xx stays transient).

    Args:
        status: The HTTP status, if known.
        message: The error message or response body.

    Example:
        >>> is_structured_rejection(500, "1 validation error: literal_error response_format")
        True
        >>> is_structured_rejection(500, "internal server error")
        False
    """
    if status is None:
        return False
    text = message.lower()
    if not any(hint in text for hint in _REJECTION_HINTS):
        return False
    if status in _REJECTION_STATUS:
        return True
    return status >= _FIRST_SERVER_ERROR and any(marker in text for marker in _REJECTION_MARKERS)


def structured_rejection(exc: BaseException) -> bool:
    """:func:`is_structured_rejection` for a client library's exception.

    ``NotImplementedError`` (a model without tool calling) counts too; the
    status is read from ``status_code``/``status`` or ``exc.response``, the
    message from ``str(exc)`` and a ``body`` attribute.

    Example:
        >>> structured_rejection(NotImplementedError("bind_tools"))
        True
    """
    if isinstance(exc, NotImplementedError):
        return True
    body = getattr(exc, "body", None)
    message = f"{exc} {body if body is not None else ''}"
    return is_structured_rejection(status_of(exc), message)
