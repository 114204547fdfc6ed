"""The verbalized distribution: candidates, normalization, pooling.

Example:
    >>> dist = VerbalizedDistribution.from_pairs([("A joke", 0.6), ("Another", 0.2)])
    >>> [round(c.probability, 2) for c in dist.candidates]
    [0.75, 0.25]
    >>> dist.sample(seed=7).text in dist.texts
    True
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from vs_common.errors import VSConfigError
from vs_common.selection import select
from vs_common.types import CallFailure, DistinctStats, StopReason, Strategy, Usage

__all__ = [
    "CallFailure",
    "Candidate",
    "DistinctStats",
    "StopReason",
    "VerbalizedDistribution",
    "normalize_key",
    "pool",
]


class Candidate(BaseModel):
    """One candidate response with its probability.

    Attributes:
        text: The response text (labels, numbering and markup removed).
        probability: Normalized probability (the candidates of a distribution
            sum to 1).
        raw_probability: The probability as the model stated it, converted to
            a fraction (``"25%"`` -> 0.25); None when it stated none or an
            unusable one.
        index: Position in the distribution.
        count: How many identical responses were merged into this one when
            pooling several calls.

    Example:
        >>> Candidate(text="Hi", probability=1.0).count
        1
    """

    model_config = ConfigDict(frozen=True)

    text: str
    probability: float
    raw_probability: float | None = None
    index: int = 0
    count: int = 1


def normalize_key(text: str) -> str:
    """The key under which two responses count as duplicates.

    Case, white space and surrounding punctuation are ignored.

    Example:
        >>> normalize_key("  Why did the Coffee file a police report?! ")
        'why did the coffee file a police report'
    """
    # str methods where regular expressions cost a few µs a call (a batch pools every
    # candidate): split() splits on exactly what \s matches, and a character is in
    # [\W_] exactly when it is not isalnum(); a test checks both over all of Unicode.
    folded = " ".join(text.casefold().split())
    start, end = 0, len(folded)
    while start < end and not folded[start].isalnum():
        start += 1
    while end > start and not folded[end - 1].isalnum():
        end -= 1
    return folded[start:end] or folded


class VerbalizedDistribution(BaseModel):
    """Candidates with normalized probabilities, as returned by a VS call or run.

    Attributes:
        candidates: The candidates in the model's order.
        reasoning: The reasoning of a VS-CoT reply, if any.
        repairs: What the parser had to fix (imputed probabilities, dropped
            cut-off candidates, repaired JSON...).
        usage: Token usage summed over the calls that produced it.
        failures: Calls of a run that produced nothing (errors kept, not lost).
        num_calls: Calls made to produce it (0 for a single parse), top-up
            calls included.
        requested: The number of samples a run was asked for (n); None for a
            single parse.
        shortfall: How many of the ``requested`` samples a run could not
            deliver even after its top-up calls (0 when it holds n or more).
        top_up_calls: Calls a run made beyond its planned ceil(n/k) because
            replies were cut short or calls failed.
        distinct: For a distinct-N run (``run_sampling(..., distinct=...)``):
            how many distinct, after how many calls, and why it stopped.
        history: What was done to it after sampling, in order: each
            :meth:`filter` (with a relaxed tail threshold, if any),
            :meth:`map` and :meth:`reweight`.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("a", 30), ("b", 70)])
        >>> d.top(1)[0].text, d.candidates[0].raw_probability
        ('b', 0.3)
    """

    model_config = ConfigDict(frozen=True)

    candidates: list[Candidate]
    reasoning: str | None = None
    repairs: list[str] = Field(default_factory=list)
    usage: Usage | None = None
    failures: list[CallFailure] = Field(default_factory=list)
    num_calls: int = 0
    requested: int | None = None
    shortfall: int = 0
    top_up_calls: int = 0
    distinct: DistinctStats | None = None
    history: list[str] = Field(default_factory=list)

    @classmethod
    def from_pairs(
        cls,
        pairs: Iterable[tuple[str, float | None]],
        *,
        reasoning: str | None = None,
        repairs: Sequence[str] = (),
    ) -> VerbalizedDistribution:
        """Build a normalized distribution from (text, stated probability) pairs.

        Stated probabilities are fractions or percentages (if any value is
        above 1, all are read as percentages). Empty texts are dropped; a
        missing, negative, non-finite or absurd (> 100) probability is
        imputed as the mean of the valid ones; all-zero becomes uniform.
        Every such fix is recorded in ``repairs``.

        Args:
            pairs: Texts with what the model stated (None when nothing).
            reasoning: Reasoning text to keep (VS-CoT).
            repairs: Repairs already made by the caller (e.g. the parser).

        Returns:
            The distribution (possibly with no candidates if all were empty).
        """
        notes = list(repairs)
        kept: list[tuple[str, float | None]] = []
        dropped = 0
        for text, prob in pairs:
            clean = text.strip()
            if not clean:
                dropped += 1
                continue
            kept.append((clean, prob))
        if dropped:
            notes.append(f"dropped {dropped} candidate(s) with empty text")
        raws = _clean_raw(kept, notes)
        probs = _impute(raws, notes)
        total = math.fsum(probs)
        if kept and total <= 0.0:
            notes.append("all probabilities were zero; used uniform weights")
            probs = [1.0] * len(kept)
            total = float(len(kept))
        candidates = [
            Candidate(text=text, probability=p / total, raw_probability=raw, index=i)
            for i, ((text, _), p, raw) in enumerate(zip(kept, probs, raws, strict=True))
        ]
        return cls(candidates=candidates, reasoning=reasoning, repairs=notes)

    def __len__(self) -> int:
        return len(self.candidates)

    @property
    def texts(self) -> list[str]:
        """The candidate texts, in order."""
        return [c.text for c in self.candidates]

    @property
    def probabilities(self) -> npt.NDArray[np.float64]:
        """Normalized probabilities as a numpy array that sums to 1."""
        return np.array([c.probability for c in self.candidates], dtype=np.float64)

    @property
    def num_samples(self) -> int:
        """Responses sampled in all: the candidates' ``count`` summed (duplicates included)."""
        return sum(c.count for c in self.candidates)

    def all_texts(self) -> list[str]:
        """Every sampled response, duplicates repeated ``count`` times."""
        return [c.text for c in self.candidates for _ in range(c.count)]

    def top(self, n: int = 1) -> list[Candidate]:
        """The n most probable candidates, most probable first (stable on ties)."""
        order = sorted(self.candidates, key=lambda c: (-c.probability, c.index))
        return order[: max(0, n)]

    def sample(
        self,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        strategy: Strategy = "weighted",
        **options: Any,
    ) -> Candidate:
        """Draw one candidate; see :func:`vs_common.selection.select`."""
        return select(self, strategy, seed=seed, rng=rng, **options)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``from_dict`` reads it back)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerbalizedDistribution:
        """Read a dict written by :meth:`to_dict`."""
        return cls.model_validate(data)

    @classmethod
    def pool(cls, dists: Iterable[VerbalizedDistribution]) -> VerbalizedDistribution:
        """Pool several calls' distributions; see :func:`pool`."""
        return pool(dists)

    # -- operations: each returns a new distribution ---------------------------------

    def filter(
        self,
        predicate: Callable[[Candidate], bool] | None = None,
        *,
        below: float | None = None,
        min_k_survivors: int = 0,
    ) -> VerbalizedDistribution:
        """The candidates that pass, probabilities renormalized among them.

        ``below=tau`` keeps the tail: the candidates whose *stated*
        probability (``raw_probability``, else ``probability``) is below tau,
        the rule of the ``tail`` selection strategy and of the paper's tail
        prompt. When fewer than ``min_k_survivors`` are below it, tau is
        relaxed to the lowest value that keeps that many (the least probable
        ones; ties at the boundary are all kept), and :attr:`history` says so.
        (The authors' package keeps p >= tau instead, which drops the very
        tail that the tail prompt asks for.)

        Args:
            predicate: Keep a candidate when this returns True.
            below: Keep stated probabilities below this tail threshold, in (0, 1].
            min_k_survivors: With ``below``: the fewest candidates to keep.

        Returns:
            A new distribution; ``raw_probability``, ``count``, ``repairs``
            and the run's records are kept, ``index`` is renumbered.

        Raises:
            VSConfigError: Neither ``predicate`` nor ``below``, a bad value,
                or no candidate left.

        Example:
            >>> d = VerbalizedDistribution.from_pairs([("a", 0.5), ("b", 0.3), ("c", 0.2)])
            >>> d.filter(below=0.25).texts
            ['c']
            >>> relaxed = d.filter(below=0.25, min_k_survivors=2)
            >>> relaxed.texts, [round(c.probability, 2) for c in relaxed.candidates]
            (['b', 'c'], [0.6, 0.4])
            >>> relaxed.history[-1]
            'filter: 1 of 3 candidates below tau=0.25, fewer than 2; tau relaxed to 0.3: kept 2'
        """
        if predicate is None and below is None:
            msg = "filter needs a predicate, below=tau, or both"
            raise VSConfigError(msg, field="predicate")
        if below is not None and (
            isinstance(below, bool) or not math.isfinite(below) or not 0.0 < below <= 1.0
        ):
            msg = f"below must be a tail threshold in (0, 1], got {below!r}"
            raise VSConfigError(msg, field="below")
        if isinstance(min_k_survivors, bool) or min_k_survivors < 0:
            msg = f"min_k_survivors must be an integer >= 0, got {min_k_survivors!r}"
            raise VSConfigError(msg, field="min_k_survivors")
        kept = list(self.candidates)
        notes: list[str] = []
        if predicate is not None:
            kept = [c for c in kept if predicate(c)]
            notes.append(f"filter: {len(kept)} of {len(self)} kept by {_name(predicate)}")
        if below is not None:
            kept, note = _tail(kept, below, min_k_survivors)
            notes.append(note)
        if not kept:
            msg = f"the filter kept none of the {len(self)} candidates ({'; '.join(notes)})"
            raise VSConfigError(msg, field="below" if predicate is None else "predicate")
        return self._with(kept, [c.probability for c in kept], notes)

    def map(self, fn: Callable[[Candidate], str]) -> VerbalizedDistribution:
        """New texts, ``fn(candidate)``, with the same probabilities.

        Candidates that end up with the same text stay separate (pool them
        with :func:`pool` to merge them).

        Raises:
            VSConfigError: ``fn`` returned something that is not a string.

        Example:
            >>> d = VerbalizedDistribution.from_pairs([("decaf", 0.75), ("latte", 0.25)])
            >>> d.map(lambda c: c.text.title()).texts
            ['Decaf', 'Latte']
        """
        texts: list[str] = []
        for c in self.candidates:
            text: object = fn(c)  # typed str, but user code: checked
            if not isinstance(text, str):
                kind = type(text).__name__
                msg = f"map: {_name(fn)} returned {kind}, not str, for candidate {c.index}"
                raise VSConfigError(msg, field="fn")
            texts.append(text)
        kept = [
            c.model_copy(update={"text": t}) for c, t in zip(self.candidates, texts, strict=True)
        ]
        return self._with(kept, [c.probability for c in kept], [f"map: texts by {_name(fn)}"])

    def reweight(self, fn: Callable[[Candidate], float]) -> VerbalizedDistribution:
        """New probabilities, ``fn(candidate)`` renormalized; stated ones are kept.

        Raises:
            VSConfigError: A weight that is negative, not finite or not a
                number, or all weights zero.

        Example:
            >>> d = VerbalizedDistribution.from_pairs([("a", 0.9), ("bbb", 0.1)])
            >>> r = d.reweight(lambda c: len(c.text))
            >>> [round(c.probability, 2) for c in r.candidates], r.candidates[0].raw_probability
            ([0.25, 0.75], 0.9)
        """
        weights: list[float] = []
        for c in self.candidates:
            w: object = fn(c)  # typed float, but user code: checked
            value = float(w) if isinstance(w, numbers.Real) else -1.0
            if not (math.isfinite(value) and value >= 0.0):
                msg = (
                    f"reweight: {_name(fn)} gave candidate {c.index} the weight {w!r};"
                    " weights must be finite numbers >= 0"
                )
                raise VSConfigError(msg, field="fn")
            weights.append(value)
        if self.candidates and math.fsum(weights) <= 0.0:
            msg = f"reweight: {_name(fn)} gave every candidate the weight 0"
            raise VSConfigError(msg, field="fn")
        note = f"reweight: probabilities by {_name(fn)}, renormalized"
        return self._with(list(self.candidates), weights, [note])

    def to_markdown(self, max_items: int | None = None, max_chars: int | None = None) -> str:
        r"""A markdown table of the candidates, then what was repaired or done.

        Texts are escaped for a table cell (``|``, line breaks, HTML), so a
        model's text cannot break the table or inject markup.

        Args:
            max_items: Show at most this many (the most probable first stay
                in the model's order); None shows all.
            max_chars: Cut each text to this many characters; None keeps it whole.

        Example:
            >>> d = VerbalizedDistribution.from_pairs([("Decaf | why?", 0.6), ("Latte", 0.4)])
            >>> print(d.to_markdown())
            | # | probability | stated | text |
            |---:|---:|---:|---|
            | 1 | 0.600 | 0.6 | Decaf \| why? |
            | 2 | 0.400 | 0.4 | Latte |
        """
        shown = self.candidates if max_items is None else self.candidates[: max(0, max_items)]
        lines = ["| # | probability | stated | text |", "|---:|---:|---:|---|"]
        for c in shown:
            text = (
                c.text
                if max_chars is None or len(c.text) <= max_chars
                else c.text[:max_chars] + "…"
            )
            stated = "" if c.raw_probability is None else f"{c.raw_probability:g}"
            lines.append(f"| {c.index + 1} | {c.probability:.3f} | {stated} | {_cell(text)} |")
        if len(shown) < len(self.candidates):
            lines.append(f"\n({len(self.candidates) - len(shown)} more)")
        notes = [*(f"- repaired: {_cell(r)}" for r in self.repairs)]
        notes += [f"- {_cell(h)}" for h in self.history]
        if self.failures:
            notes.append(f"- {len(self.failures)} call(s) failed")
        if self.shortfall:
            notes.append(f"- short by {self.shortfall} of the {self.requested} samples asked for")
        if notes:
            lines += ["", *notes]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """Shown by Jupyter and IPython notebooks."""
        return self.to_markdown(max_chars=300)

    def _with(
        self, kept: list[Candidate], weights: list[float], notes: list[str]
    ) -> VerbalizedDistribution:
        """A copy with these candidates, their weights renormalized, and ``notes`` added."""
        total = math.fsum(weights)
        history = [*self.history, *notes]
        if kept and total <= 0.0:
            history.append("all remaining probabilities were zero; used uniform weights")
            weights, total = [1.0] * len(kept), float(len(kept))
        candidates = [
            c.model_copy(update={"probability": w / total, "index": i})
            for i, (c, w) in enumerate(zip(kept, weights, strict=True))
        ]
        return self.model_copy(update={"candidates": candidates, "history": history})


