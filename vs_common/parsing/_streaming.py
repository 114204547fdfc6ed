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


class StreamingParser:
    """Incremental parser: feed chunks, get each candidate once it is complete.

    A candidate is handed out only when nothing later in the stream can
    change it: its JSON object or ``<response>`` tag has closed, or the next
    list item has begun, so a probability is never half read. ``close()``
    returns the final distribution, identical to :func:`parse_distribution`
    on the whole text.

    Example:
        >>> sp = StreamingParser()
        >>> sp.feed('{"responses": [{"text": "A", "probability": 0.')
        []
        >>> [c.text for c in sp.feed('4}, {"text": "B", ')]
        ['A']
        >>> sp.close().texts
        ['A']
    """

    def __init__(self, *, method: Method | str | None = None) -> None:
        """Start an empty stream.

        Args:
            method: As for :func:`parse_distribution`.
        """
        self.method = method
        self._chunks: list[str] = []
        self._emitted = 0
        self._size = 0
        self._next_parse_at = 0
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._current: VerbalizedDistribution | None = None
        self._single = method is not None and Method(method) in (
            Method.DIRECT, Method.MULTI_TURN, Method.COT
        )  # fmt: skip

    @property
    def text(self) -> str:
        """Everything fed so far."""
        if len(self._chunks) > 1:
            self._chunks = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    @property
    def distribution(self) -> VerbalizedDistribution | None:
        """The distribution of the complete candidates so far (None if none)."""
        return self._current

    def feed(self, chunk: str | bytes) -> list[Candidate]:
        """Add a chunk; return the candidates completed by it (possibly none)."""
        chunk = coerce_text(chunk) or ""
        if not chunk:
            return []
        self._chunks.append(chunk)
        self._size += len(chunk)
        boundary = self._scan(chunk)
        if self._single or not boundary or self._size < self._next_parse_at:
            return []  # a single answer is complete only at the end
        self._next_parse_at = (
            self._size + self._size // _GROWTH if self._size > _STREAM_EAGER else 0
        )
        try:
            dist = parse_distribution(self.text, method=self.method, truncated=True)
        except VSParseError:
            return []
        if len(dist.candidates) <= self._emitted:
            return []
        self._current = dist
        new = dist.candidates[self._emitted :]
        self._emitted = len(dist.candidates)
        return list(new)

    def _scan(self, chunk: str) -> bool:
        """Track JSON nesting across chunks; True if a candidate may have ended."""
        boundary = False
        for m in _BOUNDARY_RE.finditer(chunk):
            c = m.group()
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif c == "\\":
                    self._escaped = True
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
        if self._escaped and not self._in_string:
            self._escaped = False
        return boundary

    def close(self) -> VerbalizedDistribution:
        """End the stream and parse the whole text.

        Raises:
            VSParseError: The whole output holds no candidate.
        """
        dist = parse_distribution(self.text, method=self.method)
        self._current = dist
        return dist
