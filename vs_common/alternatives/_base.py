"""What a method beyond the paper's seven declares, and what the runner hands it.

A method is an :class:`Alternative`: its instruction and schema (of its first
call, what ``build_messages`` and ``response_schema`` give), the reader of
that call's reply, and, for a method of several calls per sample, a
``program`` that makes them through the runner's :class:`Ask` (so every call
gets the one policy of :mod:`vs_common.sampling`: retries, re-asks, the
structured-output fallback, usage summed over all of them).

This module imports nothing of the core but the shared types (the
distribution only for type checking), so :mod:`vs_common.methods` reads the
instructions without a cycle and without loading numpy.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from vs_common.types import Message

if TYPE_CHECKING:  # the prompts (what vs_common.methods reads) load no numpy
    import numpy as np

    from vs_common.distribution import VerbalizedDistribution

__all__ = [
    "Alternative",
    "Ask",
    "Compose",
    "Context",
    "Output",
    "Program",
    "Reader",
    "distribution_of",
    "loads_lenient",
]

_MAX_REPAIR_CHARS = 20_000
_MAX_BRACKETS = 64

#: A reply as the call returns it: text, or decoded tool-call arguments.
Output: TypeAlias = str | Mapping[str, Any] | Sequence[Any]
#: Reads one reply (and whether it was cut by max_tokens); raises VSParseError.
Reader: TypeAlias = "Callable[[Output, bool], VerbalizedDistribution]"


class Ask(Protocol):
    """One call of a program, under the run's policy; returns what ``read`` made of the reply.

    Raises the runner's failure when the call fails after its retries and
    re-asks: the program stops there and the sample is recorded as failed.
    """

    def __call__(
        self, messages: list[Message], *, schema: dict[str, Any] | None, read: Reader
    ) -> Awaitable[VerbalizedDistribution]:
        """Ask; ``schema`` None asks for plain text."""
        ...


class Compose(Protocol):
    """The messages of one call: ``instruction`` as the system turn, then the user's prompt.

    ``addendum`` is appended to the last user turn (SimpleStrat's stratum).
    """

    def __call__(self, instruction: str, *, addendum: str | None = None) -> list[Message]:
        """Build the messages."""
        ...


@dataclass(frozen=True)
class Context:
    """What the runner hands a program for one sample.

    Attributes:
        ask: Makes one call (see :class:`Ask`).
        compose: Builds a call's messages around the user's prompt.
        k: The config's ``k`` (SimpleStrat: strata to list; None: the model decides).
        word_hint: The config's word hint, or None.
        rng: This sample's generator (seeded from the run's seed, the call
            index and the prompt), for the program's own draws.
        direct_instruction: The paper's Direct instruction (with the word hint).
    """

    ask: Ask
    compose: Compose
    k: int | None
    word_hint: int | None
    rng: np.random.Generator
    direct_instruction: str


#: A method of several calls per sample: makes them and returns the sample.
Program: TypeAlias = "Callable[[Context], Awaitable[VerbalizedDistribution]]"


@dataclass(frozen=True)
class Alternative:
    """A prompting method people compare VS with, declared in one module.

    Attributes:
        name: The :class:`~vs_common.methods.Method` value.
        label: The display name (reports, tables).
        source: Where the method comes from.
        cost: What one sample costs, in calls and tokens.
        calls_per_sample: Model calls per sample.
        instruction: ``(k, word_hint) -> str``: the system instruction of its
            first call.
        schema: ``k -> dict | None``: the JSON schema of its first call's
            reply (tool / JSON-schema mode), None for text only.
        read: The reader of its first call's reply.
        program: For several calls per sample, the program that makes them;
            None: one call per sample, read with ``read``.

    Example:
        >>> from vs_common.alternatives import ALTERNATIVES
        >>> [(a.name, a.calls_per_sample) for a in ALTERNATIVES.values()]
        [('ssot', 1), ('simplestrat', 2)]
    """

    name: str
    label: str
    source: str
    cost: str
    calls_per_sample: int
    instruction: Callable[[int | None, int | None], str]
    schema: Callable[[int | None], dict[str, Any] | None]
    read: Reader
    program: Program | None = None


def distribution_of(
    pairs: list[tuple[str, float | None]], *, reasoning: str | None = None
) -> VerbalizedDistribution:
    """``VerbalizedDistribution.from_pairs``, imported on the first reply read.

    The prompts (what :mod:`vs_common.methods` reads here) stay free of numpy.
    """
    from vs_common.distribution import VerbalizedDistribution

    return VerbalizedDistribution.from_pairs(pairs, reasoning=reasoning)


def loads_lenient(span: str) -> Any:
    """JSON from a model: raw newlines in strings allowed, then json-repair; None if neither.

    json-repair (single quotes, trailing commas, missing quotes) recurses per
    bracket, so it only sees spans of at most 20,000 characters and 64
    brackets: a megabyte of ``[`` is refused, not a RecursionError.

    Example:
        >>> loads_lenient("['a', 'b',]")
        ['a', 'b']
    """
    try:
        return json.loads(span, strict=False)  # strict=False: control characters in strings
    except (ValueError, RecursionError):
        pass
    if len(span) > _MAX_REPAIR_CHARS or span.count("[") + span.count("{") > _MAX_BRACKETS:
        return None
    import json_repair  # as the parser does, on first use

    try:
        return json_repair.loads(span)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None
