"""Shared types of the core: a leaf module that imports nothing of ``vs_common``.

Every other core module may import from here, so no import cycle can form
through these names (a test pins that the core's import graph has none).

* :data:`Message`, :data:`StructuredMode`: what a call sends.
* :class:`Usage`: token usage of one call or several.
* :data:`Strategy`: the selection strategies.
* :class:`CallFailure`: a call of a run that ended without candidates.
* :class:`DistinctStats`, :data:`StopReason`: what a distinct-N run did
  (:mod:`vs_common.distinct`).
* :class:`CandidateView`, :class:`DistributionView`: what selection and the
  error types read of a candidate and a distribution
  (:class:`~vs_common.distribution.VerbalizedDistribution` is one), so
  neither needs to import the distribution module.

Example:
    >>> (Usage(prompt_tokens=3) + Usage(completion_tokens=4)).total_tokens
    7
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "CallFailure",
    "CandidateView",
    "DistinctStats",
    "DistributionView",
    "Message",
    "StopReason",
    "Strategy",
    "StructuredMode",
    "Usage",
]

Message = dict[str, str]
"""A chat message as a dict with ``role`` and ``content``."""

StructuredMode = Literal["tool", "json_schema", "text"]
"""How one call asks for structure: a forced tool call, a JSON-schema
response format, or plain text read by the robust parser."""

Strategy = Literal["weighted", "uniform", "argmax", "tail", "temperature"]
"""How one candidate is chosen from a distribution (see :mod:`vs_common.selection`)."""


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


class CallFailure(BaseModel):
    """A call of a sampling run that ended without candidates.

    Attributes:
        call_index: Which call (0-based) failed.
        attempts: How many tries were made (retries and re-asks included).
        error_type: The exception class name of the last error.
        message: Its message.
        raw_output: The last unparseable reply, when that was the problem.

    Example:
        >>> CallFailure(call_index=2, attempts=3, error_type="TimeoutError", message="").call_index
        2
    """

    model_config = ConfigDict(frozen=True)

    call_index: int
    attempts: int
    error_type: str
    message: str
    raw_output: str | None = None


class CandidateView(Protocol):
    """What selection reads of a candidate (:class:`~vs_common.distribution.Candidate`)."""

    @property
    def text(self) -> str:
        """The response text."""
        ...

    @property
    def probability(self) -> float:
        """The normalized probability."""
        ...

    @property
    def raw_probability(self) -> float | None:
        """The probability as the model stated it, if usable."""
        ...


C_co = TypeVar("C_co", bound=CandidateView, covariant=True)


class DistributionView(Protocol[C_co]):
    """What selection and :class:`~vs_common.errors.VSSamplingError` read of a distribution.

    :class:`~vs_common.distribution.VerbalizedDistribution` is one; its
    candidates' type is kept, so ``select(dist)`` returns a ``Candidate``.
    """

    @property
    def candidates(self) -> Sequence[C_co]:
        """The candidates, in order."""
        ...

    @property
    def failures(self) -> Sequence[CallFailure]:
        """The calls that failed."""
        ...

    @property
    def num_calls(self) -> int:
        """Calls made."""
        ...

    @property
    def texts(self) -> list[str]:
        """The candidate texts, in order."""
        ...

    @property
    def probabilities(self) -> npt.NDArray[np.float64]:
        """Normalized probabilities that sum to 1."""
        ...


#: Why a distinct-N run (:func:`vs_common.distinct.run_distinct`) stopped.
StopReason = Literal["reached_n", "budget", "repeating", "failing"]


class DistinctStats(BaseModel):
    """What a distinct-N run did.

    Attributes:
        wanted: Distinct candidates asked for (n).
        distinct: Distinct candidates held at the end (at most n).
        calls: Calls made (retries and re-asks not counted).
        rounds: Rounds of calls.
        stop_reason: ``reached_n``, ``budget``, ``repeating`` (``patience``
            rounds added nothing new) or ``failing`` (``patience`` rounds
            failed).
        duplicates: Candidates merged into one already held, by key.
        semantic_duplicates: Candidates merged by meaning (embedder).
        dropped: Distinct candidates beyond n, left out.
        follow_up_calls: Calls that were follow-ups (the rest were fresh).
        new_per_round: New distinct candidates each round brought.

    Example:
        >>> DistinctStats(
        ...     wanted=3, distinct=3, calls=2, rounds=2, stop_reason="reached_n"
        ... ).duplicates
        0
    """

    model_config = ConfigDict(frozen=True)

    wanted: int
    distinct: int
    calls: int
    rounds: int
    stop_reason: StopReason
    duplicates: int = 0
    semantic_duplicates: int = 0
    dropped: int = 0
    follow_up_calls: int = 0
    new_per_round: list[int] = Field(default_factory=list)
