"""Recovering the candidates from whatever a model emits.

:func:`parse_distribution` reads JSON (objects, bare lists, fenced, between
prose, malformed and repaired), XML-like tags, numbered or bulleted lists,
labelled blocks, markdown headings and tables, and already-decoded objects
(tool-call arguments). :class:`StreamingParser` does the same on a stream and
hands out each candidate once it is complete.

Every function here runs in time linear in its input (no backtracking regular
expression on unbounded input), never evaluates model text as code, and raises
nothing but :class:`~vs_common.errors.VSParseError` on bad output.

Example:
    >>> dist = parse_distribution(
    ...     '{"responses": [{"text": "A", "probability": 0.3},'
    ...     ' {"text": "B", "probability": "70%"}]}'
    ... )
    >>> dist.texts, [round(c.probability, 2) for c in dist.candidates]
    (['A', 'B'], [0.3, 0.7])
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import json_repair

from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSParseError
from vs_common.methods import Method

__all__ = ["StreamingParser", "parse_distribution"]

Pair = tuple[str, float | None]

_REPAIR_LIMIT = 128 * 1024  # json-repair costs about 1 us a character
_MAX_DEPTH = 64  # json-repair recurses once per bracket level
_RAW_DECODE_TRIES = 8
_MAX_CANDIDATES = 1000  # k is at most 100; more than this is garbage, not a distribution
_MAX_TAGS = 20 * _MAX_CANDIDATES

_TEXT_KEYS = (
    "text", "response", "content", "answer", "output", "joke", "story", "poem",
    "reply", "message", "completion", "value", "idea", "sample", "candidate",
)  # fmt: skip
_PROB_KEYS = (
    "probability", "prob", "p", "confidence", "likelihood", "weight", "percentage",
    "percent", "score", "probabilities",
)  # fmt: skip
_LIST_KEYS = (
    "responses", "candidates", "answers", "outputs", "results", "items", "options",
    "choices", "samples", "jokes", "stories", "poems", "ideas", "completions",
    "distribution", "data", "list",
)  # fmt: skip
_REASON_KEYS = ("reasoning", "thinking", "thought", "thoughts", "rationale", "analysis")

_NUM = r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][+-]?\d{1,3})?"
_NUM_RE = re.compile(rf"\s*({_NUM})\s*(%)?", re.ASCII)
_PROB_STR_RE = re.compile(rf"({_NUM})\s*(%)?", re.ASCII)


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "").replace(" ", "").replace("-", "")


_TEXT_SET = {_key(k) for k in _TEXT_KEYS}
_PROB_SET = {_key(k) for k in _PROB_KEYS}
_LIST_SET = {_key(k) for k in _LIST_KEYS}
_REASON_SET = {_key(k) for k in _REASON_KEYS}


# ---------------------------------------------------------------------------
# numbers


def _to_prob(value: Any) -> float | None:
    """A stated probability as a float (percent signs divided out), or None."""
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
        if not s or len(s) > 64:
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


def _json_int(text: str) -> float:
    return float(text)  # never int(): a million-digit integer would raise


# ---------------------------------------------------------------------------
# decoded objects


@dataclass
class _Found:
    pairs: list[Pair]
    reasoning: str | None = None
    list_depth: int = 0  # container depth of the list of candidates (root = 1)
    repairs: list[str] = field(default_factory=list)


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and _key(k) in _TEXT_SET and isinstance(v, str):
                return v
    return None


def _item_pair(item: Any) -> Pair | None:
    if isinstance(item, str):
        return (item, None)
    if isinstance(item, Mapping):
        text: str | None = None
        prob: float | None = None
        prob_seen = False
        lone_strings: list[str] = []
        for k, v in item.items():
            if not isinstance(k, str):
                continue
            kk = _key(k)
            if kk in _TEXT_SET and text is None:
                text = _as_text(v)
            elif kk in _PROB_SET and not prob_seen:
                prob_seen = True
                prob = _to_prob(v)
                if isinstance(v, str) and "%" in v and prob is not None:
                    prob = prob  # already divided by 100
            elif isinstance(v, str):
                lone_strings.append(v)
        if text is None and len(lone_strings) == 1:
            text = lone_strings[0]
        if text is None:
            return None
        return (text, prob)
    if isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], str):
        return (item[0], _to_prob(item[1]))
    return None


def _reasoning_of(obj: Mapping[str, Any]) -> str | None:
    for k, v in obj.items():
        if isinstance(k, str) and _key(k) in _REASON_SET and isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _from_object(obj: Any, depth: int = 1) -> _Found | None:
    """Find the candidates in a decoded JSON value."""
    if depth > 4:
        return None
    if isinstance(obj, list | tuple):
        pairs = [p for p in (_item_pair(it) for it in obj[:_MAX_CANDIDATES]) if p is not None]
        if not pairs:
            return None
        return _Found(pairs=pairs, list_depth=depth)
    if not isinstance(obj, Mapping):
        return None
    reasoning = _reasoning_of(obj)
    lists = [(k, v) for k, v in obj.items() if isinstance(k, str) and isinstance(v, list | tuple)]
    ordered = [kv for kv in lists if _key(kv[0]) in _LIST_SET] + [
        kv for kv in lists if _key(kv[0]) not in _LIST_SET
    ]
    for _, value in ordered:
        found = _from_object(value, depth + 1)
        if found is not None:
            found.reasoning = found.reasoning or reasoning
            return found
    single = (
        _item_pair(obj) if any(isinstance(k, str) and _key(k) in _TEXT_SET for k in obj) else None
    )
    if single is not None and single[0].strip():
        return _Found(pairs=[single], reasoning=reasoning, list_depth=depth)
    for v in obj.values():
        if isinstance(v, Mapping):
            found = _from_object(v, depth + 1)
            if found is not None:
                found.reasoning = found.reasoning or reasoning
                return found
    # {"a joke": 0.3, "another": 0.7}: texts as keys, probabilities as values
    numeric = [
        (k, _to_prob(v))
        for k, v in obj.items()
        if isinstance(k, str) and not isinstance(v, bool) and isinstance(v, int | float | str)
    ]
    usable = len(numeric) >= 2 and len(numeric) == len(obj)
    usable = usable and all(p is not None for _, p in numeric)
    if usable and not any(_key(k) in _PROB_SET | _TEXT_SET for k, _ in numeric):
        return _Found(pairs=list(numeric), reasoning=reasoning, list_depth=depth)
    return None


# ---------------------------------------------------------------------------
# JSON in text

_SCAN_RE = re.compile(r'"(?:[^"\\]+|\\.)*"?|[\[\]{}]', re.S)


@dataclass
class _Scan:
    max_depth: int
    open_stack: int  # containers still open at the end
    in_string: bool


def _scan_json(s: str) -> _Scan:
    """Bracket depth of a JSON-ish text, strings skipped (linear, no recursion)."""
    depth = max_depth = 0
    in_string = False
    for m in _SCAN_RE.finditer(s):
        tok = m.group()
        c = tok[0]
        if c == '"':
            in_string = len(tok) == 1 or not tok.endswith('"') or _odd_backslashes(tok)
            continue
        in_string = False
        if c in "[{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif depth > 0:
            depth -= 1
    return _Scan(max_depth=max_depth, open_stack=depth, in_string=in_string)


def _odd_backslashes(tok: str) -> bool:
    """True when the closing quote of a scanned string is really escaped."""
    n = 0
    i = len(tok) - 2
    while i > 0 and tok[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def _fences(text: str) -> list[str]:
    """Contents of ``` fenced blocks, in order (an unclosed last fence runs to the end)."""
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("```", pos)
        if start < 0:
            return out
        nl = text.find("\n", start + 3)
        body_start = start + 3 if nl < 0 or nl - start > 40 else nl + 1
        end = text.find("```", body_start)
        if end < 0:
            out.append(text[body_start:])
            return out
        out.append(text[body_start:end])
        pos = end + 3


