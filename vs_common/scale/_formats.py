"""File formats and errors the other scale modules share (a leaf: imports no scale module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vs_common.errors import VSError

__all__ = ["RAY_EXTRA_HINT", "BatchError", "count_lines", "is_parquet", "require_pyarrow"]

RAY_EXTRA_HINT = 'pip install "verbalized-sampling-kit[ray]"'


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
        msg = f"{what} needs pyarrow; install it with {RAY_EXTRA_HINT}"
        raise ImportError(msg, name=exc.name) from exc
    return pq


def count_lines(path: Path) -> int:
    """Non-blank lines of ``path``, read one line at a time (bounded memory)."""
    count = 0
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                count += 1
    return count
