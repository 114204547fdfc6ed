"""Distinct N on creative prompts: distinct candidates reached, against plain VS-Standard.

For each prompt, ``run_distinct`` asks for n distinct candidates (k per
call, follow-up rounds listing what was found; default budget 3 x ceil(n/k)
calls), then plain VS-Standard gets the same number of calls that distinct-N
spent (independent calls, k candidates each), and both are counted with the
same rule: duplicates by normalized text, and with ``--semantic`` also by
meaning (offline MiniLM, cosine >= ``SEMANTIC_SIMILARITY``).

``--threshold-pairs`` only prints the cosine similarities behind
``SEMANTIC_SIMILARITY``: pairs of paraphrases of one answer against pairs of
different answers to the same prompt (needs the ``metrics`` extra, no model).

    python benchmarks/distinct.py                     # 5 prompts, n=30, k=5
    python benchmarks/distinct.py --prompts 2 --n 10  # a quick run
    python benchmarks/distinct.py --semantic          # also merge by meaning
    python benchmarks/distinct.py --threshold-pairs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._model import Ticker, open_model
from vs_common.distinct import SEMANTIC_SIMILARITY, DistinctPolicy, distinct_texts, run_distinct
from vs_common.methods import Method, VSConfig
from vs_common.sampling import RetryPolicy, run_sampling

PROMPTS = [
    "Write a joke about coffee.",
    "Write a haiku about the sea.",
    "Suggest a name for a new coffee shop.",
    "Write the opening line of a mystery novel.",
    "Invent a name for a city in a fantasy world.",
]

# Two wordings of the same answer.
PARAPHRASES = [
    ("Decaf is coffee that gave up on its dreams.",
     "Decaf: coffee that has given up on its dreams."),
    ("Why did the coffee file a police report? It got mugged.",
     "The coffee filed a police report because it got mugged."),
    ("I like my coffee like I like my mornings: dark and short.",
     "I like my coffee the way I like my mornings, short and dark."),
    ("Espresso yourself!", "Espresso yourself."),
    ("New York", "New York State"),
    ("The Daily Grind", "Daily Grind"),
    ("Bean There, Done That", "Been There, Bean That"),
    ("Waves crash on the shore, the sea sighs at dusk, gulls cry.",
     "At dusk the sea sighs, waves crash upon the shore, and gulls cry."),
    ("The body was found on a Tuesday, which was unusual for a Tuesday.",
     "They found the body on a Tuesday, unusual for a Tuesday."),
    ("Silverhaven", "Silver Haven"),
    ("What do you call a sad cup of coffee? A depresso.",
     "A sad cup of coffee is called a depresso."),
    ("How does a coffee bean say goodbye? See you latte!",
     "What does a coffee bean say when it leaves? See you latte."),
    ("Moonlit waves whisper secrets to the silent sand.",
     "The silent sand hears secrets whispered by moonlit waves."),
    ("Nobody in the village remembered the stranger arriving.",
     "No one in the village could remember when the stranger arrived."),
    ("The Grind House", "Grind House Coffee"),
    ("Eldoria", "Eldoria City"),
    ("My coffee is so strong it woke up the neighbors.",
     "This coffee is so strong that it woke the neighbors up."),
    ("The ocean hums a lullaby beneath the stars.",
     "Beneath the stars the ocean hums a lullaby."),
    ("It was the last letter my father ever wrote.",
     "This was the final letter my father ever wrote."),
    ("Brew-ha-ha", "Brew Ha Ha"),
]  # fmt: skip

# Different answers to the same prompt (some on the same theme).
DIFFERENT = [
    ("Decaf is coffee that gave up on its dreams.",
     "Why did the coffee file a police report? It got mugged."),
    ("What do you call a sad cup of coffee? A depresso.",
     "How does a coffee bean say goodbye? See you latte!"),
    ("Espresso yourself!", "Decaf is coffee that gave up on its dreams."),
    ("My coffee is so strong it woke up the neighbors.",
     "I like my coffee like I like my mornings: dark and short."),
    ("Ohio", "Iowa"),
    ("New York", "New Jersey"),
    ("The Daily Grind", "Bean There, Done That"),
    ("The Grind House", "The Roasted Bean"),
    ("Brew-ha-ha", "Common Grounds"),
    ("Waves crash on the shore, the sea sighs at dusk, gulls cry.",
     "Moonlit waves whisper secrets to the silent sand."),
    ("The ocean hums a lullaby beneath the stars.",
     "Salt wind, grey water, a boat that never came home."),
    ("The body was found on a Tuesday, which was unusual for a Tuesday.",
     "Nobody in the village remembered the stranger arriving."),
    ("It was the last letter my father ever wrote.",
     "The clock in the hall stopped at midnight, and so did Mr. Grey."),
    ("Silverhaven", "Eldoria"),
    ("Stormwatch Keep", "Mistral Vale"),
    ("Ironhold", "Ironvale"),
    ("A latte of love.", "This coffee tastes like mud: it was ground this morning."),
    ("Hydrogen", "Helium"),
    ("France", "Germany"),
    ("The sea is a mirror for the moon.", "The moon is a mirror for the sea."),
]  # fmt: skip


def threshold_pairs() -> dict[str, Any]:
    """Cosine similarities of the paraphrase and different pairs (offline MiniLM)."""
    import numpy as np

    from vs_common.backends.embeddings import default_embedder

    emb = default_embedder()

    def cosines(pairs: list[tuple[str, str]]) -> list[float]:
        out = []
        for a, b in pairs:
            va, vb = emb.embed_array([a, b])
            out.append(float(np.dot(va, vb)))
        return out

    same, diff = cosines(PARAPHRASES), cosines(DIFFERENT)
    for name, values, pairs in (("paraphrases", same, PARAPHRASES), ("different", diff, DIFFERENT)):
        print(
            f"{name:<12} n={len(values)} min {min(values):.3f} median"
            f" {statistics.median(values):.3f} max {max(values):.3f}"
        )
        for value, (a, b) in sorted(zip(values, pairs, strict=True))[:3]:
            print(f"    {value:.3f}  {a[:40]!r} / {b[:40]!r}")
    t = SEMANTIC_SIMILARITY
    merged_same = sum(v >= t for v in same)
    merged_diff = sum(v >= t for v in diff)
    print(
        f"threshold {t}: merges {merged_same}/{len(same)} paraphrase pairs and"
        f" {merged_diff}/{len(diff)} different pairs"
    )
    for candidate in (0.75, 0.8, 0.85, 0.9, 0.95):
        print(
            f"  at {candidate:.2f}: paraphrases merged {sum(v >= candidate for v in same)},"
            f" different merged {sum(v >= candidate for v in diff)}"
        )
    return {"paraphrases": same, "different": diff, "threshold": t}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=len(PROMPTS), help="prompts (max 5)")
    parser.add_argument("--n", type=int, default=30, help="distinct candidates wanted (30)")
    parser.add_argument("--k", type=int, default=5, help="candidates per call (5)")
    parser.add_argument("--max-calls", type=int, help="call budget (default 3 x ceil(n/k))")
    parser.add_argument("--semantic", action="store_true", help="also merge by meaning")
    parser.add_argument("--threshold-pairs", action="store_true", help="only the cosine pairs")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--base-url", help="an OpenAI-compatible server (default: embedded)")
    parser.add_argument("--model")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if not 1 <= args.prompts <= len(PROMPTS):
        parser.error(f"--prompts must be between 1 and {len(PROMPTS)}")
    return args


def main() -> None:
    args = parse_args()
    if args.threshold_pairs:
        data = threshold_pairs()
        if args.json is not None:
            args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return
    embedder = None
    if args.semantic:
        from vs_common.backends.embeddings import default_embedder

        embedder = default_embedder()
    policy = DistinctPolicy(max_calls=args.max_calls, embedder=embedder)
    ticker = Ticker()
    rows: list[dict[str, Any]] = []
    start = time.monotonic()
    with open_model(
        base_url=args.base_url,
        model=args.model,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
    ) as (call, model):
        for index, prompt in enumerate(PROMPTS[: args.prompts]):
            config = VSConfig(method=Method.VS_STANDARD, k=args.k, n=args.n)
            t0 = time.monotonic()
            result = asyncio.run(
                run_distinct(
                    prompt,
                    config,
                    call,
                    policy,
                    structured="tool",
                    max_concurrency=1,  # the embedded server serves one request at a time
                    retry=RetryPolicy(max_reasks=0, max_top_up_calls=0),
                    min_successes=0,
                    on_progress=ticker.progress(f"distinct-N prompt {index + 1}"),
                )
            )
            t1 = time.monotonic()
            calls = max(1, result.stats.calls)
            plain = asyncio.run(
                run_sampling(
                    prompt,
                    VSConfig(method=Method.VS_STANDARD, k=args.k, n=calls * args.k),
                    call,
                    structured="tool",
                    max_concurrency=1,
                    retry=RetryPolicy(max_reasks=0, max_top_up_calls=0),
                    min_successes=0,
                    on_progress=ticker.progress(f"VS-Standard prompt {index + 1}"),
                )
            )
            t2 = time.monotonic()
            plain_texts = plain.all_texts()
            plain_distinct = distinct_texts(plain_texts, policy)
            s = result.stats
            rows.append(
                {
                    "prompt": prompt,
                    "distinct_n": {
                        **s.model_dump(),
                        "seconds": round(t1 - t0, 1),
                        "tokens": result.distribution.usage.total_tokens
                        if result.distribution.usage
                        else None,
                        "texts": result.distribution.texts,
                    },
                    "vs_standard": {
                        "calls": plain.num_calls,
                        "candidates": len(plain_texts),
                        "distinct": len(plain_distinct),
                        "distinct_capped": min(len(plain_distinct), args.n),
                        "seconds": round(t2 - t1, 1),
                        "tokens": plain.usage.total_tokens if plain.usage else None,
                    },
                }
            )
    elapsed = time.monotonic() - start
    rule = f"key + cosine >= {SEMANTIC_SIMILARITY}" if embedder is not None else "normalized text"
    print(f"\nn={args.n}, k={args.k}, duplicates by {rule}, model {model}")
    head = (
        f"{'prompt':<46} {'distinct-N':>10} {'calls':>5} {'stopped':>10}"
        f" {'VS same calls':>13} {'of':>4}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        d, v = row["distinct_n"], row["vs_standard"]
        print(
            f"{row['prompt'][:46]:<46} {d['distinct']:>10} {d['calls']:>5} {d['stop_reason']:>10}"
            f" {v['distinct']:>13} {v['candidates']:>4}"
        )
    total_d = sum(r["distinct_n"]["distinct"] for r in rows)
    total_v = sum(r["vs_standard"]["distinct_capped"] for r in rows)
    total_calls = sum(r["distinct_n"]["calls"] for r in rows)
    print(
        f"\ndistinct-N: {total_d}/{args.n * len(rows)} distinct in {total_calls} calls;"
        f" VS-Standard with the same calls: {total_v} distinct (capped at n per prompt)"
    )
    print(f"total time {elapsed:.0f} s")
    if args.json is not None:
        data = {
            "model": model,
            "n": args.n,
            "k": args.k,
            "rule": rule,
            "prompts": rows,
            "distinct_n_total": total_d,
            "vs_standard_total": total_v,
            "calls_total": total_calls,
            "elapsed_seconds": round(elapsed, 1),
        }
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
