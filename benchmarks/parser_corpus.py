"""Recall and precision of the parser on generated replies, by shape; the real corpus.

Generates replies whose candidates are known (tests/unit/core/replygen.py: the
shapes, probability formats, surroundings and envelopes other model families
produce) from a fixed seed, parses each, and prints per shape: replies,
candidates, recall (right candidates / candidates the replies hold),
precision (right candidates / candidates read; a wrong text or a wrong
probability is not right) and the share of replies read exactly. Then the
same by surrounding, how often StreamingParser hands out something that is
not the start of the final reading (must be 0), and what the parser makes of
the 80 real SmolLM2 replies in tests/data/corpus.

    python benchmarks/parser_corpus.py [--n 5000] [--seed 18] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "core"))

from replygen import SHAPES, Reply, Score, corpus, score  # noqa: E402

from vs_common import StreamingParser, VSParseError, parse_distribution  # noqa: E402
from vs_common.parsing._streaming import _said  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus" / "smollm2_vs_outputs.jsonl"


def read(reply: Reply) -> Score:
    try:
        dist = parse_distribution(reply.output, method=reply.method, truncated=reply.truncated)
    except VSParseError as exc:
        return Score(expected=len(reply.texts), read=0, right=0, error=exc.reason)
    return score(reply, dist.texts, [c.probability for c in dist.candidates])


def table(title: str, rows: dict[str, list[int]], *, total_row: bool = True) -> dict[str, Any]:
    """rows: name -> [replies, expected, read, right, exact]."""
    print(f"\n{title:<28}{'replies':>8}{'cands':>8}{'recall':>9}{'precision':>11}{'exact':>8}")
    out: dict[str, dict[str, float]] = {}
    total = [0] * 5
    for name in sorted(rows):
        n, expected, got, right, exact = rows[name]
        total = [a + b for a, b in zip(total, rows[name], strict=True)]
        out[name] = _line(name, n, expected, got, right, exact)
    if total_row:  # the variations overlap: a reply has several, so no total for them
        out["ALL"] = _line("ALL", *total)
    return out


def _line(name: str, n: int, expected: int, got: int, right: int, exact: int) -> dict[str, Any]:
    recall = right / expected if expected else 1.0
    precision = right / got if got else 1.0
    print(f"{name:<28}{n:8d}{expected:8d}{recall:9.4f}{precision:11.4f}{exact / n:8.3f}")
    return {"replies": n, "candidates": expected, "recall": recall, "precision": precision}


def streaming(replies: list[Reply]) -> dict[str, int]:
    """Stream the text replies in random chunks; count what the final reading contradicts."""
    streamed = wrong = early = 0
    for i, reply in enumerate(replies):
        if not isinstance(reply.output, str) or any(
            e in ("as_text", "json_string", "args_double_encoded") or e.endswith("_as_text")
            for e in reply.extras
        ):
            continue  # a whole envelope serialized as JSON is not what a model streams
        rnd = random.Random(i)
        sp = StreamingParser(method=reply.method, thinking="think_unopened" in reply.extras)
        snaps = []
        pos = 0
        while pos < len(reply.output):
            step = rnd.choice([1, 2, 3, 7, 16, 50])
            if sp.feed(reply.output[pos : pos + step]) and sp.distribution is not None:
                snaps.append(_said(sp.distribution))
            pos += step
        streamed += 1
        early += bool(snaps)
        try:
            final = _said(parse_distribution(reply.output, method=reply.method))
        except VSParseError:
            final = []
        wrong += any(final[: len(s)] != s for s in snaps)
    return {"streamed": streamed, "handed_out_before_close": early, "contradicted": wrong}


def real_corpus() -> dict[str, Any]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        try:
            dist = parse_distribution(row["raw"], truncated=row["finish_reason"] == "length")
        except VSParseError:
            by_kind[row["kind"]]["no candidate"] += 1
            continue
        by_kind[row["kind"]]["read"] += 1
        by_kind[row["kind"]]["candidates"] += len(dist.candidates)
    print(f"\nreal SmolLM2 replies ({len(rows)}, {CORPUS.relative_to(ROOT)})")
    print(f"{'kind':<14}{'replies':>8}{'read':>6}{'cands':>7}{'none':>6}")
    for kind in sorted(by_kind):
        c = by_kind[kind]
        n = c["read"] + c["no candidate"]
        print(f"{kind:<14}{n:8d}{c['read']:6d}{c['candidates']:7d}{c['no candidate']:6d}")
    return {k: dict(v) for k, v in by_kind.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5000, help="generated replies")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    replies = corpus(args.n, seed=args.seed)
    by_shape: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    by_extra: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    for reply in replies:
        s = read(reply)
        cells = [1, s.expected, s.read, s.right, int(s.exact)]
        for key, rows in ((reply.shape, by_shape), *((e, by_extra) for e in reply.extras)):
            rows[key] = [a + b for a, b in zip(rows[key], cells, strict=True)]
    variations = len({e for r in replies for e in r.extras})
    print(f"{args.n} generated replies (seed {args.seed}): {len(SHAPES)} shapes,"
          f" {variations} variations and surroundings")  # fmt: skip
    figures: dict[str, Any] = {"by_shape": table("shape", by_shape)}
    figures["by_variation"] = table("variation / surrounding", by_extra, total_row=False)
    figures["streaming"] = streaming(replies)
    st = figures["streaming"]
    print(f"\nstreaming: {st['streamed']} text replies fed in random chunks,"
          f" {st['handed_out_before_close']} handed candidates out before close(),"
          f" {st['contradicted']} handed out something the final reading contradicts")  # fmt: skip
    figures["real_corpus"] = real_corpus()
    print(f"\n{time.perf_counter() - t0:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
