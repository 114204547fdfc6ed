"""The crash-safe result store of a batch: an append-only JSONL output and its errors file.

Every record is one ``write`` of a line ending in a newline; JSON text holds no
raw newline, so the only damage a kill (even SIGKILL) can do is a trailing
partial line. On open the output is repaired: a trailing partial line is
truncated away (and any other unreadable or duplicate line dropped, by an
atomic rewrite), and the ids it holds are returned as done. The errors file
is emptied by each run; its ids, not being in the output, are simply tried
again. So the output holds every successful id exactly once and every line
is valid JSON, however often the run is killed and restarted.

The store keeps one set: the ids written (to the output or the errors file).
A record for an id already written is dropped, whichever engine sent it
twice (a Ray task retried after its worker died, a duplicate in the input).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal, Protocol, Self

from vs_common.scale._formats import BatchError, count_lines, is_parquet
from vs_common.scale._keys import KeySet
from vs_common.scale._rows import id_key

__all__ = [
    "BatchError",
    "Claim",
    "JsonlSink",
    "LineWriter",
    "ResultSink",
    "ResultStore",
    "StoreLocked",
    "count_lines",
    "encode_record",
    "errors_path_for",
    "open_sink",
    "recover_output",
]


#: What :meth:`ResultStore.claim` found.
Claim = Literal["new", "done", "duplicate"]


class StoreLocked(BatchError):
    """Another run is writing the same output."""


def errors_path_for(output: Path) -> Path:
    """Where the failures of ``output`` go: ``OUTPUT.errors.jsonl``.

    Example:
        >>> errors_path_for(Path("out.jsonl")).name, errors_path_for(Path("o.parquet")).name
        ('out.errors.jsonl', 'o.errors.jsonl')
    """
    name = output.name
    for suffix in (".jsonl", ".parquet"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return output.with_name(name + ".errors.jsonl")


def _complete_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(offset, line) for each complete (newline-terminated) line."""
    offset = 0
    for raw in handle:
        if not raw.endswith(b"\n"):
            return
        yield offset, raw
        offset += len(raw)


def _record_key(raw: bytes) -> str | None:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or "id" not in data:
        return None
    return id_key(data["id"])


def recover_output(output: Path) -> KeySet:
    """Repair ``output`` after a kill and return the id keys it holds.

    A trailing partial line (the kill came mid-write) is truncated away. Any
    complete line that is not a JSON object with an id, or whose id was
    already seen, is dropped by rewriting the file atomically (this cannot
    happen with files written by the store, but a hand-edited file must not
    break the guarantee).

    Args:
        output: The output file (it may not exist yet).

    Returns:
        The :func:`~vs_common.scale.id_key` of every id in the repaired file.
    """
    seen = KeySet()
    if not output.exists():
        return seen
    bad = False
    end = 0
    with output.open("rb") as handle:
        for offset, raw in _complete_lines(handle):
            end = offset + len(raw)
            key = _record_key(raw)
            if key is None or not seen.add(key):
                bad = True
        size = handle.seek(0, os.SEEK_END)
    if bad:
        _rewrite_clean(output)
    elif size != end:
        with output.open("r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
    return seen


def _rewrite_clean(output: Path) -> None:
    tmp = output.with_name(output.name + ".tmp")
    seen = KeySet()
    with output.open("rb") as src, tmp.open("wb") as dst:
        for _, raw in _complete_lines(src):
            key = _record_key(raw)
            if key is not None and seen.add(key):
                dst.write(raw)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, output)


class LineWriter:
    """Appends whole lines, each with one unbuffered ``write``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def lock(self, what: Path) -> None:
        """Take an exclusive lock, or fail if another run holds it.

        The kernel drops the lock when the process dies, even by SIGKILL.

        Raises:
            StoreLocked: Another process holds the lock.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.close()
            msg = f"another `vs batch` is writing {what}; wait for it or stop it first"
            raise StoreLocked(msg) from None

    def truncate(self) -> None:
        """Empty the file (appends then start at 0)."""
        os.ftruncate(self._fd, 0)

    def write_line(self, line: bytes) -> None:
        """Append ``line`` (JSON text without its newline)."""
        view = memoryview(line + b"\n")
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def encode_record(record: Mapping[str, Any]) -> bytes:
    r"""One record as a JSON line (no newline): UTF-8, no raw newline inside.

    Example:
        >>> encode_record({"id": 1, "text": "a\nb"})
        b'{"id": 1, "text": "a\\nb"}'
        >>> encode_record({"id": 2, "text": "\ud800"})  # a lone surrogate, escaped
        b'{"id": 2, "text": "\\ud800"}'
    """
    text = _RECORD_ENCODER.encode(record)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a server may send "\ud800" in a reply): escaped, as JSON
        # allows, so the line stays valid UTF-8 and reads back the same.
        return _ASCII_ENCODER.encode(record).encode("ascii")


