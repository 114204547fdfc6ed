"""A probability stated in prose, and a candidate's text without labels or markup.

Shared by the tag, list and table readers: "(probability: 0.3)", "[30%]",
"- 0.3" at the end, "(0.3)" at the start; "**Response 2:**" labels, bold and
quotes around the text.
"""

from __future__ import annotations

import re

from vs_common.parsing._common import NUM, to_prob

LABELS = r"(?:response|option|candidate|answer|joke|idea|story|poem|sample|reply|text)"
# What names a candidate after its label word: "1", "#2", "B" (one letter, not a word).
MARK = r"(?:[ \t]*\#?[ \t]*\d{1,4}|[ \t]+(?-i:[A-Z])(?![\w']))"
_BOLD = r"(?:\*\*|__)?"
LABEL_PREFIX_RE = re.compile(
    rf"^[ \t]*{_BOLD}[ \t]*{LABELS}{MARK}?[ \t]*{_BOLD}[ \t]*"
    rf"(?:\([^()\n]{{0,80}}\))?[ \t]*{_BOLD}[ \t]*[:)\-\u2013\u2014][ \t]*{_BOLD}",
    re.I,
)
# A label with nothing after it ("### Response 1", "**Option B**", "### 2."): it names
# the text below it.
LABEL_ONLY_RE = re.compile(
    rf"{_BOLD}[ \t]*(?:{LABELS}{MARK}?|\#?[ \t]*\d{{1,4}})[ \t]*{_BOLD}"
    rf"[ \t]*[:.)]?[ \t]*{_BOLD}",
    re.I,
)
_PROB_LABELS = r"(?:probability|prob|confidence|likelihood|weight|percentage|percent|p)"
_PROB_WORD_RE = re.compile(
    rf"\b(?:(?:estimated|est\.|approximate|approx\.)[ \t]+)?{_PROB_LABELS}\b", re.I
)
_MARKUP = r"(?:\*\*|__|\*|_)?"
_APPROX = r"(?:[~\u2248][ \t]*|(?:about|approx\.?|approximately|around|roughly)[ \t]+)?"
_AFTER_PROB_WORD_RE = re.compile(
    rf"[ \t]*(?:\*\*|__|\*)?[ \t]*(?P<sep>[:=]|is\b|of\b)?[ \t]*(?:\*\*|__|\*)?[ \t]*[(\[]?[ \t]*"
    rf"{_APPROX}(?P<num>{NUM})[ \t]*(?P<pct>%)?"
    # then the label's closing brackets and markup ("**", "*)"), not the next text's "*"
    r"(?:[ \t]*(?:[)\]]|(?>\*\*|__|\*)(?![^\s)\].,;!?]))){0,4}",
    re.I | re.ASCII,
)
_TRAILING_PROB_RE = re.compile(
    rf"(?:{_MARKUP}[(\[][ \t]*{_APPROX}(?P<num>{NUM})[ \t]*(?P<pct>%)?[ \t]*[)\]]{_MARKUP}"
    rf"|[ \t][-\u2013\u2014|:][ \t]*(?P<num2>{NUM})[ \t]*(?P<pct2>%)?)[ \t]*\.?[ \t]*$",
)
_LEADING_PROB_RE = re.compile(
    rf"^[ \t]*[(\[][ \t]*(?P<num>{NUM})[ \t]*(?P<pct>%)?[ \t]*[)\]][ \t]*[-:\u2013\u2014]?[ \t]*"
)
_MAX_LABEL_TRIES = 64  # a text saying "probability" more often than this is prose, not a label
_SHORT_LABEL = 4  # "p" and "prob" are words too: they count only before ":" or "="
_LABEL_LEAD = 2  # the "**" or "(" just before "probability" belongs to the label
_TAIL = 160  # a trailing "(0.3)" sits in the last characters: never search a whole long text
_TIDY_EDGE = " \t\r\n:;,|-\u2013\u2014"
_MAX_LAYERS = 4  # "- **"text"** -": a few layers of markup, never a loop over the text


