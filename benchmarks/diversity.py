"""The diversity gain of Verbalized Sampling on a real model (issue 5, part 3).

Runs Direct, Sequence and VS-Standard (tool-call mode) on joke topics with
the same budget (n samples per topic and method; k per call for the list
methods) and prints semantic diversity (offline MiniLM embedder), pairwise
ROUGE-L, distinct-n, valid-parse rate and tokens per sample for each method,
then the VS / Direct diversity ratio. It reuses the ``vs compare`` code.

Backend: the embedded SmolLM2-135M server (started and stopped here), or any
OpenAI-compatible server with ``--base-url`` (and ``--model``).

    python benchmarks/diversity.py                      # 10 topics, n=30, k=5
    python benchmarks/diversity.py --topics 2 --n 10    # a quick run
    python benchmarks/diversity.py --report vs-bench    # also an HTML report
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vs_common.cli._backend import BackendOptions, open_backend
from vs_common.cli._compare import Comparison, compare_methods, format_table, load_embedder, score
from vs_common.cli._progress import ProgressLine
from vs_common.methods import Method
from vs_common.sampling import Progress, RetryPolicy

TOPICS = [
    "coffee",
    "cats",
    "programmers",
    "the ocean",
    "mathematics",
    "airplanes",
    "pizza",
    "the moon",
    "libraries",
    "winter",
]
METHODS = [Method.DIRECT, Method.SEQUENCE, Method.VS_STANDARD]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=len(TOPICS), help="joke topics (max 10)")
    parser.add_argument("--n", type=int, default=30, help="samples per topic and method (30)")
    parser.add_argument("--k", type=int, default=5, help="candidates per call (5)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--base-url", help="an OpenAI-compatible server (default: embedded)")
    parser.add_argument("--model")
    parser.add_argument("--report", type=Path, help="also write the HTML report here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if not 1 <= args.topics <= len(TOPICS):
        parser.error(f"--topics must be between 1 and {len(TOPICS)}")
    return args


def main() -> None:
    args = parse_args()
    prompts = [f"Tell me a joke about {topic}." for topic in TOPICS[: args.topics]]
    calls = args.topics * (args.n + 2 * -(-args.n // args.k))
    print(
        f"{args.topics} topic(s), n={args.n}, k={args.k}: {calls} calls"
        f" (Direct {args.topics * args.n}, Sequence and VS-Standard"
        f" {args.topics * -(-args.n // args.k)} each)",
        flush=True,
    )
    options = BackendOptions(
        base_url=args.base_url,
        model=args.model,
        embedded=args.base_url is None,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout=600.0,
    )
    line = ProgressLine(sys.stderr, interval=30.0)

    def progress(method: Method, index: int) -> Callable[[Progress], None]:
        def report(p: Progress) -> None:
            line.show(f"  {method.value} topic {index + 1}: call {p.calls_done}/{p.calls_planned}")

        return report

    start = time.monotonic()
    with open_backend(options, sys.stderr) as backend:
        results = asyncio.run(
            compare_methods(
                prompts,
                METHODS,
                backend.call,
                n=args.n,
                k=args.k,
                structured="tool",
                max_concurrency=1,  # the embedded server serves one request at a time
                retry=RetryPolicy(max_reasks=0),
                progress=progress,
            )
        )
        model = backend.model
    elapsed = time.monotonic() - start
    embedder, note = load_embedder()
    score(results, embedder)
    comparison = Comparison(prompts, args.n, args.k, results, note, model)
    print()
    print(format_table(comparison))
    print()
    for r in results:
        per_call = r.seconds / r.calls if r.calls else 0.0
        print(f"{r.label:<12} {r.seconds:7.1f} s for {r.calls} calls ({per_call:.2f} s per call)")
    print(f"total sampling time {elapsed:.0f} s on {model}")
    sem, lex = comparison.ratio("semantic"), comparison.ratio("rouge_l")
    if sem is not None:
        print(f"VS-Standard / Direct semantic diversity ratio: {sem:.2f}x")
    if lex is not None:
        print(f"VS-Standard / Direct lexical diversity (1 - ROUGE-L) ratio: {lex:.2f}x")
    if args.report is not None:
        from vs_common.cli._report import write_report

        written = write_report(comparison, args.report)
        print(f"report: {written.html}")
    if args.json is not None:
        data = comparison.to_dict()
        data["elapsed_seconds"] = round(elapsed, 1)
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
