"""Reading a batch's input file lazily: JSONL (one row per line) or Parquet.

Parquet needs pyarrow (the ``parquet`` extra); it is imported only when a
Parquet file is read. A line longer than
:data:`~vs_common.scale._formats.MAX_LINE_BYTES` is a failed row, read past
without being held whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from vs_common.errors import VSConfigError
from vs_common.scale._formats import (
    MAX_LINE_BYTES,
    RAY_EXTRA_HINT,
    bounded_lines,
    count_lines,
    is_parquet,
    require_pyarrow,
)
from vs_common.scale._rows import ROW_KEYS, Job, RowError, parse_line, parse_row

__all__ = ["RAY_EXTRA_HINT", "count_rows", "is_parquet", "read_jobs", "require_pyarrow"]

_PARQUET_BATCH_ROWS = 1024


def count_rows(path: Path) -> int:
    """Rows of an input file: non-blank lines of JSONL, or the rows a Parquet file holds."""
    if is_parquet(path):
        pq = require_pyarrow("Parquet input")
        return int(pq.ParquetFile(path).metadata.num_rows)
    return count_lines(path)


def check_parquet_columns(path: Path) -> None:
    """Fail before any work when a Parquet input has a column no row may have.

    Raises:
        VSConfigError: An unknown column (a typo must not be silently ignored)
            or no ``id`` / ``prompt`` column; the message names it.
    """
    pq = require_pyarrow("Parquet input")
    names = set(pq.read_schema(path).names)
    unknown = sorted(names - ROW_KEYS)
    if unknown:
        msg = (
            f"{path}: unknown column {unknown[0]!r} (allowed: id, prompt, meta, k, n, method,"
            " ...); drop or rename it first"
        )
        raise VSConfigError(msg, field=unknown[0])
    for needed in ("id", "prompt"):
        if needed not in names:
            msg = f"{path}: no {needed!r} column"
            raise VSConfigError(msg, field=needed)


def read_jobs(path: Path, defaults: Mapping[str, Any]) -> Iterator[Job | RowError]:
    """The jobs (or row errors) of an input file, read lazily, in order.

    Args:
        path: JSONL (blank lines are ignored) or Parquet (checked first with
            :func:`check_parquet_columns`).
        defaults: The run's settings; each row's own settings win.
    """
    if is_parquet(path):
        yield from _parquet_jobs(path, defaults)
        return
    with path.open("rb") as source:
        for line_no, raw in bounded_lines(source):
            if raw is None:
                yield RowError(line_no, None, f"line longer than {MAX_LINE_BYTES} bytes: not read")
            elif raw.strip():
                yield parse_line(raw, line_no, defaults)


def _parquet_jobs(path: Path, defaults: Mapping[str, Any]) -> Iterator[Job | RowError]:
    check_parquet_columns(path)
    pq = require_pyarrow("Parquet input")
    row_no = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=_PARQUET_BATCH_ROWS):
        for row in batch.to_pylist():
            row_no += 1
            yield parse_row(row, row_no, defaults)
