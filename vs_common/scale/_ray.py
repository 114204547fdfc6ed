"""The Ray Data engine: VS over a ``ray.data.Dataset``, on one machine or a cluster.

A pool of Ray actors ("workers") runs the rows. Each worker holds one model
client (made once by the ``client`` factory) and runs up to
``concurrency_per_worker`` rows at once through :func:`vs_common.run_sampling`,
the same policy (calls, retries, re-asks, top-ups) as everywhere else. Ray
restarts a worker that dies and runs its batch again, so a row can be
sampled twice; :func:`sample_dataset` leaves that to the consumer and
:func:`run_batch_ray` (``vs batch --engine ray``) drops the second result at
the writer, by id.

Ray is imported only when these functions run (``pip install
"verbalized-sampling-kit[ray]"``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vs_common.calls import Call
from vs_common.errors import VSConfigError
from vs_common.methods import VSConfig
from vs_common.sampling import RetryPolicy, Structured
from vs_common.scale._inputs import (
    RAY_EXTRA_HINT,
    check_parquet_columns,
    count_rows,
    is_parquet,
)
from vs_common.scale._jobs import FailureStreak, JobSettings
from vs_common.scale._local import BatchOptions, BatchSummary, Observer
from vs_common.scale._parquet import RESULT_COLUMNS
from vs_common.scale._ray_worker import KIND_DONE, KIND_FAILED, KIND_RESULT, Worker
from vs_common.scale._rows import (
    CONFIG_KEYS,
    DISTINCT_KEYS,
    SELECT_KEYS,
    Selection,
    distinct_policy,
)
from vs_common.scale._store import ResultStore

if TYPE_CHECKING:
    import ray.data

__all__ = [
    "ClientFactory",
    "RayOptions",
    "client_factory",
    "import_ray",
    "ray_session",
    "run_batch_ray",
    "sample_dataset",
]

#: Makes a worker's model call; called once in each worker. It must pickle
#: (cloudpickle: a class, a ``functools.partial``, a lambda...).
ClientFactory = Callable[[], Call]


def import_ray() -> Any:
    """Import ``ray`` and ``ray.data``, or raise ImportError naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        msg = f"the Ray engine needs Ray Data; install it with {RAY_EXTRA_HINT}"
        raise ImportError(msg, name=exc.name) from exc
    return ray


@dataclass(frozen=True)
class RayOptions:
    """How the Ray engine runs.

    Attributes:
        workers: Ray workers (actors), each with one client.
        concurrency_per_worker: Rows (and requests) in flight in each worker.
        num_cpus_per_worker: CPUs Ray reserves for each worker. A worker
            mostly waits on the network, so a fraction lets several share a core.
        batch_size: Rows per batch handed to a worker (default: half of
            ``concurrency_per_worker``; Ray runs 4 batches of a worker at once).
        num_cpus: CPUs of a local Ray started for the run (None: all). Ignored
            when Ray is already running or ``RAY_ADDRESS`` names a cluster.
        ray_remote_args: More ``map_batches`` arguments (``memory``,
            ``resources``, ``max_restarts``...); they win.

    Example:
        >>> RayOptions(workers=4, concurrency_per_worker=16).rows_per_batch
        8
    """

    workers: int = 2
    concurrency_per_worker: int = 8
    num_cpus_per_worker: float = 0.5
    batch_size: int | None = None
    num_cpus: int | None = None
    ray_remote_args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("workers", "concurrency_per_worker"):
            if getattr(self, name) < 1:
                msg = f"{name} must be at least 1, got {getattr(self, name)}"
                raise VSConfigError(msg, field=name)
        if self.batch_size is not None and self.batch_size < 1:
            msg = f"batch_size must be at least 1, got {self.batch_size}"
            raise VSConfigError(msg, field="batch_size")
        if not self.num_cpus_per_worker > 0:
            msg = f"num_cpus_per_worker must be positive, got {self.num_cpus_per_worker}"
            raise VSConfigError(msg, field="num_cpus_per_worker")

    @property
    def rows_per_batch(self) -> int:
        """Rows per batch (``batch_size``, or half the per-worker concurrency)."""
        return self.batch_size or max(1, math.ceil(self.concurrency_per_worker / 2))

    def map_batches_args(self) -> dict[str, Any]:
        """The ``map_batches`` arguments that size the actor pool and its batches."""
        from ray.data import ActorPoolStrategy

        return {
            "compute": ActorPoolStrategy(size=self.workers),
            "batch_size": self.rows_per_batch,
            "num_cpus": self.num_cpus_per_worker,
            "batch_format": "pyarrow",
            **self.ray_remote_args,
        }


