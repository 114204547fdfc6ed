"""XML-like tags: ``<response><text>..</text><probability>..</probability></response>``.

Children in either order, with or without a wrapper, numbered tag names
(``<response_1>``), multi-line text, a probability as a child, an attribute
or in the text, unclosed blocks and a last block cut off.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from vs_common.parsing._common import (
    CAP_NOTE,
    CUT_NOTE,
    MAX_CANDIDATES,
    PROB_KEYS,
    Pair,
    Reading,
    key_of,
    to_prob,
)
from vs_common.parsing._prose import split_prob

_CONTAINER_TAGS = frozenset({"response", "candidate", "item", "answer", "option", "sample", "joke"})
_TEXT_TAGS = frozenset({"text", "content", "output"})  # "answer" is a container first
_PROB_TAGS = frozenset(key_of(k) for k in PROB_KEYS)
_REASON_TAGS = frozenset({"reasoning", "thinking", "think", "thought", "rationale", "analysis"})
_MAX_TAGS = 20 * MAX_CANDIDATES  # a candidate has a handful of tags; past this it is garbage
_TAG_RE = re.compile(r"<\s*(/?)\s*([A-Za-z_][\w-]{0,40})((?:\s[^<>]{0,500})?)\s*/?>")
_ATTR_RE = re.compile(r"""([A-Za-z_][\w-]{0,40})\s*=\s*["']?([^"'\s>]{1,64})""")
_NUMBERED_RE = re.compile(r"[_-]?\d{1,4}$")  # <response_2> is a <response>, numbered


@dataclass
class _Tag:
    closing: bool
    name: str
    attrs: str
    start: int
    end: int


def _name(raw: str) -> str:
    name = raw.lower()
    return _NUMBERED_RE.sub("", name) if name[-1].isdigit() else name


def _tags(text: str) -> list[_Tag]:
    return [
        _Tag(m.group(1) == "/", _name(m.group(2)), m.group(3), *m.span())
        for m in itertools.islice(_TAG_RE.finditer(text), _MAX_TAGS)
    ]


def _strip_tags(s: str) -> str:
    return _TAG_RE.sub("", s).strip() if "<" in s else s.strip()


def _element(text: str, tags: list[_Tag], names: frozenset[str]) -> tuple[str, int, int] | None:
    """The first complete ``<name>...</name>`` among tags: (content, outer start, outer end)."""
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


def _container(tags: list[_Tag]) -> str | None:
    """The candidate tag: the one opened most often (a wrapper opens once), first on a tie."""
    opened = Counter(t.name for t in tags if not t.closing and t.name in _CONTAINER_TAGS)
    if not opened:
        return None
    most = max(opened.values())
    return next(t.name for t in tags if opened.get(t.name) == most)


def _block_pair(text: str, inner: list[_Tag], start: int, end: int, attrs: str) -> Pair | None:
    """The candidate in ``text[start:end]``, whose tags are ``inner``."""
    prob: float | None = None
    prob_element = _element(text, inner, _PROB_TAGS)
    if prob_element is not None:
        prob = to_prob(prob_element[0])
        rest = text[start : prob_element[1]] + text[prob_element[2] : end]
    else:
        rest = text[start:end]
        for m in _ATTR_RE.finditer(attrs):  # <response probability="0.3">
            if key_of(m.group(1)) in _PROB_TAGS:
                prob = to_prob(m.group(2))
                break
    text_element = _element(text, inner, _TEXT_TAGS)
    if text_element is not None:
        body = _strip_tags(text_element[0])
    elif prob_element is None and prob is None:
        body, prob = split_prob(_strip_tags(rest))  # <response>A joke (0.3)</response>
    else:
        body = _strip_tags(rest)
    return (body, prob) if body else None


def read_tags(text: str) -> Reading | None:
    """Candidates from ``<response>`` blocks (or bare ``<text>``/``<probability>`` pairs)."""
    if "<" not in text:
        return None
    tags = _tags(text)
    if not tags:
        return None
    reasoning: str | None = None
    spans: list[tuple[int, int]] = []
    reason = _element(text, tags, _REASON_TAGS)
    if reason is not None:
        reasoning = _strip_tags(reason[0]) or None
        spans.append((reason[1], reason[2]))
    container = _container(tags)
    if container is None:
        return _bare_pairs(text, tags, reasoning, spans)
    pairs: list[Pair] = []
    repairs: list[str] = []
    unclosed = 0
    open_at = -1
    stopped = len(tags) >= _MAX_TAGS
    for i, t in enumerate(tags):
        if t.name != container:
            continue
        if len(pairs) >= MAX_CANDIDATES:
            repairs.append(CAP_NOTE)
            stopped = True
            break
        if open_at >= 0:
            o = tags[open_at]
            if not t.closing:  # a new block began before the last one closed
                unclosed += 1
            pair = _block_pair(text, tags[open_at + 1 : i], o.end, t.start, o.attrs)
            if pair is not None:
                pairs.append(pair)
            spans.append((o.start, t.end if t.closing else t.start))
        open_at = -1 if t.closing else i
    if len(tags) >= _MAX_TAGS:  # the reply goes on past the tags read
        repairs.append(f"read only the first {_MAX_TAGS} tags")
        open_at = -1
    if unclosed:
        repairs.append(f"closed {unclosed} unclosed <{container}> tag(s)")
    if open_at >= 0:
        spans.append((tags[open_at].start, len(text)))
        if _strip_tags(text[tags[open_at].end :]):
            repairs.append(CUT_NOTE)
    if not pairs:
        return None
    spans.sort()
    return Reading(pairs, reasoning, repairs=repairs, spans=spans, complete=not stopped)


def _bare_pairs(
    text: str, tags: list[_Tag], reasoning: str | None, spans: list[tuple[int, int]]
) -> Reading | None:
    """``<text>a</text><probability>0.3</probability>`` pairs without a wrapper."""
    pairs: list[Pair] = []
    i = 0
    while i < len(tags):
        t = tags[i]
        if len(pairs) >= MAX_CANDIDATES:
            return Reading(pairs, reasoning, repairs=[CAP_NOTE], complete=False)
        if t.closing or t.name != "text":
            i += 1
            continue
        j = i + 1
        while j < len(tags) and not (tags[j].closing and tags[j].name == "text"):
            j += 1
        if j >= len(tags):
            break
        content = _strip_tags(text[t.end : tags[j].start])
        prob: float | None = None
        k = j + 1
        if k < len(tags) and not tags[k].closing and tags[k].name in _PROB_TAGS:
            m = k + 1
            if m < len(tags) and tags[m].closing and tags[m].name == tags[k].name:
                prob = to_prob(text[tags[k].end : tags[m].start])
                j = m
        if content:
            pairs.append((content, prob))
        spans.append((t.start, tags[j].end))
        i = j + 1
    if not pairs:
        return None
    stopped = len(tags) >= _MAX_TAGS
    repairs = [f"read only the first {_MAX_TAGS} tags"] if stopped else []
    return Reading(pairs, reasoning, repairs=repairs, spans=sorted(spans), complete=not stopped)
