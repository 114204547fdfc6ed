"""Choosing one candidate from a verbalized distribution, seeded.

Every strategy draws from a local :class:`numpy.random.Generator` (from
``seed`` or the ``rng`` you pass); the global ``random`` and ``numpy.random``
states are never touched. A seeded ``weighted`` or ``uniform`` choice (one a
batch row makes) computes the draw ``Generator(PCG64(seed))`` would make on
Python numbers, without building the generator: the same choice, for less.

Example:
    >>> from vs_common.distribution import VerbalizedDistribution
    >>> d = VerbalizedDistribution.from_pairs([("common", 0.7), ("rare", 0.05)])
    >>> select(d, "argmax").text
    'common'
    >>> select(d, "tail", threshold=0.1, seed=1).text
    'rare'
"""

from __future__ import annotations

import bisect
import itertools
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
    "draw_index",
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
    if strategy in ("weighted", "uniform") and rng is None:
        # The common case on Python floats (a batch selects once per row): the same
        # checks, weights and draw as below, without numpy's per-call costs.
        check_strategy(strategy, threshold=threshold, temperature=temperature)
        n = _count(dist)
        w = dist.probabilities.tolist() if strategy == "weighted" else [1.0 / n] * n
        if _drawable(w):
            if type(seed) is int and 0 <= seed < _SEED_LIMIT:
                u = _seeded_double(seed)
            else:
                u = np.random.Generator(np.random.PCG64(seed)).random()
            return dist.candidates[_draw(w, u)]
    weights = selection_weights(dist, strategy, threshold=threshold, temperature=temperature)
    if strategy == "argmax" or (strategy == "tail" and np.count_nonzero(weights) == 1):
        return dist.candidates[int(np.argmax(weights))]
    # default_rng(seed) is Generator(PCG64(seed)); built directly, it skips default_rng's checks.
    gen = rng if rng is not None else np.random.Generator(np.random.PCG64(seed))
    return dist.candidates[draw_index(gen, weights)]


# numpy's tolerance for probabilities that should sum to 1 (Generator.choice).
_SUM_TOLERANCE = math.sqrt(float(np.finfo(np.float64).eps))


def draw_index(gen: np.random.Generator, weights: npt.NDArray[np.float64]) -> int:
    """The index ``gen.choice(len(weights), p=weights)`` draws, for a fraction of its cost.

    It is numpy's own algorithm, so the draw (and what it takes from ``gen``)
    is the same: one uniform double ``u``, and the first index whose
    cumulative weight, divided by the total, exceeds ``u``. Done on a few
    Python floats it takes about 2 µs where ``choice`` spends 20 µs on
    checks and array set-up (a batch draws once per row). Weights that
    ``choice`` would reject (negative, NaN, infinite, not summing to 1) go
    to ``choice``, which raises as it always did.

    Example:
        >>> w = np.array([0.5, 0.3, 0.2])
        >>> draw_index(np.random.default_rng(3), w) == np.random.default_rng(3).choice(3, p=w)
        True
    """
    w = weights.tolist()
    if not _drawable(w):
        return int(gen.choice(len(w), p=weights))
    return _draw(w, gen.random())


def _drawable(w: list[float]) -> bool:
    """Weights ``Generator.choice`` accepts: finite, not negative, summing to 1."""
    return all(0.0 <= x < math.inf for x in w) and abs(math.fsum(w) - 1.0) <= _SUM_TOLERANCE / 2


def _draw(w: list[float], u: float) -> int:
    """The index ``choice`` draws with the uniform double ``u``."""
    cdf = list(itertools.accumulate(w))  # np.cumsum adds in the same order
    total = cdf[-1]
    return bisect.bisect_right([c / total for c in cdf], u)


# What Generator(PCG64(seed)).random() computes, on Python ints (numpy's seeding takes
# about 20 µs a call, most of it in checks, where the arithmetic takes a few): numpy's
# SeedSequence (bit_generator.pyx: hashmix, mix, generate_state) seeds a PCG64
# (pcg64.h: pcg64_set_seed, then one step and the XSL-RR output, numpy's order),
# and the 64-bit output becomes a double in [0, 1). A test checks it against numpy
# for thousands of seeds of every size up to 128 bits; larger seeds go to numpy.
_SEED_LIMIT = 1 << 128
_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1