def _stated(c: Candidate) -> float:
    """The probability the model stated (the tail rule of ``select(..., "tail")`` too)."""
    return c.raw_probability if c.raw_probability is not None else c.probability


def _tail(kept: list[Candidate], tau: float, at_least: int) -> tuple[list[Candidate], str]:
    """The candidates stated below ``tau``, relaxing tau to keep ``at_least`` of them."""
    tail = [c for c in kept if _stated(c) < tau]
    need = min(at_least, len(kept))
    note = f"filter: {len(tail)} of {len(kept)} candidates below tau={tau:g}"
    if len(tail) >= need:
        return tail, note
    relaxed = sorted(_stated(c) for c in kept)[need - 1]
    tail = [c for c in kept if _stated(c) <= relaxed]
    return tail, f"{note}, fewer than {need}; tau relaxed to {relaxed:g}: kept {len(tail)}"


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    escaped = html.escape(text, quote=False).replace("|", "\\|")
    return "<br>".join(escaped.splitlines())


def _clean_raw(kept: list[tuple[str, float | None]], notes: list[str]) -> list[float | None]:
    raws: list[float | None] = []
    bad = 0
    for _, prob in kept:
        if prob is None:
            raws.append(None)
        elif not math.isfinite(prob) or prob < 0.0 or prob > 100.0:
            bad += 1
            raws.append(None)
        else:
            raws.append(float(prob))
    if bad:
        notes.append(f"ignored {bad} unusable probabilit{'y' if bad == 1 else 'ies'}")
    if any(r is not None and r > 1.0 for r in raws):
        notes.append("read probabilities as percentages")
        raws = [None if r is None else r / 100.0 for r in raws]
    return raws


