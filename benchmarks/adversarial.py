"""Adversarial inputs: parse time and peak memory against input size.

Each input is built at 1, 2, 5 and 10 MB and parsed once per repetition (the
fastest of ``--repeat`` runs is kept); peak memory is what tracemalloc saw
allocated during the parse, above the input itself. Time should grow
linearly with size (or stay flat where a cap applies), memory stay bounded.

    python benchmarks/adversarial.py [--json out.json] [--sizes 1,2,5,10] [--repeat 3]

``--latency`` instead times every input at 1 KB, 100 KB and 1 MB many times
and prints the median and the 99th percentile (nearest rank) of the parse
time, and the 1 MB / 100 KB ratio of the medians (linear time: about 10 or
less; a cap makes it flat):

    python benchmarks/adversarial.py --latency [--runs 200,40,9] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vs_common import VSParseError, parse_distribution
from vs_common.parsing import StreamingParser

MB = 1024 * 1024

INPUTS: dict[str, Callable[[int], str]] = {
    "deep_brackets": lambda n: "[" * n,
    "deep_objects": lambda n: '{"a":' * (n // 5),
    "unclosed_tags": lambda n: "<response><text>x" * (n // 17),
    "unclosed_response_only": lambda n: "<response>" * (n // 10),
    "one_huge_line": lambda n: "1. " + "word " * ((n - 3) // 5),
    "many_list_items": lambda n: "- item (0.1)\n" * (n // 13),
    "huge_json_string": lambda n: '{"responses": [{"text": "' + "a" * (n - 40) + '", "p',
    "million_digit_number": lambda n: '[{"text": "a", "probability": ' + "9" * (n - 40) + "}]",
    "nul_bytes": lambda n: (
        '{"responses": [{"text": "a\\u0000b", "probability": 1}]}\x00' * (n // 60)
    ),
    "lone_surrogates": lambda n: "1. \ud800 joke (0.5)\n2. \udfff joke (0.5)\n" * (n // 40),
    "python_literal": lambda n: "{'responses': [" + "{'text': 'a', 'p': 1}, " * (n // 24) + "]}",
    # Every JSON value in a reply is read: many values, stray brackets, many fences.
    "json_lines": lambda n: '{"text": "a", "probability": 0.1}\n' * (n // 35),
    "stray_brackets": lambda n: "[a " * (n // 3),
    "prose_brackets": lambda n: "[1] " * (n // 4),
    "many_fences": lambda n: "```json\n[1]\n```\n" * (n // 17),
    # What the readers of issue 18 added: envelopes, think blocks, labels, notes, markup.
    "envelope_nesting": lambda n: '{"role": "assistant", "content": ' * (n // 33),
    "chat_messages": lambda n: json.dumps(
        [{"role": "assistant", "content": "1. a (0.5)\n2. b (0.5)"}] * (n // 70)
    ),
    "content_blocks": lambda n: json.dumps([{"type": "text", "text": "- a (0.5)\n"}] * (n // 40)),
    "json_string_in_string": lambda n: json.dumps(
        json.dumps('[{"text": "a", "p": 1}]' * (n // 40))
    ),
    "think_unclosed": lambda n: "<think>\n" + "1. draft (0.5)\n" * (n // 15),
    "lone_think_end": lambda n: (
        "1. a (0.5)\n" * (n // 22) + "</think>" + "1. b (0.5)\n" * (n // 22)
    ),
    "labels_alone": lambda n: "**Response 1**\n" * (n // 15),
    "headings_with_probs": lambda n: "### Option 1 (0.30)\ntext\n" * (n // 25),
    "notes_then_list": lambda n: "- note\n" * (n // 14) + "\n" + "1. x (0.1)\n" * (n // 22),
    "heading_over_bullets": lambda n: "# h\n" + "- x\n" * (n // 4),
    "probability_words": lambda n: "probability " * (n // 12),
    "markup_run": lambda n: "1. " + "*" * (n - 10) + " (0.3)",
    "table_rows": lambda n: "| a | 0.1 |\n" * (n // 12),
    "probability_lines": lambda n: "1. a\n" + "Probability: 0.1\n" * (n // 17),
}


def _parse(text: str) -> str:
    try:
        dist = parse_distribution(text)
    except VSParseError:
        return "VSParseError"
    return f"{len(dist.candidates)} cand."


def run_one(text: str) -> tuple[float, int, str]:
    """Seconds (untraced run) and peak bytes (a second, traced run) of one parse."""
    t0 = time.perf_counter()
    outcome = _parse(text)
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    tracemalloc.reset_peak()
    _parse(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, outcome


def stream_one(text: str, chunk: int = 64 * 1024) -> float:
    t0 = time.perf_counter()
    sp = StreamingParser()
    for i in range(0, len(text), chunk):
        sp.feed(text[i : i + chunk])
    with contextlib.suppress(VSParseError):
        sp.close()
    return time.perf_counter() - t0


def _percentile(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def latency(runs: list[int], out: Path | None) -> None:
    """Median and p99 parse time of every input at 1 KB, 100 KB and 1 MB."""
    sizes = [("1KB", 1024), ("100KB", 100 * 1024), ("1MB", MB)]
    results: dict[str, dict[str, dict[str, float]]] = {}
    head = "".join(f"{label + ' med':>13}{label + ' p99':>13}" for label, _ in sizes)
    print(f"{'input':<24}{head}{'1MB/100KB':>10}  (ms; {'/'.join(map(str, runs))} runs)")
    worst = 0.0
    for name, make in INPUTS.items():
        row: dict[str, dict[str, float]] = {}
        for (label, size), repeat in zip(sizes, runs, strict=True):
            text = make(size)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                _parse(text)
                times.append(time.perf_counter() - t0)
            row[label] = {
                "median_ms": statistics.median(times) * 1e3,
                "p99_ms": _percentile(times, 0.99) * 1e3,
                "chars": len(text),
            }
        results[name] = row
        ratio = row["1MB"]["median_ms"] / max(row["100KB"]["median_ms"], 1e-6)
        worst = max(worst, row["1MB"]["p99_ms"])
        cells = "".join(f"{row[lb]['median_ms']:13.3f}{row[lb]['p99_ms']:13.3f}" for lb, _ in sizes)
        print(f"{name:<24}{cells}{ratio:10.1f}")
    print(f"slowest 1 MB input, p99: {worst:.0f} ms")
    if out:
        out.write_text(json.dumps(results, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--sizes", default="1,2,5,10", help="sizes in MB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency", action="store_true", help="median and p99 at 1 KB/100 KB/1 MB")
    ap.add_argument("--runs", default="200,40,9", help="runs at 1 KB, 100 KB, 1 MB (--latency)")
    args = ap.parse_args()
    if args.latency:
        latency([int(r) for r in args.runs.split(",")], args.json)
        return
    sizes = [float(s) for s in args.sizes.split(",")]
    results: dict[str, dict[str, dict[str, float | str]]] = {}
    head = "".join(f"{f'{s:g} MB s':>10}{'peak MB':>9}" for s in sizes)
    print(f"{'input':<24}{head}  {'10/1 ratio':>10}  outcome")
    for name, make in INPUTS.items():
        row: dict[str, dict[str, float | str]] = {}
        for size in sizes:
            text = make(int(size * MB))
            runs = [run_one(text) for _ in range(args.repeat)]
            best = min(r[0] for r in runs)
            row[f"{size:g}MB"] = {
                "seconds": best,
                "peak_mb": max(r[1] for r in runs) / MB,
                "outcome": runs[0][2],
                "chars": len(text),
            }
        results[name] = row
        cells = "".join(
            f"{row[f'{s:g}MB']['seconds']:10.3f}{row[f'{s:g}MB']['peak_mb']:9.1f}" for s in sizes
        )
        first, last = row[f"{sizes[0]:g}MB"], row[f"{sizes[-1]:g}MB"]
        ratio = float(last["seconds"]) / max(float(first["seconds"]), 1e-9)
        print(f"{name:<24}{cells}  {ratio:10.1f}  {last['outcome']}")
    big = INPUTS["one_huge_line"](10 * MB)
    print(f"streaming 10 MB in 64 KB chunks: {stream_one(big):.2f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
