"""The verbalized distribution: candidates, normalization, pooling.

Example:
    >>> dist = VerbalizedDistribution.from_pairs([("A joke", 0.6), ("Another", 0.2)])
    >>> [round(c.probability, 2) for c in dist.candidates]
    [0.75, 0.25]
    >>> dist.sample(seed=7).text in dist.texts
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

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
    )


def _sum_known(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
