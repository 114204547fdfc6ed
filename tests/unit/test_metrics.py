"""vs_common.metrics: each metric against values worked out by hand."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.metrics import (
    DiversityReport,
    answer_frequencies,
    compression_ratio,
    coverage_n,
    distinct_n,
    diversity_report,
    embed_texts,
    embedding_diversity,
    entropy,
    kl_divergence,
    lcs_length,
    mean_absolute_gap,
    pairwise_rouge_l,
    precision,
    rouge_l,
    semantic_diversity,
    tail_mass,
    tokenize,
)

# --------------------------------------------------------------------------- fakes


def topic_vectors(texts):
    """2-D fake embeddings: 'cat' texts point along x, 'dog' along y, others at 45 deg."""
    out = []
    for t in texts:
        if "cat" in t:
            out.append([1.0, 0.0])
        elif "dog" in t:
            out.append([0.0, 1.0])
        else:
            out.append([1.0, 1.0])
    return out


class FakeLangChainEmbeddings:
    def embed_documents(self, texts):
        return topic_vectors(texts)


class FakeLlamaIndexEmbedding:
    def get_text_embedding_batch(self, texts, show_progress=False):
        return topic_vectors(texts)


class FakeSentenceTransformer:
    def encode(self, texts):
        return np.array(topic_vectors(texts))


def dist_with_counts(pairs):
    cands = [
        Candidate(text=t, probability=1 / len(pairs), index=i, count=c)
        for i, (t, c) in enumerate(pairs)
    ]
    return VerbalizedDistribution(candidates=cands)


# --------------------------------------------------------------------------- tokenize


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("The CAT, the cat!") == ["the", "cat", "the", "cat"]
    assert tokenize("Don't 42 café") == ["don", "t", "42", "café"]
    assert tokenize("  ...  ") == []


# --------------------------------------------------------------------------- semantic


def test_embedding_diversity_hand_computed():
    # Vectors (1,0), (1,1), (0,1): cosines are 1/sqrt2, 0, 1/sqrt2.
    # mean = (2 / sqrt2) / 3 = 0.4714045; diversity = 100 * (1 - 0.4714045) = 52.85955
    got = embedding_diversity([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert got == pytest.approx(100 * (1 - math.sqrt(2) / 3))
    assert got == pytest.approx(52.85955, abs=1e-5)


def test_embedding_diversity_clips_negative_similarities():
    # (1,0) and (-1,0): cosine -1, clipped to 0 -> diversity 100, not 200.
    assert embedding_diversity([[1.0, 0.0], [-1.0, 0.0]]) == pytest.approx(100.0)
    # (1,0), (-1,0), (1,0): cosines -1 -> 0, 1, -1 -> 0; mean 1/3 -> 66.67
    assert embedding_diversity([[1, 0], [-1, 0], [1, 0]]) == pytest.approx(200 / 3)


def test_embedding_diversity_ignores_vector_length():
    # Cosine, not dot product: scaling a vector changes nothing.
    assert embedding_diversity([[3.0, 0.0], [0.5, 0.5]]) == pytest.approx(
        100 * (1 - 1 / math.sqrt(2))
    )
    assert embedding_diversity([[2.0, 2.0], [5.0, 5.0]]) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "bad",
    [
        [[1.0, 0.0]],  # one vector: no pair
        [],  # nothing
        [[1.0, 0.0], [0.0, 0.0]],  # zero vector: cosine undefined
        [[1.0, math.nan], [1.0, 0.0]],
        [[1.0, 0.0], [1.0]],  # ragged
        [1.0, 2.0],  # 1-D
    ],
)
def test_embedding_diversity_rejects_bad_input(bad):
    with pytest.raises(VSConfigError):
        embedding_diversity(bad)


@pytest.mark.parametrize(
    "embedder",
    [
        FakeLangChainEmbeddings(),
        FakeLlamaIndexEmbedding(),
        FakeSentenceTransformer(),
        topic_vectors,  # plain callable
    ],
    ids=["langchain", "llamaindex", "sentence-transformers", "callable"],
)
def test_semantic_diversity_duck_types_every_embedder(embedder):
    # "a cat"=(1,0), "my cat"=(1,0), "a dog"=(0,1): cosines 1, 0, 0 -> mean 1/3 -> 66.67
    assert semantic_diversity(["a cat", "my cat", "a dog"], embedder) == pytest.approx(200 / 3)


def test_semantic_diversity_counts_pooled_duplicates():
    # all_texts() = cat, cat, dog: same as above, 66.67 (not 100 for the 2 unique texts)
    dist = dist_with_counts([("a cat", 2), ("a dog", 1)])
    assert semantic_diversity(dist, topic_vectors) == pytest.approx(200 / 3)


def test_semantic_diversity_needs_two_texts():
    with pytest.raises(VSConfigError, match="at least 2"):
        semantic_diversity(["only one"], topic_vectors)


def test_semantic_diversity_rejects_a_bare_string():
    with pytest.raises(VSConfigError, match="single str"):
        semantic_diversity("a cat and a dog", topic_vectors)


def test_embed_texts_rejects_unknown_embedders_and_bad_output():
    with pytest.raises(VSConfigError, match="embed_documents"):
        embed_texts(["a", "b"], object())
    with pytest.raises(VSConfigError, match="shape"):
        embed_texts(["a", "b"], lambda ts: [[1.0, 0.0]])  # one vector for two texts
    with pytest.raises(VSConfigError, match="rectangular"):
        embed_texts(["a", "b"], lambda ts: [[1.0, 0.0], [1.0]])
    with pytest.raises(VSConfigError, match="NaN"):
        embed_texts(["a", "b"], lambda ts: [[1.0, 0.0], [math.inf, 0.0]])


def test_embed_texts_prefers_embed_documents_over_call():
    class Both:
        def embed_documents(self, texts):
            return [[1.0, 0.0] for _ in texts]

        def __call__(self, texts):  # pragma: no cover - must not be used
            raise AssertionError

    assert embed_texts(["a", "b"], Both()).tolist() == [[1.0, 0.0], [1.0, 0.0]]


# --------------------------------------------------------------------------- ROUGE-L


def lcs_dp(a, b):
    """Textbook O(mn) dynamic programme, the reference for the bit-parallel one."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = (
                table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
            )
    return table[-1][-1]