def labelled_prob(text: str) -> tuple[int, int, float | None] | None:
    """Find "probability: 0.3" (and its aliases) in text: (start, end, value)."""
    for tries, m in enumerate(_PROB_WORD_RE.finditer(text)):
        if tries >= _MAX_LABEL_TRIES:
            return None
        after = _AFTER_PROB_WORD_RE.match(text, m.end())
        if after is None:
            continue
        if len(m.group()) <= _SHORT_LABEL and after.group("sep") not in (":", "="):
            continue
        # The label's own markup, an opening bracket and markup around it: "*(**probability".
        start = _back(text, m.start(), "*_")
        bracket = _back(text, start, "([")
        if bracket < start:
            start = _back(text, bracket, "*_")
        value = to_prob(after.group("num") + ("%" if after.group("pct") else ""))
        return start, after.end(), value
    return None


def _back(text: str, pos: int, chars: str) -> int:
    """``pos`` moved back over up to two of ``chars``."""
    start = pos
    while start > pos - _LABEL_LEAD and start > 0 and text[start - 1] in chars:
        start -= 1
    return start


def trailing_prob(text: str) -> tuple[int, float] | None:
    """Find a trailing "(0.3)", "[30%]" or "- 0.3": (start, value)."""
    m = _TRAILING_PROB_RE.search(text, max(0, len(text) - _TAIL))
    if m is None:
        return None
    num = m.group("num") or m.group("num2")
    pct = m.group("pct") or m.group("pct2")
    value = to_prob(num + ("%" if pct else ""))
    # "(3)" or "- 1999" ends many sentences: a bare integer counts only as 0 or 1, and
    # nothing above 100 (percent) is a probability.
    plausible = "." in num or pct is not None or (value is not None and 0 <= value <= 1)
    if value is not None and plausible and value <= 100:
        return m.start(), value
    return None


def split_prob(text: str) -> tuple[str, float | None]:
    """Take a stated probability out of a candidate's text: (tidy text, value)."""
    labelled = labelled_prob(text)
    if labelled is not None:
        start, end, value = labelled
        return tidy(text[:start] + " " + text[end:]), value
    trailing = trailing_prob(text)
    if trailing is not None:
        return tidy(text[: trailing[0]]), trailing[1]
    m = _LEADING_PROB_RE.match(text)
    if m is not None:
        value = to_prob(m.group("num") + ("%" if m.group("pct") else ""))
        # "(0.3) text" or "[30%] text", but not "(1) text": a leading integer is numbering.
        if value is not None and ("." in m.group("num") or m.group("pct")):
            return tidy(text[m.end() :]), value
    return tidy(text), None


def split_prob_lines(body: str) -> tuple[str, float | None]:
    """Like :func:`split_prob` line by line: the first stated probability counts."""
    kept: list[str] = []
    prob: float | None = None
    for line in body.split("\n"):
        t, p = split_prob(line)
        if p is not None and prob is None:
            prob = p
        if t:
            kept.append(t)
    return tidy("\n".join(kept)), prob


def tidy(text: str) -> str:
    """A candidate's text without its label, markup, quotes and edge punctuation.

    Bold (``**``, ``__``), italics (``*``, ``_``) and quotes are markup only
    when they wrap the whole text; peeled one layer at a time, a few layers
    at most ("**"Decaf"**").
    """
    s = text.lstrip(_TIDY_EDGE).rstrip()  # keep a trailing ":" for a label with no text
    m = LABEL_PREFIX_RE.match(s)
    if m is not None and m.end() > 0 and m.group(0).strip():
        s = s[m.end() :]
    for _ in range(_MAX_LAYERS):
        peeled = _peel(s.strip(_TIDY_EDGE))
        if peeled == s:
            break
        s = peeled
    return s


def _peel(s: str) -> str:
    """One layer of markup or quotes off ``s`` (or ``s`` as it is)."""
    for marker in ("**", "__"):
        if s.startswith(marker) and s.endswith(marker) and len(s) > 2 * len(marker):
            return s[len(marker) : -len(marker)].strip()
        if s.endswith(marker) and s.count(marker) % 2 == 1:
            return s[: -len(marker)].strip()
        if s.startswith(marker) and s.count(marker) % 2 == 1:
            return s[len(marker) :].strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "*_" and s[0] not in s[1:-1]:
        return s[1:-1].strip()  # *italic*, _italic_: not "*a* and *b*"
    quoted = len(s) >= 2 and (
        (s[0] == s[-1] and s[0] in "\"'`") or (s[0] == "\u201c" and s[-1] == "\u201d")
    )
    if quoted:
        return s[1:-1].strip()
    return s
