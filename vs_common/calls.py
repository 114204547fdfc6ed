"""The contract between the orchestration and a model ``call``.

The orchestration (:func:`vs_common.sampling.run_sampling`) never talks to a
model itself: it awaits a ``call`` that an adapter provides (LangChain,
LlamaIndex, or the OpenAI-compatible client in
:mod:`vs_common.backends.openai_compat`). A call receives a :class:`CallRequest` and
returns a :class:`CallResponse` (or, for convenience, a bare ``str`` or a
decoded ``dict``/``list``).

Errors a call may raise:

* :class:`~vs_common.errors.VSTransientError` (or any exception that
  :func:`~vs_common.providers.is_transient` recognises: HTTP 408/409/429,
  every 5xx but 501, timeouts, connection errors) is retried with backoff,
  honouring ``retry_after``.
* :class:`~vs_common.errors.VSStructuredOutputUnsupported` makes the
  orchestration switch to text mode for this and later calls.
* Anything else fails that call (recorded, never hiding the other calls).

The classification of errors (transient or not, Retry-After, a rejected
structured mode) lives in :mod:`vs_common.providers`. ``Message``,
``StructuredMode`` and ``Usage`` are defined in :mod:`vs_common.types` and
re-exported here.

Example:
    >>> async def call(request: CallRequest) -> CallResponse:
    ...     return CallResponse(output='{"responses": [{"text": "hi", "probability": 1}]}')
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vs_common.types import Message, StructuredMode, Usage

__all__ = [
    "Call",
    "CallRequest",
    "CallResponse",
    "Message",
    "StructuredMode",
    "Usage",
    "redact_secrets",
]

TOOL_NAME = "submit_responses"


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
        prompt: Set for a completion request (``direct_base``): the plain
            text a base model continues (``POST /completions``, no chat
            template); ``messages`` is then empty. A backend that can only
            chat must refuse it (raise :class:`~vs_common.errors.VSConfigError`),
            never send it as a chat message.
        stop: Where the completion should end (sent as ``stop``).

    Example:
        >>> CallRequest(messages=[], prompt="Once upon a time").is_completion
        True
    """

    messages: list[Message]
    structured: StructuredMode = "text"
    schema: dict[str, Any] | None = None
    tool_name: str = TOOL_NAME
    call_index: int = 0
    attempt: int = 0
    prompt: str | None = None
    stop: tuple[str, ...] = ()

    @property
    def is_completion(self) -> bool:
        """Whether this is a plain-text completion request (``prompt`` is set)."""
        return self.prompt is not None


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