def test_lcs_length_hand_computed():
    # the cat sat on the mat / the dog sat on a mat: LCS = the, sat, on, mat = 4
    assert (
        lcs_length(
            ["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat", "on", "a", "mat"]
        )
        == 4
    )
    # ABCBDAB / BDCABA: the classic CLRS example, LCS length 4 (e.g. BCBA)
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(["a", "a", "a"], ["a", "a"]) == 2
    assert lcs_length(["x"], ["y"]) == 0


@given(
    st.lists(st.sampled_from("abcd"), max_size=70),
    st.lists(st.sampled_from("abcd"), max_size=70),
)
def test_lcs_length_matches_dynamic_programming(a, b):
    assert lcs_length(a, b) == lcs_dp(a, b)
    assert lcs_length(b, a) == lcs_dp(a, b)


def test_rouge_l_hand_computed():
    # 6 words each, LCS 4: P = R = 4/6 -> F1 = 2/3 (case and punctuation ignored)
    assert rouge_l("The cat sat on the mat.", "the dog sat on a mat") == pytest.approx(2 / 3)
    # "a b c d" vs "a c": LCS 2, P = 2/2 = 1, R = 2/4 = .5 -> F1 = 2*.5/1.5 = 2/3
    assert rouge_l("a b c d", "a c") == pytest.approx(2 / 3)
    assert rouge_l("a c", "a b c d") == pytest.approx(2 / 3)  # symmetric
    # "a b c" vs "c b a": LCS 1, P = R = 1/3 -> F1 = 1/3
    assert rouge_l("a b c", "c b a") == pytest.approx(1 / 3)
    assert rouge_l("Same words", "same, WORDS!") == 1.0
    assert rouge_l("x y", "z w") == 0.0


def test_rouge_l_empty_text_scores_zero():
    assert rouge_l("", "a b") == 0.0
    assert rouge_l("!!!", "") == 0.0


def test_pairwise_rouge_l_hand_computed():
    # (a b c, a b d): LCS 2 -> 2/3; (a b c, x y z): 0; (a b d, x y z): 0 -> mean 2/9
    assert pairwise_rouge_l(["a b c", "a b d", "x y z"]) == pytest.approx(2 / 9)
    assert pairwise_rouge_l(["same text", "Same text."]) == 1.0


def test_pairwise_rouge_l_counts_pooled_duplicates():
    # all_texts() = [a b, a b, c d]: pairs 1, 0, 0 -> 1/3
    dist = dist_with_counts([("a b", 2), ("c d", 1)])
    assert pairwise_rouge_l(dist) == pytest.approx(1 / 3)


def test_pairwise_rouge_l_needs_two_texts():
    with pytest.raises(VSConfigError, match="at least 2"):
        pairwise_rouge_l(["alone"])
    with pytest.raises(VSConfigError):
        pairwise_rouge_l([])


