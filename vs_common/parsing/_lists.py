"""Lists: numbered, bulleted, ``Response 1:`` labels, bold labels, markdown headings.

A candidate starts at a start line (a heading, a label, a number or a
bullet) and runs until the next one; a line that only states a probability
("Probability: 0.3", "- *Probability: 0.30*") belongs to the item above it.
Labels, numbering and markup are not part of the text.

Where the items could be read more than one way, the reading whose items
carry probabilities wins: items of another kind, or a run of items set apart
by a blank line or prose, that state no probability beside items that do are
notes ("- Tone: light", "## Responses"), not candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from vs_common.parsing._common import (
    CAP_NOTE,
    CUT_NOTE,
    LIST_SET,
    MAX_CANDIDATES,
    Pair,
    Reading,
    iter_lines,
    key_of,
)
from vs_common.parsing._prose import (
    LABEL_ONLY_RE,
    LABELS,
    MARK,
    split_prob,
    split_prob_lines,
    tidy,
)

_BOLD = r"(?:\*\*|__)?"
# A start line: a markdown heading, a label ("Response 2 (30%):", "**Option:**"), a
# number ("1.", "(2)", "3)", "**4.**") or a bullet, indented a little (12 spaces covers
# nesting).
_START_RE = re.compile(
    rf"""^[ \t]{{0,12}}(?:
        (?P<heading>\#{{1,6}})[ \t]*(?P<hbody>.*)
      | (?P<label>{_BOLD}[ \t]*{LABELS}{MARK}?[ \t]*{_BOLD}
            [ \t]*(?:\([^()\n]{{0,80}}\))?[ \t]*{_BOLD}[ \t]*[:)\-\u2013\u2014][ \t]*
            {_BOLD})(?P<lbody>.*)
      | (?P<alone>{_BOLD}[ \t]*{LABELS}{MARK}[ \t]*{_BOLD}
            [ \t]*(?:\([^()\n]{{0,80}}\))?[ \t]*{_BOLD})[ \t]*(?P<abody>)
      | (?P<number>{_BOLD}\(?\d{{1,4}}[.):\]]{_BOLD})[ \t]+(?P<nbody>.*)
      | (?P<bullet>[-*\u2022+])[ \t]+(?P<bbody>.*)
    )$""",
    re.X | re.I,
)
# Stronger structure first: a heading or a label owns the bullets under it.
_KINDS = ("heading", "label", "number", "bullet")
_GROUPS = {"heading": "hbody", "label": "lbody", "alone": "abody", "number": "nbody",
           "bullet": "bbody"}  # fmt: skip
_MAX_START_LINE = 100_000  # a line this long is prose: the item patterns are not tried on it
_BULLET_RE = re.compile(r"[ \t]*[-*\u2022+][ \t]+")


@dataclass
class _Item:
    kind: str  # heading | label | number | bullet
    first: str  # the start line without its number, bullet or heading marks
    lines: list[str] = field(default_factory=list)  # the lines after it
    probs: list[float | None] = field(default_factory=list)  # from probability-only lines
    after_open: bool = False  # it began while the item above was still open
    gap_before: bool = False  # a blank line or prose since the item above
    said: bool = False  # a probability-only line came: lines after it are not the text
    _head: Pair | None = None

    def head(self) -> Pair:
        """The start line's text (labels and probability out) and its probability."""
        if self._head is None:
            self._head = split_prob(self.first)
        return self._head

    def stated(self) -> bool:
        return bool(self.probs) or self.head()[1] is not None or _body_prob(self) is not None


def prob_only(line: str) -> float | bool | None:
    """The probability a line states when it states nothing else; False if it says more."""
    body = _BULLET_RE.sub("", line, count=1) if _BULLET_RE.match(line) else line
    text, prob = split_prob(body)
    if prob is None or text:
        return False
    return prob