def _bracket_starts(text: str) -> list[int]:
    starts: list[int] = []
    pos = 0
    while len(starts) < _RAW_DECODE_TRIES:
        a = text.find("{", pos)
        b = text.find("[", pos)
        cands = [x for x in (a, b) if x >= 0]
        if not cands:
            break
        i = min(cands)
        starts.append(i)
        pos = i + 1
    return starts


_DECODER = json.JSONDecoder(parse_int=_json_int, strict=False)


def _decode_at(text: str, start: int) -> Any:
    try:
        obj, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return obj


def _json_found(text: str, truncated: bool) -> _Found | None:
    """Candidates from JSON inside ``text``, clean or repaired."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        obj = _decode_at(stripped, 0)
        if obj is not None:
            found = _from_object(obj)
            if found is not None:
                return found
    repairs_left = 2
    for start in _bracket_starts(stripped):
        obj = _decode_at(stripped, start)
        found = _from_object(obj) if obj is not None else None
        if found is None and obj is None and repairs_left > 0:
            region = stripped[start:]
            if len(region) <= _REPAIR_LIMIT and _looks_like_json(region):
                repairs_left -= 1
                found = _repaired_found(region, truncated)
        if found is not None:
            return found
    return None


def _looks_like_json(region: str) -> bool:
    head = region[1:200].lstrip("[{ \t\r\n")
    return head[:1] in ('"', "'", "{", "[") or "responses" in region[:500]


_CLOSERS = {"{": "}", "[": "]"}


def _closed_prefix(region: str) -> tuple[str, bool] | None:
    """JSON cut off at the end, closed after its last complete value.

    Returns the prefix up to the last closing bracket with the brackets still
    open there appended (always valid JSON syntax if the prefix was), and
    whether anything but separators was cut away after it; None if no
    bracket ever closed or the nesting is too deep.
    """
    stack: list[str] = []
    last_end = -1
    last_stack = ""
    for m in _SCAN_RE.finditer(region):
        c = m.group()[0]
        if c in "[{":
            stack.append(c)
            if len(stack) > _MAX_DEPTH:
                return None
        elif c in "]}" and stack:
            stack.pop()
            last_end = m.end()
            last_stack = "".join(stack)
    if last_end < 0 or not last_stack:
        return None
    rest = region[last_end:].strip().lstrip(",").strip()
    closing = "".join(_CLOSERS[o] for o in reversed(last_stack))
    return region[:last_end] + closing, bool(rest)


def _fast_truncated(region: str) -> _Found | None:
    closed = _closed_prefix(region)
    if closed is None:
        return None
    obj = _decode_at(closed[0], 0)
    found = _from_object(obj) if obj is not None else None
    if found is None:
        return None
    found.repairs.append("closed JSON that ended early")
    if closed[1]:
        found.repairs.append("dropped 1 candidate cut off at the end of the output")
    return found


def _repaired_found(region: str, truncated: bool) -> _Found | None:
    """Candidates from malformed JSON starting at ``region[0]``, cut-off ones dropped."""
    scan = _scan_json(region)
    if scan.max_depth > _MAX_DEPTH:
        return None
    if scan.open_stack > 0:
        fast = _fast_truncated(region)
        if fast is not None:
            return fast
    try:
        obj = json_repair.loads(region)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None
    found = _from_object(obj)
    if found is None:
        return None
    found.repairs.append("repaired malformed JSON")
    cut = scan.open_stack > found.list_depth or (
        scan.open_stack == found.list_depth and scan.in_string
    )
    if scan.open_stack > 0 and cut and found.pairs:
        found.pairs.pop()
        found.repairs.append("dropped 1 candidate cut off at the end of the output")
    elif scan.open_stack > 0 and not truncated:
        found.repairs.append("output ended before the JSON was closed")
    return found if found.pairs else None


# ---------------------------------------------------------------------------
# XML-like tags

_CONTAINER_TAGS = {"response", "candidate", "item", "answer", "option", "sample", "joke"}
_TEXT_TAGS = {"text", "content", "output", "answer"}
_PROB_TAGS = {_key(k) for k in _PROB_KEYS}
_REASON_TAGS = {"reasoning", "thinking", "think", "thought", "rationale", "analysis"}
_TAG_RE = re.compile(r"<\s*(/?)\s*([A-Za-z_][\w-]{0,40})((?:\s[^<>]{0,500})?)\s*/?>")
_ATTR_RE = re.compile(r"""([A-Za-z_][\w-]{0,40})\s*=\s*["']?([^"'\s>]{1,64})""")
_TAG_STRIP_RE = re.compile(r"<\s*/?\s*[A-Za-z_][\w-]{0,40}(?:\s[^<>]{0,500})?\s*/?>")


@dataclass
class _Tag:
    closing: bool
    name: str
    attrs: str
    start: int
    end: int


def _tags(text: str) -> list[_Tag]:
    return [
        _Tag(m.group(1) == "/", m.group(2).lower(), m.group(3), m.start(), m.end())
        for m in itertools.islice(_TAG_RE.finditer(text), _MAX_TAGS)
    ]


def _tag_content(text: str, tags: list[_Tag], names: set[str]) -> tuple[str, int, int] | None:
    """First complete ``<name>...</name>`` among tags: (content, outer start, outer end)."""
    for i, t in enumerate(tags):
        if t.closing or t.name not in names:
            continue
        for u in tags[i + 1 :]:
            if u.closing and u.name == t.name:
                return text[t.end : u.start], t.start, u.end
            if not u.closing and u.name == t.name:
                break
        return None
    return None


def _clean_tag_text(s: str) -> str:
    return _TAG_STRIP_RE.sub("", s).strip() if "<" in s else s.strip()


_BLOCK_TEXT_TAGS = (_TEXT_TAGS - {"answer"}) | {"text"}


def _block_pair(text: str, inner: list[_Tag], start: int, end: int, attrs: str) -> Pair | None:
    """The candidate in ``text[start:end]``, whose tags are ``inner``."""
    prob: float | None = None
    found_prob = _tag_content(text, inner, _PROB_TAGS)
    if found_prob is not None:
        prob = _to_prob(found_prob[0])
        rest = text[start : found_prob[1]] + text[found_prob[2] : end]
    else:
        rest = text[start:end]
        for m in _ATTR_RE.finditer(attrs):
            if _key(m.group(1)) in _PROB_TAGS:
                prob = _to_prob(m.group(2))
                break
    found_text = _tag_content(text, inner, _BLOCK_TEXT_TAGS)
    if found_text is not None:
        body = _clean_tag_text(found_text[0])
    elif found_prob is None and prob is None:
        body, prob = _split_prob(_clean_tag_text(rest))
    else:
        body = _clean_tag_text(rest)
    return (body, prob) if body else None


def _tags_found(text: str) -> _Found | None:
    """Candidates from ``<response>`` blocks (or bare ``<text>``/``<probability>`` pairs)."""
    if "<" not in text:
        return None
    tags = _tags(text)
    if not tags:
        return None
    reasoning = None
    reason = _tag_content(text, tags, _REASON_TAGS)
    if reason is not None:
        reasoning = _clean_tag_text(reason[0]) or None
    pairs: list[Pair] = []
    repairs: list[str] = []
    unclosed = 0
    open_at = -1
    container: str | None = None
    for i, t in enumerate(tags):
        if container is None and not t.closing and t.name in _CONTAINER_TAGS:
            container = t.name
        if container is None or t.name != container:
            continue
        if len(pairs) >= _MAX_CANDIDATES:
            break
        if open_at >= 0:
            o = tags[open_at]
            if not t.closing:  # a new block began before the last one closed
                unclosed += 1
            pair = _block_pair(text, tags[open_at + 1 : i], o.end, t.start, o.attrs)
            if pair is not None:
                pairs.append(pair)
        open_at = -1 if t.closing else i
    if len(tags) >= _MAX_TAGS:
        repairs.append(f"read only the first {_MAX_TAGS} tags")
        open_at = -1
    if unclosed:
        repairs.append(f"closed {unclosed} unclosed <{container}> tag(s)")
    if open_at >= 0 and _clean_tag_text(text[tags[open_at].end :]):
        repairs.append("dropped 1 candidate cut off at the end of the output")
    if not pairs and container is None:
        pairs = _bare_tag_pairs(text, tags)
    if not pairs:
        return None
    if len(pairs) >= _MAX_CANDIDATES:
        repairs.append(f"kept the first {_MAX_CANDIDATES} candidates")
    return _Found(pairs=pairs, reasoning=reasoning, repairs=repairs)


def _bare_tag_pairs(text: str, tags: list[_Tag]) -> list[Pair]:
    """``<text>a</text><probability>0.3</probability>`` pairs without a wrapper."""
    pairs: list[Pair] = []
    i = 0
    while i < len(tags) and len(pairs) < _MAX_CANDIDATES:
        t = tags[i]
        if t.closing or t.name != "text":
            i += 1
            continue
        j = i + 1
        while j < len(tags) and not (tags[j].closing and tags[j].name == "text"):
            j += 1
        if j >= len(tags):
            break
        content = _clean_tag_text(text[t.end : tags[j].start])
        prob: float | None = None
        k = j + 1
        if k < len(tags) and not tags[k].closing and tags[k].name in _PROB_TAGS:
            m = k + 1
            if m < len(tags) and tags[m].closing and tags[m].name == tags[k].name:
                prob = _to_prob(text[tags[k].end : tags[m].start])
                j = m
        if content:
            pairs.append((content, prob))
        i = j + 1
    return pairs


# ---------------------------------------------------------------------------
# lists, labelled blocks, headings and tables

_LABELS = r"(?:response|option|candidate|answer|joke|idea|story|poem|sample|reply|text)"
_START_RE = re.compile(
    rf"""^[ \t]{{0,12}}(?:
        (?P<heading>\#{{1,6}})[ \t]*(?P<hbody>.*)
      | (?P<label>(?:\*\*|__)?[ \t]*{_LABELS}[ \t]*\#?[ \t]*\d{{0,4}}[ \t]*(?:\*\*|__)?
            [ \t]*(?:\([^()\n]{{0,80}}\))?[ \t]*(?:\*\*|__)?[ \t]*[:)\-\u2013\u2014][ \t]*
            (?:\*\*|__)?)(?P<lbody>.*)
      | (?P<number>\(?\d{{1,4}}[.):\]])[ \t]+(?P<nbody>.*)
      | (?P<bullet>[-*\u2022+])[ \t]+(?P<bbody>.*)
    )$""",
    re.X | re.I,
)
_LABEL_PREFIX_RE = re.compile(
    rf"^[ \t]*(?:\*\*|__)?[ \t]*{_LABELS}[ \t]*\#?[ \t]*\d{{0,4}}[ \t]*(?:\*\*|__)?[ \t]*"
    r"(?:\([^()\n]{0,80}\))?[ \t]*(?:\*\*|__)?[ \t]*[:)\-\u2013\u2014][ \t]*(?:\*\*|__)?",
    re.I,
)
_LABEL_ONLY_RE = re.compile(
    rf"(?:\*\*|__)?[ \t]*{_LABELS}[ \t]*\#?[ \t]*\d{{0,4}}[ \t]*(?:\*\*|__)?[ \t]*[:.]?[ \t]*"
    r"(?:\*\*|__)?",
    re.I,
)
_PROB_LABELS = r"(?:probability|prob|confidence|likelihood|weight|percentage|percent|p)"
_PROB_WORD_RE = re.compile(rf"\b{_PROB_LABELS}\b", re.I)
_AFTER_PROB_WORD_RE = re.compile(
    rf"[ \t]*(?:\*\*|__|\*)?[ \t]*(?P<sep>[:=]|is\b|of\b)?[ \t]*(?:\*\*|__|\*)?[ \t]*[(\[]?[ \t]*"
    rf"(?P<num>{_NUM})[ \t]*(?P<pct>%)?[ \t]*[)\]]?[ \t]*(?:\*\*|__|\*)?[ \t]*[)\]]?",
    re.I | re.ASCII,
)
_MAX_LABEL_TRIES = 64
_TAIL = 160  # a trailing "(0.3)" is looked for in the last characters only
_TRAILING_PROB_RE = re.compile(
    rf"(?:[(\[][ \t]*(?P<num>{_NUM})[ \t]*(?P<pct>%)?[ \t]*[)\]]"
    rf"|[ \t][-\u2013\u2014|:][ \t]*(?P<num2>{_NUM})[ \t]*(?P<pct2>%)?)[ \t]*\.?[ \t]*$",
)
_LEADING_PROB_RE = re.compile(
    rf"^[ \t]*[(\[][ \t]*(?P<num>{_NUM})[ \t]*(?P<pct>%)?[ \t]*[)\]][ \t]*[-:\u2013\u2014]?[ \t]*"
)
_TABLE_SEP_RE = re.compile(r"^[\s|:\-]+$")


def _labelled_prob(text: str) -> tuple[int, int, float | None] | None:
    """Find "probability: 0.3" (and its aliases) in text: (start, end, value)."""
    for tries, m in enumerate(_PROB_WORD_RE.finditer(text)):
        if tries >= _MAX_LABEL_TRIES:
            return None
        after = _AFTER_PROB_WORD_RE.match(text, m.end())
        if after is None:
            continue
        if len(m.group()) <= 4 and after.group("sep") not in (":", "="):
            continue  # "p" or "prob" alone must be followed by ":" or "="
        start = m.start()
        floor = max(0, start - 6)
        while start > floor and text[start - 1] in "([*_ \t":
            start -= 1
        value = _to_prob(after.group("num") + ("%" if after.group("pct") else ""))
        return start, after.end(), value
    return None


def _trailing_prob(text: str) -> tuple[int, float] | None:
    """Find a trailing "(0.3)", "[30%]" or "- 0.3": (start, value)."""
    offset = max(0, len(text) - _TAIL)
    m = _TRAILING_PROB_RE.search(text, offset)
    if m is None:
        return None
    num = m.group("num") or m.group("num2")
    pct = m.group("pct") or m.group("pct2")
    value = _to_prob(num + ("%" if pct else ""))
    decimal = "." in num or pct is not None
    if value is not None and (decimal or 0 <= value <= 1) and value <= 100:
        return m.start(), value
    return None


def _split_prob(text: str) -> tuple[str, float | None]:
    """Take a stated probability out of an item's text."""
    found = _labelled_prob(text)
    if found is not None:
        start, end, value = found
        rest = (text[:start] + " " + text[end:]).strip()
        return _tidy(rest), value
    trailing = _trailing_prob(text)
    if trailing is not None:
        return _tidy(text[: trailing[0]]), trailing[1]
    m3 = _LEADING_PROB_RE.match(text)
    if m3 is not None:
        value = _to_prob(m3.group("num") + ("%" if m3.group("pct") else ""))
        if value is not None and ("." in m3.group("num") or m3.group("pct")):
            return _tidy(text[m3.end() :]), value
    return _tidy(text), None


_TIDY_EDGE = " \t\r\n:;,|-\u2013\u2014"


def _tidy(text: str) -> str:
    s = text.strip(_TIDY_EDGE)
    m = _LABEL_PREFIX_RE.match(s)
    if m is not None and m.end() > 0 and m.group(0).strip():
        s = s[m.end() :].strip(_TIDY_EDGE)
    for marker in ("**", "__"):
        if s.startswith(marker) and s.endswith(marker) and len(s) > 2 * len(marker):
            s = s[len(marker) : -len(marker)].strip()
        elif s.endswith(marker) and s.count(marker) % 2 == 1:
            s = s[: -len(marker)].strip()
        elif s.startswith(marker) and s.count(marker) % 2 == 1:
            s = s[len(marker) :].strip()
    quoted = len(s) >= 2 and (
        (s[0] == s[-1] and s[0] in "\"'`") or (s[0] == "\u201c" and s[-1] == "\u201d")
    )
    if quoted:
        s = s[1:-1].strip()
    return s.strip(_TIDY_EDGE)


@dataclass
class _Item:
    kind: str  # heading | label | number | bullet
    lines: list[str]


def _iter_lines(text: str) -> Iterator[str]:
    """The lines of text, lazily (a reader may stop early without splitting it all)."""
    pos = 0
    n = len(text)
    while pos < n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        yield text[pos:end].rstrip("\r")
        pos = end + 1


def _items(lines: Iterable[str]) -> tuple[list[_Item], bool]:
    """Group lines into items by their start lines; True if the last item ran to the end."""
    items: list[_Item] = []
    current: _Item | None = None
    blank = False
    closed: bool | None = None  # number/bullet item whose first line stated a probability
    for line in lines:
        m = _START_RE.match(line) if len(line) < 100_000 else None
        if m is not None:
            kind = next(k for k in ("heading", "label", "number", "bullet") if m.group(k))
            body = m.group({"heading": "hbody", "label": "lbody", "number": "nbody",
                            "bullet": "bbody"}[kind])  # fmt: skip
            first = m.group("label") + body if kind == "label" else body
            if len(items) > _MAX_CANDIDATES:
                break  # garbage, not a distribution: stop reading
            current = _Item(kind, [first])
            items.append(current)
            blank = False
            closed = None
            continue
        if current is None:
            continue
        if closed is None:
            closed = current.kind in ("number", "bullet") and _has_prob(current.lines[0])
        if closed:
            current = None  # the item ended with its probability; what follows is prose
            continue
        if not line.strip():
            blank = True
            continue
        if current.kind in ("number", "bullet") and blank:
            current = None  # prose after the list
            continue
        if blank:
            current.lines.append("")
        current.lines.append(line)
        blank = False
    return items, current is not None


def _has_prob(line: str) -> bool:
    return _labelled_prob(line) is not None or _trailing_prob(line) is not None


def _list_found(text: str, truncated: bool) -> _Found | None:
    lines = _iter_lines(text)
    table = _table_found(text, truncated) if "|" in text else None
    if table is not None:
        return table
    items, last_open = _items(lines)
    if not items:
        return None
    kinds = {it.kind for it in items}
    if len(kinds) > 1:  # keep the dominant structure: headings/labels over nested bullets
        main = next(k for k in ("heading", "label", "number", "bullet") if k in kinds)
        merged: list[_Item] = []
        for it in items:
            if it.kind == main or not merged:
                merged.append(_Item(main, list(it.lines)))
            else:
                merged[-1].lines.append(it.lines[0])
                merged[-1].lines.extend(it.lines[1:])
        items = merged
    repairs: list[str] = []
    if len(items) > _MAX_CANDIDATES:
        items = items[:_MAX_CANDIDATES]
        last_open = False
        repairs.append(f"kept the first {_MAX_CANDIDATES} candidates")
    if truncated and last_open and items:
        items.pop()
        repairs.append("dropped 1 candidate cut off at the end of the output")
    pairs: list[Pair] = []
    for it in items:
        body = "\n".join(it.lines).strip()
        if it.kind == "heading":
            first, _, rest = body.partition("\n")
            head_text, head_prob = _split_prob(first)
            rest_text, rest_prob = _split_prob(rest)
            label_only = _LABEL_ONLY_RE.fullmatch(first.strip()) is not None
            text = rest_text if rest_text else head_text
            if rest_text and not label_only and not _LABEL_PREFIX_RE.match(first):
                text = f"{head_text}\n{rest_text}".strip()
            prob = head_prob if head_prob is not None else rest_prob
        else:
            text, prob = _split_prob(body)
            if prob is None and "\n" in body:
                text, prob = _split_prob_lines(body)
        if text:
            pairs.append((text, prob))
    if not pairs:
        return None
    if len(pairs) == 1 and pairs[0][1] is None and items[0].kind in ("number", "bullet"):
        return None  # one bullet in prose is not a distribution
    return _Found(pairs=pairs, repairs=repairs)


def _split_prob_lines(body: str) -> tuple[str, float | None]:
    kept: list[str] = []
    prob: float | None = None
    for line in body.split("\n"):
        t, p = _split_prob(line)
        if p is not None and prob is None:
            prob = p
        if t:
            kept.append(t)
    return _tidy("\n".join(kept)), prob


def _cells(line: str) -> list[str]:
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") else s
    return [c.strip() for c in s.split("|")]


def _table_found(text: str, truncated: bool) -> _Found | None:
    rows = list(
        itertools.islice(
            (ln for ln in _iter_lines(text) if ln.lstrip().startswith("|") and ln.count("|") >= 2),
            _MAX_CANDIDATES + 2,
        )
    )
    if len(rows) < 2:
        return None
    header = _cells(rows[0])
    body_rows = [r for r in rows[1:] if not _TABLE_SEP_RE.match(r)]
    if truncated and body_rows and not text.rstrip("\r\n ").endswith("|"):
        body_rows.pop()
    keys = [_key(h.strip("*_ ")) for h in header]
    text_col = next((i for i, k in enumerate(keys) if k in _TEXT_SET or k in _LIST_SET), None)
    prob_col = next((i for i, k in enumerate(keys) if k in _PROB_SET), None)
    if prob_col is None:
        prob_col = next((i for i, k in enumerate(keys) if k.startswith(("prob", "conf"))), None)
    if text_col is None:
        widths = [0] * len(header)
        for r in body_rows:
            for i, c in enumerate(_cells(r)[: len(header)]):
                widths[i] += len(c)
        text_col = max(
            (i for i in range(len(header)) if i != prob_col), key=lambda i: widths[i], default=None
        )
    if text_col is None:
        return None
    pairs: list[Pair] = []
    for r in body_rows:
        cells = _cells(r)
        if text_col >= len(cells):
            continue
        prob = _to_prob(cells[prob_col]) if prob_col is not None and prob_col < len(cells) else None
        text = _tidy(cells[text_col])
        if text:
            pairs.append((text, prob))
    return _Found(pairs=pairs) if pairs else None


# ---------------------------------------------------------------------------
# entry points

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


def _split_think(text: str) -> tuple[str, str | None]:
    start = text.find(_THINK_OPEN)
    if start < 0 or text[:start].strip():
        return text, None
    end = text.find(_THINK_CLOSE, start)
    if end < 0:
        return text, None
    return text[end + len(_THINK_CLOSE) :], text[start + len(_THINK_OPEN) : end].strip() or None


def _text_found(text: str, method: Method | None, truncated: bool) -> _Found | None:
    single = method in (Method.DIRECT, Method.MULTI_TURN)
    if single:
        body = text.strip()
        return _Found(pairs=[(body, None)]) if body else None
    for fence in _fences(text):
        found = _json_found(fence, truncated)
        if found is not None:
            return found
    if "{" in text or "[" in text:
        found = _json_found(text, truncated)
        if found is not None:
            return found
    found = _tags_found(text)
    if found is not None:
        return found
    found = _list_found(text, truncated)
    if found is not None:
        return found
    if method is Method.COT and text.strip():
        return _Found(pairs=[(text.strip(), None)])
    return None


def _coerce_text(output: Any) -> str | None:
    if isinstance(output, str):
        return output
    if isinstance(output, bytes | bytearray):
        return bytes(output).decode("utf-8", errors="replace")
    return None


def _finish(found: _Found, extra_repairs: list[str]) -> VerbalizedDistribution:
    return VerbalizedDistribution.from_pairs(
        found.pairs, reasoning=found.reasoning, repairs=[*extra_repairs, *found.repairs]
    )


def parse_distribution(
    output: Any, *, method: Method | str | None = None, truncated: bool = False
) -> VerbalizedDistribution:
    r"""Recover the verbalized distribution from a model's output.

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
    """
    try:
        m = Method(method) if method is not None else None
    except ValueError:
        msg = f"unknown method {method!r}"
        raise VSParseError(msg, output) from None
    try:
        found, extra = _found(output, m, truncated)
    except VSParseError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        msg = f"could not read the output ({type(exc).__name__})"
        raise VSParseError(msg, output) from exc
    if found is None:
        msg = "no candidate responses found in the model output"
        raise VSParseError(msg, output)
    dist = _finish(found, extra)
    if not dist.candidates:
        msg = "every candidate in the model output had empty text"
        raise VSParseError(msg, output)
    return dist


def _found(output: Any, method: Method | None, truncated: bool) -> tuple[_Found | None, list[str]]:
    text = _coerce_text(output)
    if text is None:
        if isinstance(output, Mapping | list | tuple):
            found = _from_object(output)
            if found is None:
                # tool arguments can hold JSON as a string value
                inner = list(output.values() if isinstance(output, Mapping) else output)
                for v in inner:
                    if isinstance(v, str) and v.strip()[:1] in ("{", "["):
                        return _found(v, method, truncated)
            return found, []
        msg = f"unsupported output type {type(output).__name__}"
        raise VSParseError(msg, output)
    body, think = _split_think(text)
    found = _text_found(body, method, truncated)
    if found is not None and think and not found.reasoning:
        found.reasoning = think
    return found, []


_STREAM_EAGER = 16 * 1024  # past this, re-parse only after the text grew by an eighth
_STREAM_RE = re.compile(r'[\\"{}\[\]\n>]')
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
        chunk = _coerce_text(chunk) or ""
        if not chunk:
            return []
        self._chunks.append(chunk)
        self._size += len(chunk)
        boundary = self._scan(chunk)
        if self._single or not boundary or self._size < self._next_parse_at:
            return []  # a single answer is complete only at the end
        self._next_parse_at = self._size + self._size // 8 if self._size > _STREAM_EAGER else 0
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
        for m in _STREAM_RE.finditer(chunk):
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
