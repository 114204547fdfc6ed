"""The core orchestration over HTTP against the fault-injecting server: nothing is lost."""

from __future__ import annotations

import asyncio
import time

import pytest

from vs_common import RetryPolicy, VSConfig, VSSamplingError, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.testing import ALL_FAULTS, FaultInjectingServer, FaultRates

POLICY = RetryPolicy(max_retries=4, max_reasks=2, backoff_base=0.01, backoff_max=0.05, timeout=2.0)
BOUND = 1 + POLICY.max_retries + POLICY.max_reasks + 1  # + one structured-mode fallback


class SleepLog:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay)


@pytest.mark.parametrize("structured", ["tool", "text"])
async def test_thirty_percent_faults_lose_nothing(structured: str) -> None:
    rates = FaultRates.uniform(0.3)
    sleeps = SleepLog()
    server = FaultInjectingServer(
        rates, seed=11, hang_seconds=3.0, retry_after=0.2, schedule=ALL_FAULTS
    )
    with server:
        client = OpenAICompatClient(server.base_url, "fake", timeout=0.5)
        started = time.monotonic()
        dist = await asyncio.wait_for(
            run_sampling(
                "Write a joke about coffee",
                VSConfig(k=5, n=100),
                client,
                structured=structured,  # type: ignore[arg-type]
                retry=POLICY,
                max_concurrency=8,
                sleep=sleeps,
            ),
            timeout=60,
        )
        elapsed = time.monotonic() - started
        counts = server.fault_counts()
        delivered = server.delivered_texts()
        served = len(server.requests)
    # 20 planned calls, and top-ups (at most 10) for what faults and cut replies lost
    assert dist.num_calls == 20 + dist.top_up_calls
    assert dist.top_up_calls <= 10
    # every fault kind really happened
    assert set(counts) == {"ok", *ALL_FAULTS}
    # every candidate of every successful answer is in the result, nothing invented
    assert set(dist.texts) == delivered
    assert len(dist.candidates) == len(delivered)
    assert len(dist.candidates) >= 5 * (dist.num_calls - len(dist.failures)) - counts["length"]
    # n is a promise: the run holds the 100 asked for, or says what is missing
    assert dist.requested == 100
    assert dist.num_samples >= 100
    assert dist.shortfall == 0
    # retries stay within their bound
    assert served <= dist.num_calls * BOUND
    assert all(f.attempts <= BOUND for f in dist.failures)
    # Retry-After (0.2 s) is honoured: a wait of at least that for each 429 that was
    # retried (a 429 on the last allowed attempt ends its call instead)
    final_429 = sum("HTTP 429" in f.message for f in dist.failures)
    assert sum(1 for d in sleeps.delays if d >= 0.2) >= counts["rate_limit"] - final_429
    assert elapsed < 60


async def test_below_minimum_is_a_clear_error_with_everything_kept() -> None:
    rates = FaultRates(status_500=0.8)
    policy = RetryPolicy(max_retries=0, max_reasks=0, backoff_base=0.0, max_top_up_calls=0)
    with FaultInjectingServer(rates, seed=3) as server:
        client = OpenAICompatClient(server.base_url, "fake", timeout=2)
        with pytest.raises(VSSamplingError) as info:
            await run_sampling("Joke", VSConfig(k=5, n=50), client, retry=policy, min_successes=9)
        delivered = server.delivered_texts()
    err = info.value
    assert "calls succeeded (at least 9 needed)" in str(err)
    assert err.partial is not None
    assert set(err.partial.texts) == delivered
    assert len(err.failures) == 10 - len(delivered) // 5
    assert {f.error_type for f in err.failures} == {"VSTransientError"}


async def test_all_faulted_never_hangs() -> None:
    rates = FaultRates(hang=0.5, reset=0.5)
    policy = RetryPolicy(max_retries=1, backoff_base=0.0, timeout=0.3)
    with FaultInjectingServer(rates, seed=5, hang_seconds=5) as server:
        client = OpenAICompatClient(server.base_url, "fake", timeout=5)
        started = time.monotonic()
        with pytest.raises(VSSamplingError):
            await run_sampling("Joke", VSConfig(k=5, n=20), client, retry=policy)
    assert time.monotonic() - started < 5