def test_pairwise_rouge_l_is_fast_on_long_texts():
    # 30 texts of 300 words: 435 pairs of 300x300 LCS; the DP would take seconds.
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(200)]
    texts = [" ".join(rng.choice(vocab, 300)) for _ in range(30)]
    score = pairwise_rouge_l(texts)
    assert 0.0 < score < 1.0


# --------------------------------------------------------------------------- distinct-n


def test_distinct_n_hand_computed():
    texts = ["the cat sat", "the cat ran"]
    # unigrams: the cat sat the cat ran -> 4 unique / 6
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    # bigrams: (the cat) (cat sat) (the cat) (cat ran) -> 3 unique / 4
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    # trigrams: (the cat sat) (the cat ran) -> 2 / 2
    assert distinct_n(texts, 3) == 1.0


def test_distinct_n_does_not_join_texts():
    # "a b" + "c": no bigram (b c) across the boundary -> 1 bigram, unique
    assert distinct_n(["a b", "c"], 2) == 1.0
    # texts shorter than n add nothing; none at all gives 0
    assert distinct_n(["a", "b"], 2) == 0.0
    assert distinct_n([], 1) == 0.0


def test_distinct_n_counts_pooled_duplicates():
    # all_texts() = [hi there, hi there]: 2 unique unigrams of 4
    assert distinct_n(dist_with_counts([("hi there", 2)]), 1) == 0.5


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_distinct_n_rejects_bad_n(n):
    with pytest.raises(VSConfigError, match="n must be"):
        distinct_n(["a b"], n)


# --------------------------------------------------------------------------- compression


def test_compression_ratio_is_raw_over_gzip_size():
    texts = ["abc abc abc", "abc abc"]
    data = b"abc abc abc\nabc abc"
    expected = len(data) / len(gzip.compress(data, compresslevel=9, mtime=0))
    assert compression_ratio(texts) == pytest.approx(expected)
    assert compression_ratio(texts) == compression_ratio(texts)  # deterministic


def test_compression_ratio_orders_repetitive_above_varied():
    repetitive = ["why did the coffee file a police report"] * 20
    varied = [f"text {i} about {w}" for i, w in enumerate("abcdefghijklmnopqrst")]
    assert compression_ratio(repetitive) > 5.0
    assert compression_ratio(repetitive) > compression_ratio(varied)


def test_compression_ratio_empty_is_zero():
    assert compression_ratio([]) == 0.0
    assert compression_ratio(["", ""], separator="") == 0.0


# --------------------------------------------------------------------------- answers


def test_answer_frequencies_normalizes_keys():
    assert answer_frequencies(["Ohio", "ohio.", "Texas", " TEXAS "]) == {"ohio": 0.5, "texas": 0.5}
    with pytest.raises(VSConfigError, match="empty"):
        answer_frequencies([])


def test_kl_divergence_hand_computed():
    # P = (heads 3/4, tails 1/4), Q = (1/2, 1/2), no smoothing:
    # KL = .75 ln(1.5) + .25 ln(.5) = .75 * .405465 - .25 * .693147 = 0.130812
    got = kl_divergence(
        ["heads", "heads", "Tails", "heads"], {"heads": 0.5, "tails": 0.5}, epsilon=0
    )
    assert got == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert got == pytest.approx(0.130812, abs=1e-6)


def test_kl_divergence_is_zero_for_equal_distributions():
    assert kl_divergence(["a", "b"], {"a": 1, "b": 1}, epsilon=0) == 0.0
    # with smoothing, P == Q gives almost 0 (Q' = (.5 + eps) / (1 + 2 eps) = .5 exactly here)
    assert kl_divergence(["a", "b"], {"a": 0.5, "b": 0.5}) == pytest.approx(0.0, abs=1e-12)


def test_kl_divergence_reference_counts_are_normalized():
    # reference counts 30:10 = (.75, .25); P = (.5, .5)
    # KL = .5 ln(.5/.75) + .5 ln(.5/.25) = .5(-.405465) + .5(.693147) = 0.143841
    got = kl_divergence(["a", "b"], {"a": 30, "b": 10}, epsilon=0)
    assert got == pytest.approx(0.5 * math.log(2 / 3) + 0.5 * math.log(2))


def test_kl_divergence_reference_only_answers_add_nothing_but_normalize():
    # Q = (a .5, b .5); P = (a 1): KL = 1 * ln(1/.5) = ln 2; b contributes 0 ln 0 = 0
    assert kl_divergence(["a", "a"], {"a": 0.5, "b": 0.5}, epsilon=0) == pytest.approx(math.log(2))


