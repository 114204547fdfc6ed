"""The async client keeps N requests in flight on pooled keep-alive connections.

Against ``vs_common.testing.FixedLatencyServer`` (every answer after exactly
the same latency, any number at once): N requests awaited together finish in
about one latency, on N connections that the next wave reuses; ``vs batch
--concurrency N`` has N requests in flight; and the pool is closed when the
event loop ends, without warnings.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
import time
from pathlib import Path

import pytest

from vs_common import VSConfig, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.calls import CallRequest
from vs_common.cli import main
from vs_common.testing import FixedLatencyServer

LATENCY = 0.3
MESSAGES = [{"role": "user", "content": "Tell me a joke."}]


def test_n_requests_awaited_together_are_n_in_flight() -> None:
    with FixedLatencyServer(LATENCY) as server:
        client = OpenAICompatClient(server.base_url, "fixed")

        async def wave() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(client(CallRequest(messages=MESSAGES)) for _ in range(64)))
            return time.perf_counter() - started

        async def two_waves() -> tuple[float, float]:
            return await wave(), await wave()

        first, second = asyncio.run(two_waves())
        assert server.served == 128
        assert server.peak_in_flight == 64
        # A thread pool of min(32, cores + 4) workers would need 64 / 6 waves (3.2 s).
        assert first < 4 * LATENCY and second < 4 * LATENCY, (first, second)
        assert server.connections == 64  # the second wave reused the first's connections


def test_the_pool_closes_with_the_loop_and_a_new_loop_gets_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with FixedLatencyServer(0.01) as server:
        client = OpenAICompatClient(server.base_url, "fixed")
        for _ in range(2):
            dist = asyncio.run(run_sampling("Joke", VSConfig(k=5, n=20), client))
            assert len(dist.candidates) == 20
            assert client._pools == {}  # closed by the loop's shutdown
        copy = pickle.loads(pickle.dumps(client))  # noqa: S301 - our own object, as Ray sends it
        assert asyncio.run(run_sampling("Joke", VSConfig(k=5), copy)).texts

        async def explicit() -> None:
            async with client:
                await client(CallRequest(messages=MESSAGES))
                assert len(client._pools) == 1
            assert client._pools == {}

        asyncio.run(explicit())
    assert "Unclosed" not in caplog.text
    opened = [r for r in caplog.records if "opened a connection pool" in r.getMessage()]
    closed = [r for r in caplog.records if "closed the connection pool" in r.getMessage()]
    assert len(opened) == len(closed) == 4


def test_vs_batch_concurrency_n_means_n_requests_in_flight(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": i, "prompt": f"joke {i}"}) + "\n" for i in range(48))
    )
    target = tmp_path / "out.jsonl"
    with FixedLatencyServer(LATENCY) as server:
        started = time.perf_counter()
        code = main(
            ["batch", str(source), "-o", str(target), "--base-url", server.base_url,
             "--model", "fixed", "--concurrency", "16", "-k", "5", "-q"],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    assert code == 0
    assert target.read_text().count("\n") == 48
    assert server.served == 48
    assert server.peak_in_flight == 16
    assert elapsed < 3 * (48 / 16) * LATENCY, elapsed  # three waves, not 48 / 6