def _items(lines: Iterable[tuple[int, str]]) -> tuple[list[_Item], bool]:
    """Group lines into items by their start lines; True if the last item ran to the end."""
    items: list[_Item] = []
    current: _Item | None = None
    blank = gap = False
    for _, line in lines:
        stripped = line.strip()
        m = _START_RE.match(line) if len(line) < _MAX_START_LINE else None
        if current is not None and current.said and m is None and stripped and _done(current):
            continue  # after its probability an item's text is done: "Why: a pun." is not it
        if current is not None and stripped and (m is None or m.group("bullet")):
            value = prob_only(stripped)
            if value is not False:  # "Probability: 0.3" under an item belongs to it
                current.probs.append(value if isinstance(value, float) else None)
                current.said = True
                blank = False
                continue
        if m is not None:
            if len(items) > MAX_CANDIDATES:
                break  # garbage, not a distribution: stop reading
            group = next(g for g in _GROUPS if m.group(g))
            body = m.group(_GROUPS[group])
            if group == "heading" and key_of(tidy(body)) in LIST_SET:
                current, gap = None, True  # "## Responses" titles the list: prose
                continue
            kind = "label" if group == "alone" else group
            first = m.group(group) + body if kind == "label" else body
            current = _Item(kind, first, after_open=current is not None, gap_before=gap)
            current.head()  # every item's start line is read once, before any copy of it
            items.append(current)
            blank = gap = False
            continue
        if not stripped:
            blank = gap = True
            if current is not None and _done(current):
                current = None  # its text and probability are read: what follows is not it
            continue
        if current is None:
            gap = True
            continue
        if _continues(current, line, blank):
            if blank and current.lines:
                current.lines.append("")
            current.lines.append(stripped)
            blank = False
        else:
            current = None
            gap = True
    return items, current is not None


def _done(item: _Item) -> bool:
    """An item with its text and its probability read: a blank line ends it."""
    text, prob = item.head()
    has_text = bool(item.lines) or (bool(text) and LABEL_ONLY_RE.fullmatch(text) is None)
    return has_text and (prob is not None or bool(item.probs))


def _continues(item: _Item, line: str, blank: bool) -> bool:
    """Whether a line that starts nothing is more of ``item``'s text."""
    if item.kind in ("number", "bullet"):
        if item.head()[1] is not None and not item.probs and _has_text(item):
            return False  # "1. text (0.3)" is whole: a line after it is prose
        return not blank or line[:1] in " \t"  # a paragraph after a list item is prose
    return not (blank and _done(item))


def _has_text(item: _Item) -> bool:
    text = item.head()[0]
    return bool(text) and LABEL_ONLY_RE.fullmatch(text) is None


def _body_prob(item: _Item) -> float | None:
    if not item.lines:
        return None
    return split_prob_lines("\n".join(item.lines))[1]


def _main_kind(items: list[_Item]) -> str:
    """The kind of the candidates.

    The kind that, with the items of weaker kinds folded into its own, gives the
    most candidates stating a probability; on a tie the one that had to take the
    fewest items of another kind as candidates ("## Jokes" over a numbered list
    titles it), then the stronger kind (a heading owns the bullets under it).
    When none states a probability, the strongest kind with more than one item.
    """
    present = [k for k in _KINDS if any(it.kind == k for it in items)]
    scores = {}
    for kind in present:
        merged = _merge(items, kind)
        stated = sum(1 for it in merged if it.stated())
        scores[kind] = (stated, -sum(1 for it in merged if it.kind != kind))
    best = max(present, key=lambda k: scores[k])  # max keeps the first (strongest) on a tie
    if scores[best][0]:
        return best
    counts = {k: sum(1 for it in items if it.kind == k) for k in present}
    return next((k for k in present if counts[k] > 1), present[0])


