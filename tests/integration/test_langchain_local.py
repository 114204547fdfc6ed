"""The LangChain adapter against SmolLM2 behind the real llama-cpp-python server.

ChatOpenAI talks to the server over HTTP exactly as it would to vLLM or
OpenAI. The model is tiny, so the content is poor: these tests check that the
whole path works (tool and text modes, streaming, callbacks, usage, the 400
mapping) and that whatever comes back is parsed or reported cleanly. The
server serves one request at a time: a handful of short requests only.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import OutputParserException
from langchain_core.outputs import LLMResult
from langchain_openai import ChatOpenAI

from langchain_vs import VerbalizedSampler, VerbalizedSamplingParser, vs_prompt
from vs_common import (
    RetryPolicy,
    VerbalizedDistribution,
    VSConfig,
    VSParseError,
    VSSamplingError,
    parse_distribution,
)
from vs_common.backends.local_server import LocalModelServer

MAX_TOKENS = 200


class RunRecorder(BaseCallbackHandler):
    """Records the run ids and parents of chain and chat model runs, and each reply's text."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, Any]] = []
        self.replies: list[str] = []
        self.cut: list[bool] = []  # whether each reply hit max_tokens

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        generation = response.generations[0][0]
        self.replies.append(generation.text)
        info = generation.generation_info or {}
        self.cut.append(info.get("finish_reason") == "length")

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kwargs: Any
    ) -> None:
        self.events.append(("chain", run_id, parent_run_id))

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: Any,
        parent_run_id: Any = None,
        **kwargs: Any,
    ) -> None:
        self.events.append(("chat_model", run_id, parent_run_id))


def _llm(server: LocalModelServer, **kwargs: object) -> ChatOpenAI:
    # The server ignores max_completion_tokens (what max_tokens= sends): use extra_body.
    return ChatOpenAI(
        base_url=server.base_url,
        model=server.model,
        api_key=server.api_key,
        temperature=0.8,
        max_retries=0,
        extra_body={"max_tokens": MAX_TOKENS},
        **kwargs,
    )


def test_tool_mode_returns_exactly_k_candidates_nested_with_usage(local_server):
    rec = RunRecorder()
    sampler = VerbalizedSampler(
        llm=_llm(local_server), k=3, n=3, structured="tool", retry=RetryPolicy(max_reasks=0)
    )
    dist = sampler.invoke("Tell me a short joke about coffee.", {"callbacks": [rec]})
    assert isinstance(dist, VerbalizedDistribution)
    assert dist.num_calls == 1
    # minItems = maxItems = k: the grammar makes the server return exactly 3
    assert sum(c.count for c in dist.candidates) == 3
    assert dist.probabilities.sum() == pytest.approx(1.0)
    assert dist.usage is not None
    assert dist.usage.prompt_tokens > 0
    assert dist.usage.completion_tokens > 0
    ((_, root_id, _),) = [e for e in rec.events if e[0] == "chain"]
    ((_, _, parent),) = [e for e in rec.events if e[0] == "chat_model"]
    assert parent == root_id


def test_distinct_sampler_over_the_local_server(local_server):
    rec = RunRecorder()
    sampler = VerbalizedSampler(
        llm=_llm(local_server), k=3, n=5, structured="tool", distinct={"max_calls": 3}
    )
    dist = sampler.invoke("Name a fruit.", {"callbacks": [rec]})
    stats = dist.distinct
    assert stats is not None
    assert stats.calls == dist.num_calls <= 3
    assert stats.distinct == len(dist.candidates) <= 5
    # every call of every round is a chat-model run nested under the sampler's run
    assert len([e for e in rec.events if e[0] == "chat_model"]) == stats.calls
    ((_, root_id, _),) = [e for e in rec.events if e[0] == "chain"]
    assert {e[2] for e in rec.events if e[0] == "chat_model"} == {root_id}


def test_text_mode_chain_is_parsed_or_reported_cleanly(local_server):
    rec = RunRecorder()
    chain = vs_prompt(k=3) | _llm(local_server) | VerbalizedSamplingParser(k=3)
    outs: list[VerbalizedDistribution] = []
    error: OutputParserException | None = None
    try:
        for dist in chain.stream({"input": "Name a color."}, {"callbacks": [rec]}):
            outs.append(dist)
    except OutputParserException as exc:  # a tiny model may write no candidate at all
        error = exc
    (reply,), (cut,) = rec.replies, rec.cut
    try:  # what the streamed parse must agree with: the whole reply, parsed at once
        expected: VerbalizedDistribution | None = parse_distribution(reply, truncated=cut)
    except VSParseError:
        expected = None
    if expected is None:
        assert error is not None, "an unreadable reply must raise, not yield"
        assert error.llm_output == reply
        return
    assert error is None, error
    assert outs, "a successful stream yields at least the final distribution"
    final = outs[-1]
    assert final.texts == expected.texts
    for earlier in outs[:-1]:  # the distribution only grows
        assert len(earlier.candidates) <= len(final.candidates)


async def test_text_sampler_async_keeps_failures_instead_of_raising(local_server):
    sampler = VerbalizedSampler(
        llm=_llm(local_server),
        k=2,
        n=4,
        structured="text",
        min_successes=0,
        retry=RetryPolicy(max_reasks=0),
    )
    rec = RunRecorder()
    dist = await sampler.ainvoke("Suggest a name for a cat.", {"callbacks": [rec]})
    assert dist.num_calls == 2 + dist.top_up_calls == len(rec.replies)
    # Each reply either parses, and its candidates are all in the result, or
    # is a failure recorded with the reply: nothing raised, nothing lost.
    parsed, unreadable = [], []
    for reply, cut in zip(rec.replies, rec.cut, strict=True):
        try:
            parsed.append(parse_distribution(reply, truncated=cut))
        except VSParseError:
            unreadable.append(reply)
    assert sorted(f.raw_output or "" for f in dist.failures) == sorted(unreadable)
    assert all(f.error_type == "VSParseError" for f in dist.failures)
    assert dist.num_samples == sum(d.num_samples for d in parsed)
    assert dist.usage is not None
    assert dist.usage.completion_tokens > 0


def test_server_rejection_of_json_schema_maps_to_unsupported(local_server):
    sampler = VerbalizedSampler(
        llm=_llm(local_server), config=VSConfig(k=2), structured="json_schema"
    )
    with pytest.raises(VSSamplingError) as info:
        sampler.invoke("Name a fruit.")
    (failure,) = info.value.failures
    assert failure.error_type == "VSStructuredOutputUnsupported"
    assert failure.attempts == 1  # a 400 is not retried as transient
