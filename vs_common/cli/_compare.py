"""``vs compare PROMPT...``: several methods on the same budget, scored for diversity.

For each prompt and method, :func:`vs_common.run_sampling` asks for ``n``
samples (``n`` calls for single-answer methods, ``ceil(n/k)`` for list
methods), and :mod:`vs_common.metrics` scores what came back:

* semantic diversity (``100 * (1 - mean pairwise cosine)``) with the offline
  default embedder, when the ``metrics`` extra is installed (else skipped,
  with a note);
* pairwise ROUGE-L (lower = more diverse), distinct-1 and distinct-2;
* valid-parse rate: successful calls / calls (no re-asks by default, so the
  budget is the same for every method and the rate measures the format);
* tokens per sample: total tokens / samples.

Diversity is computed per prompt and averaged over prompts, as in the paper.
The benchmark ``benchmarks/diversity.py`` reuses :func:`compare_methods`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vs_common.calls import Call
from vs_common.cli._backend import BackendOptions, open_backend
from vs_common.cli._common import CLIError, UsageError, eprint
from vs_common.cli._progress import ProgressLine
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.methods import Method, VSConfig
from vs_common.metrics import distinct_n, pairwise_rouge_l, semantic_diversity
from vs_common.sampling import Progress, RetryPolicy, Structured, run_sampling, run_sync

__all__ = [
    "DEFAULT_METHODS",
    "Comparison",
    "MethodResult",
    "PromptRun",
    "add_compare_arguments",
    "compare_methods",
    "format_table",
    "load_embedder",
    "run_compare_command",
    "score",
]

DEFAULT_METHODS: tuple[Method, ...] = (Method.DIRECT, Method.SEQUENCE, Method.VS_STANDARD)
METHOD_LABELS = {
    Method.DIRECT: "Direct",
    Method.COT: "CoT",
    Method.SEQUENCE: "Sequence",
    Method.MULTI_TURN: "Multi-turn",
    Method.VS_STANDARD: "VS-Standard",
    Method.VS_COT: "VS-CoT",
    Method.VS_MULTI: "VS-Multi",
}


@dataclass(frozen=True)
class PromptRun:
    """One method on one prompt.

    Attributes:
        prompt: The prompt.
        dist: The pooled distribution (failures recorded in it).
        seconds: Wall time of the run.
    """

    prompt: str
    dist: VerbalizedDistribution
    seconds: float

    @property
    def texts(self) -> list[str]:
        """Every sample (pooled duplicates repeated)."""
        return self.dist.all_texts()


@dataclass
class MethodResult:
    """A method's runs and scores (None where a metric could not be computed).

    Attributes:
        method: The method.
        runs: One run per prompt.
        semantic: Mean semantic diversity over prompts, in percent.
        rouge_l: Mean pairwise ROUGE-L over prompts (lower = more diverse).
        distinct_1: Mean distinct-1 over prompts.
        distinct_2: Mean distinct-2 over prompts.
        valid_rate: Successful calls / calls.
        tokens_per_sample: Total tokens / samples (None without usage).
    """

    method: Method
    runs: list[PromptRun] = field(default_factory=list)
    semantic: float | None = None
    rouge_l: float | None = None
    distinct_1: float | None = None
    distinct_2: float | None = None
    valid_rate: float = 0.0
    tokens_per_sample: float | None = None

    @property
    def label(self) -> str:
        """The method's display name."""
        return METHOD_LABELS[self.method]

    @property
    def samples(self) -> int:
        """Samples over all prompts."""
        return sum(len(r.texts) for r in self.runs)

    @property
    def calls(self) -> int:
        """Calls over all prompts."""
        return sum(r.dist.num_calls for r in self.runs)

    @property
    def seconds(self) -> float:
        """Wall time over all prompts."""
        return sum(r.seconds for r in self.runs)

    def metrics(self) -> dict[str, Any]:
        """The scores as a JSON-ready dict."""
        return {
            "method": self.method.value,
            "samples": self.samples,
            "calls": self.calls,
            "semantic_diversity": self.semantic,
            "rouge_l": self.rouge_l,
            "distinct_1": self.distinct_1,
            "distinct_2": self.distinct_2,
            "valid_parse_rate": self.valid_rate,
            "tokens_per_sample": self.tokens_per_sample,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class Comparison:
    """The result of :func:`compare_methods` after :func:`score`.

    Attributes:
        prompts: The prompts.
        n: Samples per prompt and method.
        k: Candidates per call for list methods.
        results: One per method, in the order asked.
        semantic_note: Why semantic diversity is missing, if it is.
        model: The model name, for the report.
    """

    prompts: list[str]
    n: int
    k: int
    results: list[MethodResult]
    semantic_note: str | None = None
    model: str = ""

    def get(self, method: Method) -> MethodResult | None:
        """The result of ``method``, if it was run."""
        return next((r for r in self.results if r.method is method), None)

    def ratio(self, metric: str = "semantic", top: Method = Method.VS_STANDARD) -> float | None:
        """``top`` / Direct for a diversity metric (None when either is missing or 0).

        For ``rouge_l`` (a similarity) the ratio of lexical diversities
        ``(1 - ROUGE-L)`` is returned, so above 1 always means more diverse.
        """
        a, b = self.get(top), self.get(Method.DIRECT)
        if a is None or b is None:
            return None
        va, vb = getattr(a, metric), getattr(b, metric)
        if va is None or vb is None:
            return None
        if metric == "rouge_l":
            va, vb = 1.0 - va, 1.0 - vb
        return float(va / vb) if vb > _NO_DIVERSITY else None

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: settings, metrics and every sample."""
        return {
            "prompts": self.prompts,
            "n": self.n,
            "k": self.k,
            "model": self.model,
            "semantic_note": self.semantic_note,
            "vs_direct_semantic_ratio": self.ratio("semantic"),
            "vs_direct_lexical_ratio": self.ratio("rouge_l"),
            "methods": [
                {
                    **r.metrics(),
                    "runs": [
                        {
                            "prompt": run.prompt,
                            "seconds": round(run.seconds, 2),
                            **run.dist.to_dict(),
                        }
                        for run in r.runs
                    ],
                }
                for r in self.results
            ],
        }


def method_config(method: Method, n: int, k: int) -> VSConfig:
    """The config of ``method`` for a budget of ``n`` samples.

    Example:
        >>> (
        ...     method_config(Method.DIRECT, 30, 5).num_calls,
        ...     method_config(Method.VS_STANDARD, 30, 5).num_calls,
        ... )
        (30, 6)
    """
    return VSConfig(method=method, n=n, k=k)


_NO_DIVERSITY = 1e-9  # below this Direct collapsed completely: a ratio would be meaningless

ProgressFactory = Callable[[Method, int], Callable[[Progress], None] | None]


async def compare_methods(
    prompts: Sequence[str],
    methods: Sequence[Method],
    call: Call,
    *,
    n: int,
    k: int,
    structured: Structured = "auto",
    max_concurrency: int = 4,
    retry: RetryPolicy | None = None,
    progress: ProgressFactory | None = None,
) -> list[MethodResult]:
    """Run every method on every prompt with the same budget ``n``.

    No run raises for failed calls (``min_successes=0``): failures are kept
    in each distribution and lower the valid-parse rate.

    Args:
        prompts: The prompts.
        methods: The methods, in display order.
        call: The model call.
        n: Samples per prompt and method.
        k: Candidates per call for list methods.
        structured: Structured-output mode (``tool`` for the benchmark).
        max_concurrency: Calls in flight at once.
        retry: Retry policy (default: no re-asks, so budgets stay equal).
        progress: ``progress(method, prompt_index)`` gives an ``on_progress``.

    Returns:
        One unscored :class:`MethodResult` per method.
    """
    policy = retry if retry is not None else RetryPolicy(max_reasks=0)
    results = [MethodResult(method) for method in methods]
    for result in results:
        config = method_config(result.method, n, k)
        for index, prompt in enumerate(prompts):
            start = time.monotonic()
            dist = await run_sampling(
                prompt,
                config,
                call,
                structured=structured,
                max_concurrency=max_concurrency,
                retry=policy,
                min_successes=0,
                on_progress=progress(result.method, index) if progress else None,
            )
            result.runs.append(PromptRun(prompt, dist, time.monotonic() - start))
    return results


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def score(results: list[MethodResult], embedder: Any | None) -> None:
    """Fill in each result's metrics (in place).

    Diversity metrics are computed per prompt (runs with fewer than two
    samples are left out) and averaged; valid-parse rate and tokens per
    sample are pooled over all calls and samples.
    """
    for result in results:
        sem: list[float] = []
        rouge: list[float] = []
        d1: list[float] = []
        d2: list[float] = []
        for run in result.runs:
            texts = run.texts
            if len(texts) < 2:
                continue
            if embedder is not None:
                sem.append(semantic_diversity(texts, embedder))
            rouge.append(pairwise_rouge_l(texts))
            d1.append(distinct_n(texts, 1))
            d2.append(distinct_n(texts, 2))
        result.semantic, result.rouge_l = _mean(sem), _mean(rouge)
        result.distinct_1, result.distinct_2 = _mean(d1), _mean(d2)
        calls = result.calls
        failed = sum(len(r.dist.failures) for r in result.runs)
        result.valid_rate = (calls - failed) / calls if calls else 0.0
        usages = [r.dist.usage for r in result.runs if r.dist.usage is not None]
        tokens = sum(u.total_tokens for u in usages)
        samples = result.samples
        result.tokens_per_sample = tokens / samples if usages and samples else None


def load_embedder(enabled: bool = True) -> tuple[Any | None, str | None]:
    """The offline default embedder, or None and a note saying why not.

    Returns:
        ``(embedder, None)``, or ``(None, note)`` when disabled or when the
        ``metrics`` extra is missing (the note holds the pip install hint).
    """
    if not enabled:
        return None, "semantic diversity skipped (--no-semantic)"
    try:
        from vs_common.backends.embeddings import default_embedder

        return default_embedder(), None
    except ImportError as exc:
        return None, f"semantic diversity skipped: {exc}"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(comparison: Comparison) -> str:
    """The metrics as a plain-text table, with the VS / Direct ratios.

    Example:
        >>> c = Comparison(["p"], 2, 1, [MethodResult(Method.DIRECT, semantic=10.0)])
        >>> print(format_table(c).splitlines()[2])
        Direct               0      0    0.0%     10.0        -       -       -           -
    """
    head = (
        f"{'method':<14} {'samples':>7} {'calls':>6} {'valid':>7} {'sem.div':>8}"
        f" {'ROUGE-L':>8} {'dist-1':>7} {'dist-2':>7} {'tok/sample':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in comparison.results:
        lines.append(
            f"{r.label:<14} {r.samples:>7} {r.calls:>6} {r.valid_rate:>7.1%}"
            f" {_fmt(r.semantic, '8.1f'):>8} {_fmt(r.rouge_l, '8.3f'):>8}"
            f" {_fmt(r.distinct_1, '7.3f'):>7} {_fmt(r.distinct_2, '7.3f'):>7}"
            f" {_fmt(r.tokens_per_sample, '11.0f'):>11}"
        )
    notes = []
    for method in (Method.VS_STANDARD, Method.VS_COT, Method.VS_MULTI):
        sem = comparison.ratio("semantic", method)
        lex = comparison.ratio("rouge_l", method)
        if sem is not None or lex is not None:
            parts = []
            if sem is not None:
                parts.append(f"semantic diversity {sem:.2f}x")
            if lex is not None:
                parts.append(f"lexical diversity (1 - ROUGE-L) {lex:.2f}x")
            notes.append(f"{METHOD_LABELS[method]} / Direct: " + ", ".join(parts))
    if comparison.semantic_note:
        notes.append(comparison.semantic_note)
    return "\n".join(lines + (["", *notes] if notes else []))


def parse_methods(text: str) -> list[Method]:
    """Read ``--methods direct,sequence,vs_standard``.

    Raises:
        argparse.ArgumentTypeError: An unknown method (named).

    Example:
        >>> [m.value for m in parse_methods("direct, vs_cot")]
        ['direct', 'vs_cot']
    """
    methods: list[Method] = []
    for part in text.split(","):
        name = part.strip().lower().replace("-", "_")
        if not name:
            continue
        try:
            method = Method(name)
        except ValueError:
            choices = ", ".join(m.value for m in Method)
            msg = f"unknown method {part.strip()!r} (choose from {choices})"
            raise argparse.ArgumentTypeError(msg) from None
        if method not in methods:
            methods.append(method)
    if not methods:
        msg = "no method given"
        raise argparse.ArgumentTypeError(msg)
    return methods


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the prompts, budget, methods and report options."""
    parser.add_argument("prompts", metavar="PROMPT", nargs="+", help="one or more prompts")
    parser.add_argument(
        "-n", "--n", type=int, default=10, help="samples per method and prompt (10)"
    )
    parser.add_argument("-k", "--k", type=int, default=5, help="candidates per call (5)")
    parser.add_argument(
        "--methods",
        type=parse_methods,
        default=list(DEFAULT_METHODS),
        help="comma-separated methods (default: direct,sequence,vs_standard)",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=Path("vs-report"),
        help="directory of the HTML report and its PNG charts (vs-report)",
    )
    parser.add_argument("--no-report", action="store_true", help="print the table only")
    parser.add_argument(
        "--no-semantic", action="store_true", help="skip semantic diversity (no embedder)"
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _check_budget(n: int, k: int) -> None:
    try:
        VSConfig(method=Method.VS_STANDARD, n=n, k=k)
    except VSConfigError as exc:
        flag = "-n" if exc.field == "n" else "-k"
        msg = f"argument {flag}: {exc}"
        raise UsageError(msg) from None


def _all_unreachable(results: list[MethodResult]) -> str | None:
    failures = [f for r in results for run in r.runs for f in run.dist.failures]
    successes = sum(len(run.dist.candidates) for r in results for run in r.runs)
    if failures and not successes and all("Could not reach" in f.message for f in failures):
        return failures[0].message
    return None


def run_compare_command(
    args: argparse.Namespace,
    backend_options: BackendOptions,
    out: TextIO,
    err: TextIO,
    *,
    call: Call | None = None,
) -> int:
    """Run ``vs compare`` with parsed arguments; returns the exit code."""
    _check_budget(args.n, args.k)
    prompts = [p for p in args.prompts if p.strip()]
    if not prompts:
        msg = "argument PROMPT: every prompt is empty"
        raise UsageError(msg)
    line = ProgressLine(err)

    def progress(method: Method, index: int) -> Callable[[Progress], None] | None:
        if args.quiet:
            return None
        label = f"{METHOD_LABELS[method]} [prompt {index + 1}/{len(prompts)}]"

        def report(p: Progress) -> None:
            line.show(
                f"{label}: call {p.calls_done}/{p.calls_planned}, {p.failures} failed",
                final=p.calls_done >= p.calls_planned and index == len(prompts) - 1,
            )

        return report

    with open_backend(backend_options, err, call=call) as backend:
        results = run_sync(
            compare_methods(
                prompts,
                args.methods,
                backend.call,
                n=args.n,
                k=args.k,
                structured=args.structured,
                max_concurrency=args.concurrency,
                retry=RetryPolicy(max_retries=args.retries, max_reasks=0),
                progress=progress,
            )
        )
        model = backend.model
        label = backend.label
    unreachable = _all_unreachable(results)
    if unreachable is not None:
        msg = f"cannot reach the model server ({label}): {unreachable}"
        raise CLIError(msg)
    embedder, note = load_embedder(not args.no_semantic)
    score(results, embedder)
    comparison = Comparison(prompts, args.n, args.k, results, note, model)
    if args.json:
        out.write(json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(format_table(comparison) + "\n")
    out.flush()
    if not args.no_report:
        from vs_common.cli._report import write_report

        written = write_report(comparison, args.report)
        if written.note:
            eprint(f"vs compare: {written.note}", err)
        eprint(f"vs compare: report written to {written.html}", err)
    return 0
