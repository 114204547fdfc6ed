"""The Vendi score and the distinct-class count: against their published definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vs_common.errors import VSConfigError
from vs_common.metrics import (
    CLASS_SIMILARITY,
    distinct_classes,
    diversity_report,
    equivalence_classes,
    vendi_score,
)

# --------------------------------------------------------------------------- vendi


def vendi_package_score_k(k: np.ndarray, q: float = 1) -> float:
    """vendi-score 0.0.3's ``score_K(K, q=1, p=None, normalize=False)``, as it reads.

    ``weight_K``: ``K / K.shape[0]``; eigenvalues by ``scipy.linalg.eigvalsh``
    (numpy's here: the same LAPACK routine); ``entropy_q``: ``p_ = p[p > 0]``,
    ``-(p_ * log p_).sum()`` for q = 1; the score is ``exp`` of that.
    """
    k_ = k / k.shape[0]
    w = np.linalg.eigvalsh(k_)
    p_ = w[w > 0]
    return float(np.exp(-(p_ * np.log(p_)).sum()))


def vendi_package_score_x(x: np.ndarray) -> float:
    """vendi-score's ``score_X(X, q=1, normalize=True)``: rows L2-normalized, linear kernel."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return vendi_package_score_k(x @ x.T)


def test_vendi_of_the_package_readme_matrix() -> None:
    # The package's own example kernel: two identical items and one apart.
    k = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert vendi_package_score_k(k) == pytest.approx(1.8899, abs=1e-4)
    assert vendi_score([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]) == pytest.approx(1.8899, abs=1e-4)


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_vendi_bounds(n: int) -> None:
    assert vendi_score(np.eye(n)) == pytest.approx(n)  # all distinct: n
    assert vendi_score(np.ones((n, 3))) == pytest.approx(1.0)  # all the same: 1


def test_vendi_cannot_be_padded_where_the_mean_of_pairs_can() -> None:
    # Ten copies of one answer and one other answer: one effective answer and a bit.
    vectors = [[1.0, 0.0]] * 10 + [[0.0, 1.0]]
    assert vendi_score(vectors) == pytest.approx(1.3561, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 9), st.integers(1, 6)),
        elements=st.floats(-10, 10, allow_nan=False, width=32),
    )
)
def test_vendi_agrees_with_the_package_definition(x: np.ndarray) -> None:
    assume((np.linalg.norm(x, axis=1) > 1e-3).all())  # zero vectors: refused, tested below
    ours = vendi_score(x)
    assert ours == pytest.approx(vendi_package_score_x(x), rel=1e-9, abs=1e-9)
    assert 1.0 - 1e-9 <= ours <= len(x) + 1e-9
    # Scale of a vector does not matter (cosine kernel), nor the order of items.
    assert vendi_score(x[::-1] * 3.0) == pytest.approx(ours, rel=1e-9)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ([], "shape"),
        (np.zeros((0, 3)), "at least 1"),
        ([[0.0, 0.0], [1.0, 0.0]], "zero vector"),
        ([[1.0, float("nan")]], "NaN"),
        ([1.0, 2.0], "shape"),
    ],
)
def test_vendi_refuses_bad_embeddings(bad: object, words: str) -> None:
    with pytest.raises(VSConfigError, match=words):
        vendi_score(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- classes


def test_classes_follow_noveltybench_representatives() -> None:
    # b is near a and near c, but c is not near a: NoveltyBench compares each
    # item with the class representative (a), so c opens a class of its own.
    a, b, c = [1.0, 0.0], [np.cos(0.4), np.sin(0.4)], [np.cos(0.8), np.sin(0.8)]
    assert equivalence_classes([a, b, c], threshold=0.9) == [[0, 1], [2]]
    # In another order the representative changes, and so do the classes.
    assert equivalence_classes([b, a, c], threshold=0.9) == [[0, 1, 2]]


def test_classes_merge_equal_keys_whatever_the_vectors() -> None:
    vectors = [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    assert equivalence_classes(vectors, threshold=0.99, keys=["x", "y", "x"]) == [[0, 2], [1]]
    with pytest.raises(VSConfigError, match="one key per item"):
        equivalence_classes(vectors, keys=["x"])


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan"), True])
def test_classes_refuse_a_bad_threshold(threshold: float) -> None:
    with pytest.raises(VSConfigError, match="threshold"):
        equivalence_classes([[1.0, 0.0]], threshold=threshold)


def test_distinct_classes_on_texts() -> None:
    def fake(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts]

    assert distinct_classes(["a cat", "the cat", "a dog", "A DOG!"], fake) == 2
    assert distinct_classes([], fake) == 0
    # Texts of one key are one class even when the embedder says otherwise.
    assert distinct_classes(["Ohio", "ohio."], lambda ts: [[1.0, 0.0], [0.0, 1.0]]) == 1
    assert CLASS_SIMILARITY == 0.85


def test_diversity_report_carries_the_new_metrics() -> None:
    def fake(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts]

    report = diversity_report(["a cat", "my cat", "a dog", "the dog"], fake)
    assert report.vendi_score == pytest.approx(2.0)
    assert report.distinct_classes == 2
    plain = diversity_report(["a cat", "a dog"])
    assert plain.vendi_score is None and plain.distinct_classes is None
