"""What an experiment of ``vs eval`` declares: its prompts, sizes, answer reading and metrics.

An :class:`Experiment` is data plus two functions: ``answer`` reads one
sample into the answer it gives (or None when it gives none, or an
ambiguous one), and ``score`` turns the samples of one prompt into the
experiment's metrics. :func:`vs_common.evaluation.run_eval` runs every method
on the prompts with the same budget (through ``compare_methods``), averages
each metric over the prompts, as the paper does, and sets each beside the
paper's figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from vs_common.errors import VSConfigError

__all__ = ["Budget", "Experiment", "Metric"]

#: ``answer(prompt_index, sample) -> answer or None``.
AnswerReader = Callable[[int, str], "str | None"]
#: ``score(prompt_index, samples) -> {metric name: value or None}``.
Scorer = Callable[[int, Sequence[str]], Mapping[str, "float | None"]]


@dataclass(frozen=True)
class Budget:
    """How much of an experiment to run.

    Attributes:
        n: Samples per prompt and method.
        k: Candidates per call for list methods.
        prompts: How many of the experiment's prompts (the first ones).

    Example:
        >>> Budget(n=30, k=5, prompts=1).n
        30
    """

    n: int
    k: int
    prompts: int

    def __post_init__(self) -> None:
        """Check the sizes."""
        for name in ("n", "k", "prompts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"Budget.{name} must be an integer >= 1, got {value!r}"
                raise VSConfigError(msg, field=name)


def _frozen(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class Metric:
    """One figure an experiment reports, with the paper's where it has one.

    Attributes:
        name: The key in :attr:`Experiment.score`'s result and the JSON.
        label: The column title.
        higher_is_better: The direction of "better".
        fmt: How to print a value (a format spec).
        paper: The paper's figure by method value (``"direct"``...), where
            the paper gives one.
        paper_note: Where the paper's figures come from, or what the paper
            says when it gives no number.

    Example:
        >>> Metric("kl", "KL", False, paper={"direct": 0.926}).paper["direct"]
        0.926
    """

    name: str
    label: str
    higher_is_better: bool
    fmt: str = ".3f"
    paper: Mapping[str, float] = field(default_factory=dict)
    paper_note: str = ""

    def __post_init__(self) -> None:
        """Freeze the paper's figures."""
        object.__setattr__(self, "paper", _frozen(self.paper))


@dataclass(frozen=True)
class Experiment:
    """A small declared task of ``vs eval``: prompts, answer reading, metrics and sizes.

    Attributes:
        name: Its name on the command line (``vs eval --experiments NAME``).
        title: A one-line title for the report.
        source: Where it comes from (the paper's section, its prompt).
        prompts: The prompts, in order (a budget runs the first ones).
        quick: The ``--quick`` size (within minutes on the embedded model).
        full: The paper's size.
        metrics: The figures ``score`` returns, in display order.
        score: ``(prompt_index, samples) -> {metric: value}`` for one prompt.
        answer: ``(prompt_index, sample) -> answer | None``: how a sample
            is read into the answer it gives; None for free text. With it,
            the valid share, the distinct answers and the Vendi score of the
            answers are reported for every method.
        semantic: Score the samples' embeddings too (semantic diversity,
            Vendi score, classes of meaning), for free text.
        ratio: A metric whose VS / Direct ratio the report shows, with the
            paper's range in ``paper_ratio``.
        paper_ratio: The paper's (low, high) ratio of VS to Direct.

    Example:
        >>> exp = Experiment(
        ...     name="coin",
        ...     title="Flip a coin",
        ...     source="mine",
        ...     prompts=("Flip a fair coin. Answer heads or tails.",),
        ...     quick=Budget(10, 5, 1),
        ...     full=Budget(100, 5, 1),
        ...     metrics=(Metric("heads", "Share of heads", higher_is_better=False),),
        ...     score=lambda i, texts: {
        ...         "heads": sum("head" in t.lower() for t in texts) / len(texts)
        ...     },
        ... )
        >>> exp.score(0, ["Heads!", "tails"])
        {'heads': 0.5}
    """

    name: str
    title: str
    source: str
    prompts: tuple[str, ...]
    quick: Budget
    full: Budget
    metrics: tuple[Metric, ...]
    score: Scorer
    answer: AnswerReader | None = None
    semantic: bool = False
    ratio: str | None = None
    paper_ratio: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        """Check that the sizes fit the prompts and the metric names are unique."""
        if not self.prompts:
            msg = f"experiment {self.name!r} has no prompt"
            raise VSConfigError(msg, field="prompts")
        for budget in (self.quick, self.full):
            if budget.prompts > len(self.prompts):
                msg = (
                    f"experiment {self.name!r} runs {budget.prompts} prompts but has"
                    f" {len(self.prompts)}"
                )
                raise VSConfigError(msg, field="prompts")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            msg = f"experiment {self.name!r} names a metric twice: {names}"
            raise VSConfigError(msg, field="metrics")
