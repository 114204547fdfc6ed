"""``StreamingParser``: candidates handed out as a streamed reply completes them."""

from __future__ import annotations

import re

from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSParseError
from vs_common.methods import Method
from vs_common.parsing._parse import coerce_text, parse_distribution

# Up to this size every boundary re-parses the text; past it, only after the text grew
# by an eighth, so a long stream costs a bounded number of whole parses per doubling.
_STREAM_EAGER = 16 * 1024
_GROWTH = 8
_BOUNDARY_RE = re.compile(r'[\\"{}\[\]\n>]')  # what can end a candidate: JSON, a line, a tag
_ELEMENT_DEPTH = 3  # a JSON value closing at this depth or above may end a candidate
_PERCENT_NOTE = "read probabilities as percentages"
_THINK_END = "</think>"

Said = tuple[str, float | None]
"""A candidate as the model said it: its text and its probability in the unit it used."""


def _said(dist: VerbalizedDistribution) -> list[Said]:
    """Each candidate's text and stated probability, percent units undone.

    The unit is decided over the whole reply: "1" then "30" turns the first into 0.01.
    """
    scale = 100.0 if _PERCENT_NOTE in dist.repairs else 1.0
    return [
        (c.text, None if c.raw_probability is None else round(c.raw_probability * scale, 9))
        for c in dist.candidates
    ]


class StreamingParser:
    """Incremental parser: feed chunks, get each candidate once it is complete.

    A candidate is handed out only when nothing later in the stream can
    change it: its JSON object or ``<response>`` tag has closed, or the next
    list item or table row has begun, so a probability is never half read.
    What it hands out is always the start of what :meth:`close` returns: a
    candidate with no probability is held back until one follows that has
    one (a list of notes before the candidates states none), and if a later
    reading disagrees with what was handed out, nothing more is handed out
    before ``close()``. ``close()`` returns the final distribution, identical
    to :func:`parse_distribution` on the whole text.

    Example:
        >>> sp = StreamingParser()
        >>> sp.feed('{"responses": [{"text": "A", "probability": 0.')
        []
        >>> [c.text for c in sp.feed('4}, {"text": "B", ')]
        ['A']
        >>> sp.close().texts
        ['A']
    """

    def __init__(
        self, *, method: Method | str | None = None, strict: bool = False, thinking: bool = False
    ) -> None:
        """Start an empty stream.

        Args:
            method: As for :func:`parse_distribution`.
            strict: As for :func:`parse_distribution`, applied by :meth:`close`.
            thinking: The reply opens with reasoning whose ``<think>`` tag was in
                the prompt (DeepSeek-R1 served raw): nothing before ``</think>``
                is read while streaming (drafts in it look like candidates).
        """
        self.method = method
        self.strict = strict
        self._chunks: list[str] = []
        self._emitted: list[Said] = []
        self._stalled = False
        self._size = 0
        self._next_parse_at = 0
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._new_line = False  # a line ended: the next text may begin the next item
        self._thinking = thinking
        self._current: VerbalizedDistribution | None = None
        m = Method(method) if method is not None else None
        self._single = m in (Method.DIRECT, Method.DIRECT_BASE, Method.MULTI_TURN, Method.COT)
        self._unstated_ok = m is Method.SEQUENCE  # no probabilities are asked for

    @property
    def text(self) -> str:
        """Everything fed so far."""
        if len(self._chunks) > 1:
            self._chunks = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    @property
    def distribution(self) -> VerbalizedDistribution | None:
        """The distribution of the candidates handed out so far (None if none)."""
        return self._current

    def feed(self, chunk: str | bytes) -> list[Candidate]:
        """Add a chunk; return the candidates completed by it (possibly none)."""
        chunk = coerce_text(chunk) or ""
        if not chunk:
            return []
        self._chunks.append(chunk)
        self._size += len(chunk)
        boundary = self._scan(chunk)
        if self._single or self._stalled or not boundary or self._size < self._next_parse_at:
            return []  # a single answer is complete only at the end
        if self._thinking and _THINK_END not in self.text:
            return []
        self._next_parse_at = (
            self._size + self._size // _GROWTH if self._size > _STREAM_EAGER else 0
        )
        try:
            dist = parse_distribution(self.text, method=self.method, truncated=True)
        except VSParseError:
            return []
        return self._hand_out(dist)

    def _hand_out(self, dist: VerbalizedDistribution) -> list[Candidate]:
        said = _said(dist)
        done = len(self._emitted)
        if said[:done] != self._emitted:
            self._stalled = True  # the reading changed its mind: wait for close()
            return []
        ready = done
        while ready < len(said) and (said[ready][1] is not None or self._unstated_ok):
            ready += 1
        if ready == done:
            return []
        self._emitted = said[:ready]
        new = dist.candidates[done:ready]
        self._current = VerbalizedDistribution.from_pairs(
            [(c.text, c.raw_probability) for c in dist.candidates[:ready]],
            reasoning=dist.reasoning,
            repairs=dist.repairs,
        )
        return list(new)

    def _scan(self, chunk: str) -> bool:
        """Track JSON nesting across chunks; True if a candidate may have ended.

        A line's end may end a candidate; so may the first text after it (the
        next list item has begun, so the one above is whole).
        """
        boundary = self._new_line and not chunk.isspace()
        self._new_line = self._new_line and not boundary
        escaped_at = 0 if self._escaped else -1  # where the escaped character sits
        self._escaped = False
        for m in _BOUNDARY_RE.finditer(chunk):
            c = m.group()
            if self._in_string:
                if m.start() == escaped_at:
                    continue  # \" or \\: the character after a backslash is text
                if c == "\\":
                    escaped_at = m.start() + 1
                elif c == '"':
                    self._in_string = False
                continue
            if c == '"':
                self._in_string = self._depth > 0  # quotes in prose do not open strings
            elif c in "{[":
                self._depth += 1
            elif c in "}]":
                if self._depth > 0:
                    self._depth -= 1
                    boundary = boundary or self._depth <= _ELEMENT_DEPTH
            elif self._depth == 0:  # newline or ">" outside JSON: lists, tables, tags
                boundary = True
                self._new_line = c == "\n" and not chunk[m.end() :].strip()
        self._escaped = self._in_string and escaped_at == len(chunk)  # "\\" ended the chunk
        return boundary

    def close(self) -> VerbalizedDistribution:
        """End the stream and parse the whole text.

        Raises:
            VSParseError: The whole output holds no candidate (or, with
                ``strict``, can be read more than one way).
        """
        dist = parse_distribution(self.text, method=self.method, strict=self.strict)
        self._current = dist
        return dist
