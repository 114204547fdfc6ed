"""The contract between the orchestration and a model ``call``.

The orchestration (:func:`vs_common.sampling.run_sampling`) never talks to a
model itself: it awaits a ``call`` that an adapter provides (LangChain,
LlamaIndex, or the stdlib OpenAI-compatible client in
:mod:`vs_common.openai_compat`). A call receives a :class:`CallRequest` and
returns a :class:`CallResponse` (or, for convenience, a bare ``str`` or a
decoded ``dict``/``list``).

Errors a call may raise:

* :class:`~vs_common.errors.VSTransientError` (or any exception that
  :func:`is_transient` recognises: HTTP 408/409/429/5xx, timeouts, connection
  errors) is retried with backoff, honouring ``retry_after``.
* :class:`~vs_common.errors.VSStructuredOutputUnsupported` makes the
  orchestration switch to text mode for this and later calls.
* Anything else fails that call (recorded, never hiding the other calls).

Example:
    >>> async def call(request: CallRequest) -> CallResponse:
    ...     return CallResponse(output='{"responses": [{"text": "hi", "probability": 1}]}')
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from vs_common.errors import VSTransientError

__all__ = [
    "Call",
    "CallRequest",
    "CallResponse",
    "Message",
    "StructuredMode",
    "Usage",
    "is_structured_rejection",
    "is_transient",
    "normalize_finish_reason",
    "redact_secrets",
    "retry_after_seconds",
    "status_of",
    "structured_rejection",
]

Message = dict[str, str]
"""A chat message as a dict with ``role`` and ``content``."""

StructuredMode = Literal["tool", "json_schema", "text"]
"""How one call asks for structure: a forced tool call, a JSON-schema
response format, or plain text read by the robust parser."""

TOOL_NAME = "submit_responses"


class Usage(BaseModel):
    """Token usage of one call or the sum over several.

    Example:
        >>> (Usage(prompt_tokens=3, completion_tokens=4) + Usage(prompt_tokens=1)).total_tokens
        8
    """

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True)
class CallRequest:
    """One request from the orchestration to the model.

    Attributes:
        messages: The chat messages to send (role/content dicts).
        structured: The structured-output mode to use for this call.
        schema: JSON schema of the expected object (tool parameters or
            response format); None in text mode or for single-answer methods.
        tool_name: Name to give the tool in tool mode.
        call_index: Which of the run's calls this is (0-based).
        attempt: 0 for the first try, then 1, 2... for retries and re-asks.
    """

    messages: list[Message]
    structured: StructuredMode = "text"
    schema: dict[str, Any] | None = None
    tool_name: str = TOOL_NAME
    call_index: int = 0
    attempt: int = 0


@dataclass
class CallResponse:
    """What one call returned.

    Attributes:
        output: The reply text, or the decoded tool-call arguments.
        usage: Token usage reported by the server, if any.
        finish_reason: ``stop``, ``length``, ``tool_calls``... if known.
        metadata: Anything else the adapter wants to keep (model name...).
    """

    output: str | Mapping[str, Any] | Sequence[Any]
    usage: Usage | None = None
    finish_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


Call = Callable[[CallRequest], Awaitable["CallResponse | str | Mapping[str, Any] | Sequence[Any]"]]
"""An async function that sends one request to a model."""

_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"), "***"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), "***"),
    (
        re.compile(
            r"(?i)(\"?(?:api[_-]?key|x-api-key|authorization|access[_-]?token|secret)\"?"
            r"\s*[:=]\s*\"?(?:bearer\s+)?)(?!bearer\b)[^\"\s,}]{6,}"
        ),
        r"\1***",
    ),
)


def redact_secrets(text: str) -> str:
    """Mask what looks like an API key or bearer token in an error message.

    Errors from model servers can echo request headers or keys; every failure
    the orchestration records goes through this, so keys never reach results,
    logs or reports.

    Example:
        >>> redact_secrets("401: Authorization: Bearer sk-abcdefghijklmnop was rejected")
        '401: Authorization: Bearer *** was rejected'
    """
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


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


_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
_TRANSIENT_NAMES = frozenset(
    {
        "RateLimitError",
        "APIConnectionError",
        "APITimeoutError",
        "InternalServerError",
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
        # a client that could not decode the server's reply (an HTML error page
        # from a proxy, a body cut short): the server's fault, worth retrying
        "JSONDecodeError",
    }
)


_FIRST_CLIENT_ERROR = 400
_FIRST_SERVER_ERROR = 500
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
    HTTP 500 and a validation error (a plain 5xx stays transient). One policy
    for every adapter and the stdlib client.

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
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int):
        return value
    return None


def is_transient(exc: BaseException) -> bool:
    """Tell whether a call's exception is worth retrying.

    Recognises :class:`VSTransientError`, timeouts, connection errors, HTTP
    status 408/409/425/429/5xx on the exception or its ``response``, and the
    exception class names of the openai and httpx clients, without importing
    them.

    Example:
        >>> is_transient(TimeoutError()), is_transient(ValueError())
        (True, False)
    """
    if isinstance(exc, VSTransientError | TimeoutError | ConnectionError | asyncio.TimeoutError):
        return True
    status = status_of(exc)
    if status is not None and status >= _FIRST_CLIENT_ERROR:  # a 2xx on an error: read failed
        return status in _TRANSIENT_STATUS
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait a server asked for (Retry-After), from the exception if known.

    Reads :attr:`VSTransientError.retry_after`, else a ``Retry-After`` or
    ``retry-after-ms`` header on ``exc.response.headers`` (seconds or an HTTP
    date). Returns None when nothing usable was said.

    Example:
        >>> retry_after_seconds(VSTransientError("429", retry_after=2.0))
        2.0
    """
    if isinstance(exc, VSTransientError) and exc.retry_after is not None:
        return max(0.0, exc.retry_after)
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        value = headers.get("retry-after")
    except Exception:  # noqa: BLE001 - a foreign headers object may fail any way
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, parsed.timestamp() - time.time())