def client_factory(call: Call) -> ClientFactory:
    """A factory that gives each worker its own copy of ``call`` (pickled with the job).

    Example:
        >>> from vs_common.backends import OpenAICompatClient
        >>> make = client_factory(OpenAICompatClient("http://127.0.0.1:8000/v1", "m"))
        >>> make().model
        'm'
    """
    return functools.partial(_same, call)


def _same(call: Call) -> Call:
    return call


@contextlib.contextmanager
def ray_session(num_cpus: int | None = None, *, quiet: bool = False) -> Iterator[Any]:
    """Ray for the block: the running one, the cluster ``RAY_ADDRESS`` names, or a local one.

    A local Ray started here (no dashboard) is shut down at the end; a Ray
    that was already running is left as it was.

    Args:
        num_cpus: CPUs of a local Ray (None: all of the machine's).
        quiet: Only warnings from Ray, and no Ray Data progress output (for
            a command that shows its own progress).

    Yields:
        The ``ray`` module.
    """
    ray = import_ray()
    if quiet:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.enable_operator_progress_bars = False
        logging.getLogger("ray").setLevel(logging.WARNING)
        # Ray Data logs its plan and progress at INFO and says at WARNING that
        # progress bars are off: the command shows its own progress instead.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False}
    if quiet:
        kwargs["logging_level"] = logging.WARNING
    if not os.environ.get("RAY_ADDRESS"):
        kwargs["num_cpus"] = num_cpus
    ray.init(**kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def _settings_of(defaults: Mapping[str, Any] | VSConfig | None) -> dict[str, Any]:
    if defaults is None:
        return {}
    if isinstance(defaults, VSConfig):
        return defaults.model_dump(mode="python", exclude_none=True)
    return {k: v for k, v in defaults.items() if v is not None}


def _check_defaults(settings: Mapping[str, Any]) -> None:
    allowed = CONFIG_KEYS + SELECT_KEYS + DISTINCT_KEYS
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        msg = f"unknown setting {unknown[0]!r} (allowed: {', '.join(allowed)})"
        raise VSConfigError(msg, field=unknown[0])
    # A bad default is one error now, not one per row later (raises VSConfigError).
    config = VSConfig(**{k: v for k, v in settings.items() if k in CONFIG_KEYS})
    Selection.from_settings(settings, config)
    distinct_policy(settings)


def sample_dataset(
    dataset: ray.data.Dataset,
    client: ClientFactory,
    *,
    defaults: Mapping[str, Any] | VSConfig | None = None,
    id_column: str = "id",
    prompt_column: str = "prompt",
    options: RayOptions | None = None,
    structured: Structured = "auto",
    retry: RetryPolicy | None = None,
    model: str | None = None,
) -> ray.data.Dataset:
    """Verbalized Sampling over every row of a Ray Dataset (lazily, like any Ray transform).

    Args:
        dataset: One prompt per row. Columns named like a setting (``k``,
            ``n``, ``method``, ``threshold``, ``strategy``, ``seed``...) override
            ``defaults`` for their row (null: the default); other columns are
            carried through.
        client: Makes a worker's model call, once per worker, e.g.
            ``functools.partial(OpenAICompatClient, url, model)``.
        defaults: Settings for rows that do not set their own (a
            :class:`~vs_common.VSConfig` or a mapping that may also hold
            ``strategy``, ``seed`` and ``select_temperature``).
        id_column: The id column (a per-row selection seed is derived from it).
        prompt_column: The prompt column.
        options: Workers, rows in flight per worker, batch size, CPUs.
        structured: Structured-output mode for :func:`vs_common.run_sampling`.
        retry: Retry policy of each call.
        model: Recorded in the ``config`` column's JSON when given.

    Returns:
        The dataset with the result columns added (:data:`RESULT_COLUMNS`):
        ``candidates`` and ``probabilities`` (lists), ``selected`` (the chosen
        text), ``failures``, ``shortfall``, ``prompt_tokens`` /
        ``completion_tokens``, the row's ``config`` (JSON), and ``error``
        (None, or why the row has no result: a bad setting, or every call
        failed). A worker that dies is restarted
        and its batch run again, so a row can be sampled twice: deduplicate
        by id if that matters (``vs batch --engine ray`` does). Each block of
        the input is one task of one worker: give the dataset several blocks
        per worker (``repartition``) to spread the rows.

    Raises:
        VSConfigError: A bad default setting or option (before any work).
        ImportError: Ray is not installed (the message names the extra).

    Example:
        >>> import functools, ray
        >>> from vs_common.backends import OpenAICompatClient
        >>> ds = ray.data.from_items([{"id": 1, "prompt": "A joke", "k": 3}])  # doctest: +SKIP
        >>> client = functools.partial(OpenAICompatClient, "http://127.0.0.1:8000/v1", "m")
        >>> rows = sample_dataset(ds, client, defaults={"n": 6}).take_all()  # doctest: +SKIP
        >>> rows[0]["selected"], len(rows[0]["candidates"])  # doctest: +SKIP
        ('Decaf is just coffee that gave up.', 6)
    """
    import_ray()
    options = options or RayOptions()
    settings = _settings_of(defaults)
    _check_defaults(settings)
    _check_columns(dataset, id_column, prompt_column)
    job_settings = JobSettings(
        structured, retry or RetryPolicy(), options.concurrency_per_worker, model
    )
    return dataset.map_batches(
        Worker,
        fn_constructor_kwargs={
            "client": client,
            "defaults": settings,
            "settings": job_settings,
            "concurrency": options.concurrency_per_worker,
            "mode": "columns",
            "columns": (id_column, prompt_column),
        },
        **options.map_batches_args(),
    )


def _check_columns(dataset: Any, id_column: str, prompt_column: str) -> None:
    schema = dataset.schema(fetch_if_missing=False)
    if schema is None:  # not known without running the pipeline: the workers check
        return
    names = set(schema.names)
    clash = sorted(names & set(RESULT_COLUMNS))
    if clash:
        msg = f"the dataset already has a column {clash[0]!r}; rename it first"
        raise VSConfigError(msg, field=clash[0])
    for what, name in (("id_column", id_column), ("prompt_column", prompt_column)):
        if name not in names:
            msg = f"{what}: the dataset has no column {name!r} (columns: {sorted(names)})"
            raise VSConfigError(msg, field=what)


_ROWS_PER_BLOCK = 200


def _read_input(ray: Any, options: BatchOptions, workers: int) -> Any:
    # Small blocks spread the rows over every worker (one file is one read
    # task) and bound what a killed worker's retried task runs again.
    rows = count_rows(options.input)
    blocks = max(4 * workers, math.ceil(rows / _ROWS_PER_BLOCK))
    path = str(options.input.resolve())
    if is_parquet(options.input):
        check_parquet_columns(options.input)
        return ray.data.read_parquet(path, override_num_blocks=blocks)
    # Bytes split on "\n" only, as the local engine reads them: read_text would
    # decode the whole file at once (one invalid UTF-8 byte fails the run) and
    # split lines at \r, U+2028 and the like, which JSON allows inside a string.
    lines = ray.data.read_binary_files(path).flat_map(_lines)
    return lines.repartition(blocks)


def _lines(file: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-blank lines of a file read whole, with their numbers (``line``, ``line_no``)."""
    data: bytes = file["bytes"]
    return [
        {"line": raw, "line_no": number}
        for number, raw in enumerate(data.split(b"\n"), 1)
        if raw.strip()
    ]


def run_batch_ray(
    options: BatchOptions,
    client: ClientFactory,
    ray_options: RayOptions | None = None,
    *,
    on_start: Observer | None = None,
    on_row: Observer | None = None,
    quiet: bool = False,
) -> BatchSummary:
    """``vs batch --engine ray``: the local engine's files and guarantees, run by Ray workers.

    The input (JSONL or Parquet) is read by Ray; results stream back to this
    process, which writes them to the same crash-safe store as the local
    engine (:class:`~vs_common.scale.ResultStore`): every id exactly once in
    the output or the errors file, a second result for an id (a batch Ray ran
    again after its worker died) dropped, ids already done skipped on resume.
    Unlike the local engine, a duplicate id in the input is sampled twice
    (its second result is dropped).

    Args:
        options: Files, defaults and limits (``concurrency`` is ignored:
            ``ray_options`` sets workers and rows per worker).
        client: Makes a worker's model call (see :data:`ClientFactory`).
        ray_options: Workers, rows in flight per worker, local CPUs.
        on_start: Called once the output is repaired.
        on_row: Called after each row.
        quiet: Only warnings from Ray (see :func:`ray_session`).

    Returns:
        The counts of this run.

    Raises:
        StoreLocked: Another run is writing the output.
        BatchAborted: ``max_consecutive_failures`` prompts failed in a row.
        ImportError: Ray is not installed.
    """
    ray_options = ray_options or RayOptions()
    _check_defaults(_settings_of(options.defaults))
    with (
        ResultStore(options.output) as store,
        ray_session(ray_options.num_cpus, quiet=quiet) as ray,
    ):
        summary = BatchSummary.opened(store)
        if on_start is not None:
            on_start(summary)
        settings = JobSettings(
            options.structured, options.retry, ray_options.concurrency_per_worker, options.model
        )
        dataset = _read_input(ray, options, ray_options.workers).map_batches(
            Worker,
            fn_constructor_kwargs={
                "client": client,
                "defaults": _settings_of(options.defaults),
                "settings": settings,
                "concurrency": ray_options.concurrency_per_worker,
                "mode": "rows" if is_parquet(options.input) else "jsonl",
                "done": ray.put(store.done),
            },
            **ray_options.map_batches_args(),
        )
        writer = _Writer(store, summary, FailureStreak(options.max_consecutive_failures), on_row)
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            writer.write_batch(batch)
    return summary


class _Writer:
    """The driver's side: each worker record to the store, once per id."""

    def __init__(
        self,
        store: ResultStore,
        summary: BatchSummary,
        streak: FailureStreak,
        on_row: Observer | None,
    ) -> None:
        self.store = store
        self.summary = summary
        self.streak = streak
        self.on_row = on_row

    def write_batch(self, batch: Any) -> None:
        keys = batch.column("key").to_pylist()
        kinds = batch.column("kind").to_pylist()
        lines = batch.column("line").to_pylist()
        for key, kind, line in zip(keys, kinds, lines, strict=True):
            self.write(key, kind, line)
            if self.on_row is not None:
                self.on_row(self.summary)

    def write(self, key: str | None, kind: str, line: bytes) -> None:
        if kind == KIND_DONE:
            self.summary.skipped += 1
            return
        if kind == KIND_RESULT:
            if self.store.add_result(key or "", line):
                self.summary.written += 1
                self.summary.count_shortfall(json.loads(line))
                self.streak.succeeded()
            else:
                self.summary.duplicates += 1
            return
        if not self.store.add_error(key, line):
            self.summary.duplicates += 1
            return
        self.summary.failed += 1
        if kind == KIND_FAILED:
            self.streak.failed(json.loads(line).get("message", ""))
