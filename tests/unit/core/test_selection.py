"""Selection strategies: seeded, faithful to the weights, and blind to the global RNG."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from vs_common import (
    CallFailure,
    VerbalizedDistribution,
    VSConfigError,
    VSSamplingError,
    select,
    selection_weights,
)

# Chi-square critical values at alpha = 0.001 by degrees of freedom.
CHI2_CRIT_001 = {1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467}

DATA = Path(__file__).resolve().parents[2] / "data"

DIST = VerbalizedDistribution.from_pairs(
    [("a", 0.5), ("b", 0.25), ("c", 0.15), ("d", 0.07), ("e", 0.03)]
)


def _draw(strategy: str, n: int = 20_000, **kw: float) -> np.ndarray:
    rng = np.random.default_rng(12345)
    counts = np.zeros(len(DIST), dtype=np.int64)
    for _ in range(n):
        counts[select(DIST, strategy, rng=rng, **kw).index] += 1  # type: ignore[arg-type]
    return counts


@pytest.mark.parametrize(
    ("strategy", "kw"),
    [
        ("weighted", {}),
        ("uniform", {}),
        ("temperature", {"temperature": 2.0}),
        ("tail", {"threshold": 0.2}),
    ],
)
def test_draws_match_weights_chi_square(strategy: str, kw: dict[str, float]) -> None:
    weights = selection_weights(DIST, strategy, **kw)  # type: ignore[arg-type]
    counts = _draw(strategy, **kw)
    mask = weights > 0
    assert counts[~mask].sum() == 0
    expected = weights[mask] * counts.sum()
    chi2 = float((((counts[mask] - expected) ** 2) / expected).sum())
    dof = int(mask.sum()) - 1
    assert chi2 < CHI2_CRIT_001[dof], (counts, expected, chi2)


def test_weighted_frequencies_close_to_probabilities() -> None:
    freq = _draw("weighted") / 20_000
    assert np.abs(freq - DIST.probabilities).max() < 0.015


def test_same_seed_same_choice_and_different_seeds_vary() -> None:
    picks = [select(DIST, seed=s).text for s in range(200)]
    assert picks == [select(DIST, seed=s).text for s in range(200)]
    assert len(set(picks)) >= 4


def test_global_random_state_untouched() -> None:
    random.seed(99)
    np.random.seed(99)
    before_py = random.getstate()
    before_np = np.random.get_state()
    for s in range(50):
        select(DIST, seed=s)
        select(DIST, "temperature", temperature=0.5)
        DIST.sample(strategy="uniform")
    assert random.getstate() == before_py
    after_np = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(before_np[1:2], after_np[1:2], strict=True))
    assert before_np[2:] == after_np[2:]


def test_argmax_and_temperature_extremes() -> None:
    assert select(DIST, "argmax").text == "a"
    sharp = selection_weights(DIST, "temperature", temperature=0.01)
    assert sharp[0] == pytest.approx(1.0)
    flat = selection_weights(DIST, "temperature", temperature=1e6)
    assert flat == pytest.approx(np.full(5, 0.2), abs=1e-4)


def test_tail_uses_stated_probabilities_and_falls_back_to_least_probable() -> None:
    w = selection_weights(DIST, "tail", threshold=0.1)
    assert w.tolist() == pytest.approx([0, 0, 0, 0.7, 0.3])
    assert select(DIST, "tail", threshold=0.01).text == "e"


@pytest.mark.parametrize(
    ("strategy", "kw", "field"),
    [
        ("bogus", {}, "strategy"),
        ("tail", {}, "threshold"),
        ("tail", {"threshold": 1.5}, "threshold"),
        ("temperature", {}, "temperature"),
        ("temperature", {"temperature": 0.0}, "temperature"),
    ],
)
def test_bad_options_raise_config_error(strategy: str, kw: dict[str, float], field: str) -> None:
    with pytest.raises(VSConfigError) as info:
        select(DIST, strategy, seed=1, **kw)  # type: ignore[arg-type]
    assert info.value.field == field


def test_seed_and_rng_together_rejected() -> None:
    with pytest.raises(VSConfigError, match="either seed or rng"):
        select(DIST, seed=1, rng=np.random.default_rng(1))


def test_empty_distribution_rejected() -> None:
    with pytest.raises(VSConfigError, match="empty"):
        select(VerbalizedDistribution(candidates=[]), seed=1)


def test_empty_because_calls_failed_is_a_sampling_error_with_the_failures() -> None:
    failure = CallFailure(call_index=0, attempts=2, error_type="VSTransientError", message="503")
    empty = VerbalizedDistribution(candidates=[], failures=[failure], num_calls=1)
    with pytest.raises(VSSamplingError, match=r"all 1 calls failed.*503") as info:
        select(empty, seed=1)
    assert info.value.failures == [failure]


def _weight_vectors(count: int) -> list[np.ndarray]:
    """Random weights of 1 to 12 candidates, some zero, some tiny, normalized like a dist's."""
    rnd = random.Random(0)
    out = []
    while len(out) < count:
        w = np.array([rnd.random() ** rnd.choice([1, 3, 8]) for _ in range(rnd.randint(1, 12))])
        if rnd.random() < 0.2:
            w[rnd.randrange(len(w))] = 0.0
        if w.sum() > 0:
            out.append(w / w.sum())
    return out


