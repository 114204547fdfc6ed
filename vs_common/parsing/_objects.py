"""Decoded JSON values: tool-call arguments, and every JSON value read from text.

Where the candidates sit in a decoded value is a guess made in a fixed order:
a list of candidates (under a known key first), then a lone candidate object,
then candidate objects keyed by name, then texts keyed to their probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vs_common.parsing._common import (
    CAP_NOTE,
    LIST_SET,
    MAX_CANDIDATES,
    PROB_SET,
    REASON_SET,
    TEXT_SET,
    Pair,
    Reading,
    is_number,
    key_of,
    to_prob,
)

_MAX_SEARCH_DEPTH = 4  # candidates sit a few keys deep at most: {"data": {"responses": [..]}}


def read_object(obj: Any, depth: int = 0) -> Reading | None:
    """The candidates in a decoded JSON value that ``depth`` containers enclose."""
    if depth > _MAX_SEARCH_DEPTH:
        return None
    if isinstance(obj, list | tuple):
        return _read_list(obj, depth)
    if not isinstance(obj, Mapping):
        return None
    reading = _read_mapping(obj, depth)
    if reading is not None:
        reading.reasoning = reading.reasoning or reasoning_of(obj)
    return reading


def item_pair(item: Any) -> Pair | None:
    """One list item as a candidate, or None if it is not one.

    A string is a text without a probability (unless it is a JSON object
    with a text key: tool calls send items so); a ``[text, probability]`` pair
    is read in order; an object gives its first text key and its first
    probability key, and an object without a text key, with a probability
    key and exactly one string value (``{"setup": "...", "p": 0.3}``) gives
    that string.
    """
    if isinstance(item, str):
        return _json_item(item) or (item, None)
    if isinstance(item, Mapping):
        text: str | None = None
        prob: float | None = None
        prob_seen = False
        lone_strings: list[str] = []
        for k, v in item.items():
            if not isinstance(k, str):
                continue
            kk = key_of(k)
            if kk in TEXT_SET and text is None:
                text = _as_text(v)
            elif kk in PROB_SET and not prob_seen:
                prob_seen = True  # the first probability key counts, even when unusable
                prob = to_prob(v)
            elif isinstance(v, str):
                lone_strings.append(v)
        if text is None and prob_seen and len(lone_strings) == 1:
            text = lone_strings[0]  # {"setup": "...", "p": 0.3}; never {"role": "user"}
        return None if text is None else (text, prob)
    if isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], str):
        return (item[0], to_prob(item[1]))
    return None


def _json_item(item: str) -> Pair | None:
    """A candidate object written as a JSON string, as some tool calls send each item."""
    s = item.strip()
    if not (s.startswith("{") and s.endswith("}")):
        return None
    try:
        value = json.loads(s, parse_int=float, strict=False)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, Mapping) or not any(
        isinstance(k, str) and key_of(k) in TEXT_SET for k in value
    ):
        return None  # '{"a": "b"}' is a text that happens to look like JSON
    return item_pair(value)


def _as_text(value: Any) -> str | None:
    """A text key's value as text: a string, a number, or a nested ``{"text": ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and key_of(k) in TEXT_SET and isinstance(v, str):
                return v
    return None


def reasoning_of(obj: Mapping[str, Any]) -> str | None:
    for k, v in obj.items():
        if isinstance(k, str) and key_of(k) in REASON_SET and isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _read_list(items: Sequence[Any], depth: int) -> Reading | None:
    pairs = [p for p in (item_pair(it) for it in items[:MAX_CANDIDATES]) if p is not None]
    if pairs:
        reading = Reading(pairs=pairs, item_depth=depth + 1)
        if len(items) > MAX_CANDIDATES:
            reading.repairs.append(CAP_NOTE)
        return reading
    # No item is a candidate itself: a list of lists or of reply objects (several
    # replies batched into one array) holds the candidates of each, in order.
    return _join(items[:MAX_CANDIDATES], depth + 1)


def _read_mapping(obj: Mapping[Any, Any], depth: int) -> Reading | None:
    lists = [(k, v) for k, v in obj.items() if isinstance(k, str) and isinstance(v, list | tuple)]
    known_first = sorted(lists, key=lambda kv: key_of(kv[0]) not in LIST_SET)  # stable
    chosen: Reading | None = None
    for k, v in known_first:
        reading = read_object(v, depth + 1)
        if reading is None:
            continue
        if chosen is None:
            chosen = reading
        elif reading.stated or not chosen.stated:
            # One list is the reply; another one like it is noted, not mixed in (a list
            # of plain strings beside candidates with probabilities is not one).
            chosen.doubt(f"did not read {len(reading.pairs)} candidate-like item(s) under {k!r}")
    if chosen is not None:
        return chosen
    if any(isinstance(k, str) and key_of(k) in TEXT_SET for k in obj):
        single = item_pair(obj)
        if single is not None and single[0].strip():
            return Reading(pairs=[single], item_depth=depth)
    # {"response_1": {"text": ...}, "response_2": {...}}: one candidate object per key
    joined = _join([v for v in obj.values() if isinstance(v, Mapping)], depth + 1)
    if joined is not None:
        return joined
    return _texts_as_keys(obj, depth)


def _join(values: Sequence[Any], depth: int) -> Reading | None:
    """The candidates of each value in turn (values holding none are skipped)."""
    joined: Reading | None = None
    for v in values:
        if not isinstance(v, list | tuple | Mapping):
            continue
        reading = read_object(v, depth)
        if reading is None:
            continue
        if joined is None:
            joined = reading
        else:
            joined.extend(reading)
        if len(joined.pairs) >= MAX_CANDIDATES:
            del joined.pairs[MAX_CANDIDATES:]
            joined.repairs.append(CAP_NOTE)
            break
    return joined


def _texts_as_keys(obj: Mapping[Any, Any], depth: int) -> Reading | None:
    """``{"a joke": 0.3, "another": 0.7}``: texts as keys, probabilities as values.

    Every entry must be one (two or more of them, no alias keys), or any
    object with numbers in it would pass for a distribution.
    """
    numeric = [(k, to_prob(v)) for k, v in obj.items() if isinstance(k, str) and is_number(v)]
    usable = len(numeric) >= 2 and len(numeric) == len(obj)
    usable = usable and all(p is not None for _, p in numeric)
    if usable and not any(key_of(k) in PROB_SET | TEXT_SET for k, _ in numeric):
        return Reading(pairs=list(numeric), item_depth=depth + 1)
    return None