def _impute(raws: list[float | None], notes: list[str]) -> list[float]:
    valid = [r for r in raws if r is not None]
    missing = len(raws) - len(valid)
    if not missing:
        return [r for r in raws if r is not None]
    if valid and math.fsum(valid) > 0.0:
        fill = math.fsum(valid) / len(valid)
        notes.append(f"imputed {missing} missing probabilit{'y' if missing == 1 else 'ies'}")
    else:
        fill = 1.0
        if len(raws) > 1 or valid:
            notes.append("no probabilities stated; used uniform weights")
    return [fill if r is None else r for r in raws]


def pool(dists: Iterable[VerbalizedDistribution]) -> VerbalizedDistribution:
    """Pool the distributions of several calls into one.

    Each call gets equal weight; duplicates (same text up to case, white
    space and surrounding punctuation) are merged, their mass added and their
    ``count`` summed. Reasoning, repairs, failures and usage are combined.

    Example:
        >>> a = VerbalizedDistribution.from_pairs([("x", 0.5), ("y", 0.5)])
        >>> b = VerbalizedDistribution.from_pairs([("X!", 1.0)])
        >>> [(c.text, c.probability, c.count) for c in pool([a, b]).candidates]
        [('x', 0.75, 2), ('y', 0.25, 1)]
    """
    items = list(dists)
    nonempty = [d for d in items if d.candidates]
    calls = len(nonempty)
    merged: dict[str, tuple[Candidate, float, int]] = {}  # key: first, mass, count
    for d in nonempty:
        for c in d.candidates:
            key = normalize_key(c.text)
            first, mass, count = merged.get(key) or (c, 0.0, 0)
            merged[key] = (first, mass + c.probability / calls, count + c.count)
    total = math.fsum(mass for _, mass, _ in merged.values()) or 1.0
    candidates = [
        Candidate(
            text=first.text,
            probability=mass / total,
            raw_probability=first.raw_probability,
            index=i,
            count=count,
        )
        for i, (first, mass, count) in enumerate(merged.values())
    ]
    reasons = [d.reasoning for d in items if d.reasoning]
    usages = [d.usage for d in items if d.usage is not None]
    usage: Usage | None = None
    for u in usages:
        usage = u if usage is None else usage + u
    return VerbalizedDistribution(
        candidates=candidates,
        reasoning="\n\n".join(reasons) if reasons else None,
        repairs=[r for d in items for r in d.repairs],
        usage=usage,
        failures=[f for d in items for f in d.failures],
        num_calls=sum(d.num_calls for d in items),
        requested=_sum_known([d.requested for d in items]),
        shortfall=sum(d.shortfall for d in items),
        top_up_calls=sum(d.top_up_calls for d in items),
        history=[h for d in items for h in d.history],
    )


def _sum_known(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
