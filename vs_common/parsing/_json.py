"""JSON in a reply: clean, fenced, between prose, several values, malformed or cut off.

The reply is read left to right: at each ``{`` or ``[`` a JSON value is
decoded and reading resumes after it, so every value is read (JSON Lines,
objects separated by commas or prose, one array per fenced block), not only
the first. A value that does not decode is scanned for its end (strings
skipped) and, if it looks like JSON, repaired with json-repair. Each
character is decoded or scanned a bounded number of times: linear time.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import json_repair

from vs_common.parsing._common import CAP_NOTE, CUT_NOTE, MAX_CANDIDATES, Reading
from vs_common.parsing._objects import read_object, reasoning_of

_MAX_DEPTH = 64  # json-repair recurses once per bracket level; replies nest 3 or 4 deep
_MAX_VALUES = 2 * MAX_CANDIDATES  # a value per candidate, as many again holding none: then garbage
_REPAIR_BUDGET = 128 * 1024  # json-repair costs about 1 us a character: 0.13 s a reply at most
_SCAN_LIMIT = _REPAIR_BUDGET  # a broken value is scanned only as far as it could be repaired
_PROSE_RETRIES = 8  # a stray "[" in prose runs to the end: look past it a few times, not always
_JSON_HEAD = 200  # a JSON value's first key or item comes within a few characters of its "{"
_FENCE = "```"
_CLOSERS = {"{": "}", "[": "]"}

_OPENER_RE = re.compile(r"[\[{]")
_BARE_KEY_RE = re.compile(r"[A-Za-z_]\w{0,40}[ \t]*:")  # {responses: [...]}, keys unquoted
# Everything up to the next bracket, skipped in one match: strings (a bracket in a string
# is text), and single-quoted strings (Python repr) only where a value can start, so the
# apostrophe in "it's" stays prose. Only a bracket, an unclosed '"' or the end stops it.
_SKIP = (
    r"(?:"
    r'"(?:[^"\\]++|\\.)*+"'
    r"|(?<=[\[{,:])[ \t\r\n]*+'(?:[^'\\\n]++|\\.)*+'"
    r"""|[^"'\[\]{},:]++|[,:']"""
    r")*+"
)
_NEXT_RE = re.compile(_SKIP + r'(?:(?P<bracket>[\[\]{}])|(?P<cut>")|\Z)', re.S)


def _int_as_float(digits: str) -> float:
    return float(digits)  # int() of a million digits raises; float() gives inf, read as unusable


_DECODER = json.JSONDecoder(parse_int=_int_as_float, strict=False)


@dataclass
class _Scan:
    """Where a value that did not decode ends, and what was open there."""

    end: int
    closed: bool  # False: still open at the end of its stretch of text
    too_deep: bool = False
    open_stack: str = ""  # brackets still open at ``end``
    in_string: bool = False  # ``end`` fell inside a string
    last_close: int = -1  # just after the last closing bracket
    stack_at_last_close: str = ""


def _scan(text: str, start: int, stop: int) -> _Scan:
    """Follow brackets from ``text[start]`` (an opener) up to ``stop``, strings skipped.

    Positions in the result are relative to ``start``.
    """
    stack = [text[start]]
    pos = start + 1
    last_close, depth_at_last = -1, 0  # after the last close only opens follow
    while True:
        m = _NEXT_RE.match(text, pos, stop)
        if m is None or (bracket := m.group("bracket")) is None:  # the end, or an open string
            opened = "".join(stack)
            return _Scan(
                stop - start,
                closed=False,
                open_stack=opened,
                in_string=m is not None and m.group("cut") is not None,
                last_close=last_close,
                stack_at_last_close=opened[:depth_at_last],
            )
        pos = m.end()
        if bracket in "[{":
            stack.append(bracket)
            if len(stack) > _MAX_DEPTH:
                return _Scan(pos - start, closed=False, too_deep=True)
            continue
        stack.pop()  # a mismatched closer still closes: models mix them up, not nest them
        if not stack:
            return _Scan(pos - start, closed=True)
        last_close, depth_at_last = pos - start, len(stack)


def _decode(text: str, start: int) -> tuple[Any, int] | None:
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return value, end


