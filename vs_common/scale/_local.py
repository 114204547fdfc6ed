"""The local batch engine: one process, a bounded number of prompts in flight.

The input is read lazily: a reader puts jobs on a queue of ``concurrency``
slots and ``concurrency`` workers take them, so at most ``2 * concurrency + 1``
rows are in memory at once, whatever the input size. Each result is written
as soon as it is done (see :class:`~vs_common.scale.ResultStore`). The only
state that grows with the input is the set of ids, 16 bytes an id
(:class:`~vs_common.scale.KeySet`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vs_common.calls import Call
from vs_common.errors import VSError
from vs_common.sampling import RetryPolicy, Structured
from vs_common.scale._inputs import read_jobs
from vs_common.scale._jobs import FailureStreak, JobSettings, failure_record, limited, run_job
from vs_common.scale._rows import Job, RowError
from vs_common.scale._store import ResultStore

__all__ = ["BatchOptions", "BatchSummary", "run_batch"]


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs.

    Attributes:
        input: The input file (JSONL, or Parquet with the ``ray`` extra).
        output: The output file (appended to; resumable).
        defaults: Settings for rows that do not set their own.
        concurrency: Prompts (and requests) in flight at once.
        structured: Structured-output mode for :func:`vs_common.run_sampling`.
        retry: Retry policy of each call.
        model: Model name recorded in each output record.
        max_consecutive_failures: Stop when this many prompts in a row fail
            to sample (the server is probably down); 0 never stops.

    Example:
        >>> BatchOptions(Path("in.jsonl"), Path("out.jsonl"), {"k": 3}).concurrency
        4
    """

    input: Path
    output: Path
    defaults: Mapping[str, Any] = field(default_factory=dict)
    concurrency: int = 4
    structured: Structured = "auto"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    model: str | None = None
    max_consecutive_failures: int = 20

    def job_settings(self) -> JobSettings:
        """How each prompt runs."""
        return JobSettings(self.structured, self.retry, self.concurrency, self.model)


@dataclass
class BatchSummary:
    """What a batch run did (updated as it goes).

    Attributes:
        written: Results written by this run.
        failed: Rows that went to the errors file.
        skipped: Rows whose id an earlier run already wrote.
        duplicates: Rows whose id appeared earlier in this run.
        resumed: Ids already in the output when the run started.
        previous_errors: Failures recorded by the last run (retried now).
        errors_path: The errors file.
        short: Results written with fewer samples than their n (after top-ups).
        missing: Samples those results lack in all (their ``shortfall`` summed).
    """

    written: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    resumed: int = 0
    previous_errors: int = 0
    errors_path: Path | None = None
    short: int = 0
    missing: int = 0

    @classmethod
    def opened(cls, store: ResultStore) -> BatchSummary:
        """The counts of a run that just opened ``store`` (what it resumes and retries)."""
        return cls(
            resumed=len(store.done),
            previous_errors=store.previous_errors,
            errors_path=store.errors_path,
        )

    def count_shortfall(self, record: Mapping[str, Any]) -> None:
        """Count a written result that holds fewer samples than its n."""
        self.count_missing(shortfall_of(record))

    def count_missing(self, shortfall: int) -> None:
        """Count a written result that lacks ``shortfall`` samples (0: a whole one)."""
        if shortfall > 0:
            self.short += 1
            self.missing += shortfall


def shortfall_of(record: Mapping[str, Any]) -> int:
    """The samples a result record lacks (its ``shortfall``; 0 when absent)."""
    value = record.get("shortfall") or 0
    return value if isinstance(value, int) else 0


#: Called when the store is open (with the resume counts) and after each row.
Observer = Callable[[BatchSummary], None]


async def run_batch(
    options: BatchOptions,
    call: Call,
    *,
    on_start: Observer | None = None,
    on_row: Observer | None = None,
    jobs: Iterable[Job | RowError] | None = None,
) -> BatchSummary:
    """Run every prompt of ``options.input`` not yet in ``options.output``.

    Args:
        options: Files, defaults and limits.
        call: The model call (an :class:`~vs_common.backends.OpenAICompatClient`
            or any :data:`~vs_common.Call`).
        on_start: Called once the output is repaired (``resumed`` and
            ``previous_errors`` are set).
        on_row: Called after each row (written, failed, skipped...).
        jobs: The rows to run instead of reading ``options.input``.

    Returns:
        The counts of this run.

    Raises:
        StoreLocked: Another run is writing the output.
        BatchAborted: ``max_consecutive_failures`` prompts failed in a row.
    """
    with ResultStore(options.output) as store:
        summary = BatchSummary.opened(store)
        if on_start is not None:
            on_start(summary)
        source = jobs if jobs is not None else read_jobs(options.input, options.defaults)
        run = _LocalRun(options, call, store, summary, on_row)
        await run.run(source)
    return summary


class _LocalRun:
    """One run: a reader and ``concurrency`` workers around a bounded queue."""

    def __init__(
        self,
        options: BatchOptions,
        call: Call,
        store: ResultStore,
        summary: BatchSummary,
        on_row: Observer | None,
    ) -> None:
        self.options = options
        self.call = limited(call, asyncio.Semaphore(options.concurrency))
        self.settings = options.job_settings()
        self.store = store
        self.summary = summary
        self.on_row = on_row
        self.streak = FailureStreak(options.max_consecutive_failures)
        self.queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=options.concurrency)

    async def run(self, source: Iterable[Job | RowError]) -> None:
        workers = [asyncio.create_task(self._work()) for _ in range(self.options.concurrency)]
        tasks = [*workers, asyncio.create_task(self._read(source))]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, source: Iterable[Job | RowError]) -> None:
        for job in source:
            if isinstance(job, RowError):
                self.store.write_error(job.record())
                self.summary.failed += 1
                self._tick()
                continue
            claim = self.store.claim(job.key)
            if claim == "new":
                await self.queue.put(job)
                continue
            if claim == "done":
                self.summary.skipped += 1
            else:
                self.summary.duplicates += 1
            self._tick()
        for _ in range(self.options.concurrency):
            await self.queue.put(None)

    async def _work(self) -> None:
        while (job := await self.queue.get()) is not None:
            try:
                record = await run_job(job, self.call, self.settings)
            except VSError as exc:
                self.store.write_error(failure_record(job, exc))
                self.summary.failed += 1
                self._tick()
                self.streak.failed(exc)
            else:
                self.store.write_result(record)
                self.summary.written += 1
                self.summary.count_shortfall(record)
                self.streak.succeeded()
                self._tick()

    def _tick(self) -> None:
        if self.on_row is not None:
            self.on_row(self.summary)
