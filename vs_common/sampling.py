"""Running VS: n samples over ceil(n/k) calls, concurrently, robustly.

:func:`run_sampling` is the one orchestration policy both adapters use. It
takes a prompt, a :class:`~vs_common.methods.VSConfig` and an async ``call``
(see :mod:`vs_common.calls`), and:

* issues ceil(n/k) independent calls at once, at most ``max_concurrency`` in
  flight (multi_turn and vs_multi run their turns in order, as one
  conversation);
* retries transient failures (429, 5xx, timeouts, resets) with exponential
  backoff and jitter, honouring Retry-After;
* re-asks a bounded number of times when a reply cannot be parsed, telling
  the model what was wrong;
* uses tool calling when asked (``structured="auto"`` tries it and falls
  back to text when the server rejects it);
* tops up: when replies were cut short or calls failed and the run holds
  fewer than n samples, it makes further calls (at most
  ``RetryPolicy.max_top_up_calls``, by default half the planned calls again)
  and reports what is still missing as ``shortfall`` on the result, never
  silently;
* keeps every successful call's candidates when others fail, records the
  failures on the result, and raises only when fewer than ``min_successes``
  calls succeeded;
* sums token usage over every attempt;
* runs the methods of several calls per sample (SimpleStrat,
  :mod:`vs_common.alternatives`) call by call under the same policy: a
  sample fails when one of its calls fails for good, and usage is summed
  over all of them.

Example:
    >>> import asyncio
    >>> async def call(request: CallRequest) -> str:
    ...     return '[{"text": "a", "probability": 0.5}, {"text": "b", "probability": 0.5}]'
    >>> dist = asyncio.run(run_sampling("Joke", VSConfig(k=2, n=4), call))
    >>> dist.num_calls, [c.count for c in dist.candidates]
    (2, [2, 2])
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from vs_common._runner import Progress, RetryPolicy, Structured, run_calls, run_sync
from vs_common.calls import Call
from vs_common.distinct import DistinctPolicy, run_distinct
from vs_common.distribution import VerbalizedDistribution
from vs_common.methods import VSConfig
from vs_common.types import Message

__all__ = [
    "Progress",
    "RetryPolicy",
    "Structured",
    "run_sampling",
    "run_sync",
]


async def run_sampling(
    prompt: str | Sequence[Message],
    config: VSConfig,
    call: Call,
    *,
    structured: Structured = "auto",
    max_concurrency: int = 8,
    retry: RetryPolicy | None = None,
    min_successes: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    jitter_seed: int | None = None,
    distinct: DistinctPolicy | bool | None = None,
    seed: int | None = None,
) -> VerbalizedDistribution:
    """Sample ``config.total`` responses over ``config.num_calls`` calls and pool them.

    Args:
        prompt: The user's task, or a conversation (role/content dicts).
        config: Method, k, n, threshold and formats.
        call: The async model call (see :mod:`vs_common.calls`).
        structured: ``auto`` (tool calling, falling back to text when the
            server rejects it), ``tool``, ``json_schema`` or ``text``.
        max_concurrency: Calls in flight at once.
        retry: Retry, re-ask and timeout policy.
        min_successes: Fewest successful calls to accept; below it the run
            raises :class:`VSSamplingError` (0 accepts an empty result).
        on_progress: Called after each call ends.
        sleep: The coroutine used to wait between retries (tests pass a fake).
        jitter_seed: Seed of the backoff jitter (the global RNG is not used).
        distinct: True or a :class:`~vs_common.distinct.DistinctPolicy`: keep
            asking until n *distinct* candidates are held or the policy's
            call budget is spent (:func:`vs_common.distinct.run_distinct`);
            the result's ``distinct`` says how many, after how many calls,
            and why it stopped.
        seed: Seed of a method's own random draws (SimpleStrat's stratum
            of each sample), mixed with the call's index and the prompt;
            None draws fresh each time. The paper's seven draw nothing.

    Returns:
        The pooled distribution, with ``usage``, ``failures`` and ``num_calls``.

    Raises:
        VSConfigError: A bad argument.
        VSSamplingError: Fewer than ``min_successes`` calls succeeded; the
            error holds the partial distribution and every failure.
    """
    if distinct:
        result = await run_distinct(
            prompt,
            config,
            call,
            distinct if isinstance(distinct, DistinctPolicy) else DistinctPolicy(),
            structured=structured,
            max_concurrency=max_concurrency,
            retry=retry,
            min_successes=min_successes,
            on_progress=on_progress,
            sleep=sleep,
            jitter_seed=jitter_seed,
            seed=seed,
        )
        return result.distribution
    return await run_calls(
        prompt,
        config,
        call,
        structured=structured,
        max_concurrency=max_concurrency,
        retry=retry,
        min_successes=min_successes,
        on_progress=on_progress,
        sleep=sleep,
        jitter_seed=jitter_seed,
        seed=seed,
    )
