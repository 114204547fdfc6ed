"""``vs batch INPUT.jsonl -o OUTPUT.jsonl``: many prompts, streamed and resumable.

This module parses the arguments, prints progress and sets the exit code; the
work is done by :mod:`vs_common.scale` (the input schema, the crash-safe store
and the engines). Input: one JSON object per line, ``{"id": ..., "prompt":
...}`` plus optional per-line settings that override the command's options and
an optional ``meta`` value copied to the output. Output: one JSON line per
successful id, written as soon as it is done; failures go to
``OUTPUT.errors.jsonl``. Rerun the same command to resume after any kill.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TextIO

from vs_common.calls import Call
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
from vs_common.errors import VSConfigError
from vs_common.sampling import RetryPolicy, run_sync
from vs_common.scale import (
    BatchError,
    BatchOptions,
    BatchSummary,
    RayOptions,
    client_factory,
    count_rows,
    run_batch,
    run_batch_processes,
    run_batch_ray,
)

__all__ = ["run_batch_command"]


def _check_paths(source: Path, target: Path) -> None:
    if not source.is_file():
        msg = f"argument INPUT.jsonl: no such file: {source}"
        raise UsageError(msg)
    if target.resolve() == source.resolve():
        msg = "argument -o/--output: must differ from the input file"
        raise UsageError(msg)
    if not target.parent.is_dir():
        msg = f"argument -o/--output: no such directory: {target.parent}"
        raise UsageError(msg)


class _Printer:
    """The progress of a run on stderr: the resume note, a throttled status line."""

    def __init__(self, options: BatchOptions, err: TextIO, *, show: bool) -> None:
        self.options = options
        self.err = err
        self.show = show
        self.progress: BatchProgress | None = None

    def start(self, summary: BatchSummary) -> None:
        if self.show and (summary.resumed or summary.previous_errors):
            eprint(
                f"vs batch: resuming: {summary.resumed} id(s) already in"
                f" {self.options.output} are skipped; the {summary.previous_errors}"
                " failure(s) of the last run are retried",
                self.err,
            )
        total = count_rows(self.options.input)
        self.progress = BatchProgress(ProgressLine(self.err), total)

    def row(self, summary: BatchSummary, *, final: bool = False) -> None:
        if self.progress is None:
            return
        self.progress.written, self.progress.failed = summary.written, summary.failed
        self.progress.skipped = summary.skipped + summary.duplicates
        if self.show:
            self.progress.update(final=final)


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
    _check_paths(args.input, args.output)
    if args.workers < 1:
        msg = f"argument --workers: expected a positive integer, got {args.workers}"
        raise UsageError(msg)
    if args.processes < 1:
        msg = f"argument --processes: expected a positive integer, got {args.processes}"
        raise UsageError(msg)
    if args.processes > 1 and args.engine == "ray":
        msg = "argument --processes: the local engine's; with --engine ray use --workers"
        raise UsageError(msg)
    defaults = {key: getattr(args, key, None) for key in (*CONFIG_KEYS, *SELECT_KEYS)}
    defaults["distinct"] = True if args.distinct else None  # a row's own value wins
    defaults["max_calls"] = args.max_calls
    # A bad command-line default is a usage error now, not 100,000 line errors later.
    Selection.from_settings(defaults, config_from(defaults))
    if args.max_calls is not None and not args.distinct:
        msg = "argument --max-calls: only applies with --distinct"
        raise UsageError(msg)
    with open_backend(backend_options, err, call=call) as backend:
        options = BatchOptions(
            input=args.input,
            output=args.output,
            defaults=defaults,
            concurrency=args.concurrency,
            structured=args.structured,
            retry=RetryPolicy(max_retries=args.retries, max_top_up_calls=args.max_top_up),
            model=backend.model if call is None else None,
            max_consecutive_failures=args.max_consecutive_failures,
        )
        printer = _Printer(options, err, show=not args.quiet)
        try:
            if args.engine == "ray":
                summary = _run_ray(options, backend.call, args.workers, printer)
            elif args.processes > 1:
                summary = run_batch_processes(
                    options,
                    client_factory(backend.call),
                    args.processes,
                    on_start=printer.start,
                    on_row=printer.row,
                )
            else:
                summary = run_sync(
                    run_batch(options, backend.call, on_start=printer.start, on_row=printer.row)
                )
        except (BatchError, VSConfigError, ImportError) as exc:
            raise CLIError(str(exc)) from None
    printer.row(summary, final=True)
    _report(summary, args.output, err)
    return EXIT_FAILURE if summary.failed else EXIT_OK


def _run_ray(options: BatchOptions, call: Call, workers: int, printer: _Printer) -> BatchSummary:
    per_worker = max(1, math.ceil(options.concurrency / workers))
    ray_options = RayOptions(workers=workers, concurrency_per_worker=per_worker)
    return run_batch_ray(
        options,
        client_factory(call),
        ray_options,
        on_start=printer.start,
        on_row=printer.row,
        quiet=True,
    )


def _report(summary: BatchSummary, target: Path, err: TextIO) -> None:
    text = (
        f"vs batch: {summary.written} written to {target}, {summary.skipped} already done,"
        f" {summary.failed} failed"
    )
    if summary.failed:
        text += f" (see {summary.errors_path}; rerun the same command to retry them)"
    if summary.duplicates:
        text += f"; {summary.duplicates} duplicate id(s) in the input ignored"
    if summary.short:
        text += (
            f"; {summary.short} written short of their n ({summary.missing} samples missing"
            " after top-up calls: see 'shortfall' in each line, and --max-top-up)"
        )
    eprint(text, err)
