"""Reading one reply of any method: the paper's seven and the alternatives alike.

The adapters' parsers (a LangChain output parser, a LlamaIndex output parser
and workflow step) read a single reply. For the paper's methods that is
:func:`~vs_common.parsing.parse_distribution`; a method of
:mod:`vs_common.alternatives` has its own reader (SSoT's final answer,
SimpleStrat's strata). :func:`read_reply` chooses, so an adapter never does.

Example:
    >>> read_reply("<random_string>q8</random_string><answer>3</answer>", method="ssot").texts
    ['3']
    >>> read_reply('[{"text": "a", "probability": 1}]', method="vs_standard").texts
    ['a']
"""

from __future__ import annotations

from typing import Any

from vs_common.alternatives import alternative
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSParseError
from vs_common.methods import Method
from vs_common.parsing import StreamingParser, parse_distribution

__all__ = ["read_reply", "streaming_parser"]


def read_reply(
    output: Any,
    *,
    method: Method | str | None = None,
    truncated: bool = False,
    strict: bool = False,
) -> VerbalizedDistribution:
    """The distribution in one reply to ``method``'s prompt.

    Args:
        output: The reply text, or decoded tool-call arguments.
        method: The method whose prompt the reply answers (None: any shape).
        truncated: The reply was cut by max_tokens.
        strict: Raise where the reading is in doubt
            (:func:`~vs_common.parsing.parse_distribution`'s ``strict``; the
            alternatives' readers take an answer or strata as they are).

    Returns:
        The distribution (one candidate for an SSoT answer; SimpleStrat's
        strata, uniform, for its first call).

    Raises:
        VSParseError: Nothing could be read, and nothing else, whatever the input.
    """
    alt = alternative(method) if method is not None else None
    if alt is None:
        return parse_distribution(output, method=method, truncated=truncated, strict=strict)
    if not isinstance(output, str | dict | list | tuple):
        msg = f"a reply is text or decoded JSON, got a {type(output).__name__}"
        raise VSParseError(msg, raw_output=output)
    return alt.read(output, truncated)


def streaming_parser(
    method: Method | str | None = None, *, strict: bool = False
) -> StreamingParser:
    """A streaming parser for replies to ``method``'s prompt.

    The alternatives have no candidates to stream before the reply ends
    (one answer, or a short list of strata), so their stream is read whole
    at the end with :func:`read_reply`: the parser is that of a single
    answer, which yields nothing partial.

    Example:
        >>> streaming_parser("ssot").method
        <Method.DIRECT: 'direct'>
    """
    if method is not None and alternative(method) is not None:
        return StreamingParser(method=Method.DIRECT)
    return StreamingParser(method=method, strict=strict)
