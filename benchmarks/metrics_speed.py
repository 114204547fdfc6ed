"""How long the text metrics take on a typical evaluation set.

Prints the time of each metric on N texts of W words (defaults: 100 texts of
150 words, about the size of a VS run scored in the paper), and the
bit-parallel LCS against the textbook dynamic programme on one pair.

Run: ``python benchmarks/metrics_speed.py [N] [W]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from vs_common.metrics import (
    compression_ratio,
    distinct_n,
    lcs_length,
    pairwise_rouge_l,
)


def lcs_dp(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def timed(label: str, fn: Callable[..., object], *args: object) -> None:
    start = time.perf_counter()
    value = fn(*args)
    print(f"{label:<28} {time.perf_counter() - start:8.4f} s   -> {value}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    words = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(500)]
    texts = [" ".join(rng.choice(vocab, words)) for _ in range(n)]
    print(f"{n} texts of {words} words ({n * (n - 1) // 2} pairs)")
    timed("pairwise ROUGE-L", pairwise_rouge_l, texts)
    for k in (1, 2, 3):
        timed(f"distinct-{k}", distinct_n, texts, k)
    timed("compression ratio", compression_ratio, texts)
    a, b = texts[0].split(), texts[1].split()
    timed("one LCS, bit-parallel", lcs_length, a, b)
    timed("one LCS, dynamic programme", lcs_dp, a, b)


if __name__ == "__main__":
    main()
