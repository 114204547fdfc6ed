"""Choosing one candidate from a verbalized distribution, seeded.

Every strategy draws with :meth:`numpy.random.Generator.choice` from a local
generator (``np.random.default_rng(seed)``, or the ``rng`` you pass); the
global ``random`` and ``numpy.random`` states are never touched.

Example:
    >>> from vs_common.distribution import VerbalizedDistribution
    >>> d = VerbalizedDistribution.from_pairs([("common", 0.7), ("rare", 0.05)])
    >>> select(d, "argmax").text
    'common'
    >>> select(d, "tail", threshold=0.1, seed=1).text
    'rare'
"""

from __future__ import annotations

import math
from typing import TypeVar, get_args

import numpy as np
import numpy.typing as npt

from vs_common.errors import VSConfigError, VSSamplingError
from vs_common.types import CandidateView, DistributionView, Strategy

__all__ = [
    "STRATEGIES",
    "Strategy",
    "check_strategy",
    "select",
    "selection_weights",
]

C = TypeVar("C", bound=CandidateView)

STRATEGIES: tuple[str, ...] = get_args(Strategy)


def check_strategy(
    strategy: str, *, threshold: float | None = None, temperature: float | None = None
) -> None:
    """Check a strategy and its option up front (adapters call it at construction).

    Raises:
        VSConfigError: An unknown strategy, ``tail`` without a threshold in
            (0, 1], or ``temperature`` without a temperature > 0.

    Example:
        >>> check_strategy("tail", threshold=0.1)
        >>> check_strategy("tail")
        Traceback (most recent call last):
        ...
        vs_common.errors.VSConfigError: the tail strategy needs a threshold in (0, 1], got None
    """
    if strategy not in STRATEGIES:
        msg = f"unknown selection strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
        raise VSConfigError(msg, field="strategy")
    if strategy == "tail" and (
        threshold is None or not (math.isfinite(threshold) and 0.0 < threshold <= 1.0)
    ):
        msg = f"the tail strategy needs a threshold in (0, 1], got {threshold}"
        raise VSConfigError(msg, field="threshold")
    if strategy == "temperature" and (
        temperature is None or not (math.isfinite(temperature) and temperature > 0.0)
    ):
        msg = f"the temperature strategy needs a temperature > 0, got {temperature}"
        raise VSConfigError(msg, field="temperature")


def _count(dist: DistributionView[CandidateView]) -> int:
    """How many candidates ``dist`` holds.

    Raises:
        VSConfigError: The distribution is empty.
        VSSamplingError: It is empty because its calls failed (the failures are attached).
    """
    n = len(dist.candidates)
    if n == 0 and dist.failures:
        first = dist.failures[0]
        msg = (
            f"no candidate to select: all {dist.num_calls or len(dist.failures)} calls failed;"
            f" first failure: {first.error_type}: {first.message[:200]}"
        )
        raise VSSamplingError(msg, partial=None, failures=list(dist.failures))
    if n == 0:
        msg = "cannot select from an empty distribution"
        raise VSConfigError(msg, field="distribution")
    return n


def selection_weights(
    dist: DistributionView[CandidateView],
    strategy: Strategy = "weighted",
    *,
    threshold: float | None = None,
    temperature: float | None = None,
) -> npt.NDArray[np.float64]:
    """The probabilities a strategy draws with (they sum to 1).

    * ``weighted``: the verbalized probabilities.
    * ``uniform``: equal weights (the paper's "random" choice).
    * ``argmax``: all mass on the most probable (first on ties).
    * ``tail``: weighted among candidates whose stated probability is below
      ``threshold``; if none is, all mass on the least probable.
    * ``temperature``: p ** (1 / T), renormalized (T > 1 flattens, T < 1 sharpens).

    Raises:
        VSConfigError: Unknown strategy, missing or bad threshold/temperature,
            or an empty distribution.
        VSSamplingError: The distribution is empty because its calls failed
            (the failures are attached).
    """
    check_strategy(strategy, threshold=threshold, temperature=temperature)
    n = _count(dist)
    p = dist.probabilities
    if strategy == "weighted":
        return p
    if strategy == "uniform":
        return np.full(n, 1.0 / n)
    if strategy == "argmax":
        w = np.zeros(n)
        w[int(np.argmax(p))] = 1.0
        return w
    if strategy == "tail" and threshold is not None:
        stated = np.array(
            [
                c.raw_probability if c.raw_probability is not None else c.probability
                for c in dist.candidates
            ]
        )
        mask = stated < threshold
        if not mask.any():
            w = np.zeros(n)
            w[int(np.argmin(stated))] = 1.0
            return w
        w = np.where(mask, p, 0.0).astype(np.float64)
        total = float(w.sum())
        if total > 0:
            return np.asarray(w / total, dtype=np.float64)
        return np.asarray(mask / mask.sum(), dtype=np.float64)
    if temperature is None:  # unreachable after check_strategy; keeps the type narrow
        msg = "the temperature strategy needs a temperature"
        raise VSConfigError(msg, field="temperature")
    logp = np.log(np.clip(p, 1e-300, None)) / temperature
    logp -= logp.max()
    w = np.exp(logp)
    return np.asarray(w / w.sum(), dtype=np.float64)


def select(
    dist: DistributionView[C],
    strategy: Strategy = "weighted",
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    threshold: float | None = None,
    temperature: float | None = None,
) -> C:
    """Choose one candidate from ``dist``.

    Args:
        dist: The distribution to choose from.
        strategy: One of ``weighted``, ``uniform``, ``argmax``, ``tail``,
            ``temperature`` (see :func:`selection_weights`).
        seed: Seed of a fresh local generator (same seed, same choice).
        rng: A generator to draw from instead (advances it); not with seed.
        threshold: For ``tail``.
        temperature: For ``temperature``.

    Returns:
        The chosen candidate.

    Raises:
        VSConfigError: Bad strategy or options, seed and rng both given, or
            an empty distribution.
    """
    if seed is not None and rng is not None:
        msg = "pass either seed or rng, not both"
        raise VSConfigError(msg, field="seed")
    weights = selection_weights(dist, strategy, threshold=threshold, temperature=temperature)
    if strategy == "argmax" or (strategy == "tail" and np.count_nonzero(weights) == 1):
        return dist.candidates[int(np.argmax(weights))]
    gen = rng if rng is not None else np.random.default_rng(seed)
    return dist.candidates[int(gen.choice(len(weights), p=weights))]
