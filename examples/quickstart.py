"""Quickstart: Verbalized Sampling on your model, or on the embedded local model.

Asks for n jokes over ceil(n/k) calls, each call returning k candidates with
verbalized probabilities, pools them and draws one by its probability.

    python examples/quickstart.py "Write a joke about coffee"

Backend, as the ``vs`` command chooses it: ``VS_BASE_URL`` (+ ``VS_MODEL``,
and the key in ``VS_API_KEY`` if the server wants one) for any
OpenAI-compatible server; else ``OPENAI_API_KEY`` for OpenAI; else the
embedded SmolLM2-135M model, started on loopback and stopped at exit.
"""

from __future__ import annotations

import os
import sys

from vs_common import VSSamplingError, verbalize


def main() -> None:
    prompt = " ".join(sys.argv[1:]) or "Write a joke about coffee"
    try:
        dist = verbalize(
            prompt,
            k=5,
            n=10,
            base_url=os.environ.get("VS_BASE_URL"),
            model=os.environ.get("VS_MODEL"),
            api_key_env="VS_API_KEY" if os.environ.get("VS_API_KEY") else None,
            temperature=0.9,
            max_tokens=400,
            max_concurrency=2,
        )
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
    print(f"sampled (seed 7): {dist.sample(seed=7).text}")


if __name__ == "__main__":
    main()
