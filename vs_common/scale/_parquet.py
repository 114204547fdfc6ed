"""Results as Arrow columns, and a crash-safe Parquet output.

The same columns serve the Parquet output of ``vs batch`` and the Dataset
that :func:`vs_common.scale.sample_dataset` returns, so a result looks the
same whichever way it was made. pyarrow is imported when first needed (the
``ray`` extra brings it).

A Parquet file cannot be appended to, so a Parquet output is a directory of
part files (``OUTPUT.parquet/part-....parquet``), the layout Ray, Spark,
pandas and DuckDB all read as one table. Results are buffered and written as
a new part every ``flush_rows`` results or ``flush_seconds``: to a hidden
temporary name (which readers skip), synced, then renamed, so a part is
either whole or absent. A kill loses at most the buffered results, which are
not in any part and so are run again on resume; nothing is duplicated.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vs_common.scale._formats import BatchError, require_pyarrow
from vs_common.scale._keys import KeySet
from vs_common.scale._rows import id_key

__all__ = ["RESULT_COLUMNS", "ParquetSink", "result_row", "result_schema"]

#: The columns a result adds to its row (after ``id`` and ``prompt``).
RESULT_COLUMNS = (
    "candidates",
    "probabilities",
    "raw_probabilities",
    "selected",
    "selected_index",
    "reasoning",
    "repairs",
    "num_calls",
    "requested",
    "shortfall",
    "top_up_calls",
    "distinct",
    "failures",
    "prompt_tokens",
    "completion_tokens",
    "config",
    "error",
)


def result_schema(id_type: Any = None, *, with_input: bool = True) -> Any:
    """The Arrow schema of result rows.

    Args:
        id_type: Arrow type of ``id`` (default: string).
        with_input: Include ``id``, ``prompt``, ``model`` and ``meta`` (the
            Parquet output does; :func:`sample_dataset` keeps the input's
            own columns instead).

    Returns:
        A ``pyarrow.Schema``.
    """
    pa = _pa()
    failure = pa.struct(
        [
            ("call_index", pa.int64()),
            ("attempts", pa.int64()),
            ("error_type", pa.string()),
            ("message", pa.string()),
            ("raw_output", pa.string()),
        ]
    )
    fields = [
        ("candidates", pa.list_(pa.string())),
        ("probabilities", pa.list_(pa.float64())),
        ("raw_probabilities", pa.list_(pa.float64())),
        ("selected", pa.string()),
        ("selected_index", pa.int64()),
        ("reasoning", pa.string()),
        ("repairs", pa.list_(pa.string())),
        ("num_calls", pa.int64()),
        ("requested", pa.int64()),
        ("shortfall", pa.int64()),
        ("top_up_calls", pa.int64()),
        ("distinct", pa.string()),
        ("failures", pa.list_(failure)),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("config", pa.string()),
        ("error", pa.string()),
    ]
    if with_input:
        head = [
            ("id", id_type if id_type is not None else pa.string()),
            ("prompt", pa.string()),
            ("model", pa.string()),
            ("meta", pa.string()),
        ]
        fields = head + fields
    return pa.schema(fields)


def _pa() -> Any:
    require_pyarrow("Parquet output")
    import pyarrow as pa

    return pa


def result_row(record: Mapping[str, Any], *, with_input: bool = True) -> dict[str, Any]:
    """One output record (see :func:`~vs_common.scale.result_record`) as result columns.

    ``meta``, ``config`` and ``distinct`` (the stats of a distinct-N row, else
    null) are kept as JSON text (their shape varies by row).

    Example:
        >>> from vs_common import VerbalizedDistribution, VSConfig
        >>> from vs_common.scale import result_record
        >>> d = VerbalizedDistribution.from_pairs([("a", 0.75), ("b", 0.25)])
        >>> row = result_row(result_record(d, d.candidates[1], VSConfig(k=2), id=1, prompt="p"))
        >>> row["candidates"], row["probabilities"], row["selected"], row["config"]
        (['a', 'b'], [0.75, 0.25], 'b', '{"method": "vs_standard", "k": 2, ...}')
    """
    candidates = record.get("candidates") or []
    selected = record.get("selected") or None
    usage = record.get("usage") or {}
    config = record.get("config") or {}
    row: dict[str, Any] = {
        "candidates": [c["text"] for c in candidates],
        "probabilities": [c["probability"] for c in candidates],
        "raw_probabilities": [c.get("raw_probability") for c in candidates],
        "selected": selected["text"] if selected else None,
        "selected_index": selected["index"] if selected else None,
        "reasoning": record.get("reasoning"),
        "repairs": list(record.get("repairs") or []),
        "num_calls": record.get("num_calls", 0),
        "requested": record.get("requested"),
        "shortfall": record.get("shortfall", 0),
        "top_up_calls": record.get("top_up_calls", 0),
        "distinct": _json_or_none(record.get("distinct")),
        "failures": list(record.get("failures") or []),
        "prompt_tokens": usage.get("prompt_tokens") if usage else None,
        "completion_tokens": usage.get("completion_tokens") if usage else None,
        "config": _json_or_none(config or None),
        "error": None,
    }
    if with_input:
        meta = record.get("meta")
        row = {
            "id": record.get("id"),
            "prompt": record.get("prompt"),
            "model": record.get("model"),
            "meta": _json_or_none(meta),
            **row,
        }
    return row


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


class ParquetSink:
    """A Parquet output: a directory of part files, each written whole or not at all.

    Args:
        path: The directory (created when missing), e.g. ``data.parquet``.
        flush_rows: Results per part file.
        flush_seconds: Write a part at least this often while results arrive.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp()) / "out.parquet"
        >>> sink = ParquetSink(folder)
        >>> len(sink.open())
        0
        >>> sink.write({"id": 7, "prompt": "p", "candidates": []})
        >>> sink.close()
        >>> "7" in ParquetSink(folder).open()
        True
    """

    def __init__(self, path: Path, *, flush_rows: int = 1000, flush_seconds: float = 10.0) -> None:
        self.path = path
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._rows: list[dict[str, Any]] = []
        self._id_type: Any = None
        self._last_flush = time.monotonic()
        self._run = f"{time.time_ns():x}-{os.getpid()}"
        self._parts = 0

    def open(self) -> KeySet:
        """Create the directory, drop half-written parts, return the ids of the whole ones.

        Raises:
            BatchError: ``path`` is a file, or a part cannot be read.
        """
        pq = require_pyarrow("Parquet output")
        if self.path.exists() and not self.path.is_dir():
            msg = f"{self.path} is a file; a Parquet output is a directory of part files"
            raise BatchError(msg)
        self.path.mkdir(exist_ok=True)
        for tmp in self.path.glob(".*.parquet.tmp"):
            tmp.unlink()
        done = KeySet()
        for part in sorted(self.path.glob("*.parquet")):
            try:
                column = pq.read_table(part, columns=["id"]).column("id")
            except (OSError, ValueError, KeyError) as exc:
                msg = f"cannot read the ids of {part}: {exc}; move it away and rerun"
                raise BatchError(msg) from None
            self._id_type = column.type
            for value in column.to_pylist():
                done.add(id_key(value))
        return done

    def write(self, record: Mapping[str, Any] | bytes) -> None:
        """Buffer one result; write a part when the buffer is full or old enough.

        Raises:
            BatchError: Its id has another type than the ids before it (a
                Parquet column has one type).
        """
        data = json.loads(record) if isinstance(record, bytes) else record
        self._check_id(data.get("id"))
        self._rows.append(result_row(data))
        now = time.monotonic()
        if len(self._rows) >= self.flush_rows or now - self._last_flush >= self.flush_seconds:
            self.flush()

    def _check_id(self, ident: Any) -> None:
        pa = _pa()
        kind = pa.int64() if isinstance(ident, int) else pa.string()
        if self._id_type is None:
            self._id_type = kind
        elif self._id_type != kind and not (
            pa.types.is_integer(self._id_type) and pa.types.is_integer(kind)
        ):
            msg = (
                f"id {ident!r} is not of the type of the ids before it ({self._id_type}); a"
                " Parquet output needs ids of one type (write JSONL instead)"
            )
            raise BatchError(msg)

    def flush(self) -> None:
        """Write the buffered results as one new part file (atomically)."""
        self._last_flush = time.monotonic()
        if not self._rows:
            return
        pq = require_pyarrow("Parquet output")
        pa = _pa()
        table = pa.Table.from_pylist(self._rows, schema=result_schema(self._id_type))
        self._parts += 1
        final = self.path / f"part-{self._run}-{self._parts:05d}.parquet"
        # A hidden name: readers (pyarrow, Ray, Spark) skip it while it is written.
        tmp = final.with_name(f".{final.name}.tmp")
        with tmp.open("wb") as handle:
            pq.write_table(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        _sync_directory(self.path)
        self._rows.clear()

    def close(self) -> None:
        """Write what is buffered."""
        self.flush()


def _sync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
