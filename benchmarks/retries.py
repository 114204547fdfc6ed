"""Requests sent for one failing call, against a server that always answers 503.

One retry layer means retries + 1 requests whatever the path: the core
client, LangChain's ``ChatOpenAI`` under ``VerbalizedSampler`` (its openai
SDK retries twice by default) and LlamaIndex's ``OpenAILike`` under the
workflow (a tenacity loop and the SDK, ``max_retries=3`` each by default).
The core's policy here: 3 retries, no re-ask, one call (k=1, n=1).

    python benchmarks/retries.py [--baseline DIR] [--json out.json]

``--baseline DIR`` runs the same paths with another checkout of this
project (e.g. ``git archive 8752336 | tar -x -C /tmp/before``) first: before
and after, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RETRIES = 3


def _paths(base_url: str) -> dict[str, Callable[[], Any]]:
    from langchain_openai import ChatOpenAI
    from llama_index.llms.openai_like import OpenAILike

    from langchain_vs import VerbalizedSampler
    from llamaindex_vs import VerbalizedSamplingWorkflow
    from vs_common import RetryPolicy, VSConfig, run_sampling
    from vs_common.backends import OpenAICompatClient

    policy = RetryPolicy(max_retries=RETRIES, max_reasks=0, backoff_base=0.01, backoff_max=0.02)
    config = VSConfig(k=1, n=1)

    def core() -> Any:
        client = OpenAICompatClient(base_url, "m")
        return asyncio.run(run_sampling("Joke", config, client, retry=policy, structured="text"))

    def langchain(**kwargs: Any) -> Callable[[], Any]:
        def run() -> Any:
            llm = ChatOpenAI(model="m", base_url=base_url, api_key="k", **kwargs)
            sampler = VerbalizedSampler(llm=llm, config=config, structured="text", retry=policy)
            return asyncio.run(sampler.ainvoke("Joke"))

        return run

    def llamaindex() -> Any:
        llm = OpenAILike(model="m", api_base=base_url, api_key="k", is_chat_model=True)
        flow = VerbalizedSamplingWorkflow(llm=llm, config=config, structured="text", retry=policy)

        async def go() -> Any:
            return await flow.run(prompt="Joke")

        return asyncio.run(go())

    return {
        "core OpenAICompatClient": core,
        "LangChain ChatOpenAI (default max_retries)": langchain(),
        "LangChain ChatOpenAI(max_retries=5)": langchain(max_retries=5),
        "LlamaIndex OpenAILike (default max_retries=3)": llamaindex,
    }


def measure() -> list[dict[str, Any]]:
    from vs_common.testing import FaultInjectingServer, FaultRates

    logging.disable(logging.WARNING)
    rows = []
    with FaultInjectingServer(FaultRates(status_503=1.0)) as server:
        for name, run in _paths(server.base_url).items():
            before = len(server.requests)
            started = time.perf_counter()
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - every path ends in an error here
                error = type(exc).__name__
            else:
                error = "none"
            rows.append(
                {
                    "path": name,
                    "requests": len(server.requests) - before,
                    "seconds": round(time.perf_counter() - started, 2),
                    "error": error,
                }
            )
    return rows


def _run_in(root: Path) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, "--child"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    rows: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--baseline", type=Path, help="also run this checkout of the project")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure()))
        return
    versions = [("after", ROOT)] if args.baseline is None else [("before", args.baseline)]
    if args.baseline is not None:
        versions.append(("after", ROOT))
    figures = {label: _run_in(root) for label, root in versions}
    print(
        f"== one failing call, always-503 server, core retries = {RETRIES} (ideal: {RETRIES + 1})"
    )
    for label, rows in figures.items():
        for row in rows:
            print(
                f"  {label:<6} {row['path']:<46} {row['requests']:>3} requests"
                f"  {row['seconds']:6.2f} s  ({row['error']})"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