def _looks_like_json(region: str) -> bool:
    """A bracket that opens JSON (a quoted key or item, or ``{responses: ...``), not prose."""
    head = region[1:_JSON_HEAD].lstrip("[{ \t\r\n")
    return head[:1] in ('"', "'", "{", "[") or _BARE_KEY_RE.match(head) is not None


def _repair(region: str) -> Any:
    """The value json-repair makes of ``region``, if it is of the kind ``region`` opens.

    An object that comes back as a list (``{"key"`` -> ``["key"]``) is a guess
    about something else, not a repair.
    """
    try:
        value = json_repair.loads(region)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None
    kind = Mapping if region[:1] == "{" else list
    return value if isinstance(value, kind) else None


def _slip(reading: Reading, scan: _Scan, truncated: bool) -> bool:
    """A lone candidate object missing only its closing brace: kept whole.

    Small models drop the last brace as often as a reply is cut there, so
    only a reply known to be truncated (or one ending inside a string) loses it.
    """
    return reading.item_depth == 0 and not truncated and not scan.in_string


def _read_unclosed(
    region: str,
    scan: _Scan,
    *,
    at_end: bool,
    truncated: bool,
    may_repair: bool,
    on_value: Callable[[Any], Reading | None] = read_object,
) -> Reading | None:
    """Candidates from JSON still open where ``region`` ends; a cut-off one is dropped.

    ``scan`` holds positions relative to ``region``. An envelope's reply was
    read (and its own cut-off candidate dropped) by ``on_value``.
    """
    if scan.last_close > 0:  # fast path: close the brackets after the last complete value
        closing = "".join(_CLOSERS[o] for o in reversed(scan.stack_at_last_close))
        decoded = _decode(region[: scan.last_close] + closing, 0)
        reading = on_value(decoded[0]) if decoded is not None else None
        if reading is not None and reading.envelope:
            reading.repairs.append("closed JSON that ended early")
            return reading
        if reading is not None and not _slip(reading, scan, truncated):
            reading.repairs.append("closed JSON that ended early")
            depth = len(scan.stack_at_last_close)
            inside = depth > reading.item_depth  # the last close was within a candidate
            rest = region[scan.last_close :].strip().lstrip(",").strip()
            if inside and reading.pairs:
                reading.pairs.pop()
            if inside or (rest and depth == reading.item_depth):
                reading.repairs.append(CUT_NOTE)
            return reading
    if not may_repair:
        return None
    reading = on_value(_repair(region))
    if reading is None:
        return None
    reading.repairs.append("repaired malformed JSON")
    if reading.envelope:
        return reading
    depth = len(scan.open_stack)
    cut = depth > reading.item_depth or (depth == reading.item_depth and scan.in_string)
    if cut and not _slip(reading, scan, truncated):
        if reading.pairs:
            reading.pairs.pop()
        reading.repairs.append(CUT_NOTE)
    elif at_end and not truncated:
        reading.repairs.append("output ended before the JSON was closed")
    return reading


def _fence_marks(text: str) -> list[int]:
    """Where each ``` begins: JSON in one fenced block never runs into the next."""
    marks: list[int] = []
    pos = text.find(_FENCE)
    while pos >= 0:
        marks.append(pos)
        pos = text.find(_FENCE, pos + len(_FENCE))
    return marks


@dataclass
class _Step:
    """One value read: its candidates, the decoded value and where reading goes on."""

    reading: Reading | None = None
    value: Any = None
    resume: int = 0
    consumed: bool = False  # the text up to ``resume`` was read as JSON
    stop: str | None = None  # reading cannot go on: why (a repair note)


