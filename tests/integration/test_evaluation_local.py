"""Distinct N and calibration for real, against the local SmolLM2 server."""

from __future__ import annotations

import math

from vs_common import CallRequest, VSConfig, normalize_key
from vs_common.backends import LocalModelServer, OpenAICompatClient
from vs_common.distinct import DistinctPolicy, run_distinct
from vs_common.evaluation import calibrate


def _client(server: LocalModelServer) -> OpenAICompatClient:
    return OpenAICompatClient(server.base_url, server.model, temperature=0.8, max_tokens=300)


class Recorder:
    def __init__(self, call):
        self.call = call
        self.requests: list[CallRequest] = []

    async def __call__(self, request):
        self.requests.append(request)
        return await self.call(request)


async def test_distinct_n_over_http(local_server: LocalModelServer) -> None:
    call = Recorder(_client(local_server))
    result = await run_distinct(
        "Name a US state",
        VSConfig(k=4, n=8),
        call,
        DistinctPolicy(max_calls=4, patience=2),
        structured="tool",
        max_concurrency=1,
        min_successes=0,
    )
    stats, dist = result.stats, result.distribution
    assert stats.calls == dist.num_calls == len(call.requests) <= 4
    assert stats.distinct == len(dist.candidates) <= 8
    keys = [normalize_key(t) for t in dist.texts]
    assert len(set(keys)) == len(keys)  # distinct by key, whatever the model said
    if stats.stop_reason == "reached_n":
        assert stats.distinct == 8
    elif stats.stop_reason == "budget":
        assert stats.calls == 4
    if dist.candidates:
        assert math.isclose(float(dist.probabilities.sum()), 1.0)
        assert dist.usage is not None
        assert dist.usage.completion_tokens > 0
    # a follow-up continues the conversation and lists what was found; a fresh call
    # (chosen when follow-ups found less per call) is the plain prompt again
    follow_ups = [r for r in call.requests if len(r.messages) > 2]
    assert stats.follow_up_calls == len(follow_ups)
    if len(stats.new_per_round) >= 2 and stats.new_per_round[0] > 0:
        assert len(call.requests[1].messages) == 4  # after a useful first call: a follow-up
    for request in follow_ups:
        roles = [m["role"] for m in request.messages]
        assert roles == ["system", "user", "assistant", "user"]
        assert "different from every response already given" in request.messages[-1]["content"]


async def test_calibration_over_http(local_server: LocalModelServer) -> None:
    cal = await calibrate(
        "Name a primary color",
        _client(local_server),
        k=3,
        calls=2,
        direct_samples=4,
        structured="tool",
        max_concurrency=1,
    )
    assert 1 <= cal.calls <= 2
    assert cal.direct_samples == 4
    assert math.isclose(sum(r.stated for r in cal.rows), 1.0)
    assert math.isclose(sum(r.direct or 0.0 for r in cal.rows), 1.0)
    assert all(0.0 <= r.recurrence <= 1.0 for r in cal.rows)
    # one raw sum per call whose probabilities were usable (a tiny model may state 250)
    assert len(cal.raw_sums) <= cal.calls
    assert all(total >= 0.0 for total in cal.raw_sums)
    assert cal.gap_direct is not None
    assert 0.0 <= cal.gap_direct <= 1.0
    assert 0.0 <= cal.entropy <= math.log(len(cal.rows)) + 1e-9
