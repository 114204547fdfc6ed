"""Open-ended QA (the paper's section 7): coverage, KL to uniform, precision, calibration.

Prompts with many valid answers ("Name a US state") and their ground-truth
sets, shipped with the package (``vs_common/data/open_qa.json``, read by
``vs_common.evaluation.experiments.open_qa``, which ``vs eval`` runs too): the
50 US states, the 118 chemical elements and the countries of Europe. Each
method gets the same budget of N samples per prompt, as in the paper: Direct
(N calls), Sequence, VS-Standard and VS-Multi (ceil(N/k) calls each, tool-call
mode) and distinct-N (``run_distinct``: n=N distinct candidates, at most as
many calls as VS-Standard). For each method:

* coverage-N: the share of the ground truth among the answers;
* KL to uniform over the ground truth (answer frequencies, smoothed;
  ``vs_common.metrics.kl_divergence``): 0 when every valid answer comes
  equally often;
* precision: the share of answers that are valid;
* tokens per sample and calls.

An answer counts as a ground-truth item when, after normalization (case,
white space, surrounding punctuation), it is the item or one of its
spellings, or when an answer of at most 20 words names exactly one item
("1. Ohio", "The US state I am referring to is California."); the longest
name wins ("West Virginia" is not "Virginia"), and a few names of other
things are not items ("Washington D.C.", "New York City").

Then calibration (``vs_common.evaluation.calibration_from``) of VS-Standard
and VS-Multi on each prompt: the mean absolute gap between each answer's mean
stated probability and its frequency under Direct sampling of the same prompt.

    python benchmarks/open_qa.py                      # 3 prompts, N=30, k=10
    python benchmarks/open_qa.py --prompts 1 --n 10 --k 5   # a quick run
    python benchmarks/open_qa.py --gemma              # on Gemma 3 270M (base) instead
    python benchmarks/open_qa.py --json qa.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._model import Ticker, open_model
from vs_common.distinct import DistinctPolicy, run_distinct
from vs_common.evaluation import METHOD_LABELS, calibration_from, compare_methods
from vs_common.evaluation.experiments.open_qa import TASKS, score_answers
from vs_common.methods import Method, VSConfig
from vs_common.sampling import Progress, RetryPolicy

METHODS = [Method.DIRECT, Method.SEQUENCE, Method.VS_STANDARD, Method.VS_MULTI]
DISTINCT = "distinct_n"


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=len(TASKS), help="prompts (max 3)")
    parser.add_argument("--n", type=int, default=30, help="samples per prompt and method (30)")
    parser.add_argument("--k", type=int, default=10, help="candidates per call (10)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--base-url", help="an OpenAI-compatible server (default: embedded)")
    parser.add_argument("--model")
    parser.add_argument(
        "--gemma", action="store_true", help="serve the pretrained Gemma 3 270M instead"
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if not 1 <= args.prompts <= len(TASKS):
        parser.error(f"--prompts must be between 1 and {len(TASKS)}")
    return args


def main() -> None:
    args = parse_args()
    tasks = TASKS[: args.prompts]
    plain = -(-args.n // args.k)
    print(
        f"{len(tasks)} prompt(s), N={args.n}, k={args.k}: Direct {args.n} calls per prompt,"
        f" Sequence / VS-Standard / VS-Multi {plain}, distinct-N at most {plain}",
        flush=True,
    )
    ticker = Ticker()

    def progress(method: Method, index: int) -> Callable[[Progress], None]:
        return ticker.progress(f"{method.value} prompt {index + 1}")

    start = time.monotonic()
    with open_model(
        base_url=args.base_url,
        model=args.model,
        gemma=args.gemma,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
    ) as (call, model):
        comparison = asyncio.run(
            compare_methods(
                [t.prompt for t in tasks],
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
        distinct_runs = []
        for index, task in enumerate(tasks):
            t0 = time.monotonic()
            result = asyncio.run(
                run_distinct(
                    task.prompt,
                    VSConfig(method=Method.VS_STANDARD, k=args.k, n=args.n),
                    call,
                    DistinctPolicy(max_calls=plain),
                    structured="tool",
                    max_concurrency=1,
                    retry=RetryPolicy(max_reasks=0, max_top_up_calls=0),
                    min_successes=0,
                    on_progress=ticker.progress(f"distinct-N prompt {index + 1}"),
                )
            )
            distinct_runs.append((result, time.monotonic() - t0))
    elapsed = time.monotonic() - start

    rows: list[dict[str, Any]] = []
    for r in comparison.results:
        per_prompt = [score_answers(run.texts, t) for run, t in zip(r.runs, tasks, strict=True)]
        usages = [run.dist.usage for run in r.runs if run.dist.usage is not None]
        rows.append(
            {
                "method": r.method.value,
                "label": r.label,
                "samples": r.samples,
                "calls": r.calls,
                "failed_calls": sum(len(run.dist.failures) for run in r.runs),
                "tokens_per_sample": sum(u.total_tokens for u in usages) / r.samples
                if usages and r.samples
                else None,
                "seconds": round(r.seconds, 1),
                **{m: _mean(p[m] for p in per_prompt) for m in per_prompt[0]},
                "per_prompt": per_prompt,
            }
        )
    d_scores = [
        score_answers(res.distribution.texts, t)
        for (res, _), t in zip(distinct_runs, tasks, strict=True)
    ]
    d_samples = sum(len(res.distribution.texts) for res, _ in distinct_runs)
    d_tokens = [res.distribution.usage for res, _ in distinct_runs if res.distribution.usage]
    rows.append(
        {
            "method": DISTINCT,
            "label": "Distinct-N",
            "samples": d_samples,
            "calls": sum(res.stats.calls for res, _ in distinct_runs),
            "failed_calls": sum(len(res.distribution.failures) for res, _ in distinct_runs),
            "tokens_per_sample": sum(u.total_tokens for u in d_tokens) / d_samples
            if d_tokens and d_samples
            else None,
            "seconds": round(sum(s for _, s in distinct_runs), 1),
            **{m: _mean(p[m] for p in d_scores) for m in d_scores[0]},
            "per_prompt": d_scores,
            "stats": [res.stats.model_dump() for res, _ in distinct_runs],
        }
    )

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    print()
    head = (
        f"{'method':<12} {'samples':>7} {'calls':>6} {'coverage-N':>10} {'KL(unif)':>9}"
        f" {'precision':>9} {'tok/sample':>10}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        print(
            f"{row['label']:<12} {row['samples']:>7} {row['calls']:>6}"
            f" {fmt(row['coverage'], '10.3f'):>10} {fmt(row['kl_uniform'], '9.2f'):>9}"
            f" {fmt(row['precision'], '9.3f'):>9} {fmt(row['tokens_per_sample'], '10.0f'):>10}"
        )
    for res, _ in distinct_runs:
        s = res.stats
        print(
            f"  distinct-N: {s.distinct}/{s.wanted} distinct after {s.calls} call(s),"
            f" stopped: {s.stop_reason}"
        )

    calibration: dict[str, Any] = {}
    direct = comparison.get(Method.DIRECT)
    print()
    print("calibration: mean |stated - Direct frequency| per prompt (answers matched to truth)")
    for method in (Method.VS_STANDARD, Method.VS_MULTI):
        result = comparison.get(method)
        if result is None or direct is None:
            continue
        gaps = []
        for run, direct_run, task in zip(result.runs, direct.runs, tasks, strict=True):
            if not any(d.candidates for d in run.calls):
                gaps.append(None)
                continue
            cal = calibration_from(
                run.calls, direct_run.texts, key=task.matcher(), prompt=task.prompt, method=method
            )
            gaps.append(cal.gap_direct)
            calibration.setdefault(method.value, []).append(cal.to_dict())
        mean_gap = _mean(gaps)
        print(
            f"  {METHOD_LABELS[method]:<12} mean |gap| {fmt(mean_gap, '.3f')}"
            f"  (per prompt: {', '.join(fmt(g, '.3f') for g in gaps)})"
        )
    print(f"\ntotal time {elapsed:.0f} s on {model}")
    if args.json is not None:
        data = {
            "model": model,
            "n": args.n,
            "k": args.k,
            "prompts": [t.prompt for t in tasks],
            "methods": rows,
            "calibration": calibration,
            "elapsed_seconds": round(elapsed, 1),
            "answers": {r.method.value: [run.texts for run in r.runs] for r in comparison.results}
            | {DISTINCT: [res.distribution.texts for res, _ in distinct_runs]},
        }
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
