"""The Ray Data actor of the Ray engine: one client, rows sampled concurrently.

This module is what runs inside each Ray worker process; the driver side is
:mod:`vs_common.scale._ray`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from vs_common.calls import Call
from vs_common.errors import VSConfigError, VSError, VSSamplingError
from vs_common.scale._jobs import JobSettings, failure_record, limited, run_job
from vs_common.scale._keys import KeySet
from vs_common.scale._parquet import RESULT_COLUMNS, result_row, result_schema
from vs_common.scale._rows import (
    CONFIG_KEYS,
    DISTINCT_KEYS,
    SELECT_KEYS,
    Job,
    RowError,
    id_key,
    parse_line,
    parse_row,
)
from vs_common.scale._store import encode_record

__all__ = ["KIND_DONE", "KIND_FAILED", "KIND_INVALID", "KIND_RESULT", "Worker"]

#: What a record row of the ``jsonl`` / ``rows`` modes holds.
KIND_RESULT, KIND_FAILED, KIND_INVALID, KIND_DONE = "result", "failed", "invalid", "done"


class Worker:
    """A Ray Data actor: one client, rows sampled concurrently, one output table per batch.

    Ray calls ``__call__`` on an event loop of the actor's own (an async
    generator UDF, several batches at once), so the two semaphores bound the
    rows and the requests in flight over every batch the worker runs.

    Args:
        client: Makes the worker's call, once.
        defaults: Settings for rows that do not set their own.
        settings: How each prompt runs.
        concurrency: Rows (and requests) in flight at once.
        mode: ``columns`` (:func:`~vs_common.scale.sample_dataset`: the input's
            columns plus the result columns), ``jsonl`` (``line`` and
            ``line_no`` columns: the input's lines, as bytes) or ``rows``
            (Parquet rows); the last two return
            ``key``, ``kind`` and ``line`` (the JSON record) for the driver.
        columns: The id and prompt columns (``columns`` mode).
        done: An object reference to the id keys already done (skipped).
    """

    def __init__(
        self,
        client: Callable[[], Call],
        defaults: Mapping[str, Any],
        settings: JobSettings,
        concurrency: int,
        mode: str,
        columns: tuple[str, str] = ("id", "prompt"),
        done: Any = None,
    ) -> None:
        self.call = limited(client(), asyncio.Semaphore(concurrency))
        self.rows = asyncio.Semaphore(concurrency)
        self.defaults = defaults
        self.settings = settings
        self.mode = mode
        self.id_column, self.prompt_column = columns
        if done is not None:
            import ray

            done = ray.get(done)
        self.done: KeySet = done if done is not None else KeySet()

    async def __call__(self, batch: Any) -> AsyncIterator[Any]:
        if self.mode == "columns":
            yield await self._columns(batch)
        else:
            yield await self._records(batch)

    async def _sample(self, job: Job) -> dict[str, Any] | VSError:
        async with self.rows:
            try:
                return await run_job(job, self.call, self.settings)
            except VSError as exc:
                return exc

    # ---- sample_dataset: the input's columns plus the result columns
    async def _columns(self, batch: Any) -> Any:
        import pyarrow as pa

        clash = sorted(set(batch.column_names) & set(RESULT_COLUMNS))
        if clash:
            msg = f"the dataset already has a column {clash[0]!r}; rename it first"
            raise VSConfigError(msg, field=clash[0])
        rows = await asyncio.gather(*(self._column_row(row) for row in batch.to_pylist()))
        schema = result_schema(with_input=False)
        results = pa.Table.from_pylist(rows, schema=schema)
        for name in schema.names:
            batch = batch.append_column(schema.field(name), results.column(name))
        return batch

    async def _column_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        data = {k: row.get(k) for k in (*CONFIG_KEYS, *SELECT_KEYS, *DISTINCT_KEYS)}
        data["id"], data["prompt"] = row.get(self.id_column), row.get(self.prompt_column)
        job = parse_row(data, None, self.defaults, strict=False)
        if isinstance(job, RowError):
            return _error_row(job.message)
        outcome = await self._sample(job)
        if isinstance(outcome, VSError):
            return _error_row(f"{type(outcome).__name__}: {outcome}", outcome, job)
        return result_row(outcome, with_input=False)

    # ---- run_batch_ray: (key, kind, JSON line) for the driver's writer
    async def _records(self, batch: Any) -> Any:
        import pyarrow as pa

        if self.mode == "jsonl":  # the input's lines (bytes) and their numbers
            lines = batch.column("line").to_pylist()
            numbers = batch.column("line_no").to_pylist()
            parsed = [
                parse_line(raw, n, self.defaults) for raw, n in zip(lines, numbers, strict=True)
            ]
        else:
            parsed = [parse_row(row, None, self.defaults) for row in batch.to_pylist()]
        triples = await asyncio.gather(*(self._record(item) for item in parsed))
        keys, kinds, lines = zip(*triples, strict=True) if triples else ((), (), ())
        return pa.table(
            {
                "key": pa.array(keys, pa.string()),
                "kind": pa.array(kinds, pa.string()),
                "line": pa.array(lines, pa.binary()),
            }
        )

    async def _record(self, item: Job | RowError) -> tuple[str | None, str, bytes]:
        if isinstance(item, RowError):
            key = None if item.id is None else id_key(item.id)
            return key, KIND_INVALID, encode_record(item.record())
        if item.key in self.done:
            return item.key, KIND_DONE, b""
        outcome = await self._sample(item)
        if isinstance(outcome, VSError):
            return item.key, KIND_FAILED, encode_record(failure_record(item, outcome))
        return item.key, KIND_RESULT, encode_record(outcome)


def _error_row(message: str, exc: VSError | None = None, job: Job | None = None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    row.update(candidates=[], probabilities=[], raw_probabilities=[], repairs=[], failures=[])
    row.update(num_calls=0, shortfall=0, top_up_calls=0, error=message[:1000])
    if job is not None:
        row["config"] = json.dumps(job.config.model_dump(mode="json", exclude_none=True))
        row["requested"] = row["shortfall"] = job.config.total
    if isinstance(exc, VSSamplingError):
        row["failures"] = [f.model_dump(mode="json") for f in exc.failures]
        row["num_calls"] = len(exc.failures)
    return row
