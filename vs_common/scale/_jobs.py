"""Running one job, the same way in every engine: sample, select, make the record."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vs_common.calls import Call, CallRequest, CallResponse
from vs_common.errors import VSSamplingError
from vs_common.sampling import RetryPolicy, Structured, run_sampling
from vs_common.scale._formats import BatchError
from vs_common.scale._rows import Job, result_record

__all__ = [
    "BatchAborted",
    "FailureStreak",
    "JobSettings",
    "failure_record",
    "limited",
    "run_job",
]


@dataclass(frozen=True)
class JobSettings:
    """How each prompt is run.

    Attributes:
        structured: Structured-output mode for :func:`vs_common.run_sampling`.
        retry: Retry policy of each call.
        max_concurrency: Calls of one prompt in flight at once.
        model: Model name recorded in each output record (None: not recorded).
    """

    structured: Structured = "auto"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 4
    model: str | None = None


async def run_job(job: Job, call: Call, settings: JobSettings) -> dict[str, Any]:
    """Sample ``job``, choose one candidate, and return its output record.

    Raises:
        VSError: The sampling failed (:class:`~vs_common.VSSamplingError`) or
            the selection cannot choose (:class:`~vs_common.VSConfigError`).
    """
    dist = await run_sampling(
        job.prompt,
        job.config,
        call,
        structured=settings.structured,
        max_concurrency=settings.max_concurrency,
        retry=settings.retry,
        distinct=job.distinct,
        seed=job.selection.seed,  # a method's own draws (SimpleStrat's strata) repeat too
    )
    chosen = job.selection.choose(dist)
    extra: dict[str, Any] = {"id": job.id, "prompt": job.prompt}
    if settings.model is not None:
        extra["model"] = settings.model
    if job.meta is not None:
        extra["meta"] = job.meta
    return result_record(dist, chosen, job.config, **extra)


def limited(call: Call, semaphore: asyncio.Semaphore) -> Call:
    """``call`` with at most ``semaphore``'s value of requests in flight."""

    async def limited_call(request: CallRequest) -> CallResponse | str | Mapping[str, Any] | Any:
        async with semaphore:
            return await call(request)

    return limited_call


def failure_record(job: Job, exc: BaseException) -> dict[str, Any]:
    """The errors-file record of a job whose sampling failed."""
    record: dict[str, Any] = {
        "id": job.id,
        "line": job.line,
        "error": type(exc).__name__,
        "message": str(exc)[:1000],
    }
    if isinstance(exc, VSSamplingError):
        record["failures"] = [f.model_dump(mode="json") for f in exc.failures]
    return record


class BatchAborted(BatchError):
    """Too many prompts in a row failed; the run stopped (rerun to resume)."""


class FailureStreak:
    """Stops a run when ``limit`` prompts in a row fail (the server is probably down).

    Args:
        limit: Failures in a row that stop the run; 0 never stops.

    Example:
        >>> streak = FailureStreak(2)
        >>> streak.failed("timeout")
        >>> streak.failed("timeout")
        Traceback (most recent call last):
        ...
        vs_common.scale._jobs.BatchAborted: stopped after 2 prompts in a row failed (last: ...
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def succeeded(self) -> None:
        """A prompt succeeded: the streak is over."""
        self.count = 0

    def failed(self, reason: object) -> None:
        """A prompt failed.

        Raises:
            BatchAborted: This is the ``limit``-th failure in a row.
        """
        self.count += 1
        if self.limit and self.count >= self.limit:
            msg = (
                f"stopped after {self.limit} prompts in a row failed (last: {reason});"
                " fix the cause and rerun the same command to resume"
            )
            raise BatchAborted(" ".join(msg.split())[:600])
