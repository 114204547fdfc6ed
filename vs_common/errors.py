"""Error types of the core, split by fault.

* :class:`VSConfigError`: the caller passed a bad setting (a bad ``k``, ``n``,
  threshold, strategy...).
* :class:`VSParseError`: the model's output holds no recoverable candidate. It
  carries the raw output so nothing is lost. Its subclass :class:`VSParserBug`
  is the parser's own failure (a bug, not the model's), its cause chained.
* :class:`VSSamplingError`: a sampling run ended with fewer successful calls
  than the configured minimum. It carries the partial result and the failures.
* :class:`VSStructuredOutputUnsupported`: raised by a ``call`` when the server
  rejects tool calling or JSON-schema output, so the orchestration falls back
  to text mode.
* :class:`VSTransientError`: raised by a ``call`` for a failure worth retrying
  (rate limit, 5xx, timeout); ``retry_after`` honours a server's Retry-After.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: importing the errors stays free of pydantic
    from vs_common.types import CallFailure, CandidateView, DistributionView

__all__ = [
    "VSConfigError",
    "VSError",
    "VSParseError",
    "VSParserBug",
    "VSSamplingError",
    "VSStructuredOutputUnsupported",
    "VSTransientError",
]

_RAW_PREVIEW = 200


class VSError(Exception):
    """Base class of every error this project raises on purpose."""


class VSConfigError(VSError, ValueError):
    """A setting is invalid; the message names the field and the value."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class VSParseError(VSError, ValueError):
    """No candidate could be recovered from a model's output.

    Attributes:
        raw_output: The output exactly as received (text or decoded object).
        reason: A short description of what was wrong.
    """

    def __init__(self, reason: str, raw_output: Any) -> None:
        self.reason = reason
        self.raw_output = raw_output
        preview = raw_output if isinstance(raw_output, str) else repr(raw_output)
        if len(preview) > _RAW_PREVIEW:
            preview = preview[:_RAW_PREVIEW] + f"... ({len(preview)} chars)"
        super().__init__(f"{reason}; raw output: {preview!r}")


class VSParserBug(VSParseError):
    """The parser itself failed on an output: a bug in the parser, not the model's fault.

    A subclass of :class:`VSParseError`, so code that re-asks on a parse
    error keeps working (the promise "raises VSParseError and nothing else"
    holds), but tests and callers can tell it apart: the parser's own
    exception is chained as ``__cause__`` and logged at ERROR with its
    traceback on the ``vs_common.parsing`` logger, so it never passes for
    "no candidates".

    Example:
        >>> issubclass(VSParserBug, VSParseError)
        True
    """


class VSSamplingError(VSError):
    """Too few calls of a sampling run succeeded.

    Attributes:
        partial: The pooled distribution of the calls that did succeed (a
            :class:`~vs_common.distribution.VerbalizedDistribution`), or None.
        failures: One record per failed call, with the error it ended on.
    """

    def __init__(
        self,
        message: str,
        *,
        partial: DistributionView[CandidateView] | None,
        failures: list[CallFailure],
    ) -> None:
        super().__init__(message)
        self.partial = partial
        self.failures = failures


class VSStructuredOutputUnsupported(VSError):
    """The model or server rejected the structured-output mode that was asked for."""


class VSTransientError(VSError):
    """A failure worth retrying (rate limit, server error, timeout).

    Attributes:
        retry_after: Seconds the server asked to wait, if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
