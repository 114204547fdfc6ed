"""The local engine over several processes, for when one core cannot keep up.

One Python process spends about 1 ms of CPU a row (the HTTP exchange, parsing,
selection, the record), so one process tops out near 900 rows/s on these
machines whatever ``--concurrency`` says. With ``processes=P``, P worker
processes each keep ``concurrency / P`` rows in flight. This process reads the
input, claims each id and writes every result to the same crash-safe store as
the local engine, so the guarantees are the same: every id exactly once in
the output or the errors file, ids already done skipped, resume by id after
any kill.

Jobs go to the workers in small chunks through one queue (a worker takes a
chunk only when it has room, which balances the load); results come back
through another, encoded once by the worker. At most ``2 * concurrency`` rows
are out at once, so memory stays flat in the input size. A worker that dies
stops the run with a :class:`~vs_common.scale.BatchError` naming its exit
code; rerun to resume (what it had in flight was not written). A worker whose
parent is gone exits on its own.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Iterable
from typing import Any

from vs_common.calls import Call
from vs_common.errors import VSError
from vs_common.scale._formats import BatchError
from vs_common.scale._inputs import read_jobs
from vs_common.scale._jobs import FailureStreak, JobSettings, failure_record, limited, run_job
from vs_common.scale._local import BatchOptions, BatchSummary, Observer, shortfall_of
from vs_common.scale._rows import Job, RowError
from vs_common.scale._store import ResultStore, encode_record

__all__ = ["run_batch_processes"]

#: A result from a worker: (ok, encoded record, shortfall if ok else the error message).
_Result = tuple[bool, bytes, "int | str"]
#: How long a worker gathers finished rows before it sends them, in seconds.
_FLUSH_SECONDS = 0.01
#: How often a waiting process checks that the others are alive, in seconds.
_POLL_SECONDS = 0.5


def run_batch_processes(
    options: BatchOptions,
    client: Callable[[], Call],
    processes: int,
    *,
    on_start: Observer | None = None,
    on_row: Observer | None = None,
    jobs: Iterable[Job | RowError] | None = None,
) -> BatchSummary:
    """Run a batch like :func:`~vs_common.scale.run_batch`, over ``processes`` worker processes.

    Args:
        options: Files, defaults and limits; ``concurrency`` is the total,
            split among the processes.
        client: Makes each worker's model call, once, in the worker (it is
            pickled: see :func:`~vs_common.scale.client_factory`).
        processes: Worker processes (at least 1).
        on_start: Called once the output is repaired.
        on_row: Called after each row.
        jobs: The rows to run instead of reading ``options.input``.

    Returns:
        The counts of this run.

    Raises:
        BatchError: ``processes`` is below 1, or a worker process died
            (rerun to resume).
        StoreLocked: Another run is writing the output.
        BatchAborted: ``max_consecutive_failures`` prompts failed in a row.

    Example:
        >>> from pathlib import Path
        >>> from vs_common.scale import client_factory
        >>> options = BatchOptions(Path("in.jsonl"), Path("out.jsonl"), concurrency=128)
        >>> run_batch_processes(options, client_factory(print), 0)
        Traceback (most recent call last):
        ...
        vs_common.scale._formats.BatchError: processes: expected a positive integer, got 0

        With a real client, ``run_batch_processes(options, client_factory(client), 2)``
        runs 2 processes of 64 rows in flight each.
    """
    if processes < 1:
        msg = f"processes: expected a positive integer, got {processes}"
        raise BatchError(msg)
    per_process = max(1, math.ceil(options.concurrency / processes))
    settings = JobSettings(options.structured, options.retry, per_process, options.model)
    with ResultStore(options.output) as store:
        summary = BatchSummary.opened(store)
        if on_start is not None:
            on_start(summary)
        source = jobs if jobs is not None else read_jobs(options.input, options.defaults)
        with _Pool(client, settings, per_process, processes) as pool:
            _Driver(options, store, summary, pool, on_row).run(source)
    return summary


class _Pool:
    """The worker processes and their two queues."""

    def __init__(
        self, client: Callable[[], Call], settings: JobSettings, concurrency: int, size: int
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no forked event loop or locks
        self.tasks: Any = context.Queue()
        self.results: Any = context.Queue()
        self.chunk = max(1, min(32, concurrency // 4))
        args = (client, settings, concurrency, self.chunk, self.tasks, self.results, os.getpid())
        self.processes = [
            context.Process(target=_worker_main, args=args, daemon=True, name=f"vs-batch-{i}")
            for i in range(size)
        ]

    def __enter__(self) -> _Pool:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self.processes:
            self.tasks.put(None)
        for process in self.processes:
            process.join(timeout=5 if exc[0] is None else 0.5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for q in (self.tasks, self.results):
            q.cancel_join_thread()  # never hang on a queue no one reads any more
            q.close()

    def get(self) -> list[_Result] | None:
        """The next results, or None after a wait with none (every worker checked)."""
        try:
            results: list[_Result] = self.results.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            for process in self.processes:
                if process.exitcode is not None:
                    raise BatchError(_died(process.name, process.exitcode)) from None
            return None
        return results


def _died(name: str, code: int) -> str:
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return (
        f"the worker process {name} died ({how}); the results it had in flight were"
        " not written: rerun the same command to resume"
    )


class _Driver:
    """This process's side: read, claim, hand out chunks, write what comes back."""

    def __init__(
        self,
        options: BatchOptions,
        store: ResultStore,
        summary: BatchSummary,
        pool: _Pool,
        on_row: Observer | None,
    ) -> None:
        self.store = store
        self.summary = summary
        self.pool = pool
        self.on_row = on_row
        self.streak = FailureStreak(options.max_consecutive_failures)
        self.limit = 2 * max(1, options.concurrency)
        self.out = 0  # rows handed out and not written yet

    def run(self, source: Iterable[Job | RowError]) -> None:
        rows = iter(source)
        more = True
        while more or self.out:
            while more and self.out < self.limit:
                chunk, more = self._chunk(rows)
                if chunk:
                    self.pool.tasks.put(chunk)
                    self.out += len(chunk)
            if self.out:
                for result in self.pool.get() or ():
                    self.out -= 1
                    self._write(result)

    def _chunk(self, rows: Iterable[Job | RowError]) -> tuple[list[Job], bool]:
        chunk: list[Job] = []
        for row in rows:
            if isinstance(row, RowError):
                self.store.write_error(row.record())
                self.summary.failed += 1
            else:
                claim = self.store.claim(row.key)
                if claim == "new":
                    chunk.append(row)
                    if len(chunk) >= self.pool.chunk:
                        return chunk, True
                    continue
                if claim == "done":
                    self.summary.skipped += 1
                else:
                    self.summary.duplicates += 1
            self._tick()
        return chunk, False

    def _write(self, result: _Result) -> None:
        ok, line, info = result
        if ok:
            self.store.write_result(line)
            self.summary.written += 1
            self.summary.count_missing(info if isinstance(info, int) else 0)
            self.streak.succeeded()
            self._tick()
        else:
            self.store.write_error(line)
            self.summary.failed += 1
            self._tick()
            self.streak.failed(info)

    def _tick(self) -> None:
        if self.on_row is not None:
            self.on_row(self.summary)


