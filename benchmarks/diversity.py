"""The diversity gain of Verbalized Sampling on a real model (issue 5, part 3).

Runs Direct, Sequence and VS-Standard (tool-call mode) on joke topics with
the same budget (n samples per topic and method; k per call for the list
methods) and prints semantic diversity (offline MiniLM embedder), pairwise
ROUGE-L, distinct-n, valid-parse rate and tokens per sample for each method,
then the VS / Direct diversity ratio. It runs :func:`vs_common.evaluation.compare_methods`,
as ``vs compare`` does.

Backend: the embedded SmolLM2-135M server (started and stopped here), or any
OpenAI-compatible server with ``--base-url`` (and ``--model``).

    python benchmarks/diversity.py                      # 10 topics, n=30, k=5
    python benchmarks/diversity.py --topics 2 --n 10    # a quick run
    python benchmarks/diversity.py --report vs-bench    # also an HTML report
    python benchmarks/diversity.py --base-model         # + Gemma 3 270M (base) reference
    python benchmarks/diversity.py --methods direct,vs_standard --base-model \
        --prompt "Write a joke about coffee" --prompt "Write a short poem about the sea" \
        --prompt "Write the opening line of a story about a lighthouse" --n 10

``--base-model`` adds the paper's Figure 4 reference line: ``direct_base``,
the same number of samples per prompt from a pretrained model without
alignment (Gemma 3 270M, the ``base`` extra), each a plain completion of the
prompt (``POST /completions``, no chat template; cut at the next turn
marker and at ``--base-max-tokens``), scored with the same metrics; the table
then says what share of the base model's semantic diversity each method keeps.
It runs ``compare_methods(..., base_call=...)``, as ``vs compare --base-model
embedded`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._model import Ticker, open_model
from vs_common.evaluation import compare_methods, load_embedder, score, write_report
from vs_common.methods import Method, VSConfig
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
    parser.add_argument(
        "--base-model", action="store_true", help="add the Gemma 3 270M base-model reference"
    )
    parser.add_argument(
        "--base-max-tokens", type=int, default=80, help="token limit of a base completion (80)"
    )
    parser.add_argument(
        "--prompt", action="append", help="a prompt (repeatable) instead of the joke topics"
    )
    parser.add_argument(
        "--methods",
        default=",".join(m.value for m in METHODS),
        help="comma-separated methods (direct,sequence,vs_standard)",
    )
    args = parser.parse_args()
    if not 1 <= args.topics <= len(TOPICS):
        parser.error(f"--topics must be between 1 and {len(TOPICS)}")
    return args


def main() -> None:
    args = parse_args()
    prompts = args.prompt or [f"Tell me a joke about {topic}." for topic in TOPICS[: args.topics]]
    methods = [Method(m.strip()) for m in args.methods.split(",") if m.strip()]
    per_prompt = sum(VSConfig(method=m, n=args.n, k=args.k).num_calls for m in methods)
    base_calls = len(prompts) * args.n if args.base_model else 0
    print(
        f"{len(prompts)} prompt(s), n={args.n}, k={args.k}: {len(prompts) * per_prompt} calls"
        f" ({', '.join(m.value for m in methods)})"
        + (f" + {base_calls} base-model completions" if base_calls else ""),
        flush=True,
    )
    ticker = Ticker()

    def progress(method: Method, index: int) -> Callable[[Progress], None]:
        return ticker.progress(f"{method.value} prompt {index + 1}")

    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        call, model = stack.enter_context(
            open_model(
                base_url=args.base_url,
                model=args.model,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
            )
        )
        base_call, base_model = None, ""
        if args.base_model:
            base_call, base_model = stack.enter_context(
                open_model(
                    gemma=True, max_tokens=args.base_max_tokens, temperature=args.temperature
                )
            )
        comparison = asyncio.run(
            compare_methods(
                prompts,
                call,
                methods=methods,
                n=args.n,
                k=args.k,
                structured="tool",
                max_concurrency=1,  # the embedded server serves one request at a time
                retry=RetryPolicy(max_reasks=0, max_top_up_calls=0),
                progress=progress,
                model=model,
                scored=False,
                base_call=base_call,
                base_model=base_model,
            )
        )
    elapsed = time.monotonic() - start
    embedder, note = load_embedder()
    comparison.semantic_note = note
    score(comparison, embedder)
    print()
    print(comparison.table())
    print()
    for r in comparison.results:
        per_call = r.seconds / r.calls if r.calls else 0.0
        print(f"{r.label:<14} {r.seconds:7.1f} s for {r.calls} calls ({per_call:.2f} s per call)")
    print(
        f"total sampling time {elapsed:.0f} s on {model}"
        + (f" and {base_model}" if base_model else "")
    )
    for r in comparison.results[:2]:
        for run in r.runs[:1]:
            print(f"{r.label} examples for {run.prompt!r}: {[t[:80] for t in run.texts[:3]]}")
    base = comparison.get(Method.DIRECT_BASE)
    if base is not None:
        for run in base.runs[:1]:
            print(f"{base.label} examples for {run.prompt!r}: {[t[:80] for t in run.texts[:3]]}")
    if args.report is not None:
        written = write_report(comparison, args.report)
        print(f"report: {written.html}")
    if args.json is not None:
        data = comparison.to_dict()
        data["elapsed_seconds"] = round(elapsed, 1)
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
