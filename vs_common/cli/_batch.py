"""``vs batch INPUT.jsonl -o OUTPUT.jsonl``: many prompts, streamed and resumable.

Input: one JSON object per line, ``{"id": ..., "prompt": ...}`` plus optional
per-line settings (``k``, ``n``, ``method``, ``threshold``,
``probability_format``, ``output_format``, ``word_hint``, ``turns``,
``strategy``, ``seed``, ``select_temperature``) that override the command's
options, and an optional ``meta`` value copied to the output. Blank lines are
ignored; any other key is an error (a typo must not be silently ignored).

Output: one JSON line per successful id, written and flushed as soon as its
prompt is done: ``dist.to_dict()`` plus ``id``, ``prompt``, ``config``,
``selected`` (and ``meta``). Failures (a malformed line, a bad setting, a
prompt whose sampling failed) go to ``OUTPUT.errors.jsonl`` instead.

Crash safety: every record is one ``write`` of a line ending in a newline;
JSON text holds no raw newline, so the only damage a kill (even SIGKILL) can
do is a trailing partial line. On start the output is repaired: a trailing
partial line is truncated away (and any other unreadable or duplicate line
dropped, by an atomic rewrite), and the ids it holds are skipped. The errors
file is rewritten by each run, and its ids, not being in the output, are
simply tried again. So the output holds every successful id exactly once and
every line is valid JSON, however often the run is killed and restarted.

Memory stays bounded for any input size: the input is read lazily, at most
``concurrency`` prompts are in flight, and only the ids seen are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from vs_common.calls import Call, CallRequest, CallResponse
from vs_common.cli._backend import BackendOptions, open_backend
from vs_common.cli._common import (
    CONFIG_KEYS,
    EXIT_FAILURE,
    EXIT_OK,
    SELECT_KEYS,
    CLIError,
    Selection,
    UsageError,
    config_from,
    eprint,
)
from vs_common.cli._progress import BatchProgress, ProgressLine
from vs_common.cli._render import distribution_payload
from vs_common.errors import VSConfigError, VSError, VSSamplingError
from vs_common.methods import VSConfig
from vs_common.sampling import RetryPolicy, Structured, run_sampling, run_sync

__all__ = [
    "BatchAborted",
    "BatchOptions",
    "BatchSummary",
    "Job",
    "LineError",
    "add_batch_arguments",
    "errors_path_for",
    "id_key",
    "line_seed",
    "parse_line",
    "recover_output",
    "run_batch",
    "run_batch_command",
]

_LINE_KEYS = frozenset({"id", "prompt", "meta", *CONFIG_KEYS, *SELECT_KEYS})
_READ_CHUNK = 1 << 20


def errors_path_for(output: Path) -> Path:
    """Where the failures of ``output`` go: ``OUTPUT.errors.jsonl``.

    Example:
        >>> errors_path_for(Path("out.jsonl")).name
        'out.errors.jsonl'
    """
    stem = output.name[: -len(".jsonl")] if output.name.endswith(".jsonl") else output.name
    return output.with_name(stem + ".errors.jsonl")


def id_key(value: Any) -> str:
    """The identity of an id (``1`` and ``"1"`` are different ids).

    Example:
        >>> id_key(1), id_key("1")
        ('1', '"1"')
    """
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def line_seed(seed: int, ident: str | int) -> int:
    """A per-id selection seed derived from ``--seed``, stable across runs and machines.

    One shared seed would make every line draw the same random number, so
    the choices of different prompts would be correlated.

    Example:
        >>> line_seed(7, "a") == line_seed(7, "a") != line_seed(7, "b")
        True
    """
    digest = hashlib.sha256(f"{seed}:{id_key(ident)}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Job:
    """One prompt to run."""

    line: int
    id: str | int
    prompt: str
    config: VSConfig
    selection: Selection
    meta: Any = None


@dataclass(frozen=True)
class LineError:
    """An input line that cannot be run."""

    line: int
    id: Any
    message: str


def parse_line(raw: bytes, line: int, defaults: Mapping[str, Any]) -> Job | LineError:
    """Read one input line into a :class:`Job`, or say what is wrong with it.

    Args:
        raw: The line's bytes.
        line: Its 1-based number (for messages).
        defaults: The command's settings; the line's own settings win.

    Returns:
        The job, or a :class:`LineError`.

    Example:
        >>> parse_line(b'{"id": 7, "prompt": "A joke", "k": 3}', 1, {}).config.k
        3
        >>> parse_line(b'{"id": 7, "promt": "A joke"}', 2, {}).message
        "unknown key 'promt' (allowed: id, prompt, meta, k, n, method, ...)"
    """
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return LineError(line, None, f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return LineError(line, None, f"expected a JSON object, got {type(data).__name__}")
    ident = data.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        return LineError(line, ident, "missing or bad 'id' (a non-empty string or an integer)")
    unknown = sorted(set(data) - _LINE_KEYS)
    if unknown:
        allowed = "id, prompt, meta, k, n, method, ..."
        return LineError(line, ident, f"unknown key {unknown[0]!r} (allowed: {allowed})")
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return LineError(line, ident, "missing or empty 'prompt'")
    own = {k: v for k, v in data.items() if k in CONFIG_KEYS or k in SELECT_KEYS}
    settings = {**defaults, **own}
    if "seed" not in own and isinstance(defaults.get("seed"), int):
        settings["seed"] = line_seed(defaults["seed"], ident)
    try:
        config = VSConfig(
            **{k: v for k, v in settings.items() if k in CONFIG_KEYS and v is not None}
        )
    except VSConfigError as exc:
        return LineError(line, ident, f"bad setting {exc.field or 'config'!r}: {exc}")
    try:
        selection = Selection.from_settings(settings, config)
    except UsageError as exc:
        return LineError(line, ident, f"bad setting: {str(exc).removeprefix('argument ')}")
    return Job(line, ident, prompt, config, selection, data.get("meta"))


def _scan_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(offset, line) for each complete (newline-terminated) line."""
    offset = 0
    for raw in handle:
        if not raw.endswith(b"\n"):
            return
        yield offset, raw
        offset += len(raw)


