"""What every reply shape shares: the result type, key aliases, numbers, lines."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Pair = tuple[str, float | None]
"""One candidate as read: its text and the probability the model stated (or None)."""

MAX_CANDIDATES = 1000  # k is at most 100; more than this is garbage, not a distribution
CUT_NOTE = "dropped 1 candidate cut off at the end of the output"
CAP_NOTE = f"kept the first {MAX_CANDIDATES} candidates"


@dataclass
class Reading:
    """The candidates one reader recovered, and the part of the reply it read.

    Attributes:
        pairs: (text, stated probability) in the model's order.
        reasoning: VS-CoT reasoning, if the reply held any.
        item_depth: How many JSON containers enclose each candidate (a bare
            list's items: 1; ``{"responses": [...]}``: 2; a lone object: 0).
            A reply cut off deeper than this is inside its last candidate.
        repairs: What the reader had to fix or could not read.
        spans: (start, end) of the stretches of text the reader consumed; the
            rest is checked for candidates of another shape.
        complete: False when the reader stopped before the end of the text
            (and said so in ``repairs``): what it skipped is not checked again.
        unsure: The repairs that doubt the reading itself (more candidates may
            exist, or a probability was guessed): ``strict=True`` raises on them.
        envelope: The candidates came out of an envelope (a chat message, a
            tool call): its reply was read as a whole, cut-off candidate included.
    """

    pairs: list[Pair]
    reasoning: str | None = None
    item_depth: int = 1
    repairs: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    complete: bool = True
    unsure: list[str] = field(default_factory=list)
    envelope: bool = False

    def doubt(self, note: str) -> None:
        """Record a repair that leaves the reading in doubt."""
        if note not in self.repairs:
            self.repairs.append(note)
        if note not in self.unsure:
            self.unsure.append(note)

    def extend(self, other: Reading) -> None:
        """Append another value's candidates (the later value decides the depth)."""
        self.pairs.extend(other.pairs)
        self.reasoning = self.reasoning or other.reasoning
        self.item_depth = other.item_depth
        self.repairs.extend(r for r in other.repairs if r not in self.repairs)
        self.unsure.extend(r for r in other.unsure if r not in self.unsure)

    @property
    def stated(self) -> int:
        """How many candidates state a probability."""
        return sum(1 for _, p in self.pairs if p is not None)


def unread_text(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The text outside ``spans`` (sorted by start; they may overlap), one gap a line."""
    gaps: list[str] = []
    pos = 0
    for start, end in spans:
        if start > pos:
            gaps.append(text[pos:start])
        pos = max(pos, end)
    gaps.append(text[pos:])
    return "\n".join(g for g in gaps if g.strip())


def mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the stretches in ``spans`` blanked (lines kept, positions kept)."""
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start = max(start, pos)
        if end <= start:
            continue
        parts.append(text[pos:start])
        parts.append(re.sub(r"[^\n]", " ", text[start:end]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


@functools.lru_cache(maxsize=1024)  # a dozen lookups a reply, mostly the same few keys
def key_of(name: str) -> str:
    """A key or tag name compared loosely: ``Response_Text`` == ``responsetext``."""
    return name.strip().lower().replace("_", "").replace(" ", "").replace("-", "")


TEXT_KEYS = (
    "text", "response", "content", "answer", "output", "joke", "story", "poem",
    "reply", "message", "completion", "value", "idea", "sample", "candidate",
)  # fmt: skip
PROB_KEYS = (
    "probability", "prob", "p", "confidence", "likelihood", "weight", "percentage",
    "percent", "score", "probabilities",
)  # fmt: skip
LIST_KEYS = (
    "responses", "candidates", "answers", "outputs", "results", "items", "options",
    "choices", "samples", "jokes", "stories", "poems", "ideas", "completions",
    "distribution", "data", "list",
)  # fmt: skip
REASON_KEYS = ("reasoning", "thinking", "thought", "thoughts", "rationale", "analysis")

TEXT_SET = frozenset(key_of(k) for k in TEXT_KEYS)
PROB_SET = frozenset(key_of(k) for k in PROB_KEYS)
LIST_SET = frozenset(key_of(k) for k in LIST_KEYS)
REASON_SET = frozenset(key_of(k) for k in REASON_KEYS)

# A number as models write it: bounded digit runs keep the regular expressions linear.
NUM = r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][+-]?\d{1,3})?"
_PROB_STR_RE = re.compile(rf"({NUM})\s*(%)?", re.ASCII)
_NUMBER_ONLY_RE = re.compile(rf"\s*{NUM}\s*%?\s*", re.ASCII)
_MAX_PROB_STR = 64  # "0.3", "30 %", "about 0.3": a longer string is prose, not a number


def to_prob(value: Any) -> float | None:
    """A stated probability as a float (percent signs divided out), or None."""
    if type(value) is float:  # the common case, first
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            f = float(value)
        except OverflowError:
            return None
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        s = value.strip()
        if not s or len(s) > _MAX_PROB_STR:
            return None
        m = _PROB_STR_RE.search(s)
        if m is None:
            return None
        try:
            f = float(m.group(1))
        except (ValueError, OverflowError):
            return None
        if not math.isfinite(f):
            return None
        return f / 100.0 if m.group(2) else f
    return None


def is_number(value: Any) -> bool:
    """True for a number, or a string that is only a number ("0.3", "30%")."""
    if isinstance(value, str):
        return len(value) <= _MAX_PROB_STR and _NUMBER_ONLY_RE.fullmatch(value) is not None
    return isinstance(value, int | float) and not isinstance(value, bool)


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of each line, lazily, so a reader may stop early."""
    pos = 0
    n = len(text)
    while pos < n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        yield pos, text[pos:end].rstrip("\r")
        pos = end + 1
