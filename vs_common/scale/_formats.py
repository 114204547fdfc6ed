"""File formats and errors the other scale modules share (a leaf: imports no scale module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from vs_common.errors import VSError

__all__ = [
    "MAX_LINE_BYTES",
    "PARQUET_EXTRA_HINT",
    "RAY_EXTRA_HINT",
    "BatchError",
    "bounded_lines",
    "count_lines",
    "is_parquet",
    "require_pyarrow",
]

RAY_EXTRA_HINT = 'pip install "verbalized-sampling-kit[ray]"'
PARQUET_EXTRA_HINT = 'pip install "verbalized-sampling-kit[parquet]"'
#: The longest input line (or prompt) read: a longer one is a failed row, never held whole.
MAX_LINE_BYTES = 8 * 1024 * 1024


class BatchError(VSError):
    """A batch run cannot start or go on (the message says why and what to do)."""


def is_parquet(path: Path) -> bool:
    """Whether ``path`` is read and written as Parquet (by its suffix).

    Example:
        >>> is_parquet(Path("data.parquet")), is_parquet(Path("data.jsonl"))
        (True, False)
    """
    return path.suffix.lower() in {".parquet", ".pq"}


def require_pyarrow(what: str) -> Any:
    """Import pyarrow.parquet, or raise ImportError naming the extra.

    Args:
        what: What needs it, for the message (e.g. "Parquet input").
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        msg = f"{what} needs pyarrow; install it with {PARQUET_EXTRA_HINT}"
        raise ImportError(msg, name=exc.name) from exc
    return pq


def bounded_lines(
    handle: BinaryIO, limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None]]:
    r"""``(line number, line)`` for each line of ``handle``; None for a line over ``limit`` bytes.

    A line longer than ``limit`` is read past in pieces, never held whole, so a
    file of one 10 GiB line costs ``limit`` bytes of memory, not 10 GiB.

    Example:
        >>> import io
        >>> list(bounded_lines(io.BytesIO(b"ab\n" + b"x" * 9 + b"\ncd"), limit=4))
        [(1, b'ab\n'), (2, None), (3, b'cd')]
    """
    line_no = 0
    while raw := handle.readline(limit + 1):
        line_no += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield line_no, None
        else:
            yield line_no, raw


def count_lines(path: Path) -> int:
    """Non-blank lines of ``path`` (a line over the limit counts: it is a row that fails)."""
    with path.open("rb") as handle:
        return sum(1 for _, raw in bounded_lines(handle) if raw is None or raw.strip())
