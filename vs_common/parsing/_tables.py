"""Markdown tables: ``| # | Response | Probability |``, one candidate a row.

Several tables are read one after another, each with its own header; rows
after a blank line or prose without a new header continue the table before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vs_common.parsing._common import (
    CAP_NOTE,
    CUT_NOTE,
    LIST_SET,
    MAX_CANDIDATES,
    PROB_SET,
    TEXT_SET,
    Pair,
    Reading,
    iter_lines,
    key_of,
    to_prob,
)
from vs_common.parsing._prose import tidy

_SEPARATOR_RE = re.compile(r"^[\s|:\-]+$")  # |---|:---:|
_MAX_ROWS = 2 * MAX_CANDIDATES  # the most candidates a reply holds, with headers to spare


@dataclass
class _Table:
    header: list[str]
    rows: list[str] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") else s
    return [c.strip() for c in s.split("|")]


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|") and line.count("|") >= 2


def _runs(text: str) -> tuple[list[tuple[int, int, list[str]]], bool]:
    """Runs of consecutive table rows as (start, end, rows); True if it stopped early."""
    runs: list[tuple[int, int, list[str]]] = []
    rows: list[str] = []
    start = end = total = 0
    stopped = False
    for offset, line in iter_lines(text):
        if _is_row(line):
            if total >= _MAX_ROWS:
                stopped = True
                break
            if not rows:
                start = offset
            rows.append(line)
            end = offset + len(line)
            total += 1
        elif rows:
            runs.append((start, end, rows))
            rows = []
    if rows:
        runs.append((start, end, rows))
    return runs, stopped


def _columns(table: _Table) -> tuple[int | None, int | None]:
    """(text column, probability column), by header name, else by content."""
    keys = [key_of(h.strip("*_ ")) for h in table.header]
    text_col = next((i for i, k in enumerate(keys) if k in TEXT_SET or k in LIST_SET), None)
    prob_col = next((i for i, k in enumerate(keys) if k in PROB_SET), None)
    if prob_col is None:  # "Prob. (%)", "Confidence score"
        prob_col = next((i for i, k in enumerate(keys) if k.startswith(("prob", "conf"))), None)
    if text_col is None:  # unnamed: the widest column holds the text (a joke outgrows a "0.3")
        widths = [0] * len(table.header)
        for r in table.rows:
            for i, c in enumerate(_cells(r)[: len(table.header)]):
                widths[i] += len(c)
        others = (i for i in range(len(table.header)) if i != prob_col)
        text_col = max(others, key=lambda i: widths[i], default=None)
    return text_col, prob_col


def _table_pairs(table: _Table) -> list[Pair]:
    text_col, prob_col = _columns(table)
    if text_col is None:
        return []
    pairs: list[Pair] = []
    for r in table.rows:
        cells = _cells(r)
        if text_col >= len(cells):
            continue
        prob = to_prob(cells[prob_col]) if prob_col is not None and prob_col < len(cells) else None
        text = tidy(cells[text_col])
        if text:
            pairs.append((text, prob))
    return pairs


def read_tables(text: str, truncated: bool) -> Reading | None:
    """Candidates from the rows of every markdown table in ``text``."""
    if "|" not in text:
        return None
    runs, stopped = _runs(text)
    if sum(len(rows) for _, _, rows in runs) < 2:
        return None  # a table is a header and at least one row
    tables: list[_Table] = []
    for _, _, rows in runs:
        if not tables or (len(rows) >= 2 and _SEPARATOR_RE.match(rows[1])):
            tables.append(_Table(_cells(rows[0])))
            rows = rows[1:]
        tables[-1].rows.extend(r for r in rows if not _SEPARATOR_RE.match(r))
    repairs: list[str] = []
    at_end = runs[-1][1] >= len(text.rstrip()) and not stopped
    if truncated and at_end and not text.endswith("\n") and tables[-1].rows:
        tables[-1].rows.pop()  # the reply stopped inside the last row, or may go on
        repairs.append(CUT_NOTE)
    pairs = [p for t in tables for p in _table_pairs(t)]
    if len(pairs) > MAX_CANDIDATES or stopped:
        del pairs[MAX_CANDIDATES:]
        repairs.append(CAP_NOTE)
    if not pairs:
        return None
    spans = [(start, end) for start, end, _ in runs]
    return Reading(pairs=pairs, repairs=repairs, spans=spans, complete=CAP_NOTE not in repairs)