def test_seeded_select_is_numpy_choice_for_every_strategy() -> None:
    dists = [
        VerbalizedDistribution.from_pairs([(f"c{j}", float(x)) for j, x in enumerate(w)])
        for w in _weight_vectors(300)
    ]
    options = {"tail": {"threshold": 0.3}, "temperature": {"temperature": 0.7}}
    for seed, dist in enumerate(dists):
        for strategy in ("weighted", "uniform", "tail", "temperature"):
            kw = options.get(strategy, {})
            w = selection_weights(dist, strategy, **kw)  # type: ignore[arg-type]
            if strategy == "tail" and np.count_nonzero(w) == 1:
                continue  # no draw
            expected = int(np.random.default_rng(seed).choice(len(w), p=w))
            assert select(dist, strategy, seed=seed, **kw).index == expected  # type: ignore[arg-type]


def _choices_cases() -> list[tuple[int, str, list[float]]]:
    """The cases of tests/data/selection_choices_before.txt (made by the same rule)."""
    rnd = random.Random(19)
    sizes = (1, 8, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128)
    cases = []
    for i in range(5000):
        n = rnd.randint(1, 10)
        probs = [rnd.random() ** rnd.choice([1, 3, 8]) + 1e-9 for _ in range(n)]
        seed = rnd.getrandbits(rnd.choice(sizes))
        cases.append((seed, ("weighted", "uniform", "temperature", "tail")[i % 4], probs))
    return cases


def test_the_same_seeds_make_the_same_choices_as_before() -> None:
    # The choices the previous selection code made (a hand copy of numpy's seeding
    # and draw, now numpy's own Generator), recorded for 5000 seeds of every size
    # up to 128 bits: a seeded choice a user made before is the same now.
    expected = (DATA / "selection_choices_before.txt").read_text().strip()
    options = {"temperature": {"temperature": 0.7}, "tail": {"threshold": 0.3}}
    got = []
    for seed, strategy, probs in _choices_cases():
        dist = VerbalizedDistribution.from_pairs([(f"c{j}", p) for j, p in enumerate(probs)])
        kw = options.get(strategy, {})
        got.append(str(select(dist, strategy, seed=seed, **kw).index))  # type: ignore[arg-type]
    assert "".join(got) == expected


@pytest.mark.parametrize("seed", [2**128, 2**200 + 17, np.uint64(5), None])
def test_seeds_beyond_the_fast_draw_still_draw_as_numpy(seed: object) -> None:
    weights = selection_weights(DIST, "weighted")
    chosen = {select(DIST, "weighted", seed=seed).index for _ in range(3)}  # type: ignore[arg-type]
    if seed is not None:
        expected = int(np.random.default_rng(seed).choice(len(weights), p=weights))  # type: ignore[arg-type]
        assert chosen == {expected}
    else:
        assert chosen <= set(range(len(DIST)))


def test_a_negative_seed_is_refused_as_numpy_refuses_it() -> None:
    with pytest.raises(ValueError, match="negative"):
        select(DIST, "uniform", seed=-1)