def recover_output(output: Path) -> set[str]:
    """Repair ``output`` after a kill and return the id keys it holds.

    A trailing partial line (the kill came mid-write) is truncated away. Any
    complete line that is not a JSON object with an id, or whose id was
    already seen, is dropped by rewriting the file atomically (this cannot
    happen with files written by this command, but a hand-edited file must
    not break the guarantee).

    Args:
        output: The output file (it may not exist yet).

    Returns:
        The :func:`id_key` of every id in the repaired file.
    """
    if not output.exists():
        return set()
    seen: set[str] = set()
    bad = False
    end = 0
    with output.open("rb") as handle:
        for offset, raw in _scan_lines(handle):
            end = offset + len(raw)
            key = _record_key(raw)
            if key is None or key in seen:
                bad = True
            else:
                seen.add(key)
        size = handle.seek(0, os.SEEK_END)
    if bad:
        _rewrite_clean(output)
    elif size != end:
        with output.open("r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
    return seen


def _record_key(raw: bytes) -> str | None:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or "id" not in data:
        return None
    return id_key(data["id"])


def _rewrite_clean(output: Path) -> None:
    tmp = output.with_name(output.name + ".tmp")
    seen: set[str] = set()
    with output.open("rb") as src, tmp.open("wb") as dst:
        for _, raw in _scan_lines(src):
            key = _record_key(raw)
            if key is not None and key not in seen:
                seen.add(key)
                dst.write(raw)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, output)


def count_prompts(path: Path) -> int:
    """Non-blank lines of ``path``, read in chunks (bounded memory)."""
    count = 0
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                count += 1
    return count