@dataclass
class _Cursor:
    """What reading a reply's JSON values shares: fences, repair budget, prose retries."""

    text: str
    truncated: bool
    marks: list[int]
    on_value: Callable[[Any], Reading | None] = field(default=read_object)
    budget: int = _REPAIR_BUDGET
    retries: int = _PROSE_RETRIES

    def read_at(self, start: int) -> _Step:
        """Read the value opening at ``text[start]``."""
        text = self.text
        decoded = _decode(text, start)
        if decoded is not None:
            return _Step(self.on_value(decoded[0]), decoded[0], decoded[1], consumed=True)
        i = bisect.bisect_right(self.marks, start)
        stop = self.marks[i] if i < len(self.marks) else len(text)
        limit = min(stop, start + _SCAN_LIMIT)
        scan = _scan(text, start, limit)
        if scan.too_deep:
            return _Step(stop=f"stopped reading JSON nested over {_MAX_DEPTH} levels at {start}")
        looks = _looks_like_json(text[start : start + _JSON_HEAD])
        if looks and not scan.closed and limit < stop:
            return _Step(
                stop=f"stopped reading JSON at a broken value too long to repair at {start}"
            )
        if scan.closed:
            end = start + scan.end
            if not looks or scan.end > self.budget:
                return _Step(resume=end)  # prose in brackets, or too long to repair
            self.budget -= scan.end
            value = _repair(text[start:end])
            reading = self.on_value(value)
            if reading is not None:
                reading.repairs.append("repaired malformed JSON")
            return _Step(reading, value, end, consumed=True)
        if looks:
            reading = _read_unclosed(
                text[start:stop],
                scan,
                at_end=stop == len(text),
                truncated=self.truncated,
                may_repair=stop - start <= self.budget,
                on_value=self.on_value,
            )
            self.budget -= min(self.budget, stop - start)
            return _Step(reading, resume=stop, consumed=True)
        if self.retries > 0:
            self.retries -= 1
            return _Step(resume=start + 1)  # a stray bracket in prose: look inside it
        return _Step(stop=f"stopped reading JSON at an unclosed bracket at {start}")


def read_json(
    text: str, truncated: bool, on_value: Callable[[Any], Reading | None] = read_object
) -> Reading | None:
    """Candidates from every JSON value in ``text``, in order.

    ``on_value`` reads the candidates of each complete value (the parser
    passes one that unwraps envelopes first). JSON that holds no candidate
    gives a reading with no pairs whose spans say where it is: the text
    inside it is not the reply's prose.
    """
    if "{" not in text and "[" not in text:
        return None
    cursor = _Cursor(text, truncated, _fence_marks(text), on_value)
    joined: Reading | None = None
    sources = 0  # values that held candidates
    reasoning: str | None = None
    spans: list[tuple[int, int]] = []
    notes: list[str] = []
    pos = values = 0
    while (m := _OPENER_RE.search(text, pos)) is not None:
        if joined is not None and len(joined.pairs) >= MAX_CANDIDATES:
            notes.append(CAP_NOTE)
            break
        if values >= _MAX_VALUES:
            notes.append(f"stopped reading JSON after {_MAX_VALUES} values")
            break
        values += 1
        step = cursor.read_at(m.start())
        if step.stop is not None:
            notes.append(step.stop)
            break
        if step.consumed:
            spans.append((m.start(), step.resume))
        pos = step.resume
        if isinstance(step.value, Mapping):
            reasoning = reasoning or reasoning_of(step.value)  # {"reasoning": ..} then the list
        reading = step.reading
        if reading is None or not reading.pairs:
            if reading is not None and CUT_NOTE in reading.repairs:
                notes.append(CUT_NOTE)  # the last value was cut off inside its first candidate
            continue
        sources += 1
        if joined is None:
            joined = reading
        else:
            joined.extend(reading)
    # The fence lines around the values were read too ("```json" is not a candidate).
    fences = [(k, e if (e := text.find("\n", k)) >= 0 else len(text)) for k in cursor.marks]
    if joined is None:  # JSON that holds no candidate is still not prose to read
        return Reading(pairs=[], spans=sorted([*spans, *fences])) if spans else None
    if len(joined.pairs) > MAX_CANDIDATES:
        del joined.pairs[MAX_CANDIDATES:]
        notes.append(CAP_NOTE)
    if sources > 1:
        joined.repairs.append(f"joined the candidates of {sources} separate JSON values")
    for note in notes:  # a cut-off candidate is certain; reading that stopped early is not
        if note != CUT_NOTE:
            joined.doubt(note)
        elif note not in joined.repairs:
            joined.repairs.append(note)
    joined.reasoning = joined.reasoning or reasoning
    joined.spans = sorted([*spans, *fences])
    joined.complete = all(n == CUT_NOTE for n in notes)
    return joined
