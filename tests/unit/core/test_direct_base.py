"""direct_base through the orchestration: completion requests, the stop cut, the whole reply."""

from __future__ import annotations

import asyncio

import pytest

from vs_common import CallRequest, CallResponse, VSConfig, run_sampling
from vs_common.methods import COMPLETION_STOP


def run(call, n: int = 3, **kwargs):
    return asyncio.run(
        run_sampling("Write a joke", VSConfig(method="direct_base", n=n), call, **kwargs)
    )


def test_each_call_is_a_completion_request_with_the_stop_markers() -> None:
    seen: list[CallRequest] = []

    async def call(request: CallRequest) -> CallResponse:
        seen.append(request)
        return CallResponse(
            output=f" Joke {request.call_index}.\n### User: more\n### Assistant: no"
        )

    dist = run(call)
    assert dist.texts == ["Joke 0.", "Joke 1.", "Joke 2."]  # cut at the invented turn
    assert {r.prompt for r in seen} == {"### User: Write a joke\n### Assistant: "}
    assert all(r.is_completion and r.messages == [] for r in seen)
    assert all(r.stop == COMPLETION_STOP and r.structured == "text" for r in seen)


def test_a_list_shaped_completion_stays_one_response() -> None:
    async def call(request: CallRequest) -> str:
        return '1. Decaf (probability: 0.5)\n2. Espresso (probability: 0.5)\n[{"text": "x"}]'

    dist = run(call, n=1)
    assert len(dist.candidates) == 1
    assert dist.texts[0].startswith("1. Decaf")


def test_an_empty_completion_is_asked_again_with_the_same_prompt() -> None:
    seen: list[CallRequest] = []

    async def call(request: CallRequest) -> str:
        seen.append(request)
        return "### User: nothing before the marker" if request.attempt == 0 else "A joke."

    dist = run(call, n=1)
    assert dist.texts == ["A joke."]
    assert [r.attempt for r in seen] == [0, 1]
    assert seen[0].prompt == seen[1].prompt and seen[1].messages == []


@pytest.mark.parametrize("structured", ["auto", "tool", "json_schema"])
def test_structured_modes_fall_to_text_for_a_completion(structured: str) -> None:
    modes: list[str] = []

    async def call(request: CallRequest) -> str:
        modes.append(request.structured)
        return "ok"

    run(call, n=2, structured=structured)
    assert modes == ["text", "text"]


def test_a_base_models_reply_is_one_candidate_whatever_it_looks_like():
    from vs_common import StreamingParser, parse_distribution

    reply = "1. Decaf? (probability: 0.4)\n2. Espresso yourself. (probability: 0.6)"
    dist = parse_distribution(reply, method="direct_base")
    assert dist.texts == [reply] and dist.probabilities.tolist() == [1.0]
    stream = StreamingParser(method="direct_base")
    assert stream.feed(reply) == []  # one answer: complete only at the end
    assert stream.close().texts == [reply]