class _LineWriter:
    """Appends whole lines with one unbuffered write each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def lock(self, output: Path) -> None:
        """Take an exclusive lock, or fail if another ``vs batch`` holds it.

        The kernel drops the lock when the process dies, even by SIGKILL.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.close()
            msg = f"another `vs batch` is writing {output}; wait for it or stop it first"
            raise CLIError(msg) from None

    def truncate(self) -> None:
        """Empty the file (appends then start at 0)."""
        os.ftruncate(self._fd, 0)

    def write(self, record: Mapping[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.count += 1

    def close(self) -> None:
        os.close(self._fd)


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs.

    Attributes:
        input: The input JSONL file.
        output: The output JSONL file (appended to).
        defaults: Settings for lines that do not set their own.
        concurrency: Prompts (and requests) in flight at once.
        structured: Structured-output mode for :func:`vs_common.run_sampling`.
        retry: Retry policy of each call.
        model: Model name recorded in each output line.
        show_progress: Show progress with rate and ETA on stderr.
        max_consecutive_failures: Stop when this many prompts in a row fail
            to sample (the server is probably down); 0 never stops.
    """

    input: Path
    output: Path
    defaults: Mapping[str, Any] = field(default_factory=dict)
    concurrency: int = 4
    structured: Structured = "auto"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    model: str | None = None
    show_progress: bool = True
    max_consecutive_failures: int = 20


class BatchAborted(CLIError):
    """Too many prompts in a row failed; the run stopped (rerun to resume)."""


@dataclass
class BatchSummary:
    """What a batch run did."""

    written: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    previous_errors: int = 0
    errors_path: Path | None = None
    consecutive_failures: int = 0


def _limited(call: Call, semaphore: asyncio.Semaphore) -> Call:
    async def limited(request: CallRequest) -> CallResponse | str | Mapping[str, Any] | Any:
        async with semaphore:
            return await call(request)

    return limited


def _failure_record(job: Job, exc: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": job.id,
        "line": job.line,
        "error": type(exc).__name__,
        "message": str(exc)[:1000],
    }
    if isinstance(exc, VSSamplingError):
        record["failures"] = [f.model_dump(mode="json") for f in exc.failures]
    return record


async def run_batch(options: BatchOptions, call: Call, err: TextIO) -> BatchSummary:
    """Run every prompt of ``options.input`` not yet in ``options.output``.

    Args:
        options: Files, defaults and limits.
        call: The model call (an :class:`~vs_common.openai_compat.OpenAICompatClient`
            or a fake).
        err: Where progress goes.

    Returns:
        The counts of this run.
    """
    errors_path = errors_path_for(options.output)
    summary = BatchSummary(errors_path=errors_path)
    # The errors file is never replaced, so its lock guards the output too.
    errors = _LineWriter(errors_path)
    errors.lock(options.output)
    try:
        summary.previous_errors = count_prompts(errors_path)
        errors.truncate()
        done = recover_output(options.output)
        return await _run_locked(options, call, err, summary, errors, done)
    finally:
        errors.close()


async def _run_locked(
    options: BatchOptions,
    call: Call,
    err: TextIO,
    summary: BatchSummary,
    errors: _LineWriter,
    done: set[str],
) -> BatchSummary:
    if options.show_progress and (done or summary.previous_errors):
        eprint(
            f"vs batch: resuming: {len(done)} id(s) already in {options.output} are skipped;"
            f" the {summary.previous_errors} failure(s) of the last run are retried",
            err,
        )
    total = count_prompts(options.input)
    progress = BatchProgress(ProgressLine(err), total)
    limited = _limited(call, asyncio.Semaphore(options.concurrency))
    queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=options.concurrency)
    output = _LineWriter(options.output)

    def tick() -> None:
        progress.written, progress.failed = summary.written, summary.failed
        progress.skipped = summary.skipped + summary.duplicates
        if options.show_progress:
            progress.update()

    async def worker() -> None:
        while (job := await queue.get()) is not None:
            try:
                dist = await run_sampling(
                    job.prompt,
                    job.config,
                    limited,
                    structured=options.structured,
                    max_concurrency=options.concurrency,
                    retry=options.retry,
                )
                chosen = job.selection.choose(dist)
            except (VSError, CLIError) as exc:
                errors.write(_failure_record(job, exc))
                summary.failed += 1
                summary.consecutive_failures += 1
                limit = options.max_consecutive_failures
                if limit and summary.consecutive_failures >= limit:
                    msg = (
                        f"stopped after {limit} prompts in a row failed (last: {exc});"
                        " fix the cause and rerun the same command to resume"
                    )
                    raise BatchAborted(" ".join(msg.split())[:600]) from None
            else:
                summary.consecutive_failures = 0
                extra: dict[str, Any] = {"id": job.id, "prompt": job.prompt}
                if options.model is not None:
                    extra["model"] = options.model
                if job.meta is not None:
                    extra["meta"] = job.meta
                output.write(distribution_payload(dist, chosen, job.config, **extra))
                summary.written += 1
            tick()

    started: set[str] = set()

    async def produce() -> None:
        with options.input.open("rb") as source:
            for line_no, raw in enumerate(source, 1):
                if not raw.strip():
                    continue
                parsed = parse_line(raw, line_no, options.defaults)
                if isinstance(parsed, LineError):
                    errors.write(
                        {
                            "id": parsed.id,
                            "line": parsed.line,
                            "error": "InputError",
                            "message": parsed.message,
                        }
                    )
                    summary.failed += 1
                    tick()
                    continue
                key = id_key(parsed.id)
                if key in done:
                    summary.skipped += 1
                    tick()
                elif key in started:
                    summary.duplicates += 1
                    tick()
                else:
                    started.add(key)
                    await queue.put(parsed)
        for _ in range(options.concurrency):
            await queue.put(None)

    tasks = [asyncio.create_task(worker()) for _ in range(options.concurrency)]
    tasks.append(asyncio.create_task(produce()))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        output.close()
    if options.show_progress:
        progress.update(final=True)
    return summary


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """Add INPUT and ``-o OUTPUT``."""
    parser.add_argument("input", metavar="INPUT.jsonl", type=Path, help="one JSON prompt per line")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT.jsonl",
        type=Path,
        required=True,
        help="results, appended; failures go to OUTPUT.errors.jsonl",
    )
    parser.add_argument(
        "--max-consecutive-failures",
        metavar="N",
        type=int,
        default=20,
        help="stop when N prompts in a row fail, e.g. the server is down (20; 0: never)",
    )


def run_batch_command(
    args: argparse.Namespace,
    backend_options: BackendOptions,
    out: TextIO,
    err: TextIO,
    *,
    call: Call | None = None,
) -> int:
    """Run ``vs batch`` with parsed arguments; returns the exit code.

    Exit code 0 when every prompt is in the output, 1 when some failed (see
    the errors file; rerun to retry them).
    """
    source: Path = args.input
    if not source.is_file():
        msg = f"argument INPUT.jsonl: no such file: {source}"
        raise UsageError(msg)
    target: Path = args.output
    if target.resolve() == source.resolve():
        msg = "argument -o/--output: must differ from the input file"
        raise UsageError(msg)
    if not target.parent.is_dir():
        msg = f"argument -o/--output: no such directory: {target.parent}"
        raise UsageError(msg)
    defaults = {key: getattr(args, key, None) for key in (*CONFIG_KEYS, *SELECT_KEYS)}
    # A bad command-line default is a usage error now, not 100,000 line errors later.
    Selection.from_settings(defaults, config_from(defaults))
    with open_backend(backend_options, err, call=call) as backend:
        options = BatchOptions(
            input=source,
            output=target,
            defaults=defaults,
            concurrency=args.concurrency,
            structured=args.structured,
            retry=RetryPolicy(max_retries=args.retries),
            model=backend.model if call is None else None,
            show_progress=not args.quiet,
            max_consecutive_failures=args.max_consecutive_failures,
        )
        summary = run_sync(run_batch(options, backend.call, err))
    _report(summary, target, err)
    return EXIT_FAILURE if summary.failed else EXIT_OK


def _report(summary: BatchSummary, target: Path, err: TextIO) -> None:
    text = (
        f"vs batch: {summary.written} written to {target}, {summary.skipped} already done,"
        f" {summary.failed} failed"
    )
    if summary.failed:
        text += f" (see {summary.errors_path}; rerun the same command to retry them)"
    if summary.duplicates:
        text += f"; {summary.duplicates} duplicate id(s) in the input ignored"
    eprint(text, err)