def _hash_constants(init: int, mult: int, count: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Hashmix's xor constants and multipliers in turn: each call advances the multiplier."""
    xs: list[int] = []
    ms: list[int] = []
    h = init
    for _ in range(count):
        xs.append(h)
        h = (h * mult) & _M32
        ms.append(h)
    return tuple(xs), tuple(ms)


_HASH_A = _hash_constants(0x43B0D7E5, 0x931E8875, 16)  # mixing the entropy into the pool
_HASH_B = _hash_constants(0x8B51F9DD, 0x58F38DED, 8)  # generating the state from the pool
_MIX_L = 0xCA01F9DD
_MIX_R = 0x4973F715
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645


def _seeded_double(seed: int) -> float:
    """``np.random.Generator(np.random.PCG64(seed)).random()`` for 0 <= seed < 2**128."""
    x, m = _HASH_A
    # The pool: the seed's four 32-bit words (low first), each hashed...
    v = (((seed & _M32) ^ x[0]) * m[0]) & _M32
    p0 = v ^ (v >> 16)
    v = ((((seed >> 32) & _M32) ^ x[1]) * m[1]) & _M32
    p1 = v ^ (v >> 16)
    v = ((((seed >> 64) & _M32) ^ x[2]) * m[2]) & _M32
    p2 = v ^ (v >> 16)
    v = ((((seed >> 96) & _M32) ^ x[3]) * m[3]) & _M32
    p3 = v ^ (v >> 16)
    # ...then each word, hashed, mixed into every other one, in order (numpy's mix(),
    # written out: a call each costs more than the arithmetic).
    v = ((p0 ^ x[4]) * m[4]) & _M32
    r = (_MIX_L * p1 - _MIX_R * (v ^ (v >> 16))) & _M32
    p1 = r ^ (r >> 16)
    v = ((p0 ^ x[5]) * m[5]) & _M32
    r = (_MIX_L * p2 - _MIX_R * (v ^ (v >> 16))) & _M32
    p2 = r ^ (r >> 16)
    v = ((p0 ^ x[6]) * m[6]) & _M32
    r = (_MIX_L * p3 - _MIX_R * (v ^ (v >> 16))) & _M32
    p3 = r ^ (r >> 16)
    v = ((p1 ^ x[7]) * m[7]) & _M32
    r = (_MIX_L * p0 - _MIX_R * (v ^ (v >> 16))) & _M32
    p0 = r ^ (r >> 16)
    v = ((p1 ^ x[8]) * m[8]) & _M32
    r = (_MIX_L * p2 - _MIX_R * (v ^ (v >> 16))) & _M32
    p2 = r ^ (r >> 16)
    v = ((p1 ^ x[9]) * m[9]) & _M32
    r = (_MIX_L * p3 - _MIX_R * (v ^ (v >> 16))) & _M32
    p3 = r ^ (r >> 16)
    v = ((p2 ^ x[10]) * m[10]) & _M32
    r = (_MIX_L * p0 - _MIX_R * (v ^ (v >> 16))) & _M32
    p0 = r ^ (r >> 16)
    v = ((p2 ^ x[11]) * m[11]) & _M32
    r = (_MIX_L * p1 - _MIX_R * (v ^ (v >> 16))) & _M32
    p1 = r ^ (r >> 16)
    v = ((p2 ^ x[12]) * m[12]) & _M32
    r = (_MIX_L * p3 - _MIX_R * (v ^ (v >> 16))) & _M32
    p3 = r ^ (r >> 16)
    v = ((p3 ^ x[13]) * m[13]) & _M32
    r = (_MIX_L * p0 - _MIX_R * (v ^ (v >> 16))) & _M32
    p0 = r ^ (r >> 16)
    v = ((p3 ^ x[14]) * m[14]) & _M32
    r = (_MIX_L * p1 - _MIX_R * (v ^ (v >> 16))) & _M32
    p1 = r ^ (r >> 16)
    v = ((p3 ^ x[15]) * m[15]) & _M32
    r = (_MIX_L * p2 - _MIX_R * (v ^ (v >> 16))) & _M32
    p2 = r ^ (r >> 16)
    # generate_state(4, uint64): eight words from the pool in turn, read in pairs
    # (low word first) as seed high, seed low, increment high, increment low.
    w: list[int] = []
    for p, xb, mb in zip((p0, p1, p2, p3, p0, p1, p2, p3), *_HASH_B, strict=True):
        v = ((p ^ xb) * mb) & _M32
        w.append(v ^ (v >> 16))
    initstate = (w[1] << 96) | (w[0] << 64) | (w[3] << 32) | w[2]
    inc = (w[5] << 97) | (w[4] << 65) | (w[7] << 33) | (w[6] << 1) | 1
    # pcg64_set_seed (state 0, step, add initstate, step), then next64 (step, output);
    # bits of inc above 128 vanish in the final mask.
    state = (((inc + initstate) * _PCG_MULT + inc) * _PCG_MULT + inc) & _M128
    xored = ((state >> 64) ^ state) & _M64
    rot = state >> 122
    out = ((xored >> rot) | (xored << (64 - rot))) & _M64
    return (out >> 11) * (1.0 / 9007199254740992.0)  # numpy's next_double
