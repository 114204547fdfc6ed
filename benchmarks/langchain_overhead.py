"""Overhead of the LangChain adapter, and what concurrency buys.

1. Per-run overhead (microseconds) of ``VerbalizedSampler`` over the bare core
   ``vs_common.run_sampling`` for one call (k=5) against a model that answers
   instantly: the difference is LangChain's run/callback machinery plus the
   adapter's conversions. The bare ``llm.ainvoke`` cost is shown apart so the
   adapter's own share is visible.
2. Wall time for n=30, k=5 (6 calls) against a fake chat model with 200 ms
   latency: ``VerbalizedSampler`` (concurrent, sync and async) against a plain
   sequential loop (invoke, parse, pool).

    python benchmarks/langchain_overhead.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_vs import VerbalizedSampler
from langchain_vs._convert import as_lc_messages
from vs_common import (
    CallRequest,
    CallResponse,
    VSConfig,
    build_messages,
    parse_distribution,
    pool,
    run_sampling,
)

REPLY = json.dumps(
    {"responses": [{"text": f"Joke number {i} about coffee", "probability": 0.2} for i in range(5)]}
)
PROMPT = "Write a joke about coffee"


class FakeModel(BaseChatModel):
    latency: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "bench-fake"

    def _message(self) -> AIMessage:
        usage = {"input_tokens": 50, "output_tokens": 80, "total_tokens": 130}
        return AIMessage(
            content=REPLY, usage_metadata=usage, response_metadata={"finish_reason": "stop"}
        )

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        if self.latency:
            time.sleep(self.latency)
        return ChatResult(generations=[ChatGeneration(message=self._message())])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        return ChatResult(generations=[ChatGeneration(message=self._message())])


def per_run_us(make: Callable[[], Coroutine[Any, Any, Any]], repeat: int) -> float:
    async def loop() -> list[float]:
        for _ in range(50):  # warm up
            await make()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            await make()
            times.append(time.perf_counter() - t0)
        return times

    return statistics.median(asyncio.run(loop())) * 1e6


def overhead(repeat: int = 2000) -> dict[str, float]:
    config = VSConfig(k=5)
    llm = FakeModel()
    messages = as_lc_messages(build_messages(PROMPT, config))

    async def core_call(request: CallRequest) -> CallResponse:
        return CallResponse(output=REPLY)

    core = per_run_us(lambda: run_sampling(PROMPT, config, core_call, structured="text"), repeat)
    model = per_run_us(lambda: llm.ainvoke(messages), repeat)
    sampler = VerbalizedSampler(llm=llm, config=config, structured="text")
    adapter = per_run_us(lambda: sampler.ainvoke(PROMPT), repeat)
    t0 = time.perf_counter()
    for _ in range(200):
        sampler.invoke(PROMPT)
    sync = (time.perf_counter() - t0) / 200 * 1e6
    print("1. per run, one call (k=5), instant model, median of", repeat)
    print(f"   bare core run_sampling:               {core:8.0f} us")
    print(f"   bare llm.ainvoke (LangChain's cost):  {model:8.0f} us")
    print(f"   VerbalizedSampler.ainvoke:            {adapter:8.0f} us")
    print(
        f"   -> adapter over core:                 {adapter - core:8.0f} us"
        f"  (of which the adapter's own, beyond llm.ainvoke: {adapter - core - model:.0f} us)"
    )
    print(f"   VerbalizedSampler.invoke (sync, mean): {sync:7.0f} us")
    return {
        "core_us": core,
        "llm_ainvoke_us": model,
        "sampler_ainvoke_us": adapter,
        "adapter_over_core_us": adapter - core,
        "sampler_invoke_sync_us": sync,
    }


def _timed(run: Callable[[], int], reps: int) -> tuple[float, int]:
    times, got = [], 0
    for _ in range(reps):
        t0 = time.perf_counter()
        got = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), got


def wall_time(reps: int = 3) -> dict[str, float]:
    config = VSConfig(k=5, n=30)
    llm = FakeModel(latency=0.2)
    messages = as_lc_messages(build_messages(PROMPT, config))
    sampler = VerbalizedSampler(llm=llm, config=config, structured="text")

    def sequential() -> int:
        dists = [parse_distribution(llm.invoke(messages).text) for _ in range(config.num_calls)]
        return len(pool(dists).all_texts())

    def sync() -> int:
        return len(sampler.invoke(PROMPT).all_texts())  # type: ignore[union-attr]

    def asyn() -> int:
        return len(asyncio.run(sampler.ainvoke(PROMPT)).all_texts())  # type: ignore[union-attr]

    seq, got_seq = _timed(sequential, reps)
    syn, got_sync = _timed(sync, reps)
    asy, got_async = _timed(asyn, reps)
    print(
        f"2. n=30, k=5 ({config.num_calls} calls), fake model with 200 ms latency, median of {reps}"
    )
    print(f"   plain sequential loop:          {seq:6.3f} s  ({got_seq} samples)")
    print(f"   VerbalizedSampler.invoke:       {syn:6.3f} s  ({got_sync} samples)")
    print(f"   VerbalizedSampler.ainvoke:      {asy:6.3f} s  ({got_async} samples)")
    print(f"   speed-up: {seq / syn:.1f}x (sync), {seq / asy:.1f}x (async)")
    return {"sequential_s": seq, "sampler_invoke_s": syn, "sampler_ainvoke_s": asy}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    figures = {"overhead": overhead(), "wall_time": wall_time()}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
