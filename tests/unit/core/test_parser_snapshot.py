"""A refactor cannot change what the parser reads unnoticed (see parser_snapshot.py)."""

from __future__ import annotations

import difflib
import json

from parser_snapshot import SNAPSHOT, dumps, entries

MAX_DIFF_LINES = 80


def test_the_parser_reads_what_the_snapshot_says() -> None:
    pinned = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    current = [dumps(e) for e in entries()]
    if current == pinned:
        return
    changed = [json.loads(a)["id"] for a, b in zip(pinned, current, strict=False) if a != b] + [
        "(lines added or removed)"
    ] * (len(pinned) != len(current))
    diff = list(difflib.unified_diff(pinned, current, "snapshot", "now", n=0, lineterm=""))
    shown = "\n".join(diff[:MAX_DIFF_LINES])
    more = (
        f"\n... {len(diff) - MAX_DIFF_LINES} more diff lines" if len(diff) > MAX_DIFF_LINES else ""
    )
    msg = (
        f"the parser reads {len(changed)} replies differently from the snapshot "
        f"({', '.join(changed[:10])}).\n{shown}{more}\n"
        "If the change is intended, regenerate the snapshot and commit it with the change:\n"
        "    make parser-snapshot   (.venv/bin/python tests/unit/core/parser_snapshot.py)"
    )
    raise AssertionError(msg)


def test_the_snapshot_covers_every_shape_and_the_real_corpus() -> None:
    rows = [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2080
    assert sum(1 for r in rows if r["id"].startswith("smollm2-")) == 80
    assert len({r["shape"] for r in rows if r["id"].startswith("gen-")}) >= 20
    assert all(("texts" in r) != ("error" in r) for r in rows)
