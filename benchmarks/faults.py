"""Fault-run completion: n=100, k=5 with 30% of calls faulted, per client path.

Runs the core (OpenAICompatClient), the LangChain sampler (ChatOpenAI) and the
LlamaIndex workflow (OpenAILike) against the fault-injecting server and
reports, for each: samples delivered of the n asked (n is a promise: a run
short of n tops up with further calls, bounded), the top-up calls spent and
the shortfall left, calls that succeeded, candidates kept against candidates
delivered by the server (must be equal: nothing lost), requests served,
failures recorded, and wall time.

    python benchmarks/faults.py [--json out.json] [--rate 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vs_common import RetryPolicy, VerbalizedDistribution, VSConfig, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.testing import ALL_FAULTS, FaultInjectingServer, FaultRates

POLICY = RetryPolicy(max_retries=4, max_reasks=2, backoff_base=0.05, backoff_max=0.5, timeout=3.0)
CONFIG = VSConfig(k=5, n=100)
PROMPT = "Write a joke about coffee"

Runner = Callable[[str], Awaitable[VerbalizedDistribution]]


async def core(base_url: str) -> VerbalizedDistribution:
    client = OpenAICompatClient(base_url, "fault", timeout=1.0)
    return await run_sampling(PROMPT, CONFIG, client, retry=POLICY, structured="tool")


async def langchain(base_url: str) -> VerbalizedDistribution:
    from langchain_openai import ChatOpenAI

    from langchain_vs import VerbalizedSampler

    llm = ChatOpenAI(model="fault", base_url=base_url, api_key="k", max_retries=0, timeout=1.0)
    sampler = VerbalizedSampler(llm=llm, config=CONFIG, retry=POLICY, structured="tool")
    out: Any = await sampler.ainvoke(PROMPT)
    return out  # type: ignore[no-any-return]


async def llamaindex(base_url: str) -> VerbalizedDistribution:
    from llama_index.llms.openai_like import OpenAILike

    from llamaindex_vs import VerbalizedSamplingWorkflow

    llm = OpenAILike(
        model="fault",
        api_base=base_url,
        api_key="k",
        is_chat_model=True,
        is_function_calling_model=True,
        max_retries=0,
        timeout=1.0,
    )
    workflow = VerbalizedSamplingWorkflow(llm=llm, config=CONFIG, retry=POLICY, timeout=300)
    result = await workflow.run(prompt=PROMPT)
    return result.distribution  # type: ignore[no-any-return]


def run(name: str, runner: Runner, rate: float, seed: int) -> dict[str, Any]:
    server = FaultInjectingServer(
        FaultRates.uniform(rate), seed=seed, hang_seconds=4.0, retry_after=0.2, schedule=ALL_FAULTS
    )
    with server:
        t0 = time.perf_counter()
        dist = asyncio.run(runner(server.base_url))
        wall = time.perf_counter() - t0
        delivered = server.delivered_texts()
        counts = server.fault_counts()
        served = len(server.requests)
    return {
        "path": name,
        "n": CONFIG.n,
        "samples": dist.num_samples,
        "shortfall": dist.shortfall,
        "top_up_calls": dist.top_up_calls,
        "calls": dist.num_calls,
        "calls_ok": dist.num_calls - len(dist.failures),
        "failures_recorded": len(dist.failures),
        "candidates_kept": len(dist.candidates),
        "candidates_delivered": len(delivered),
        "nothing_lost": set(dist.texts) == delivered,
        "requests": served,
        "faulted_requests": served - counts["ok"],
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--rate", type=float, default=0.3)
    args = ap.parse_args()
    rows = []
    for i, (name, runner) in enumerate(
        [
            ("core (OpenAICompatClient)", core),
            ("langchain sampler", langchain),
            ("llamaindex workflow", llamaindex),
        ]
    ):
        try:
            rows.append(run(name, runner, args.rate, seed=100 + i))
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
    print(f"n=100, k=5, {args.rate:.0%} of requests faulted (every fault kind at least once)")
    head = f"{'path':<22}{'of n':>9}{'top-ups':>8}{'short':>6}"
    head += f"{'calls ok':>10}{'failed':>8}{'kept':>7}{'sent':>7}{'lost':>6}"
    print(head + f"{'requests':>10}{'faulted':>9}{'wall s':>8}")
    for r in rows:
        lost = "none" if r["nothing_lost"] else "YES"
        print(
            f"{r['path']:<22}{r['samples']:>5}/{r['n']:<3}{r['top_up_calls']:>8}{r['shortfall']:>6}"
            f"{r['calls_ok']:>7}/{r['calls']:<2}{r['failures_recorded']:>8}"
            f"{r['candidates_kept']:>7}{r['candidates_delivered']:>7}{lost:>6}"
            f"{r['requests']:>10}{r['faulted_requests']:>9}{r['wall_s']:>8.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
