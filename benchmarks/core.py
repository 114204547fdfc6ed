"""Benchmarks of the core (issue: the core): parse speed, adversarial scaling, orchestration.

Prints a table and, with ``--json PATH``, writes the figures as JSON.

    python benchmarks/core.py [--json out.json] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vs_common import CallRequest, VSConfig, VSParseError, parse_distribution, run_sampling

JOKES = [
    "Why did the coffee file a police report? It got mugged.",
    "Decaf is just coffee that has given up on its dreams.",
    "I like my coffee like I like my mornings: short and dark.",
    "The barista said my order was grounds for dismissal.",
    "Espresso yourself, the latte said to the shy cup.",
]
PROBS = [0.32, 0.24, 0.18, 0.15, 0.11]

TYPICAL = {
    "json": json.dumps(
        {"responses": [{"text": t, "probability": p} for t, p in zip(JOKES, PROBS, strict=True)]}
    ),
    "xml": "\n".join(
        f"<response>\n  <text>{t}</text>\n  <probability>{p}</probability>\n</response>"
        for t, p in zip(JOKES, PROBS, strict=True)
    ),
    "list": "Here are five jokes:\n"
    + "\n".join(
        f"{i}. {t} (probability: {p})" for i, (t, p) in enumerate(zip(JOKES, PROBS, strict=True), 1)
    ),
}

MB = 1024 * 1024
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "deep_brackets": lambda n: "[" * n,
    "deep_objects": lambda n: '{"a":' * (n // 5),
    "unclosed_tags": lambda n: "<response><text>x" * (n // 17),
    "one_huge_line": lambda n: "1. " + "word " * ((n - 3) // 5),
    "huge_json_string": lambda n: '{"responses": [{"text": "' + "a" * (n - 40) + '", "p',
    "million_digit_number": lambda n: '[{"text": "a", "probability": ' + "9" * (n - 40) + "}]",
}


def median_us(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def parse_or_error(text: str) -> None:
    with contextlib.suppress(VSParseError):
        parse_distribution(text)


def bench_typical(repeat: int) -> dict[str, float]:
    out = {}
    for name, text in TYPICAL.items():
        if len(parse_distribution(text).candidates) != 5:
            msg = f"{name}: the typical reply did not parse into 5 candidates"
            raise SystemExit(msg)
        for _ in range(50):  # warm-up
            parse_distribution(text)
        out[name] = median_us(lambda text=text: parse_distribution(text), repeat)
    return out


def bench_adversarial(repeat: int) -> dict[str, dict[str, float]]:
    out = {}
    for name, make in ADVERSARIAL.items():
        one, two = make(MB), make(2 * MB)
        t1 = min(median_us(lambda s=one: parse_or_error(s), 1) for _ in range(repeat)) / 1e6
        t2 = min(median_us(lambda s=two: parse_or_error(s), 1) for _ in range(repeat)) / 1e6
        out[name] = {"1MB_s": t1, "2MB_s": t2, "ratio": t2 / t1 if t1 else float("nan")}
    return out


async def _orchestration(latency: float, n: int, k: int) -> tuple[float, int]:
    reply = TYPICAL["json"]

    async def call(request: CallRequest) -> str:
        await asyncio.sleep(latency)
        return reply

    t0 = time.perf_counter()
    dist = await run_sampling("Write a joke about coffee", VSConfig(k=k, n=n), call)
    return time.perf_counter() - t0, dist.num_calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    repeat = 200 if args.quick else 2000
    typical = bench_typical(repeat)
    adversarial = bench_adversarial(1 if args.quick else 3)
    wall, calls = asyncio.run(_orchestration(0.2, 30, 5))

    print("parse_distribution, typical 5-candidate reply (median us, target < 200)")
    for name, us in typical.items():
        print(f"  {name:<6} {us:8.1f} us")
    print("adversarial input (seconds; target: 1 MB < 1 s, 2 MB <= 2.5x of 1 MB)")
    print(f"  {'input':<22}{'1 MB':>9}{'2 MB':>9}{'ratio':>8}")
    for name, row in adversarial.items():
        print(f"  {name:<22}{row['1MB_s']:9.3f}{row['2MB_s']:9.3f}{row['ratio']:8.2f}")
    print(f"orchestration n=30 k=5, fake call 200 ms: {wall * 1000:.0f} ms wall for {calls} calls"
          f" ({wall / 0.2:.2f}x one call's latency)")  # fmt: skip
    figures = {
        "parse_us": typical,
        "adversarial": adversarial,
        "orchestration": {"n": 30, "k": 5, "latency_s": 0.2, "calls": calls, "wall_s": wall},
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
