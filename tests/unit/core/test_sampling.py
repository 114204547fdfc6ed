"""The orchestration over scripted fake calls: concurrency, retries, re-asks, partial results."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from vs_common import (
    CallRequest,
    CallResponse,
    Progress,
    RetryPolicy,
    Usage,
    VSConfig,
    VSConfigError,
    VSSamplingError,
    VSStructuredOutputUnsupported,
    VSTransientError,
    run_sampling,
    run_sync,
)


def reply(*texts: str) -> str:
    return json.dumps({"responses": [{"text": t, "probability": 1 / len(texts)} for t in texts]})


class Script:
    """A fake call: ``behaviour(request, nth_call_for_index)`` decides each answer."""

    def __init__(self, behaviour: Callable[[CallRequest, int], Any], latency: float = 0.0) -> None:
        self.behaviour = behaviour
        self.latency = latency
        self.requests: list[CallRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: CallRequest) -> Any:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            nth = sum(1 for r in self.requests if r.call_index == request.call_index) - 1
            result = self.behaviour(request, nth)
            if isinstance(result, BaseException):
                raise result
            return result
        finally:
            self.in_flight -= 1


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def good(request: CallRequest, nth: int) -> str:
    return reply(f"joke {request.call_index}a", f"joke {request.call_index}b")


async def test_n_over_k_calls_all_in_flight_at_once() -> None:
    call = Script(good, latency=0.01)
    dist = await run_sampling("Joke", VSConfig(k=2, n=12), call, structured="text")
    assert len(call.requests) == 6
    assert call.max_in_flight == 6
    assert dist.num_calls == 6
    assert len(dist.candidates) == 12
    assert not dist.failures


async def test_concurrency_bound_is_respected() -> None:
    call = Script(good, latency=0.01)
    await run_sampling("Joke", VSConfig(k=2, n=12), call, max_concurrency=2)
    assert call.max_in_flight == 2


async def test_transient_errors_retried_with_growing_backoff() -> None:
    def flaky(request: CallRequest, nth: int) -> Any:
        return VSTransientError("503") if nth < 3 else good(request, nth)

    sleeps = Sleeps()
    call = Script(flaky)
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, jitter=0.0)
    dist = await run_sampling("Joke", VSConfig(k=2, n=2), call, retry=policy, sleep=sleeps)
    assert len(dist.candidates) == 2
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert not dist.failures


async def test_jitter_seed_makes_the_backoff_reproducible() -> None:
    import random

    def flaky(request: CallRequest, nth: int) -> Any:
        return VSTransientError("503") if nth < 3 else good(request, nth)

    policy = RetryPolicy(max_retries=3, backoff_base=0.5, jitter=0.5)
    runs = []
    for _ in range(2):
        sleeps = Sleeps()
        await run_sampling(
            "Joke", VSConfig(k=2, n=2), Script(flaky), retry=policy, sleep=sleeps, jitter_seed=9
        )
        runs.append(sleeps.delays)
    rng = random.Random(9)  # the jitter's own generator, seeded as the run seeds it
    assert runs[0] == runs[1] == [policy.delay(i, None, rng) for i in (1, 2, 3)]


async def test_retry_after_is_honoured() -> None:
    def limited(request: CallRequest, nth: int) -> Any:
        return VSTransientError("429", retry_after=7.0) if nth == 0 else good(request, nth)

    sleeps = Sleeps()
    await run_sampling("Joke", VSConfig(k=2, n=2), Script(limited), sleep=sleeps)
    assert len(sleeps.delays) == 1 and 7.0 <= sleeps.delays[0] <= 7.0 * 1.05


async def test_retry_after_beyond_limit_fails_without_waiting() -> None:
    def limited(request: CallRequest, nth: int) -> Any:
        return VSTransientError("429", retry_after=3600)

    sleeps = Sleeps()
    with pytest.raises(VSSamplingError):
        await run_sampling("Joke", VSConfig(k=2, n=2), Script(limited), sleep=sleeps)
    assert sleeps.delays == []


async def test_retries_are_bounded_and_failure_recorded() -> None:
    class HTTP500(Exception):
        status_code = 500

    def broken_first(request: CallRequest, nth: int) -> Any:
        return HTTP500("boom") if request.call_index == 0 else good(request, nth)

    call = Script(broken_first)
    dist = await run_sampling(
        "Joke",
        VSConfig(k=2, n=6),
        call,
        retry=RetryPolicy(max_retries=2, max_top_up_calls=0),
        sleep=Sleeps(),
    )
    assert sum(1 for r in call.requests if r.call_index == 0) == 3
    assert len(dist.candidates) == 4  # the other two calls' candidates are all kept
    [failure] = dist.failures
    assert (failure.call_index, failure.attempts, failure.error_type) == (0, 3, "HTTP500")


async def test_non_transient_error_not_retried() -> None:
    def bad(request: CallRequest, nth: int) -> Any:
        return KeyError("bug") if request.call_index == 1 else good(request, nth)

    call = Script(bad)
    policy = RetryPolicy(max_top_up_calls=0)
    dist = await run_sampling("Joke", VSConfig(k=2, n=4), call, retry=policy, sleep=Sleeps())
    assert sum(1 for r in call.requests if r.call_index == 1) == 1
    assert [f.error_type for f in dist.failures] == ["KeyError"]
    assert len(dist.candidates) == 2


async def test_too_few_successes_raise_with_partial_and_failures() -> None:
    def mostly_bad(request: CallRequest, nth: int) -> Any:
        return ValueError("no") if request.call_index != 2 else good(request, nth)

    with pytest.raises(VSSamplingError) as info:
        await run_sampling("Joke", VSConfig(k=2, n=8), Script(mostly_bad), min_successes=2)
    err = info.value
    assert err.partial is not None and err.partial.texts == ["joke 2a", "joke 2b"]
    # the 2 top-up calls (indices 4 and 5) failed too, and count against the minimum
    assert sorted(f.call_index for f in err.failures) == [0, 1, 3, 4, 5]
    assert "1 of 6 calls succeeded" in str(err)


async def test_all_failing_raises_and_zero_minimum_returns_empty() -> None:
    def dead(request: CallRequest, nth: int) -> Any:
        return RuntimeError("down")

    with pytest.raises(VSSamplingError) as info:
        await run_sampling("Joke", VSConfig(k=2, n=4), Script(dead))
    assert info.value.partial is None and len(info.value.failures) == 2
    empty = await run_sampling("Joke", VSConfig(k=2, n=4), Script(dead), min_successes=0)
    assert empty.candidates == [] and len(empty.failures) == 2


async def test_unparseable_reply_is_re_asked_with_the_problem() -> None:
    def sloppy(request: CallRequest, nth: int) -> Any:
        return "I cannot format things, sorry." if nth == 0 else good(request, nth)

    call = Script(sloppy)
    dist = await run_sampling("Joke", VSConfig(k=2, n=2), call)
    assert len(dist.candidates) == 2
    second = call.requests[1].messages
    assert second[-2] == {"role": "assistant", "content": "I cannot format things, sorry."}
    assert second[-1]["role"] == "user" and "could not be read" in second[-1]["content"]


async def test_re_asks_are_bounded_and_raw_output_kept() -> None:
    call = Script(lambda r, n: "prose forever")
    dist = await run_sampling(
        "Joke", VSConfig(k=2, n=4), call, retry=RetryPolicy(max_reasks=2), min_successes=0
    )
    assert len(call.requests) == 6
    assert {f.raw_output for f in dist.failures} == {"prose forever"}
    assert {f.error_type for f in dist.failures} == {"VSParseError"}


async def test_auto_mode_falls_back_to_text_once_rejected() -> None:
    def no_tools(request: CallRequest, nth: int) -> Any:
        if request.structured != "text":
            return VSStructuredOutputUnsupported("tools not supported")
        assert request.schema is None
        return good(request, nth)

    call = Script(no_tools)
    dist = await run_sampling(
        "Joke", VSConfig(k=2, n=8), call, structured="auto", max_concurrency=1
    )
    assert len(dist.candidates) == 8
    modes = [r.structured for r in call.requests]
    assert modes[0] == "tool" and modes.count("tool") == 1  # later calls go straight to text


async def test_tool_mode_sends_schema_and_reads_decoded_arguments() -> None:
    def tools(request: CallRequest, nth: int) -> Any:
        assert request.structured == "tool" and request.schema is not None
        assert request.schema["properties"]["responses"]["maxItems"] == 2
        return {"responses": [{"text": "x", "probability": 0.5}, {"text": "y", "probability": 0.5}]}

    dist = await run_sampling("Joke", VSConfig(k=2, n=2), Script(tools), structured="tool")
    assert dist.texts == ["x", "y"]


async def test_explicit_tool_mode_rejected_is_a_failure() -> None:
    call = Script(lambda r, n: VSStructuredOutputUnsupported("no"))
    with pytest.raises(VSSamplingError, match="VSStructuredOutputUnsupported"):
        await run_sampling("Joke", VSConfig(k=2, n=2), call, structured="tool")


async def test_usage_summed_over_every_attempt() -> None:
    def counted(request: CallRequest, nth: int) -> Any:
        text = "not parseable" if nth == 0 and request.call_index == 0 else good(request, nth)
        return CallResponse(output=text, usage=Usage(prompt_tokens=10, completion_tokens=3))

    dist = await run_sampling("Joke", VSConfig(k=2, n=6), Script(counted))
    assert dist.usage == Usage(prompt_tokens=40, completion_tokens=12)


async def test_truncated_reply_drops_cut_candidate() -> None:
    def cut(request: CallRequest, nth: int) -> Any:
        return CallResponse(output="1. A (0.5)\n2. B (0.5)\n3. C is cu", finish_reason="length")

    dist = await run_sampling("Joke", VSConfig(k=3, n=3), Script(cut))
    assert dist.texts == ["A", "B"]


async def test_vs_multi_runs_turns_in_order_with_history() -> None:
    def turns(request: CallRequest, nth: int) -> Any:
        return reply(f"turn {request.call_index} x", f"turn {request.call_index} y")

    call = Script(turns)
    dist = await run_sampling("Joke", VSConfig(method="vs_multi", k=2, n=6), call)
    assert [r.call_index for r in call.requests] == [0, 1, 2]
    assert [len(r.messages) for r in call.requests] == [2, 4, 6]
    assert call.requests[2].messages[2]["role"] == "assistant"
    assert "turn 0 x" in call.requests[2].messages[2]["content"]
    assert call.max_in_flight == 1
    assert len(dist.candidates) == 6


async def test_multi_turn_single_answers() -> None:
    call = Script(lambda r, n: f"Answer number {r.call_index}")
    dist = await run_sampling("Joke", VSConfig(method="multi_turn", n=3), call)
    assert dist.texts == ["Answer number 0", "Answer number 1", "Answer number 2"]
    assert call.requests[2].messages[-1]["content"].startswith("Generate another response")


async def test_direct_method_n_calls_of_one() -> None:
    call = Script(lambda r, n: "Same joke")
    dist = await run_sampling("Joke", VSConfig(method="direct", n=5), call)
    assert len(call.requests) == 5
    assert [(c.text, c.count) for c in dist.candidates] == [("Same joke", 5)]
    assert all(r.structured == "text" for r in call.requests)


async def test_model_decided_k_tops_up_until_n() -> None:
    call = Script(lambda r, n: reply(f"{r.call_index} one", f"{r.call_index} two"))
    dist = await run_sampling("Joke", VSConfig(k=None, n=9), call)
    assert len(dist.candidates) >= 9
    assert len(call.requests) == 5  # 2 planned (n/5), then 3 more at 2 per call


async def test_hanging_call_times_out_and_is_retried() -> None:
    async def hang(request: CallRequest) -> str:
        if request.attempt == 0:
            await asyncio.sleep(30)
        return reply("late", "but ok")

    policy = RetryPolicy(timeout=0.05, backoff_base=0.0)
    dist = await asyncio.wait_for(
        run_sampling("Joke", VSConfig(k=2, n=2), hang, retry=policy), timeout=5
    )
    assert dist.texts == ["late", "but ok"]


async def test_progress_reported_per_call() -> None:
    seen: list[Progress] = []
    await run_sampling("Joke", VSConfig(k=2, n=6), Script(good), on_progress=seen.append)
    assert [p.calls_done for p in seen] == [1, 2, 3]
    last = seen[-1]
    assert (last.calls_done, last.calls_planned, last.candidates, last.failures) == (3, 3, 6, 0)
    assert all(p.distribution is not None and len(p.distribution) == 2 for p in seen)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"max_concurrency": 0}, "max_concurrency"), ({"min_successes": 9}, "min_successes")],
)
async def test_bad_arguments(kwargs: dict[str, int], field: str) -> None:
    with pytest.raises(VSConfigError) as info:
        await run_sampling("Joke", VSConfig(k=2, n=4), Script(good), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_retry_policy_validation() -> None:
    with pytest.raises(VSConfigError, match="jitter"):
        RetryPolicy(jitter=2.0)


def test_run_sync_outside_and_inside_a_loop() -> None:
    call = Script(good)
    dist = run_sync(run_sampling("Joke", VSConfig(k=2, n=2), call))
    assert len(dist.candidates) == 2

    async def inside() -> int:
        return len(run_sync(run_sampling("Joke", VSConfig(k=2, n=4), call)).candidates)

    assert asyncio.run(inside()) == 4


async def test_cancellation_propagates() -> None:
    async def slow(request: CallRequest) -> str:
        await asyncio.sleep(10)
        return ""

    task = asyncio.create_task(run_sampling("Joke", VSConfig(k=2, n=4), slow))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --- top-ups: n is a promise -------------------------------------------------


async def test_a_cut_reply_is_topped_up_to_n() -> None:
    def behaviour(request: CallRequest, nth: int) -> str:
        if request.call_index == 1:  # cut by max_tokens: 3 of the 5 asked for
            return reply("c1", "c2", "c3")
        return reply(*(f"{request.call_index}-{i}" for i in range(5)))

    call = Script(behaviour)
    dist = await run_sampling("Joke", VSConfig(k=5, n=10), call, structured="text")
    assert dist.num_samples >= 10
    assert (dist.num_calls, dist.top_up_calls, dist.shortfall, dist.requested) == (3, 1, 0, 10)
    assert sorted(r.call_index for r in call.requests) == [0, 1, 2]


async def test_a_failed_call_is_topped_up_and_still_recorded() -> None:
    def behaviour(request: CallRequest, nth: int) -> Any:
        if request.call_index == 0:
            return ValueError("the model said no")
        return reply(*(f"{request.call_index}-{i}" for i in range(5)))

    dist = await run_sampling("Joke", VSConfig(k=5, n=20), Script(behaviour), structured="text")
    assert dist.num_samples == 20
    assert dist.top_up_calls == 1 and dist.shortfall == 0
    assert [f.call_index for f in dist.failures] == [0]


async def test_what_the_budget_cannot_fill_is_the_shortfall() -> None:
    call = Script(lambda r, n: reply(f"{r.call_index} a", f"{r.call_index} b"))  # 2 of 5
    dist = await run_sampling("Joke", VSConfig(k=5, n=20), call, structured="text")
    # 4 planned calls give 8; the default budget is 2 more calls (half of 4): 12
    assert (dist.num_calls, dist.top_up_calls) == (6, 2)
    assert (dist.num_samples, dist.shortfall) == (12, 8)


@pytest.mark.parametrize(("budget", "calls"), [(0, 4), (1, 5), (10, 10)])
async def test_top_up_budget_is_configurable(budget: int, calls: int) -> None:
    call = Script(lambda r, n: reply(f"{r.call_index} a", f"{r.call_index} b"))
    policy = RetryPolicy(max_top_up_calls=budget)
    dist = await run_sampling("Joke", VSConfig(k=5, n=20), call, structured="text", retry=policy)
    assert dist.num_calls == len(call.requests) == calls
    assert dist.shortfall == max(0, 20 - 2 * calls)


async def test_no_top_up_when_every_call_failed() -> None:
    call = Script(lambda r, n: ValueError("bad key"))
    with pytest.raises(VSSamplingError) as info:
        await run_sampling("Joke", VSConfig(k=5, n=20), call)
    assert len(call.requests) == 4  # more of what failed every time would not help
    assert len(info.value.failures) == 4


async def test_a_conversation_is_topped_up_with_more_turns() -> None:
    def behaviour(request: CallRequest, nth: int) -> Any:
        if request.call_index == 1:
            return ValueError("turn lost")
        return reply(f"t{request.call_index} a", f"t{request.call_index} b")

    call = Script(behaviour)
    dist = await run_sampling("Joke", VSConfig(method="vs_multi", k=2, n=6), call)
    assert (dist.num_calls, dist.top_up_calls, dist.shortfall) == (4, 1, 0)
    assert dist.texts == ["t0 a", "t0 b", "t2 a", "t2 b", "t3 a", "t3 b"]
    last = call.requests[-1].messages
    assert "t2 a" in " ".join(m["content"] for m in last)  # the same conversation goes on


async def test_progress_counts_top_up_calls_as_planned() -> None:
    seen: list[Progress] = []
    call = Script(lambda r, n: reply(f"{r.call_index} a"))  # 1 of 2
    await run_sampling("Joke", VSConfig(k=2, n=4), call, structured="text", on_progress=seen.append)
    assert [(p.calls_done, p.calls_planned) for p in seen] == [(1, 2), (2, 2), (3, 3)]


def test_top_up_budget_must_not_be_negative() -> None:
    with pytest.raises(VSConfigError) as info:
        RetryPolicy(max_top_up_calls=-1)
    assert info.value.field == "max_top_up_calls"
