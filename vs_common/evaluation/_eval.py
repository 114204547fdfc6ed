"""``vs eval``: the paper's experiments on the user's model, each figure beside the paper's.

:func:`run_eval` runs each :class:`~vs_common.evaluation.experiments.Experiment`
(random number generation, open-ended QA, creative writing, or the user's
own) through :func:`~vs_common.evaluation.compare_methods`: every method gets
the same budget of samples per prompt. Then each method's samples are scored:

* by the experiment's own metrics (KL of die rolls to uniform, coverage-N...),
  averaged over its prompts as the paper does, kept in each result's
  ``extra`` so the comparison report shows them as columns;
* when the experiment reads answers (``Experiment.answer``), by the number of
  distinct valid answers and their Vendi score (with the kernel "same
  answer", the exponential of the answers' entropy: the effective number of
  answers);
* for free text (``Experiment.semantic``), by the embedder: semantic
  diversity, the Vendi score and the classes of equivalent meaning, and the
  ratio of each method's semantic diversity to Direct's.

The result (:class:`Evaluation`) prints as one table per experiment, writes
JSON (``to_dict``) and an HTML report
(:func:`~vs_common.evaluation.write_eval_report`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vs_common.calls import Call
from vs_common.errors import VSConfigError
from vs_common.evaluation._compare import (
    Comparison,
    MethodResult,
    _resolve_embedder,
    compare_methods,
    score,
)
from vs_common.evaluation.experiments import Budget, Experiment, experiment
from vs_common.methods import Method
from vs_common.metrics import Embedder, vendi_score
from vs_common.sampling import Progress, RetryPolicy, Structured

__all__ = [
    "EVAL_METHODS",
    "EvalProgress",
    "Evaluation",
    "ExperimentResult",
    "answer_vendi",
    "run_eval",
    "score_experiment",
]

#: The methods ``vs eval`` compares by default: the paper's Direct, Sequence
#: and three VS methods, and the two methods people compare VS with.
EVAL_METHODS: tuple[Method, ...] = (
    Method.DIRECT,
    Method.SEQUENCE,
    Method.VS_STANDARD,
    Method.VS_COT,
    Method.VS_MULTI,
    Method.SSOT,
    Method.SIMPLESTRAT,
)

#: ``progress(experiment_name, method, prompt_index)`` gives that run's ``on_progress``.
EvalProgress = Callable[[str, Method, int], Callable[[Progress], None] | None]


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and math.isfinite(v)]
    return math.fsum(present) / len(present) if present else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def answer_vendi(answers: Sequence[str]) -> float | None:
    """The Vendi score of answers under the kernel "same answer": exp of their entropy.

    Example:
        >>> answer_vendi(["4", "4", "2", "2"]), answer_vendi([])
        (2.0, None)
    """
    if not answers:
        return None
    index = {a: i for i, a in enumerate(dict.fromkeys(answers))}
    one_hot = np.zeros((len(answers), len(index)))
    one_hot[np.arange(len(answers)), [index[a] for a in answers]] = 1.0
    return vendi_score(one_hot)


@dataclass
class ExperimentResult:
    """One experiment's run: the comparison of the methods, scored.

    Attributes:
        experiment: What was run.
        budget: Its size (samples per prompt, k, prompts).
        comparison: The methods' runs and scores; each result's ``extra``
            holds the experiment's metrics by name.
        seconds: Wall time of the experiment.
    """

    experiment: Experiment
    budget: Budget
    comparison: Comparison
    seconds: float = 0.0

    @property
    def results(self) -> list[MethodResult]:
        """One per method, in the order asked."""
        return self.comparison.results

    def ratio(self, result: MethodResult) -> float | None:
        """``result``'s figure over Direct's for the experiment's ratio metric (else None)."""
        if self.experiment.ratio is None or result.method is Method.DIRECT:
            return None
        return self.comparison.ratio(self.experiment.ratio, result.method)

    def table(self) -> str:
        """The experiment's figures, one row per method, the paper's in parentheses."""
        exp = self.experiment
        cols: list[tuple[str, Callable[[MethodResult], str]]] = [
            ("calls", lambda r: str(r.calls)),
            ("parsed", lambda r: f"{r.valid_rate:.0%}"),
        ]
        for metric in exp.metrics:
            cols.append((metric.label, _metric_cell(metric.name, metric.fmt, metric.paper)))
        if exp.semantic:
            cols.append(("sem.div", lambda r: _fmt(r.semantic, ".1f")))
        cols.append(("Vendi", lambda r: _fmt(r.vendi, ".2f")))
        cols.append(("classes", lambda r: _fmt(r.classes, ".1f")))
        if exp.ratio is not None:
            low, high = exp.paper_ratio or (None, None)
            paper = f" (paper {low:g}-{high:g}x)" if low is not None and high is not None else ""
            cols.append((f"/ Direct{paper}", lambda r: _fmt(self.ratio(r), ".2f")))
        cols.append(("tok/sample", lambda r: _fmt(r.tokens_per_sample, ".0f")))
        rows = [[r.label] + [fn(r) for _, fn in cols] for r in self.results]
        head = ["method"] + [name for name, _ in cols]
        widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
        lines = [
            f"{exp.name}: {exp.title} (n={self.budget.n}, k={self.budget.k},"
            f" {self.budget.prompts} prompt(s), {self.seconds:.0f} s)"
        ]
        for i, row in enumerate([head, *rows]):
            cells = [row[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
            ]
            lines.append("  ".join(cells))
            if i == 0:
                lines.append("-" * len(lines[-1]))
        notes = [m.paper_note for m in exp.metrics if m.paper_note]
        lines.extend(f"  {note}" for note in dict.fromkeys(notes))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Settings, each method's figures beside the paper's, and every sample."""
        exp = self.experiment
        return {
            "name": exp.name,
            "title": exp.title,
            "source": exp.source,
            "n": self.budget.n,
            "k": self.budget.k,
            "prompts": list(exp.prompts[: self.budget.prompts]),
            "seconds": round(self.seconds, 1),
            "metrics": [
                {
                    "name": m.name,
                    "label": m.label,
                    "higher_is_better": m.higher_is_better,
                    "paper": dict(m.paper),
                    "paper_note": m.paper_note,
                }
                for m in exp.metrics
            ],
            "paper_ratio": list(exp.paper_ratio) if exp.paper_ratio else None,
            "methods": [
                {
                    "method": r.method.value,
                    "label": r.label,
                    "figures": {m.name: r.extra.get(m.name) for m in exp.metrics},
                    "paper": {m.name: m.paper.get(r.method.value) for m in exp.metrics},
                    "semantic_diversity": r.semantic,
                    "vendi_score": r.vendi,
                    "distinct_classes": r.classes,
                    "ratio_to_direct": self.ratio(r),
                    "valid_parse_rate": r.valid_rate,
                    "tokens_per_sample": r.tokens_per_sample,
                    "samples": r.samples,
                    "calls": r.calls,
                    "seconds": round(r.seconds, 1),
                }
                for r in self.results
            ],
            "comparison": self.comparison.to_dict(),
        }


def _metric_cell(name: str, spec: str, paper: Any) -> Callable[[MethodResult], str]:
    def cell(r: MethodResult) -> str:
        ours = _fmt(r.extra.get(name), spec)
        theirs = paper.get(r.method.value)
        return ours if theirs is None else f"{ours} ({format(theirs, spec)})"

    return cell


@dataclass
class Evaluation:
    """Every experiment of one ``vs eval`` run.

    Attributes:
        results: One per experiment, in the order run.
        methods: The methods compared.
        model: The model name.
        quick: Whether the ``--quick`` sizes were used.
        seconds: Wall time of the whole run.
        semantic_note: Why the embedding scores are missing, if they are.
        settings: How the run was made (structured mode, seed), for the record.

    Example:
        >>> Evaluation([], [Method.DIRECT]).to_dict()["experiments"]
        []
    """

    results: list[ExperimentResult]
    methods: list[Method]
    model: str = ""
    quick: bool = False
    seconds: float = 0.0
    semantic_note: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> ExperimentResult | None:
        """The result of the experiment called ``name``, if it ran."""
        return next((r for r in self.results if r.experiment.name == name), None)

    def table(self) -> str:
        """Every experiment's table, then the wall time."""
        parts = [r.table() for r in self.results]
        size = "quick" if self.quick else "full"
        tail = f"{size} size, {len(self.methods)} methods, {self.seconds:.0f} s in all"
        if self.model:
            tail += f" on {self.model}"
        notes = [tail] + ([self.semantic_note] if self.semantic_note else [])
        return "\n\n".join([*parts, "\n".join(notes)])

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {
            "model": self.model,
            "quick": self.quick,
            "methods": [m.value for m in self.methods],
            "seconds": round(self.seconds, 1),
            "semantic_note": self.semantic_note,
            "settings": self.settings,
            "experiments": [r.to_dict() for r in self.results],
        }


def _resolve(experiments: Sequence[Experiment | str] | None) -> list[Experiment]:
    from vs_common.evaluation.experiments import EXPERIMENTS

    chosen = list(EXPERIMENTS.values()) if experiments is None else list(experiments)
    if not chosen:
        msg = "experiments must name at least one experiment"
        raise VSConfigError(msg, field="experiments")
    out = [e if isinstance(e, Experiment) else experiment(e) for e in chosen]
    names = [e.name for e in out]
    if len(set(names)) != len(names):
        msg = f"an experiment is named twice: {names}"
        raise VSConfigError(msg, field="experiments")
    return out


def score_experiment(result: ExperimentResult, embedder: Embedder | None) -> None:
    """Fill in each method's figures (in place): the experiment's, diversity, answers.

    Args:
        result: An experiment's unscored comparison.
        embedder: For free-text experiments (None skips the embedding scores).
    """
    exp = result.experiment
    score(result.comparison, embedder if exp.semantic else None)
    for r in result.results:
        per_prompt = [exp.score(i, run.texts) if run.texts else {} for i, run in enumerate(r.runs)]
        for metric in exp.metrics:
            r.extra[metric.name] = _mean([p.get(metric.name) for p in per_prompt])
        if exp.answer is not None:
            reader = exp.answer
            answers = [
                [a for a in (reader(i, t) for t in run.texts) if a is not None]
                for i, run in enumerate(r.runs)
            ]
            r.vendi = _mean([answer_vendi(a) for a in answers])
            r.classes = _mean([float(len(set(a))) for a in answers])


def _experiment_progress(
    progress: EvalProgress, name: str
) -> Callable[[Method, int], Callable[[Progress], None] | None]:
    def factory(method: Method, index: int) -> Callable[[Progress], None] | None:
        return progress(name, method, index)

    return factory


async def run_eval(
    call: Call,
    *,
    experiments: Sequence[Experiment | str] | None = None,
    methods: Sequence[Method | str] = EVAL_METHODS,
    quick: bool = False,
    budget: Callable[[Experiment], Budget] | None = None,
    embedder: Embedder | Literal["default"] | None = None,
    structured: Structured = "auto",
    max_concurrency: int = 4,
    retry: RetryPolicy | None = None,
    progress: EvalProgress | None = None,
    model: str = "",
    seed: int | None = None,
    scored: bool = True,
) -> Evaluation:
    """Run the experiments on a model with every method, and score them against the paper.

    Args:
        call: The async model call (see :mod:`vs_common.calls`).
        experiments: Experiments or registered names (default: every one of
            :data:`~vs_common.evaluation.experiments.EXPERIMENTS`).
        methods: The methods, in display order (default :data:`EVAL_METHODS`).
        quick: The experiments' quick sizes instead of the paper's.
        budget: Chooses each experiment's size instead (overrides ``quick``).
        embedder: For the free-text experiments' semantic scores: an
            :data:`~vs_common.metrics.Embedder`, ``"default"`` (the offline
            MiniLM, the ``metrics`` extra) or None to skip them.
        structured: Structured-output mode of every call.
        max_concurrency: Calls in flight at once.
        retry: Retry policy (default: no re-asks and no top-ups, so every
            method gets the same budget; see ``compare_methods``).
        progress: ``progress(experiment, method, prompt_index)`` gives an
            ``on_progress``.
        model: The model name, for the report.
        seed: Seed of the methods' own draws (SimpleStrat's strata).
        scored: False leaves the figures empty (call :func:`score_experiment`).

    Returns:
        The :class:`Evaluation`.

    Raises:
        VSConfigError: A bad method, experiment or size.
        VSSamplingError: The server could not be reached.
        ImportError: ``embedder="default"`` without the ``metrics`` extra.

    Example:
        >>> import asyncio
        >>> from vs_common.evaluation.experiments import Budget
        >>> async def call(request):  # a model that always rolls a 4, in words
        ...     return "I rolled a four!"
        >>> ev = asyncio.run(
        ...     run_eval(
        ...         call,
        ...         experiments=["dice"],
        ...         methods=["direct"],
        ...         budget=lambda e: Budget(n=6, k=5, prompts=1),
        ...     )
        ... )
        >>> dice = ev.get("dice").results[0]
        >>> round(dice.extra["kl_uniform"], 2), dice.extra["valid"], dice.classes
        (1.79, 1.0, 1.0)
    """
    chosen = _resolve(experiments)
    method_list = [Method(m) for m in methods]
    if scored and isinstance(embedder, str):  # fail on a missing extra before any call
        embedder = _resolve_embedder(embedder) if any(e.semantic for e in chosen) else None
    start = time.monotonic()
    results: list[ExperimentResult] = []
    for exp in chosen:
        size = budget(exp) if budget is not None else (exp.quick if quick else exp.full)
        if size.prompts > len(exp.prompts):
            msg = f"experiment {exp.name!r} has {len(exp.prompts)} prompts, not {size.prompts}"
            raise VSConfigError(msg, field="prompts")
        factory = None if progress is None else _experiment_progress(progress, exp.name)
        t0 = time.monotonic()
        comparison = await compare_methods(
            exp.prompts[: size.prompts],
            call,
            methods=method_list,
            n=size.n,
            k=size.k,
            structured=structured,
            max_concurrency=max_concurrency,
            retry=retry,
            progress=factory,
            model=model,
            scored=False,
            seed=seed,
        )
        result = ExperimentResult(exp, size, comparison, time.monotonic() - t0)
        if scored:
            score_experiment(result, None if isinstance(embedder, str) else embedder)
        results.append(result)
    return Evaluation(
        results,
        method_list,
        model=model,
        quick=quick and budget is None,
        seconds=time.monotonic() - start,
        settings={"structured": structured, "seed": seed},
    )