# json.dumps(record, ensure_ascii=False, default=str), without a new encoder per record.
_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_ASCII_ENCODER = json.JSONEncoder(default=str)


class ResultSink(Protocol):
    """Where results go: opened (repaired, ids returned), written to, closed."""

    def open(self) -> KeySet:
        """Repair what a kill left and return the id keys already there."""
        ...

    def write(self, record: Mapping[str, Any] | bytes) -> None:
        """Add one result (a record, or its JSON line)."""
        ...

    def close(self) -> None:
        """Make every result written durable and release the files."""
        ...


class JsonlSink:
    """An append-only JSONL output: one unbuffered ``write`` per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: LineWriter | None = None

    def open(self) -> KeySet:
        """Repair the file (see :func:`recover_output`) and open it for appending."""
        done = recover_output(self.path)
        self._writer = LineWriter(self.path)
        return done

    def write(self, record: Mapping[str, Any] | bytes) -> None:
        """Append one line."""
        if self._writer is None:
            msg = "the output is not open"
            raise BatchError(msg)
        self._writer.write_line(_encoded(record))

    def close(self) -> None:
        """Close the file (every line is already written)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def open_sink(output: Path) -> ResultSink:
    """The sink for ``output``: Parquet (a directory of part files) by suffix, else JSONL."""
    if is_parquet(output):
        from vs_common.scale._parquet import ParquetSink

        return ParquetSink(output)
    return JsonlSink(output)


class ResultStore:
    """The output and errors files of one run, locked, repaired and deduplicated.

    Args:
        output: The output: a JSONL file (appended to; repaired on open), or
            with a ``.parquet`` suffix a directory of Parquet part files
            (see :class:`~vs_common.scale.ParquetSink`).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> with ResultStore(folder / "out.jsonl") as store:
        ...     store.add_result(id_key("a"), {"id": "a", "candidates": []})
        ...     store.add_result(id_key("a"), {"id": "a", "candidates": []})  # a retried task
        True
        False
        >>> with ResultStore(folder / "out.jsonl") as store:
        ...     len(store.done), id_key("a") in store.done
        (1, True)
    """

    def __init__(self, output: Path) -> None:
        self.output = output
        self.errors_path = errors_path_for(output)
        self.done = KeySet()
        self.previous_errors = 0
        self.written = 0
        self.failed = 0
        self._seen = KeySet()
        self._errors: LineWriter | None = None
        self._out: ResultSink | None = None

    def open(self) -> Self:
        """Lock, count the last run's failures, empty the errors file, repair the output.

        Raises:
            StoreLocked: Another run is writing this output.
        """
        # The errors file is never replaced, so its lock guards the output too.
        errors = LineWriter(self.errors_path)
        errors.lock(self.output)
        try:
            self.previous_errors = count_lines(self.errors_path)
            errors.truncate()
            sink = open_sink(self.output)
            self.done = sink.open()
            self._out = sink
        except BaseException:
            errors.close()
            raise
        self._errors = errors
        return self

    def close(self) -> None:
        """Close the output (flushing what it buffers) and the errors file."""
        try:
            if self._out is not None:
                self._out.close()
        finally:
            self._out = None
            if self._errors is not None:
                self._errors.close()
                self._errors = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self, key: str) -> Claim:
        """Mark ``key`` as taken by this run, unless it already is.

        Returns:
            ``"new"`` (now claimed: write its record), ``"done"`` (in the
            output of an earlier run) or ``"duplicate"`` (already claimed in
            this run).
        """
        if key in self.done:
            return "done"
        return "new" if self._seen.add(key) else "duplicate"

    def write_result(self, record: Mapping[str, Any] | bytes) -> None:
        """Append a result (a record, or its encoded line) for a claimed id."""
        if self._out is None:
            raise _not_open()
        self._out.write(record)
        self.written += 1

    def write_error(self, record: Mapping[str, Any] | bytes) -> None:
        """Append a failure (a record, or its encoded line)."""
        if self._errors is None:
            raise _not_open()
        self._errors.write_line(_encoded(record))
        self.failed += 1

    def add_result(self, key: str, record: Mapping[str, Any] | bytes) -> bool:
        """Claim ``key`` and append its result; False (nothing written) if already taken."""
        if self.claim(key) != "new":
            return False
        self.write_result(record)
        return True

    def add_error(self, key: str | None, record: Mapping[str, Any] | bytes) -> bool:
        """Claim ``key`` and append its failure (None: no id, always written)."""
        if key is not None and self.claim(key) != "new":
            return False
        self.write_error(record)
        return True


def _not_open() -> BatchError:
    return BatchError("the result store is not open")


def _encoded(record: Mapping[str, Any] | bytes) -> bytes:
    return record if isinstance(record, bytes) else encode_record(record)