def test_kl_divergence_missing_answer_epsilon_smoothing():
    # P = (a .5, z .5) with z not in Q = (a 1). Union = {a, z}, eps = 0.01:
    # Q'(a) = 1.01 / 1.02, Q'(z) = 0.01 / 1.02
    # KL = .5 ln(.5 * 1.02 / 1.01) + .5 ln(.5 * 1.02 / .01)
    eps = 0.01
    expected = 0.5 * math.log(0.5 * 1.02 / 1.01) + 0.5 * math.log(0.5 * 1.02 / 0.01)
    assert kl_divergence(["a", "z"], {"a": 1.0}, epsilon=eps) == pytest.approx(expected)
    # smaller epsilon, larger (still finite) penalty; epsilon 0 -> infinite
    assert kl_divergence(["a", "z"], {"a": 1.0}) > kl_divergence(
        ["a", "z"], {"a": 1.0}, epsilon=eps
    )
    assert math.isfinite(kl_divergence(["a", "z"], {"a": 1.0}))
    assert kl_divergence(["a", "z"], {"a": 1.0}, epsilon=0) == math.inf


def test_kl_divergence_accepts_counts_and_distributions():
    # A mapping of counts is a distribution: {heads: 3, tails: 1} -> same as the samples above
    ref = {"heads": 0.5, "tails": 0.5}
    by_counts = kl_divergence({"Heads": 3, "tails": 1}, ref, epsilon=0)
    assert by_counts == pytest.approx(0.130812, abs=1e-6)
    # a pooled distribution counts each merged duplicate `count` times
    dist = dist_with_counts([("heads", 3), ("tails", 1)])
    assert kl_divergence(dist, ref, epsilon=0) == pytest.approx(by_counts)


@pytest.mark.parametrize(
    ("answers", "reference", "epsilon", "match"),
    [
        (["a"], {"a": -0.1, "b": 1.0}, 1e-6, ">= 0"),
        (["a"], {"a": math.nan}, 1e-6, "finite"),
        (["a"], {"a": "0.5"}, 1e-6, "number"),
        (["a"], {"a": 0.0}, 1e-6, "positive"),
        (["a"], {}, 1e-6, "positive"),
        ([], {"a": 1.0}, 1e-6, "empty"),
        ({}, {"a": 1.0}, 1e-6, "empty"),
        (["a"], {"a": 1.0}, -1.0, "epsilon"),
        (["a"], {"a": 1.0}, math.nan, "epsilon"),
    ],
)
def test_kl_divergence_rejects_bad_arguments(answers, reference, epsilon, match):
    with pytest.raises(VSConfigError, match=match):
        kl_divergence(answers, reference, epsilon=epsilon)


def test_coverage_n_hand_computed():
    valid = ["Ohio", "Texas", "Utah", "Maine"]
    # unique valid answers given: ohio -> 1 of 4 (Mars is ignored, Ohio twice counts once)
    assert coverage_n(["Ohio", "ohio", "Mars"], valid) == 0.25
    assert coverage_n(["utah", "Maine.", "TEXAS", "Ohio"], valid) == 1.0
    assert coverage_n([], valid) == 0.0


def test_precision_hand_computed():
    # Ohio, ohio valid; Mars not -> 2/3 (duplicates count)
    assert precision(["Ohio", "ohio", "Mars"], ["Ohio", "Texas"]) == pytest.approx(2 / 3)
    dist = dist_with_counts([("Ohio", 3), ("Mars", 1)])
    assert precision(dist, ["ohio"]) == 0.75


def test_answer_metrics_reject_bad_arguments():
    with pytest.raises(VSConfigError, match="valid_answers is empty"):
        coverage_n(["a"], [])
    with pytest.raises(VSConfigError, match="single str"):
        precision(["a"], "abc")
    with pytest.raises(VSConfigError, match="answers is empty"):
        precision([], ["a"])
    with pytest.raises(VSConfigError, match="single str"):
        coverage_n("Ohio", ["Ohio"])  # a bare string is not a list of answers
    with pytest.raises(VSConfigError, match=r"answers\[1\] must be a str"):
        precision(["Ohio", 3], ["Ohio"])


def test_answers_may_be_any_iterable():
    assert precision((a for a in ["Ohio", "Mars"]), {"ohio"}) == 0.5


def test_custom_key():
    # exact matching: "ohio" is not "Ohio"
    assert precision(["ohio"], ["Ohio"], key=lambda s: s) == 0.0


# --------------------------------------------------------------------------- report


