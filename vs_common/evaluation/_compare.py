"""Several methods on the same budget, scored for diversity (what ``vs compare`` runs).

For each prompt and method, :func:`~vs_common.sampling.run_sampling` asks for
``n`` samples (``n`` calls for single-answer methods, ``ceil(n/k)`` for list
methods), and :func:`vs_common.metrics.diversity_report` scores what came
back, per prompt; the scores are averaged over prompts, as in the paper:

* semantic diversity (``100 * (1 - mean pairwise cosine)``), the Vendi score
  and the number of distinct classes of meaning when an embedder is given;
* pairwise ROUGE-L (lower = more diverse), distinct-1/2/3 and the
  compression ratio;
* valid-parse rate: successful calls / calls (no re-asks by default, so the
  budget is the same for every method and the rate measures the format);
* tokens per sample: total tokens / samples.

For each VS method the per-call replies are kept, and when Direct ran too,
the calibration of the verbalized probabilities against Direct's answer
frequencies is computed (see :mod:`vs_common.evaluation._calibration`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vs_common.alternatives import ALTERNATIVES
from vs_common.calls import Call
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.evaluation._calibration import DEFAULT_TAU, Calibration, calibration_from
from vs_common.evaluation._reachability import Reachability
from vs_common.methods import Method, VSConfig
from vs_common.metrics import DiversityReport, Embedder, diversity_report
from vs_common.sampling import Progress, RetryPolicy, Structured, run_sampling

__all__ = [
    "DEFAULT_METHODS",
    "METHOD_LABELS",
    "Comparison",
    "MethodResult",
    "ProgressFactory",
    "PromptRun",
    "compare_methods",
    "load_embedder",
    "method_config",
    "score",
]

DEFAULT_METHODS: tuple[Method, ...] = (Method.DIRECT, Method.SEQUENCE, Method.VS_STANDARD)
METHOD_LABELS: dict[Method, str] = {
    Method.DIRECT: "Direct",
    Method.COT: "CoT",
    Method.SEQUENCE: "Sequence",
    Method.MULTI_TURN: "Multi-turn",
    Method.VS_STANDARD: "VS-Standard",
    Method.VS_COT: "VS-CoT",
    Method.VS_MULTI: "VS-Multi",
    Method.DIRECT_BASE: "Direct (base)",
    # the alternatives declare their own labels
    **{Method(a.name): a.label for a in ALTERNATIVES.values()},
}
_NO_DIVERSITY = 1e-9  # below this Direct collapsed completely: a ratio would be meaningless

#: ``progress(method, prompt_index)`` gives the ``on_progress`` of that run (or None).
ProgressFactory = Callable[[Method, int], Callable[[Progress], None] | None]


@dataclass
class PromptRun:
    """One method on one prompt.

    Attributes:
        prompt: The prompt.
        dist: The pooled distribution (failures recorded in it).
        seconds: Wall time of the run.
        calls: Each successful call's own distribution, in the order they
            ended (what calibration measures).
        diversity: The run's scores, once :func:`score` ran (None with fewer
            than two samples).
        calibration: Stated against observed probabilities (VS methods, when
            Direct ran on the same prompt), once :func:`score` ran.

    Example:
        >>> from vs_common.distribution import VerbalizedDistribution as D
        >>> PromptRun("p", D.from_pairs([("a", 1), ("b", 1)]), 0.5).texts
        ['a', 'b']
    """

    prompt: str
    dist: VerbalizedDistribution
    seconds: float
    calls: list[VerbalizedDistribution] = field(default_factory=list)
    diversity: DiversityReport | None = None
    calibration: Calibration | None = None

    @property
    def texts(self) -> list[str]:
        """Every sample (pooled duplicates repeated)."""
        return self.dist.all_texts()


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


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
        distinct_3: Mean distinct-3 over prompts.
        compression_ratio: Mean compression ratio (lower = more diverse).
        vendi: Mean Vendi score over prompts (the effective number of
            distinct samples; None without an embedder).
        classes: Mean number of classes of equivalent meaning over prompts
            (:func:`~vs_common.metrics.distinct_classes`; None without an embedder).
        valid_rate: Successful calls / calls.
        tokens_per_sample: Total tokens / samples (None without usage).
        extra: More scores by name (a judge's, an experiment's), shown as
            extra columns of the table and the report and kept in ``metrics()``.

    Example:
        >>> MethodResult(Method.VS_MULTI).label
        'VS-Multi'
    """

    method: Method
    runs: list[PromptRun] = field(default_factory=list)
    semantic: float | None = None
    rouge_l: float | None = None
    distinct_1: float | None = None
    distinct_2: float | None = None
    distinct_3: float | None = None
    compression_ratio: float | None = None
    vendi: float | None = None
    classes: float | None = None
    valid_rate: float = 0.0
    tokens_per_sample: float | None = None
    extra: dict[str, float | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The method's display name."""
        return METHOD_LABELS.get(self.method, str(self.method))

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

    @property
    def calibrations(self) -> list[Calibration]:
        """The calibration of each prompt that has one."""
        return [r.calibration for r in self.runs if r.calibration is not None]

    @property
    def calibration_gap(self) -> float | None:
        """Mean over prompts of the stated-vs-observed gap (None without calibration)."""
        return _mean([c.gap for c in self.calibrations])

    def metrics(self) -> dict[str, Any]:
        """The scores as a JSON-ready dict."""
        cals = self.calibrations
        return {
            "method": self.method.value,
            "samples": self.samples,
            "calls": self.calls,
            "semantic_diversity": self.semantic,
            "rouge_l": self.rouge_l,
            "distinct_1": self.distinct_1,
            "distinct_2": self.distinct_2,
            "distinct_3": self.distinct_3,
            "compression_ratio": self.compression_ratio,
            "vendi_score": self.vendi,
            "distinct_classes": self.classes,
            **self.extra,
            "valid_parse_rate": self.valid_rate,
            "tokens_per_sample": self.tokens_per_sample,
            "seconds": round(self.seconds, 2),
            "calibration": None
            if not cals
            else {
                "gap_direct": _mean([c.gap_direct for c in cals]),
                "gap_listed": _mean([c.gap_listed for c in cals]),
                "raw_sum_mean": _mean([c.raw_sum_mean for c in cals]),
                "entropy": _mean([c.entropy for c in cals]),
                "direct_entropy": _mean([c.direct_entropy for c in cals]),
                "tail_share": _mean([c.tail_share for c in cals]),
                "tail_mass": _mean([c.tail_mass for c in cals]),
                "tau": cals[0].tau,
            },
        }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@dataclass
class Comparison:
    """The methods' results on the same prompts and budget (see :func:`compare_methods`).

    Attributes:
        prompts: The prompts.
        n: Samples per prompt and method.
        k: Candidates per call for list methods.
        results: One per method, in the order asked.
        semantic_note: Why semantic diversity is missing, if it is.
        model: The model name, for the report.
        tau: The tail threshold of the calibration diagnostics.
        base_model: The base model of the ``direct_base`` line, when it ran
            on another model (the paper's Figure 4 reference).

    Example:
        >>> c = Comparison(["p"], 2, 1, [MethodResult(Method.DIRECT, semantic=10.0)])
        >>> c.table().splitlines()[2].split()[:6]
        ['Direct', '0', '0', '0.0%', '10.0', '-']
    """

    prompts: list[str]
    n: int
    k: int
    results: list[MethodResult]
    semantic_note: str | None = None
    model: str = ""
    tau: float = DEFAULT_TAU
    base_model: str = ""

    @property
    def extra_columns(self) -> list[str]:
        """The names of the results' ``extra`` scores, in first-seen order."""
        return list(dict.fromkeys(name for r in self.results for name in r.extra))

    def get(self, method: Method) -> MethodResult | None:
        """The result of ``method``, if it was run."""
        return next((r for r in self.results if r.method is method), None)

    def ratio(
        self,
        metric: str = "semantic",
        top: Method = Method.VS_STANDARD,
        bottom: Method = Method.DIRECT,
    ) -> float | None:
        """``top`` / ``bottom`` for a diversity metric (None when either is missing or 0).

        For ``rouge_l`` (a similarity) the ratio of lexical diversities
        ``(1 - ROUGE-L)`` is returned, so above 1 always means more diverse.
        ``bottom=Method.DIRECT_BASE`` gives the share of the base model's
        diversity a method keeps (the paper: VS-Standard 66.8%, Direct 23.8%).

        Example:
            >>> scores = {Method.DIRECT: 10.0, Method.VS_STANDARD: 20.0, Method.DIRECT_BASE: 40.0}
            >>> runs = [MethodResult(m, semantic=v) for m, v in scores.items()]
            >>> c = Comparison(["p"], 2, 1, runs)
            >>> c.ratio(), c.ratio(bottom=Method.DIRECT_BASE)
            (2.0, 0.5)
        """
        a, b = self.get(top), self.get(bottom)
        if a is None or b is None:
            return None
        va, vb = getattr(a, metric), getattr(b, metric)
        if va is None or vb is None:
            return None
        if metric == "rouge_l":
            va, vb = 1.0 - va, 1.0 - vb
        return float(va / vb) if vb > _NO_DIVERSITY else None

    def table(self) -> str:
        """The metrics as a plain-text table, with the VS / Direct ratios and calibration."""
        extra = self.extra_columns
        head = (
            f"{'method':<14} {'samples':>7} {'calls':>6} {'valid':>7} {'sem.div':>8}"
            f" {'Vendi':>6} {'classes':>7} {'ROUGE-L':>8} {'dist-1':>7} {'dist-2':>7}"
            f" {'tok/sample':>11}" + "".join(f" {name[:12]:>12}" for name in extra)
        )
        lines = [head, "-" * len(head)]
        for r in self.results:
            lines.append(
                f"{r.label:<14} {r.samples:>7} {r.calls:>6} {r.valid_rate:>7.1%}"
                f" {_fmt(r.semantic, '8.1f'):>8} {_fmt(r.vendi, '6.2f'):>6}"
                f" {_fmt(r.classes, '7.1f'):>7} {_fmt(r.rouge_l, '8.3f'):>8}"
                f" {_fmt(r.distinct_1, '7.3f'):>7} {_fmt(r.distinct_2, '7.3f'):>7}"
                f" {_fmt(r.tokens_per_sample, '11.0f'):>11}"
                + "".join(f" {_fmt(r.extra.get(name), '12.3f'):>12}" for name in extra)
            )
        notes = []
        for method in (Method.VS_STANDARD, Method.VS_COT, Method.VS_MULTI):
            sem = self.ratio("semantic", method)
            lex = self.ratio("rouge_l", method)
            if sem is not None or lex is not None:
                parts = []
                if sem is not None:
                    parts.append(f"semantic diversity {sem:.2f}x")
                if lex is not None:
                    parts.append(f"lexical diversity (1 - ROUGE-L) {lex:.2f}x")
                notes.append(f"{METHOD_LABELS[method]} / Direct: " + ", ".join(parts))
        base = self.base_note()
        if base:
            notes.append(base)
        notes.extend(self._calibration_notes())
        if self.semantic_note:
            notes.append(self.semantic_note)
        return "\n".join(lines + (["", *notes] if notes else []))

    def base_shares(self) -> dict[str, float]:
        """Each method's semantic diversity as a share of the base model's (``direct_base``)."""
        shares = {}
        for r in self.results:
            if r.method is not Method.DIRECT_BASE:
                share = self.ratio("semantic", r.method, Method.DIRECT_BASE)
                if share is not None:
                    shares[r.label] = share
        return shares

    def base_note(self) -> str | None:
        """One line: each method's share of the base model's semantic diversity, or None."""
        shares = self.base_shares()
        if not shares:
            return None
        of = f" ({self.base_model})" if self.base_model else ""
        parts = ", ".join(f"{label} {share:.0%}" for label, share in shares.items())
        return f"share of the base model's semantic diversity{of}: {parts}"

    def _calibration_notes(self) -> list[str]:
        notes = []
        for r in self.results:
            cal = r.metrics()["calibration"]
            if cal is None:
                continue
            against = "Direct" if cal["gap_direct"] is not None else "listed"
            gap = cal["gap_direct"] if cal["gap_direct"] is not None else cal["gap_listed"]
            notes.append(
                f"{r.label} calibration: stated vs {against} frequency mean |gap| {gap:.3f};"
                f" raw probability sum {_fmt(cal['raw_sum_mean'], '.2f')};"
                f" entropy {cal['entropy']:.2f} nats"
                + (
                    f" (Direct {cal['direct_entropy']:.2f})"
                    if cal["direct_entropy"] is not None
                    else ""
                )
                + f"; stated mass below tau={cal['tau']:g}: {cal['tail_mass']:.0%}"
            )
        return notes

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: settings, metrics, calibration and every sample."""
        return {
            "prompts": self.prompts,
            "n": self.n,
            "k": self.k,
            "model": self.model,
            "tau": self.tau,
            "semantic_note": self.semantic_note,
            "vs_direct_semantic_ratio": self.ratio("semantic"),
            "vs_direct_lexical_ratio": self.ratio("rouge_l"),
            "base_model": self.base_model,
            "share_of_base_semantic": self.base_shares(),
            "methods": [
                {
                    **r.metrics(),
                    "runs": [
                        {
                            "prompt": run.prompt,
                            "seconds": round(run.seconds, 2),
                            **run.dist.to_dict(),
                            "diversity": None
                            if run.diversity is None
                            else run.diversity.model_dump(),
                            "calibration": None
                            if run.calibration is None
                            else run.calibration.to_dict(),
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


# --------------------------------------------------------------------------- running


def _collector(
    into: list[VerbalizedDistribution], then: Callable[[Progress], None] | None
) -> Callable[[Progress], None]:
    def on_progress(p: Progress) -> None:
        if p.distribution is not None:
            into.append(p.distribution)
        if then is not None:
            then(p)

    return on_progress


async def compare_methods(
    prompts: Sequence[str],
    call: Call,
    *,
    methods: Sequence[Method | str] = DEFAULT_METHODS,
    n: int = 30,
    k: int = 5,
    embedder: Embedder | Literal["default"] | None = None,
    tau: float = DEFAULT_TAU,
    structured: Structured = "auto",
    max_concurrency: int = 4,
    retry: RetryPolicy | None = None,
    progress: ProgressFactory | None = None,
    model: str = "",
    scored: bool = True,
    base_call: Call | None = None,
    base_model: str = "",
    seed: int | None = None,
) -> Comparison:
    """Run every method on every prompt with the same budget ``n``, and score them.

    No run raises for failed calls (``min_successes=0``): failures are kept
    in each distribution and lower the valid-parse rate. Only a server that
    cannot be reached at all stops the comparison, after its first run.

    Args:
        prompts: The prompts.
        call: The async model call (see :mod:`vs_common.calls`).
        methods: The methods, in display order.
        n: Samples per prompt and method (the paper: 30).
        k: Candidates per call for list methods.
        embedder: For semantic diversity: any :data:`~vs_common.metrics.Embedder`,
            ``"default"`` for the offline MiniLM (the ``metrics`` extra), or
            None to skip it.
        tau: Tail threshold of the calibration diagnostics.
        structured: Structured-output mode (``tool`` for the benchmark).
        max_concurrency: Calls in flight at once.
        retry: Retry policy (default: no re-asks and no top-up calls, so every
            method gets the same budget).
        progress: ``progress(method, prompt_index)`` gives an ``on_progress``.
        model: The model name, kept for the report.
        scored: False leaves the scores empty (call :func:`score` later).
        base_call: A base (pretrained) model's call: ``direct_base`` runs on
            it (added to ``methods`` if missing), the reference line of the
            paper's Figure 4. Without it, ``direct_base`` runs on ``call``.
        base_model: The base model's name, kept for the report.
        seed: Seed of a method's own draws (SimpleStrat's strata; see
            :func:`~vs_common.sampling.run_sampling`).

    Returns:
        The :class:`Comparison`, scored unless ``scored=False``.

    Raises:
        VSConfigError: A bad budget, method or prompt list.
        VSSamplingError: The server could not be reached (no call got
            through, and every failure was a refused connection or an
            unknown host; see :func:`is_unreachable`).
        ImportError: ``embedder="default"`` without the ``metrics`` extra.

    Example:
        >>> import asyncio, json
        >>> async def call(request):
        ...     if request.schema is None:
        ...         return "The same joke."
        ...     return json.dumps(
        ...         [
        ...             {"text": f"Joke {request.call_index}.{i}", "probability": 0.5}
        ...             for i in range(2)
        ...         ]
        ...     )
        >>> c = asyncio.run(compare_methods(["A joke"], call, n=4, k=2))
        >>> [(r.label, r.samples, r.calls, round(r.rouge_l, 2)) for r in c.results]
        [('Direct', 4, 4, 1.0), ('Sequence', 4, 2, 0.61), ('VS-Standard', 4, 2, 0.61)]
    """
    chosen = [Method(m) for m in methods]
    if base_call is not None and Method.DIRECT_BASE not in chosen:
        chosen.append(Method.DIRECT_BASE)
    if not chosen:
        msg = "methods must name at least one method"
        raise VSConfigError(msg, field="methods")
    prompt_list = list(prompts)
    if not prompt_list:
        msg = "prompts must hold at least one prompt"
        raise VSConfigError(msg, field="prompts")
    if scored and isinstance(embedder, str):
        embedder = _resolve_embedder(embedder)  # fail on a missing extra before any call
    policy = retry if retry is not None else RetryPolicy(max_reasks=0, max_top_up_calls=0)
    configs = [method_config(m, n, k) for m in chosen]
    watch = Reachability(call)
    base_watch = Reachability(base_call) if base_call is not None else watch
    results = [MethodResult(m) for m in chosen]
    for result, config in zip(results, configs, strict=True):
        method_call = base_watch if result.method is Method.DIRECT_BASE else watch
        for index, prompt in enumerate(prompt_list):
            per_call: list[VerbalizedDistribution] = []
            then = progress(result.method, index) if progress is not None else None
            start = time.monotonic()
            dist = await run_sampling(
                prompt,
                config,
                method_call,
                structured=structured,
                max_concurrency=max_concurrency,
                retry=policy,
                min_successes=0,
                on_progress=_collector(per_call, then),
                seed=seed,
            )
            method_call.check(dist)
            result.runs.append(PromptRun(prompt, dist, time.monotonic() - start, per_call))
    comparison = Comparison(prompt_list, n, k, results, model=model, tau=tau, base_model=base_model)
    if scored:
        score(comparison, embedder)
    return comparison


# --------------------------------------------------------------------------- scoring


def load_embedder(enabled: bool = True) -> tuple[Embedder | None, str | None]:
    """The offline default embedder, or None and a note saying why not.

    Returns:
        ``(embedder, None)``, or ``(None, note)`` when disabled or when the
        ``metrics`` extra is missing (the note holds the pip install hint).

    Example:
        >>> load_embedder(False)
        (None, 'semantic diversity skipped (--no-semantic)')
    """
    if not enabled:
        return None, "semantic diversity skipped (--no-semantic)"
    try:
        from vs_common.backends.embeddings import default_embedder

        return default_embedder(), None
    except ImportError as exc:
        return None, f"semantic diversity skipped: {exc}"


def _resolve_embedder(name: str) -> Embedder:
    if name != "default":
        msg = f"embedder must be an embedder object, 'default' or None, got {name!r}"
        raise VSConfigError(msg, field="embedder")
    from vs_common.backends.embeddings import default_embedder

    return default_embedder()


def score(
    comparison: Comparison | Sequence[MethodResult],
    embedder: Embedder | Literal["default"] | None = None,
    *,
    tau: float | None = None,
) -> None:
    """Fill in each result's scores and each VS run's calibration (in place).

    Each run with at least two samples gets its
    :func:`~vs_common.metrics.diversity_report`; a method's diversity scores
    are their means over prompts. Valid-parse rate and tokens per sample are
    pooled over all calls and samples. Each run of a VS method gets its
    calibration against the Direct run of the same prompt (against its own
    listed frequencies when Direct did not run).

    Args:
        comparison: A comparison, or its results.
        embedder: For semantic diversity (see :func:`compare_methods`).
        tau: Tail threshold (default: the comparison's, else 0.1).
    """
    if isinstance(comparison, Comparison):
        results = comparison.results
        threshold = comparison.tau if tau is None else tau
    else:
        results = list(comparison)
        threshold = DEFAULT_TAU if tau is None else tau
    if isinstance(embedder, str):
        embedder = _resolve_embedder(embedder)
    direct = next((r for r in results if r.method is Method.DIRECT), None)
    for result in results:
        for i, run in enumerate(result.runs):
            texts = run.texts
            run.diversity = diversity_report(texts, embedder) if len(texts) >= 2 else None
            run.calibration = None
            if result.method.is_verbalized and any(d.candidates for d in run.calls):
                direct_run = direct.runs[i] if direct is not None else None
                run.calibration = calibration_from(
                    run.calls,
                    direct_run.texts if direct_run is not None else None,
                    tau=threshold,
                    prompt=run.prompt,
                    method=result.method,
                )
        reports = [run.diversity for run in result.runs if run.diversity is not None]
        result.semantic = _mean([d.semantic_diversity for d in reports])
        result.rouge_l = _mean([d.rouge_l for d in reports])
        result.distinct_1 = _mean([d.distinct_1 for d in reports])
        result.distinct_2 = _mean([d.distinct_2 for d in reports])
        result.distinct_3 = _mean([d.distinct_3 for d in reports])
        result.compression_ratio = _mean([d.compression_ratio for d in reports])
        result.vendi = _mean([d.vendi_score for d in reports])
        result.classes = _mean(
            [None if d.distinct_classes is None else float(d.distinct_classes) for d in reports]
        )
        calls = result.calls
        failed = sum(len(r.dist.failures) for r in result.runs)
        result.valid_rate = (calls - failed) / calls if calls else 0.0
        usages = [r.dist.usage for r in result.runs if r.dist.usage is not None]
        tokens = sum(u.total_tokens for u in usages)
        samples = result.samples
        result.tokens_per_sample = tokens / samples if usages and samples else None
