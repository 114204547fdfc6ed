"""Lists: numbered, bulleted, ``Response 1:`` labels, bold labels, markdown headings.

A candidate starts at a start line (a heading, a label, a number or a
bullet) and runs until the next one; prose around and between lists is
skipped. Labels and numbering are not part of the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from vs_common.parsing._common import CAP_NOTE, CUT_NOTE, MAX_CANDIDATES, Pair, Reading, iter_lines
from vs_common.parsing._prose import (
    LABEL_ONLY_RE,
    LABEL_PREFIX_RE,
    LABELS,
    has_prob,
    split_prob,
    split_prob_lines,
)

# A start line: a markdown heading, a label ("Response 2 (30%):", "**Option:**"), a
# number ("1.", "(2)", "3)") or a bullet, indented a little (12 spaces covers nesting).
_START_RE = re.compile(
    rf"""^[ \t]{{0,12}}(?:
        (?P<heading>\#{{1,6}})[ \t]*(?P<hbody>.*)
      | (?P<label>(?:\*\*|__)?[ \t]*{LABELS}[ \t]*\#?[ \t]*\d{{0,4}}[ \t]*(?:\*\*|__)?
            [ \t]*(?:\([^()\n]{{0,80}}\))?[ \t]*(?:\*\*|__)?[ \t]*[:)\-\u2013\u2014][ \t]*
            (?:\*\*|__)?)(?P<lbody>.*)
      | (?P<number>\(?\d{{1,4}}[.):\]])[ \t]+(?P<nbody>.*)
      | (?P<bullet>[-*\u2022+])[ \t]+(?P<bbody>.*)
    )$""",
    re.X | re.I,
)
# Stronger structure first: a heading or a label owns the bullets under it.
_KINDS = ("heading", "label", "number", "bullet")
_BODY_GROUP = {"heading": "hbody", "label": "lbody", "number": "nbody", "bullet": "bbody"}
_MAX_START_LINE = 100_000  # a line this long is prose: the item patterns are not tried on it


@dataclass
class _Item:
    kind: str  # heading | label | number | bullet
    lines: list[str]
    stated: bool = False  # some line of it states a probability (set when merging)


def _items(lines: Iterable[tuple[int, str]]) -> tuple[list[_Item], bool]:
    """Group lines into items by their start lines; True if the last item ran to the end."""
    items: list[_Item] = []
    current: _Item | None = None
    blank = False
    closed: bool | None = None  # a number/bullet item whose first line stated a probability
    for _, line in lines:
        m = _START_RE.match(line) if len(line) < _MAX_START_LINE else None
        if m is not None:
            kind = next(k for k in _KINDS if m.group(k))
            body = m.group(_BODY_GROUP[kind])
            if len(items) > MAX_CANDIDATES:
                break  # garbage, not a distribution: stop reading
            current = _Item(kind, [m.group("label") + body if kind == "label" else body])
            items.append(current)
            blank = False
            closed = None
            continue
        if current is None:
            continue
        if closed is None:
            closed = current.kind in ("number", "bullet") and has_prob(current.lines[0])
        if closed:
            current = None  # the item ended with its probability; what follows is prose
            continue
        if not line.strip():
            blank = True
            continue
        if current.kind in ("number", "bullet") and blank:
            current = None  # a paragraph after a list item is prose, not more of the item
            continue
        if blank:
            current.lines.append("")
        current.lines.append(line)
        blank = False
    return items, current is not None


def _merge(items: list[_Item]) -> list[_Item]:
    """Fold items of a weaker kind into the strongest kind's items.

    A bullet under a heading, a label or a numbered item is part of it
    ("- Probability: 0.3"), unless both already state a probability: then it
    is a candidate of its own (a list split by prose into numbers and bullets).
    """
    main = next(k for k in _KINDS if any(it.kind == k for it in items))
    merged: list[_Item] = []
    for it in items:
        states = has_prob(it.lines[0])
        last = merged[-1] if merged else None
        if last is None or it.kind == main or (states and last.stated):
            merged.append(_Item(main, list(it.lines), states or any(map(has_prob, it.lines[1:]))))
        else:
            last.lines.extend(it.lines)
            last.stated = last.stated or states or any(map(has_prob, it.lines[1:]))
    return merged


def _pair(item: _Item) -> Pair:
    body = "\n".join(item.lines).strip()
    if item.kind != "heading":
        text, prob = split_prob(body)
        if prob is None and "\n" in body:
            text, prob = split_prob_lines(body)
        return text, prob
    first, _, rest = body.partition("\n")
    head_text, head_prob = split_prob(first)
    rest_text, rest_prob = split_prob(rest)
    text = rest_text or head_text
    # "### Response 1" only labels the text below it; "### The decaf joke" is part of it.
    label_only = LABEL_ONLY_RE.fullmatch(first.strip()) is not None
    if rest_text and not label_only and not LABEL_PREFIX_RE.match(first):
        text = f"{head_text}\n{rest_text}".strip()
    return text, head_prob if head_prob is not None else rest_prob


def read_list(text: str, truncated: bool) -> Reading | None:
    """Candidates from the list items in ``text``."""
    items, last_open = _items(iter_lines(text))
    if not items:
        return None
    if len({it.kind for it in items}) > 1:
        items = _merge(items)
    repairs: list[str] = []
    if len(items) > MAX_CANDIDATES:
        items = items[:MAX_CANDIDATES]
        last_open = False
        repairs.append(CAP_NOTE)
    if truncated and last_open and items:
        items.pop()
        repairs.append(CUT_NOTE)
    pairs = [p for p in map(_pair, items) if p[0]]
    if not pairs:
        return None
    if len(pairs) == 1 and pairs[0][1] is None and items[0].kind in ("number", "bullet"):
        return None  # one bullet in prose, with no probability, is not a distribution
    return Reading(pairs=pairs, repairs=repairs, spans=[(0, len(text))])
