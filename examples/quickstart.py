"""Quickstart: Verbalized Sampling on your model, or on the embedded local model.

Asks for n jokes over ceil(n/k) calls, each call returning k candidates with
verbalized probabilities, pools them and draws one by its probability.

    python examples/quickstart.py "Write a joke about coffee"

Backend: ``VS_BASE_URL`` (+ ``VS_MODEL``, ``VS_API_KEY``) for any
OpenAI-compatible server; else ``OPENAI_API_KEY`` for OpenAI; else the
embedded SmolLM2-135M model, started on loopback and stopped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from vs_common import VSConfig, VSSamplingError, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.backends.local_server import LocalModelServer


async def sample(prompt: str, client: OpenAICompatClient) -> None:
    config = VSConfig(method="vs_standard", k=5, n=10)
    try:
        dist = await run_sampling(prompt, config, client, structured="auto", max_concurrency=2)
    except VSSamplingError as exc:
        print(f"no call succeeded: {exc}")
        for failure in exc.failures:
            print(f"  call {failure.call_index}: {failure.error_type}: {failure.message[:120]}")
        raise SystemExit(1) from None
    print(
        f"{len(dist.candidates)} candidates ({dist.num_samples} samples) from"
        f" {dist.num_calls} calls ({dist.top_up_calls} top-up) for: {prompt}"
    )
    for cand in dist.top(10):
        bar = "#" * max(1, round(cand.probability * 40))
        print(f"  {cand.probability:6.1%} {bar:<40} {cand.text[:90]!r}")
    if dist.failures:
        print(f"  ({len(dist.failures)} call(s) failed and were recorded, not lost)")
    if dist.shortfall:
        print(f"  (short by {dist.shortfall} of the {dist.requested} samples asked for)")
    if dist.usage is not None:
        per = dist.usage.total_tokens / max(1, len(dist.all_texts()))
        print(f"  tokens: {dist.usage.total_tokens} in all, {per:.0f} per sample")
    chosen = dist.sample(seed=7)
    print(f"sampled (seed 7): {chosen.text}")


def main() -> None:
    prompt = " ".join(sys.argv[1:]) or "Write a joke about coffee"
    base_url = os.environ.get("VS_BASE_URL")
    openai_key = os.environ.get("OPENAI_API_KEY")
    with contextlib.ExitStack() as stack:
        if base_url:
            model = os.environ.get("VS_MODEL", "default")
            api_key = os.environ.get("VS_API_KEY")
        elif openai_key:
            base_url, model, api_key = "https://api.openai.com/v1", "gpt-4.1-mini", openai_key
        else:
            print("No API key set: starting the embedded SmolLM2-135M model...")
            server = stack.enter_context(LocalModelServer())
            base_url, model, api_key = server.base_url, server.model, None
        client = OpenAICompatClient(
            base_url, model, api_key=api_key, temperature=0.9, max_tokens=400
        )
        asyncio.run(sample(prompt, client))


if __name__ == "__main__":
    main()
