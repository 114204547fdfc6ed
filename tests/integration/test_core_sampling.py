"""The core orchestration for real, over HTTP, against the local SmolLM2 server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vs_common import CallRequest, CallResponse, Progress, VSConfig, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.backends.local_server import LocalModelServer

ROOT = Path(__file__).resolve().parents[2]


def _client(server: LocalModelServer) -> OpenAICompatClient:
    return OpenAICompatClient(server.base_url, server.model, temperature=0.8, max_tokens=300)


@pytest.mark.parametrize("structured", ["tool", "text"])
async def test_run_sampling_over_http(local_server: LocalModelServer, structured: str) -> None:
    config = VSConfig(k=3, n=6)
    ended: list[Progress] = []
    dist = await run_sampling(
        "Write a joke about coffee",
        config,
        _client(local_server),
        structured=structured,  # type: ignore[arg-type]
        max_concurrency=2,
        min_successes=0,
        on_progress=ended.append,
    )
    assert dist.num_calls == 2 + dist.top_up_calls == len(ended)
    assert dist.usage is not None
    assert dist.usage.prompt_tokens > 0
    assert dist.usage.completion_tokens > 0
    # A 135M model's content is poor: every call either gave candidates or is
    # recorded as a failure, and every candidate a call gave is in the result.
    delivered = [p.distribution for p in ended if p.distribution is not None]
    assert len(delivered) + len(dist.failures) == dist.num_calls
    assert dist.num_samples == sum(d.num_samples for d in delivered)
    assert dist.shortfall == max(0, 6 - dist.num_samples)
    for failure in dist.failures:
        assert failure.error_type
        assert failure.attempts >= 1
    if dist.candidates:
        assert abs(float(dist.probabilities.sum()) - 1.0) < 1e-9
        assert all(c.text.strip() for c in dist.candidates)
    if structured == "tool":
        # grammar-constrained tool calls give exactly k items per successful call
        assert delivered, dist.failures
        # (less any the parser dropped, e.g. an empty text, which it records)
        dropped = sum(
            int(r.split()[1]) for r in dist.repairs if r.startswith("dropped ") and "candidate" in r
        )
        assert dist.num_samples + dropped == 3 * len(delivered)


async def test_auto_mode_uses_tools_on_this_server(local_server: LocalModelServer) -> None:
    client = _client(local_server)
    modes: list[str] = []

    async def call(request: CallRequest) -> CallResponse:
        modes.append(request.structured)
        return await client(request)

    dist = await run_sampling(
        "Write a joke about rain", VSConfig(k=2, n=2), call, structured="auto"
    )
    assert modes and set(modes) == {"tool"}  # the server takes tool calls: no fallback to text
    # grammar-constrained: each call gave 2 (an empty text, which SmolLM2 writes now and
    # then, is dropped and recorded, and then a top-up call asks again)
    assert dist.num_samples + dist.shortfall >= 2
    dropped = sum(int(r.split()[1]) for r in dist.repairs if r.startswith("dropped "))
    assert dist.num_samples + dropped == 2 * (dist.num_calls - len(dist.failures))


def test_quickstart_example_runs(local_server: LocalModelServer) -> None:
    env = {**os.environ, "VS_BASE_URL": local_server.base_url, "VS_MODEL": local_server.model}
    env.pop("OPENAI_API_KEY", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "Write a joke about tea"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(
        r"candidates \((\d+) samples\) from (\d+) calls \((\d+) top-up\) for: Write a joke"
        r" about tea",
        result.stdout,
    )
    assert found, result.stdout
    samples, calls, top_ups = (int(g) for g in found.groups())
    assert calls == 2 + top_ups  # n=10 at k=5: 2 planned calls, top-ups when short
    short = re.search(r"short by (\d+) of the 10 samples", result.stdout)
    assert samples + (int(short.group(1)) if short else 0) >= 10
    assert "sampled (seed 7):" in result.stdout