def _merge(items: list[_Item], main: str) -> list[_Item]:
    """The items of kind ``main``, with the items of other kinds folded in or set aside.

    A bullet under a heading, a label or a numbered item (an item of a weaker
    kind), begun while that item was open, is part of it ("- Text: ..."),
    unless both state a probability. An item of another kind that states a
    probability of its own is a candidate (a list split by prose into numbers
    and bullets); any other is a note. Items taken as candidates keep their
    kind, so the caller can tell them apart.
    """
    merged: list[_Item] = []
    target: _Item | None = None  # the candidate the item above went into
    for it in items:
        if it.kind == main:
            target = replace(it, lines=list(it.lines), probs=list(it.probs))
            merged.append(target)
        elif _folds(it, main) and target is not None and not (it.stated() and target.stated()):
            target.lines.extend([it.first, *it.lines])
            target.probs.extend(it.probs)
        elif it.stated():
            target = replace(it, lines=list(it.lines), probs=list(it.probs))
            merged.append(target)
        else:
            target = None
    return merged


def _drop_notes(items: list[_Item]) -> list[_Item]:
    """Beside candidates that state probabilities, items set apart that state none are notes.

    A run of items without a probability before the first item that states
    one, or after the last, set apart from it by a blank line or prose, goes;
    so does a title (a heading or label with no text under it) before it.
    Items without a probability among others that state one stay: the model
    forgot a probability.
    """
    flags = [it.stated() for it in items]
    if not any(flags):
        return items
    first = flags.index(True)
    last = len(flags) - 1 - flags[::-1].index(True)
    # Items before ``first`` stay only after the last gap up to it; items after ``last``
    # only before the first gap after it.
    start = max((j for j in range(1, first + 1) if items[j].gap_before), default=0)
    stop = next((j for j in range(last + 1, len(items)) if items[j].gap_before), len(items))
    return [
        it
        for i, it in enumerate(items)
        if first <= i <= last or (start <= i < first and not _title(it)) or last < i < stop
    ]


def _title(it: _Item) -> bool:
    return it.kind in ("heading", "label") and not it.lines and not it.stated()


def _pair(item: _Item) -> Pair:
    head_text, head_prob = item.head()
    prob = (
        head_prob if head_prob is not None else next((p for p in item.probs if p is not None), None)
    )
    body = "\n".join(item.lines).strip()
    body_text, body_prob = split_prob(body) if body else ("", None)
    if body_prob is None and "\n" in body:
        body_text, body_prob = split_prob_lines(body)
    if prob is None:
        prob = body_prob
    elif body_prob is not None:
        body_text = tidy(body)  # the first statement counts; the body keeps its words
    # "### Response 1" or "**Option 2**" only labels the text below it.
    label_only = LABEL_ONLY_RE.fullmatch(head_text) is not None or not head_text
    if not body_text:
        text = "" if label_only and item.kind == "heading" else head_text
    elif label_only:
        text = body_text
    else:
        text = f"{head_text}\n{body_text}"
    return tidy(text), prob


def read_list(text: str, truncated: bool) -> Reading | None:
    """Candidates from the list items in ``text``."""
    items, last_open = _items(iter_lines(text))
    repairs: list[str] = []
    cut: _Item | None = None
    if truncated and last_open and items:
        cut = items.pop()  # the reply stopped inside it
        repairs.append(CUT_NOTE)
    if not items:
        return None
    if len({it.kind for it in items}) > 1 or (cut is not None and cut.kind != items[0].kind):
        main = _main_kind(items)
        items = _merge(items, main)
        if cut is not None and items and _folds(cut, main):
            items.pop()  # the cut item was a part of the candidate above it ("- Text: ...")
    items = _drop_notes(items)
    if len(items) > MAX_CANDIDATES:
        items = items[:MAX_CANDIDATES]
        repairs.append(CAP_NOTE)
    pairs = [p for p in map(_pair, items) if p[0]]
    if not pairs:
        return None
    if len(pairs) == 1 and pairs[0][1] is None and items[0].kind in ("number", "bullet"):
        return None  # one bullet in prose, with no probability, is not a distribution
    return Reading(pairs=pairs, repairs=repairs, spans=[(0, len(text))])


def _folds(item: _Item, main: str) -> bool:
    """Whether ``item`` would be folded into the candidate above it."""
    return item.after_open and _KINDS.index(item.kind) > _KINDS.index(main)
