"""``parse_distribution``: which reader reads a reply, and what it could not read.

The readers are tried in a fixed order (JSON, tags, tables, lists) and the
first that finds candidates reads the reply. The text it did not consume is
then given to the readers after it: if one of them finds candidates there,
the reply may hold more than was read, and ``repairs`` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSParseError
from vs_common.methods import Method
from vs_common.parsing._common import Reading, unread_text
from vs_common.parsing._json import read_json
from vs_common.parsing._lists import read_list
from vs_common.parsing._objects import read_object
from vs_common.parsing._tables import read_tables
from vs_common.parsing._tags import read_tags

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

Reader = Callable[[str, bool], Reading | None]
_READERS: tuple[tuple[str, Reader], ...] = (
    ("JSON", read_json),
    ("tag", lambda text, truncated: read_tags(text)),
    ("table", read_tables),
    ("list", read_list),
)
_WHOLE_REPLY = (Method.DIRECT, Method.MULTI_TURN)  # one response a reply: no structure to find


def coerce_text(output: Any) -> str | None:
    """The output as text (bytes read as UTF-8), or None for anything else."""
    if isinstance(output, str):
        return output
    if isinstance(output, bytes | bytearray):
        return bytes(output).decode("utf-8", errors="replace")
    return None


def _split_think(text: str) -> tuple[str, str | None]:
    """A leading ``<think>...</think>`` block (reasoning models) and the reply after it."""
    start = text.find(_THINK_OPEN)
    if start < 0 or text[:start].strip():
        return text, None
    end = text.find(_THINK_CLOSE, start)
    if end < 0:
        return text, None
    return text[end + len(_THINK_CLOSE) :], text[start + len(_THINK_OPEN) : end].strip() or None


def _note_unread(
    text: str, reading: Reading, shape: str, others: tuple[tuple[str, Reader], ...]
) -> None:
    """Record candidate-like text of another shape outside what ``reading`` consumed."""
    rest = unread_text(text, reading.spans)
    if not rest:
        return
    for name, reader in others:
        other = reader(rest, False)
        if other is None or not other.pairs:
            continue
        # One item without a probability is a title ("### Jokes"), not a missed candidate.
        if len(other.pairs) > 1 or other.pairs[0][1] is not None:
            reading.repairs.append(
                f"did not read {len(other.pairs)} {name} item(s) outside the {shape};"
                " they may be more candidates"
            )


def _read_text(text: str, method: Method | None, truncated: bool) -> Reading | None:
    if method in _WHOLE_REPLY:
        body = text.strip()
        return Reading(pairs=[(body, None)]) if body else None
    for i, (shape, reader) in enumerate(_READERS):
        reading = reader(text, truncated)
        if reading is None or not reading.pairs:
            continue
        if reading.complete:  # a reader that stopped early has said so already
            _note_unread(text, reading, shape, _READERS[i + 1 :])
        return reading
    if method is Method.COT and text.strip():
        return Reading(pairs=[(text.strip(), None)])
    return None


def _read_decoded(
    output: Mapping[Any, Any] | list[Any] | tuple[Any, ...], method: Method | None, truncated: bool
) -> Reading | None:
    """Tool-call arguments (or any decoded JSON value)."""
    reading = read_object(output)
    if reading is not None:
        return reading
    # Tool arguments can hold the reply as a JSON string: {"responses": "[{...}]"}.
    values = output.values() if isinstance(output, Mapping) else output
    joined: Reading | None = None
    sources = 0
    for v in values:
        if not (isinstance(v, str) and v.strip()[:1] in ("{", "[")):
            continue
        inner = _read_text(v, method, truncated)
        if inner is None:
            continue
        sources += 1
        if joined is None:
            joined = inner
        else:
            joined.extend(inner)
    if joined is not None and sources > 1:
        joined.repairs.append(f"joined the candidates of {sources} JSON strings in the arguments")
    return joined


def _read(output: Any, method: Method | None, truncated: bool) -> Reading | None:
    text = coerce_text(output)
    if text is None:
        if isinstance(output, Mapping | list | tuple):
            return _read_decoded(output, method, truncated)
        msg = f"unsupported output type {type(output).__name__}"
        raise VSParseError(msg, output)
    body, think = _split_think(text)
    reading = _read_text(body, method, truncated)
    if reading is not None and think and not reading.reasoning:
        reading.reasoning = think
    return reading


def parse_distribution(
    output: Any, *, method: Method | str | None = None, truncated: bool = False
) -> VerbalizedDistribution:
    r"""Recover the verbalized distribution from a model's output.

    Every candidate the reply holds is read, in the model's order: several
    JSON values one after another (JSON Lines), several fenced blocks, tag
    groups, tables or lists split by prose. Where the parser cannot be sure
    it read the whole reply, ``repairs`` says so.

    Args:
        output: The reply text, or an already-decoded object (tool-call
            arguments as a dict or list). Bytes are read as UTF-8.
        method: The prompting method, if known. ``direct`` and
            ``multi_turn`` read the whole reply as one response; ``cot``
            falls back to the whole reply; other methods (and None) need
            structure.
        truncated: The reply was cut off (finish_reason ``length``): the last
            list item is dropped as well as any unclosed JSON or tag candidate.

    Returns:
        The distribution, probabilities normalized, with what was repaired.

    Raises:
        VSParseError: No candidate could be recovered (``raw_output`` holds
            the output). No other exception escapes, whatever the input.

    Example:
        >>> parse_distribution("1. Decaf joke (probability: 0.4)\n2. Espresso joke (0.6)").texts
        ['Decaf joke', 'Espresso joke']
        >>> lines = '{"text": "A", "probability": 0.2}\n{"text": "B", "probability": 0.8}'
        >>> parse_distribution(lines).texts  # JSON Lines: one candidate a line
        ['A', 'B']
    """
    try:
        m = Method(method) if method is not None else None
    except ValueError:
        msg = f"unknown method {method!r}"
        raise VSParseError(msg, output) from None
    try:
        reading = _read(output, m, truncated)
    except VSParseError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        msg = f"could not read the output ({type(exc).__name__})"
        raise VSParseError(msg, output) from exc
    if reading is None:
        msg = "no candidate responses found in the model output"
        raise VSParseError(msg, output)
    dist = VerbalizedDistribution.from_pairs(
        reading.pairs, reasoning=reading.reasoning, repairs=reading.repairs
    )
    if not dist.candidates:
        msg = "every candidate in the model output had empty text"
        raise VSParseError(msg, output)
    return dist