# ---- the worker processes ---------------------------------------------------------------


def _worker_main(
    client: Callable[[], Call],
    settings: JobSettings,
    concurrency: int,
    chunk: int,
    tasks: Any,
    results: Any,
    parent: int,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The parent reads every result before it asks a worker to stop, and a worker
    # whose parent is gone has no reader: never wait for the pipe at exit.
    results.cancel_join_thread()
    asyncio.run(_Worker(client(), settings, concurrency, chunk, tasks, results, parent).run())


class _Worker:
    """One worker process: rows from the task queue, ``concurrency`` in flight."""

    def __init__(
        self,
        call: Call,
        settings: JobSettings,
        concurrency: int,
        chunk: int,
        tasks: Any,
        results: Any,
        parent: int,
    ) -> None:
        self.call = limited(call, asyncio.Semaphore(concurrency))
        self.settings = settings
        self.room = asyncio.Semaphore(concurrency + chunk)  # take a chunk only with room
        self.tasks = tasks
        self.results = results
        self.parent = parent
        self.done: list[_Result] = []
        self.flushing: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        running: set[asyncio.Task[None]] = set()
        while (jobs := await loop.run_in_executor(None, self._next)) is not None:
            for job in jobs:
                await self.room.acquire()
                task = asyncio.create_task(self._one(job))
                running.add(task)
                task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running)
        self._flush()

    def _next(self) -> list[Job] | None:
        while True:
            try:
                jobs: list[Job] | None = self.tasks.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != self.parent:  # the parent was killed: stop
                    return None
                continue
            return jobs

    async def _one(self, job: Job) -> None:
        try:
            record = await run_job(job, self.call, self.settings)
        except VSError as exc:
            failure = failure_record(job, exc)
            self.done.append((False, encode_record(failure), str(failure["message"])))
        else:
            shortfall = shortfall_of(record)
            self.done.append((True, encode_record(record), shortfall))
        finally:
            self.room.release()
        if self.flushing is None:  # send what finishes within _FLUSH_SECONDS together
            self.flushing = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # one message a few ms: each costs both processes far more than a row's bytes
        await asyncio.sleep(_FLUSH_SECONDS)
        self.flushing = None
        self._flush()

    def _flush(self) -> None:
        if self.done:
            self.results.put(self.done)
            self.done = []