def test_diversity_report_bundles_every_metric():
    texts = ["the cat sat", "the dog sat", "a bird flew away"]
    report = diversity_report(texts, embedder=topic_vectors)
    assert isinstance(report, DiversityReport)
    # vectors (1,0), (0,1), (1,1): cosines 0, .7071, .7071 -> 100 (1 - .4714) = 52.86
    assert report.semantic_diversity == pytest.approx(100 * (1 - math.sqrt(2) / 3))
    assert report.rouge_l == pytest.approx(2 / 9)  # (2/3 + 0 + 0) / 3
    # words: the cat sat | the dog sat | a bird flew away -> 10, "the" and "sat" twice: 8 unique
    assert report.distinct_1 == pytest.approx(8 / 10)
    # bigrams: (the cat)(cat sat)(the dog)(dog sat)(a bird)(bird flew)(flew away): 7 unique of 7
    assert report.distinct_2 == 1.0
    assert report.distinct_3 == 1.0
    assert report.compression_ratio == compression_ratio(texts)
    assert report.n_texts == 3
    assert set(report.model_dump()) == {
        "n_texts",
        "semantic_diversity",
        "rouge_l",
        "distinct_1",
        "distinct_2",
        "distinct_3",
        "compression_ratio",
        "vendi_score",
        "distinct_classes",
    }


def test_diversity_report_without_embedder_skips_semantic():
    assert diversity_report(["a b", "c d"]).semantic_diversity is None


def test_diversity_report_uses_all_texts_of_a_distribution():
    dist = dist_with_counts([("a b", 2), ("c d", 1)])
    report = diversity_report(dist)
    assert report.n_texts == 3
    assert report.rouge_l == pytest.approx(1 / 3)
    assert report.distinct_1 == pytest.approx(4 / 6)


def test_diversity_report_errors():
    with pytest.raises(VSConfigError, match="at least 2"):
        diversity_report(["one"])
    with pytest.raises(VSConfigError, match="'default' or None"):
        diversity_report(["a", "b"], embedder="openai")


# --------------------------------------------------------------------------- probabilities


def test_entropy_hand_computed():
    assert entropy([1, 1, 1, 1]) == pytest.approx(math.log(4))
    assert entropy([5]) == 0.0
    assert entropy({"a": 0.5, "b": 0.25, "c": 0.25, "d": 0}) == pytest.approx(1.5 * math.log(2))
    assert entropy([2, 2]) == entropy([0.5, 0.5])  # weights are normalized


@pytest.mark.parametrize("bad", [[], [0, 0], [1, -1], [1, math.nan], [1, math.inf], ["1"], [True]])
def test_entropy_rejects_bad_weights(bad):
    with pytest.raises(VSConfigError):
        entropy(bad)


def test_tail_mass_hand_computed():
    assert tail_mass([0.5, 0.3, 0.1, 0.1], 0.2) == pytest.approx(0.2)
    assert tail_mass([5, 3, 1, 1], 0.2) == pytest.approx(0.2)  # normalized first
    assert tail_mass([0.25] * 4, 0.25) == 0.0  # strictly below tau
    assert tail_mass([0.25] * 4, 1.0) == pytest.approx(1.0)
    assert tail_mass({"a": 1.0}, 0.5) == 0.0


@pytest.mark.parametrize("tau", [0, -0.5, 1.01, math.nan, True])
def test_tail_mass_rejects_a_bad_threshold(tau):
    with pytest.raises(VSConfigError, match="threshold"):
        tail_mass([1, 1], tau)


def test_mean_absolute_gap_hand_computed():
    assert mean_absolute_gap({"a": 0.6, "b": 0.4}, {"a": 0.5, "c": 0.5}) == pytest.approx(1 / 3)
    assert mean_absolute_gap({"a": 1.0}, {"a": 1.0}) == 0.0
    p = {"a": 0.7, "b": 0.3}
    q = {"a": 0.2, "b": 0.3, "c": 0.5}
    total_variation = 0.5 * sum(abs(p.get(k, 0) - q.get(k, 0)) for k in "abc")
    assert mean_absolute_gap(p, q) * 3 / 2 == pytest.approx(total_variation)


def test_mean_absolute_gap_rejects_bad_input():
    with pytest.raises(VSConfigError, match="at least one outcome"):
        mean_absolute_gap({}, {})
    with pytest.raises(VSConfigError, match="observed"):
        mean_absolute_gap({"a": 1.0}, {"a": math.nan})
    with pytest.raises(VSConfigError, match="stated"):
        mean_absolute_gap({"a": "0.5"}, {"a": 0.5})
