"""Running many prompts: the local batch engine and the Ray Data engine.

* The input schema: a row (``id``, ``prompt``, optional per-row settings and
  ``meta``) becomes a :class:`Job` or a :class:`RowError` (:func:`parse_row`,
  :func:`parse_line`).
* The crash-safe result store: an append-only JSONL output repaired on open,
  the ids already done, and an errors file (:class:`ResultStore`).
* The local engine (:func:`run_batch`): one process, bounded memory for any
  input size; what ``vs batch`` runs. :func:`run_batch_processes` is the same
  over several worker processes (``vs batch --processes P``), for when one
  core cannot keep up.

Importing this package does not import Ray.

Example:
    >>> from vs_common.scale import parse_row
    >>> job = parse_row({"id": 1, "prompt": "A joke about coffee", "k": 3}, 1, {"n": 6})
    >>> job.config.k, job.config.total, job.selection.strategy
    (3, 6, 'weighted')
"""

from vs_common.scale._inputs import RAY_EXTRA_HINT, count_rows, is_parquet, read_jobs
from vs_common.scale._jobs import (
    BatchAborted,
    FailureStreak,
    JobSettings,
    failure_record,
    run_job,
)
from vs_common.scale._keys import KeySet
from vs_common.scale._local import BatchOptions, BatchSummary, run_batch
from vs_common.scale._parquet import RESULT_COLUMNS, ParquetSink, result_row, result_schema
from vs_common.scale._processes import run_batch_processes
from vs_common.scale._ray import (
    ClientFactory,
    RayOptions,
    client_factory,
    import_ray,
    ray_session,
    run_batch_ray,
    sample_dataset,
)
from vs_common.scale._rows import (
    CONFIG_KEYS,
    DISTINCT_KEYS,
    ROW_KEYS,
    SELECT_KEYS,
    Job,
    RowError,
    Selection,
    distinct_policy,
    id_key,
    parse_line,
    parse_row,
    result_record,
    row_seed,
)
from vs_common.scale._store import (
    BatchError,
    JsonlSink,
    ResultSink,
    ResultStore,
    StoreLocked,
    count_lines,
    errors_path_for,
    recover_output,
)

__all__ = [
    "CONFIG_KEYS",
    "DISTINCT_KEYS",
    "RAY_EXTRA_HINT",
    "RESULT_COLUMNS",
    "ROW_KEYS",
    "SELECT_KEYS",
    "BatchAborted",
    "BatchError",
    "BatchOptions",
    "BatchSummary",
    "ClientFactory",
    "FailureStreak",
    "Job",
    "JobSettings",
    "JsonlSink",
    "KeySet",
    "ParquetSink",
    "RayOptions",
    "ResultSink",
    "ResultStore",
    "RowError",
    "Selection",
    "StoreLocked",
    "client_factory",
    "count_lines",
    "count_rows",
    "distinct_policy",
    "errors_path_for",
    "failure_record",
    "id_key",
    "import_ray",
    "is_parquet",
    "parse_line",
    "parse_row",
    "ray_session",
    "read_jobs",
    "recover_output",
    "result_record",
    "result_row",
    "result_schema",
    "row_seed",
    "run_batch",
    "run_batch_processes",
    "run_batch_ray",
    "run_job",
    "sample_dataset",
]
