r"""Diversity and distribution metrics, as in the Verbalized Sampling paper.

Pure functions over texts (or a :class:`~vs_common.distribution.VerbalizedDistribution`,
whose pooled duplicates then count as often as they were sampled):

* semantic: :func:`semantic_diversity` (1 - mean pairwise cosine similarity,
  negatives clipped to 0, in percent) with an injected embedder;
* metrics a generator cannot flatter by padding: :func:`vendi_score` (the
  effective number of distinct texts, from the eigenvalues of the cosine
  similarity matrix) and :func:`distinct_classes` (texts merged into classes
  of equivalent meaning, as NoveltyBench counts them);
* lexical: :func:`pairwise_rouge_l` (lower = more diverse), :func:`distinct_n`
  (higher = more diverse), :func:`compression_ratio` (lower = more diverse);
* answer distributions: :func:`kl_divergence` against a reference,
  :func:`coverage_n` and :func:`precision` against a set of valid answers;
* probability distributions: :func:`entropy`, :func:`tail_mass` (mass below a
  threshold) and :func:`mean_absolute_gap` (stated against observed);
* :func:`diversity_report` bundles the text metrics.

Words are the runs of word characters of the lowercased text
(``re.findall(r"\w+", text.lower())``), so punctuation is ignored and
"Don't" is two words, ``don`` and ``t``.

Example:
    >>> texts = ["the cat sat", "the dog sat", "a bird flew away"]
    >>> round(pairwise_rouge_l(texts), 4)
    0.2222
    >>> distinct_n(["a a b"], 1)
    0.6666666666666666
    >>> report = diversity_report(texts)
    >>> report.distinct_1 == distinct_n(texts, 1)
    True
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from vs_common.distribution import VerbalizedDistribution, normalize_key
from vs_common.errors import VSConfigError

__all__ = [
    "CLASS_SIMILARITY",
    "DiversityReport",
    "Embedder",
    "Texts",
    "answer_frequencies",
    "compression_ratio",
    "coverage_n",
    "distinct_classes",
    "distinct_n",
    "diversity_report",
    "embed_texts",
    "embedding_diversity",
    "entropy",
    "equivalence_classes",
    "kl_divergence",
    "lcs_length",
    "mean_absolute_gap",
    "pairwise_rouge_l",
    "precision",
    "rouge_l",
    "semantic_diversity",
    "tail_mass",
    "tokenize",
    "vendi_score",
]

#: Texts to score: a sequence of strings, or a distribution (``all_texts()``).
Texts: TypeAlias = Sequence[str] | VerbalizedDistribution

#: Anything that turns texts into vectors, recognized by duck typing: a
#: LangChain ``Embeddings`` (``embed_documents``), a LlamaIndex
#: ``BaseEmbedding`` (``get_text_embedding_batch``), a sentence-transformers
#: model (``encode``), or a callable ``list[str] -> list[list[float]]``.
Embedder: TypeAlias = Any

_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- helpers


def _as_texts(texts: Texts | Iterable[str], *, name: str = "texts") -> list[str]:
    if isinstance(texts, VerbalizedDistribution):
        return texts.all_texts()
    if isinstance(texts, str | bytes):
        msg = f"{name} must be a sequence of strings, not a single {type(texts).__name__}"
        raise VSConfigError(msg, field=name)
    out: list[str] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):  # a runtime guard: callers are not all typed
            msg = f"{name}[{i}] must be a str, got {type(text).__name__}"  # type: ignore[unreachable]
            raise VSConfigError(msg, field=name)
        out.append(text)
    return out


def _need_pairs(texts: list[str], what: str) -> None:
    if len(texts) < 2:
        msg = f"{what} compares pairs of texts and needs at least 2, got {len(texts)}"
        raise VSConfigError(msg, field="texts")


def tokenize(text: str) -> list[str]:
    """Split a text into lowercase words (runs of word characters).

    Args:
        text: Any text.

    Returns:
        The words, in order.

    Example:
        >>> tokenize("Why did the Coffee file a police report?!")
        ['why', 'did', 'the', 'coffee', 'file', 'a', 'police', 'report']
    """
    return _WORD.findall(text.lower())


# --------------------------------------------------------------------------- semantic


def embed_texts(texts: Texts, embedder: Embedder) -> npt.NDArray[np.float64]:
    """Embed texts with any supported embedder, as a 2-D float array.

    The embedder is recognized by duck typing, in this order:
    ``embed_documents`` (LangChain), ``get_text_embedding_batch``
    (LlamaIndex), ``encode`` (sentence-transformers), then a plain callable
    ``list[str] -> list[list[float]]`` (numpy arrays are fine too).

    Args:
        texts: The texts, or a distribution (its ``all_texts()``).
        embedder: The embedder.

    Returns:
        An array of shape ``(len(texts), dim)``.

    Raises:
        VSConfigError: If the embedder is of no known kind, or returns the
            wrong number of vectors, ragged, empty or non-finite vectors.

    Example:
        >>> embed_texts(["a", "bb"], lambda ts: [[len(t), 1.0] for t in ts]).tolist()
        [[1.0, 1.0], [2.0, 1.0]]
    """
    items = _as_texts(texts)
    if hasattr(embedder, "embed_documents"):
        raw = embedder.embed_documents(items)
    elif hasattr(embedder, "get_text_embedding_batch"):
        raw = embedder.get_text_embedding_batch(items)
    elif hasattr(embedder, "encode"):
        raw = embedder.encode(items)
    elif callable(embedder):
        raw = embedder(items)
    else:
        msg = (
            "embedder must be a LangChain Embeddings (embed_documents), a LlamaIndex "
            "BaseEmbedding (get_text_embedding_batch), an object with encode(), or a "
            f"callable list[str] -> list[list[float]]; got {type(embedder).__name__}"
        )
        raise VSConfigError(msg, field="embedder")
    try:
        vectors = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"the embedder returned vectors that are not a rectangular array of numbers: {exc}"
        raise VSConfigError(msg, field="embedder") from exc
    if vectors.ndim != 2 or vectors.shape[0] != len(items) or vectors.shape[1] == 0:
        msg = (
            f"the embedder returned an array of shape {vectors.shape} for {len(items)} "
            "texts; expected one non-empty vector per text"
        )
        raise VSConfigError(msg, field="embedder")
    if not np.isfinite(vectors).all():
        msg = "the embedder returned NaN or infinite values"
        raise VSConfigError(msg, field="embedder")
    return vectors


def _unit_vectors(embeddings: npt.ArrayLike, what: str, least: int) -> npt.NDArray[np.float64]:
    """Embeddings checked (2-D, finite, no zero vector, at least ``least``) and L2-normalized."""
    try:
        vectors = np.asarray(embeddings, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"embeddings must be a rectangular array of numbers: {exc}"
        raise VSConfigError(msg, field="embeddings") from exc
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        msg = f"embeddings must have shape (n, dim), got {vectors.shape}"
        raise VSConfigError(msg, field="embeddings")
    if vectors.shape[0] < least:
        msg = f"{what} needs at least {least} vector(s), got {len(vectors)}"
        raise VSConfigError(msg, field="embeddings")
    if not np.isfinite(vectors).all():
        msg = "embeddings contain NaN or infinite values"
        raise VSConfigError(msg, field="embeddings")
    norms = np.linalg.norm(vectors, axis=1)
    if (norms == 0.0).any():
        zero = int(np.flatnonzero(norms == 0.0)[0])
        msg = f"embedding {zero} is the zero vector; its cosine similarity is undefined"
        raise VSConfigError(msg, field="embeddings")
    unit: npt.NDArray[np.float64] = vectors / norms[:, None]
    return unit


def embedding_diversity(embeddings: npt.ArrayLike) -> float:
    """Semantic diversity of precomputed embeddings, in percent.

    ``100 * (1 - mean)`` of the cosine similarities of all unordered pairs,
    each clipped to ``[0, 1]`` first (negative similarities would inflate
    diversity, as the paper notes).

    Args:
        embeddings: One vector per text, shape ``(n, dim)`` with ``n >= 2``.

    Returns:
        The diversity: 0 for identical directions, 100 for orthogonal (or
        opposite) vectors.

    Raises:
        VSConfigError: Fewer than 2 vectors, a ragged or non-finite array, or
            a zero vector (its cosine similarity is undefined).

    Example:
        >>> round(embedding_diversity([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]), 4)  # .707, .707, 0
        52.8595
    """
    unit = _unit_vectors(embeddings, "semantic diversity compares pairs and", 2)
    upper = np.triu_indices(len(unit), k=1)
    sims = np.clip((unit @ unit.T)[upper], 0.0, 1.0)
    return float(100.0 * (1.0 - sims.mean()))


def vendi_score(embeddings: npt.ArrayLike) -> float:
    """The Vendi score (Friedman and Dieng, 2023): the effective number of distinct items.

    ``exp(-sum(l * ln l))`` over the eigenvalues ``l`` of ``K / n``, where
    ``K`` is the ``n x n`` matrix of cosine similarities of the embeddings
    (the ``vendi-score`` package's ``score_K`` with order ``q = 1``, on the
    cosine kernel; eigenvalues that rounding makes zero or negative add
    nothing, as there). It ranges from 1 (all vectors point the same way)
    to n (all orthogonal). Unlike semantic diversity it is not an average of
    pairs: ten copies of one text and one other text score 1.36 (of 11),
    where the mean of pairs gives 18 percent diversity, so a generator cannot raise it by
    padding a set with near-copies of a few distant answers.

    Args:
        embeddings: One vector per text, shape ``(n, dim)``, ``n >= 1``.

    Returns:
        The score, in ``[1, n]``.

    Raises:
        VSConfigError: No vector, a ragged or non-finite array, or a zero vector.

    Example:
        >>> round(vendi_score([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 4)  # eigenvalues 2/3, 1/3
        1.8899
    """
    unit = _unit_vectors(embeddings, "the Vendi score", 1)
    eigenvalues = np.linalg.eigvalsh((unit @ unit.T) / len(unit))
    positive = eigenvalues[eigenvalues > 0.0]
    entropy_ = -float(np.sum(positive * np.log(positive)))
    return float(min(max(math.exp(entropy_), 1.0), float(len(unit))))


#: Default cosine similarity at or above which two texts are one class of
#: meaning for :func:`distinct_classes`, for the offline MiniLM embedder.
#: Measured with ``python benchmarks/classes.py``: 72 texts of 44 known
#: classes (the paraphrase and different-answer pairs that chose distinct-N's
#: threshold, die rolls written several ways, short names), partitioned as
#: NoveltyBench does. At 0.85 (as at 0.80) 2 pairs of different answers are
#: merged and 16 pairs of wordings of one answer are split; at 0.75, 4 and
#: 15; at 0.90, 1 and 20; at 0.70, 11 and 14. Merging loses an answer, so the
#: threshold sits where merges stop falling. The two merges are ones no
#: threshold fixes: "The sea is a mirror for the moon" / "The moon is a
#: mirror for the sea" (the embedder mean-pools words) and "The die shows
#: six." / "The die shows four."; and the splits are mostly one die face
#: written as "4", "four" and "I rolled a 4!" (cosine 0.42-0.55). So for
#: answers that can be read exactly (a die face, a state) extract them and
#: count keys, as ``vs eval`` does; keep this for free text.
CLASS_SIMILARITY = 0.85


def equivalence_classes(
    embeddings: npt.ArrayLike,
    *,
    threshold: float = CLASS_SIMILARITY,
    keys: Sequence[str] | None = None,
) -> list[list[int]]:
    """Partition items into classes of equivalent meaning, the way NoveltyBench does.

    Items are taken in order; the first item not yet in a class opens a new
    class and is its representative, and every later unclassed item whose
    cosine similarity to that representative reaches ``threshold`` joins it
    (NoveltyBench's ``partition_responses``, with the embedder's cosine in
    place of its DeBERTa classifier). Items with equal ``keys`` (e.g.
    :func:`normalize_key` of each text) are always one class. NoveltyBench's
    extra rule for texts of at most five words (half the words in common
    means equal) is left out: it makes "New York" and "New Jersey" one answer.

    Args:
        embeddings: One vector per item, shape ``(n, dim)``.
        threshold: Cosine similarity in ``(0, 1]`` that makes two items one class.
        keys: Optional identity of each item (same length as ``embeddings``).

    Returns:
        The classes, each a list of item indices in order, in order of
        their representatives.

    Raises:
        VSConfigError: Bad embeddings, a threshold outside ``(0, 1]`` or keys
            of the wrong length.

    Example:
        >>> equivalence_classes([[1, 0], [0.9, 0.1], [0, 1]], threshold=0.9)
        [[0, 1], [2]]
    """
    if isinstance(threshold, bool) or not (
        isinstance(threshold, int | float) and 0.0 < threshold <= 1.0
    ):
        msg = f"threshold must be in (0, 1], got {threshold!r}"
        raise VSConfigError(msg, field="threshold")
    if isinstance(embeddings, Sequence) and len(embeddings) == 0:
        return []
    unit = _unit_vectors(embeddings, "equivalence classes", 1)
    if keys is not None and len(keys) != len(unit):
        msg = f"keys must have one key per item: {len(keys)} keys for {len(unit)} items"
        raise VSConfigError(msg, field="keys")
    sims = unit @ unit.T
    assigned = np.full(len(unit), -1)
    classes: list[list[int]] = []
    for i in range(len(unit)):
        if assigned[i] >= 0:
            continue
        members = [i]
        assigned[i] = len(classes)
        for j in range(i + 1, len(unit)):
            same = sims[i, j] >= threshold or (keys is not None and keys[i] == keys[j])
            if assigned[j] < 0 and same:
                members.append(j)
                assigned[j] = len(classes)
        classes.append(members)
    return classes


def distinct_classes(texts: Texts, embedder: Embedder, threshold: float = CLASS_SIMILARITY) -> int:
    """How many classes of equivalent meaning the texts fall into (NoveltyBench's "distinct").

    Texts with the same :func:`normalize_key` are one class; otherwise two
    texts are one class when the cosine similarity of their embeddings
    reaches ``threshold`` (see :func:`equivalence_classes` for the
    partition). Unlike semantic diversity, which averages all pairs, this
    counts answers a reader would call different: ten wordings of one joke
    are one class however they are phrased.

    Args:
        texts: The texts, or a distribution (its ``all_texts()``).
        embedder: Any :data:`Embedder`.
        threshold: Cosine similarity in ``(0, 1]`` that makes two texts one
            class; the default :data:`CLASS_SIMILARITY` was measured for the
            offline MiniLM embedder.

    Returns:
        The number of classes (0 for no texts).

    Raises:
        VSConfigError: An unusable embedder or a threshold outside ``(0, 1]``.

    Example:
        >>> fake = lambda ts: [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in ts]
        >>> distinct_classes(["a cat", "my cat", "a dog", "A dog."], fake)
        2
    """
    items = _as_texts(texts)
    if not items:
        return 0
    vectors = embed_texts(items, embedder)
    keys = [normalize_key(t) for t in items]
    return len(equivalence_classes(vectors, threshold=threshold, keys=keys))


def semantic_diversity(texts: Texts, embedder: Embedder) -> float:
    """Semantic diversity of texts, in percent, as in the paper (Section 5).

    Embeds the texts with ``embedder`` (see :func:`embed_texts`) and returns
    :func:`embedding_diversity` of the vectors. The paper used OpenAI's
    ``text-embedding-3-small``; scores from different embedders are not
    comparable with each other, only across methods with the same one.

    Args:
        texts: At least two texts, or a distribution (its ``all_texts()``,
            so merged duplicates count once per sample).
        embedder: See :data:`Embedder`; for an offline one use
            :func:`vs_common.backends.embeddings.default_embedder`.

    Returns:
        ``100 * (1 - mean pairwise cosine similarity)``, negatives clipped to 0.

    Raises:
        VSConfigError: Fewer than 2 texts, or an unusable embedder.

    Example:
        >>> fake = lambda ts: [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in ts]
        >>> semantic_diversity(["a cat", "my cat", "a dog"], fake)  # sims 1, 0, 0
        66.66666666666667
    """
    items = _as_texts(texts)
    _need_pairs(items, "semantic diversity")
    return embedding_diversity(embed_texts(items, embedder))


# --------------------------------------------------------------------------- lexical


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences.

    Bit-parallel (Hyyro, 2004): one big-integer update per token of ``b``,
    so comparing long texts stays fast in pure Python.

    Args:
        a: First token sequence.
        b: Second token sequence.

    Returns:
        The LCS length.

    Example:
        >>> lcs_length("the cat sat on the mat".split(), "the dog sat on a mat".split())
        4
    """
    if len(a) < len(b):
        a, b = b, a  # the bit vector spans the longer sequence
    if not b:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts (Lin, 2004), on lowercase words.

    ``P = LCS / len(b)``, ``R = LCS / len(a)``, ``F1 = 2PR / (P + R)``; the
    score is symmetric. A text with no words scores 0 against anything (the
    convention of Google's ``rouge-score``).

    Args:
        a: First text.
        b: Second text.

    Returns:
        F1 in ``[0, 1]``; 1 when both have the same words in the same order.

    Example:
        >>> rouge_l("The cat sat on the mat.", "the dog sat on a mat")  # LCS 4 of 6 and 6
        0.6666666666666666
    """
    ta, tb = tokenize(a), tokenize(b)
    if not ta or not tb:
        return 0.0
    lcs = lcs_length(ta, tb)
    return 2.0 * lcs / (len(ta) + len(tb))  # 2PR/(P+R) simplified


def pairwise_rouge_l(texts: Texts) -> float:
    """Mean ROUGE-L F1 over all unordered pairs of texts (lower = more diverse).

    Args:
        texts: At least two texts, or a distribution (its ``all_texts()``).

    Returns:
        The mean of :func:`rouge_l` over the ``n * (n - 1) / 2`` pairs.

    Raises:
        VSConfigError: Fewer than 2 texts.

    Example:
        >>> pairwise_rouge_l(["a b c", "a b d", "x y z"])  # F1s 2/3, 0, 0
        0.2222222222222222
    """
    items = _as_texts(texts)
    _need_pairs(items, "pairwise ROUGE-L")
    tokens = [tokenize(t) for t in items]
    scores: list[float] = []
    for i in range(len(tokens)):
        for j in range(i + 1, len(tokens)):
            ta, tb = tokens[i], tokens[j]
            lcs = lcs_length(ta, tb) if ta and tb else 0
            scores.append(2.0 * lcs / (len(ta) + len(tb)) if lcs else 0.0)
    return math.fsum(scores) / len(scores)


def distinct_n(texts: Texts, n: int) -> float:
    """Distinct-n (Li et al., 2016): unique n-grams / all n-grams, over all texts.

    n-grams are counted within each text (never across two texts) and pooled
    over the corpus. Texts shorter than ``n`` words contribute nothing; with
    no n-gram at all the score is 0.

    Args:
        texts: The texts (one is enough), or a distribution.
        n: The n-gram size, at least 1.

    Returns:
        A ratio in ``[0, 1]``; higher = more diverse.

    Raises:
        VSConfigError: If ``n < 1``.

    Example:
        >>> distinct_n(["the cat", "the dog"], 1)  # the, cat, the, dog: 3 unique of 4
        0.75
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        msg = f"n must be an integer >= 1, got {n!r}"
        raise VSConfigError(msg, field="n")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in _as_texts(texts):
        words = tokenize(text)
        for i in range(len(words) - n + 1):
            seen.add(tuple(words[i : i + n]))
            total += 1
    return len(seen) / total if total else 0.0


def compression_ratio(texts: Texts, *, separator: str = "\n") -> float:
    """Compression ratio (Shaib et al., 2025): raw bytes / gzip-compressed bytes.

    The texts are joined with ``separator``, encoded as UTF-8 and compressed
    with gzip (level 9, fixed header time, so the result is deterministic).
    Repetitive sets compress well and score high: lower = more diverse. The
    gzip framing costs about 20 bytes, so very short inputs score below 1.

    Args:
        texts: The texts (one is enough), or a distribution.
        separator: What goes between two texts.

    Returns:
        The ratio (0.0 when all texts are empty).

    Example:
        >>> compression_ratio(["ha"] * 200) > compression_ratio(["abc", "xyz"])
        True
    """
    data = separator.join(_as_texts(texts)).encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(gzip.compress(data, compresslevel=9, mtime=0))


# --------------------------------------------------------------------------- answers


def _answer_keys(answers: Texts | Iterable[str], key: Callable[[str], str]) -> list[str]:
    return [key(a) for a in _as_texts(answers, name="answers")]


def answer_frequencies(
    answers: Texts, *, key: Callable[[str], str] = normalize_key
) -> dict[str, float]:
    """Relative frequency of each unique answer (not the verbalized probabilities).

    Args:
        answers: The sampled answers, or a distribution (its ``all_texts()``:
            each merged duplicate counts once per sample).
        key: Maps an answer to its identity; by default case, white space and
            surrounding punctuation are ignored (:func:`normalize_key`).

    Returns:
        ``{key: count / len(answers)}`` in order of first appearance.

    Raises:
        VSConfigError: If there are no answers.

    Example:
        >>> answer_frequencies(["Ohio", "ohio.", "Texas", "Utah"])
        {'ohio': 0.5, 'texas': 0.25, 'utah': 0.25}
    """
    keys = _answer_keys(answers, key)
    if not keys:
        msg = "answers is empty"
        raise VSConfigError(msg, field="answers")
    counts = Counter(keys)
    return {k: c / len(keys) for k, c in counts.items()}


def _reference_distribution(
    reference: Mapping[str, float], key: Callable[[str], str]
) -> dict[str, float]:
    merged: dict[str, float] = {}
    for answer, weight in reference.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            msg = f"reference[{answer!r}] must be a number, got {weight!r}"
            raise VSConfigError(msg, field="reference")
        value = float(weight)
        if not math.isfinite(value) or value < 0.0:
            msg = f"reference[{answer!r}] must be finite and >= 0, got {weight!r}"
            raise VSConfigError(msg, field="reference")
        k = key(answer)
        merged[k] = merged.get(k, 0.0) + value
    total = math.fsum(merged.values())
    if total <= 0.0:
        msg = "reference must give a positive weight to at least one answer"
        raise VSConfigError(msg, field="reference")
    return {k: v / total for k, v in merged.items()}


def kl_divergence(
    answers: Texts | Mapping[str, float],
    reference: Mapping[str, float],
    *,
    epsilon: float = 1e-6,
    key: Callable[[str], str] = normalize_key,
) -> float:
    """KL(P || Q) in nats: the model's answer distribution P against a reference Q.

    P is the frequency of each unique answer among the samples (Section 7 of
    the paper: answer frequencies, not verbalized probabilities), or a
    mapping of answer -> count/weight that is normalized. Q is ``reference``
    (probabilities or counts, normalized to sum to 1). Answers are matched
    through ``key`` on both sides, and weights of keys that collide are added.

    Smoothing: an answer the model gave but the reference lacks has Q = 0 and
    would make KL infinite. So, when ``epsilon > 0``, ``epsilon`` is added to
    Q for every answer in the union of both supports and Q is renormalized:
    ``Q'(a) = (Q(a) + eps) / (1 + eps * |union|)``. Each missing answer then
    costs about ``P(a) * ln(P(a) / eps)``, a large but finite penalty. When
    no answer is missing, the effect is negligible (of order ``eps``). With
    ``epsilon=0`` nothing is smoothed and a missing answer gives ``math.inf``.
    Reference answers the model never gave add nothing (``0 * log 0 = 0``).

    Args:
        answers: Sampled answers (a sequence or a distribution's
            ``all_texts()``), or a mapping answer -> count or probability.
        reference: Answer -> probability or count; all finite and >= 0, with
            a positive total.
        epsilon: Smoothing mass per answer, >= 0 (see above).
        key: Maps an answer to its identity (default :func:`normalize_key`).

    Returns:
        The divergence, >= 0; 0 when P equals Q (up to smoothing).

    Raises:
        VSConfigError: Empty answers, a negative or non-finite weight, a
            reference with zero total, or a negative epsilon.

    Example:
        >>> ref = {"heads": 0.5, "tails": 0.5}
        >>> round(kl_divergence(["heads", "heads", "Tails", "heads"], ref, epsilon=0), 4)
        0.1308
    """
    if not math.isfinite(epsilon) or epsilon < 0.0:
        msg = f"epsilon must be finite and >= 0, got {epsilon!r}"
        raise VSConfigError(msg, field="epsilon")
    if isinstance(answers, Mapping):
        if not answers:
            msg = "answers is empty"
            raise VSConfigError(msg, field="answers")
        p = _reference_distribution(answers, key)
    else:
        p = answer_frequencies(answers, key=key)
    q = _reference_distribution(reference, key)
    support = p.keys() | q.keys()
    scale = 1.0 + epsilon * len(support)
    terms: list[float] = []
    for answer, pa in p.items():
        if pa == 0.0:
            continue
        qa = (q.get(answer, 0.0) + epsilon) / scale
        if qa == 0.0:
            return math.inf
        terms.append(pa * math.log(pa / qa))
    return max(0.0, math.fsum(terms))


def _valid_keys(valid_answers: Iterable[str], key: Callable[[str], str]) -> set[str]:
    if isinstance(valid_answers, str):
        msg = "valid_answers must be a collection of strings, not a single str"
        raise VSConfigError(msg, field="valid_answers")
    valid = {key(a) for a in valid_answers}
    if not valid:
        msg = "valid_answers is empty"
        raise VSConfigError(msg, field="valid_answers")
    return valid


def coverage_n(
    answers: Texts,
    valid_answers: Iterable[str],
    *,
    key: Callable[[str], str] = normalize_key,
) -> float:
    """Coverage-N: the fraction of the valid answers that appear among N samples.

    Args:
        answers: The N sampled answers, or a distribution.
        valid_answers: The ground-truth answers (matched through ``key``;
            duplicates after normalization count once).
        key: Maps an answer to its identity (default :func:`normalize_key`).

    Returns:
        ``|unique valid answers given| / |valid answers|``, in ``[0, 1]``.

    Raises:
        VSConfigError: If ``valid_answers`` is empty or a bare string.

    Example:
        >>> coverage_n(["Ohio", "ohio", "Mars"], ["Ohio", "Texas", "Utah", "Maine"])
        0.25
    """
    valid = _valid_keys(valid_answers, key)
    given = set(_answer_keys(answers, key))
    return len(given & valid) / len(valid)


def precision(
    answers: Texts,
    valid_answers: Iterable[str],
    *,
    key: Callable[[str], str] = normalize_key,
) -> float:
    """Precision: the proportion of samples that are valid answers.

    Every sample counts, duplicates included (a distribution counts each
    merged duplicate ``count`` times).

    Args:
        answers: The sampled answers, or a distribution.
        valid_answers: The ground-truth answers (matched through ``key``).
        key: Maps an answer to its identity (default :func:`normalize_key`).

    Returns:
        ``|samples that are valid| / |samples|``, in ``[0, 1]``.

    Raises:
        VSConfigError: No answers, or ``valid_answers`` empty.

    Example:
        >>> precision(["Ohio", "ohio", "Mars"], ["Ohio", "Texas"])
        0.6666666666666666
    """
    valid = _valid_keys(valid_answers, key)
    keys = _answer_keys(answers, key)
    if not keys:
        msg = "answers is empty"
        raise VSConfigError(msg, field="answers")
    return sum(k in valid for k in keys) / len(keys)


# --------------------------------------------------------------------------- probabilities


def _weights(weights: Mapping[str, float] | Iterable[float], name: str) -> list[float]:
    values = list(weights.values()) if isinstance(weights, Mapping) else list(weights)
    out: list[float] = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            msg = f"{name}[{i}] must be a number, got {value!r}"
            raise VSConfigError(msg, field=name)
        number = float(value)
        if not math.isfinite(number) or number < 0.0:
            msg = f"{name}[{i}] must be finite and >= 0, got {value!r}"
            raise VSConfigError(msg, field=name)
        out.append(number)
    if math.fsum(out) <= 0.0:
        msg = f"{name} must have a positive total, got {len(out)} weight(s) summing to 0"
        raise VSConfigError(msg, field=name)
    return out


def entropy(weights: Mapping[str, float] | Iterable[float]) -> float:
    """Shannon entropy, in nats, of a distribution given by non-negative weights.

    The weights (probabilities, counts, or a mapping answer -> weight) are
    normalized first; zero weights add nothing. ``ln(m)`` is the most ``m``
    outcomes can reach (uniform); 0 means all mass on one outcome.

    Args:
        weights: Non-negative, finite weights with a positive total.

    Returns:
        ``-sum(p * ln p)`` over the normalized weights.

    Raises:
        VSConfigError: A negative, non-finite or non-numeric weight, or a
            zero total.

    Example:
        >>> round(entropy([1, 1, 1, 1]), 4)  # ln 4
        1.3863
        >>> entropy({"Ohio": 3, "Utah": 0})
        0.0
    """
    values = _weights(weights, "weights")
    total = math.fsum(values)
    return max(0.0, -math.fsum(v / total * math.log(v / total) for v in values if v > 0.0))


def tail_mass(weights: Mapping[str, float] | Iterable[float], threshold: float) -> float:
    """The share of probability mass on outcomes whose own probability is below ``threshold``.

    The weights are normalized first, so a probability here is a share of
    the total. With the paper's tail prompt ("each response less than
    tau"), a model that follows it puts all its mass below tau.

    Args:
        weights: Non-negative, finite weights with a positive total.
        threshold: Tau, in ``(0, 1]``.

    Returns:
        The mass of the outcomes with probability ``< threshold``, in ``[0, 1]``.

    Raises:
        VSConfigError: Bad weights, or a threshold outside ``(0, 1]``.

    Example:
        >>> tail_mass([0.5, 0.3, 0.1, 0.1], 0.2)  # the two outcomes of 0.1
        0.2
    """
    if isinstance(threshold, bool) or not (
        isinstance(threshold, int | float) and 0.0 < threshold <= 1.0
    ):
        msg = f"threshold must be in (0, 1], got {threshold!r}"
        raise VSConfigError(msg, field="threshold")
    values = _weights(weights, "weights")
    total = math.fsum(values)
    return math.fsum(v / total for v in values if v / total < threshold)


def mean_absolute_gap(stated: Mapping[str, float], observed: Mapping[str, float]) -> float:
    """Mean ``|stated(a) - observed(a)|`` over every outcome either side names.

    An outcome missing on one side counts as 0 there. Both sides are taken
    as given (pass normalized distributions to compare probabilities): the
    gap of a verbalized distribution against the answers' observed
    frequencies is 0 when the model states exactly how often it answers
    what. Half the gap times the number of outcomes is the total variation
    distance.

    Args:
        stated: Outcome -> probability (e.g. the mean stated probability).
        observed: Outcome -> probability (e.g. the observed frequency).

    Returns:
        The mean absolute difference, ``>= 0``.

    Raises:
        VSConfigError: Both mappings empty, or a value that is not a finite number.

    Example:
        >>> mean_absolute_gap({"a": 0.6, "b": 0.4}, {"a": 0.5, "c": 0.5})  # .1, .4, .5
        0.3333333333333333
    """
    keys = list(dict.fromkeys([*stated, *observed]))
    if not keys:
        msg = "mean_absolute_gap needs at least one outcome"
        raise VSConfigError(msg, field="stated")
    for name, side in (("stated", stated), ("observed", observed)):
        for key, value in side.items():
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
                msg = f"{name}[{key!r}] must be a number, got {value!r}"
                raise VSConfigError(msg, field=name)
            if not math.isfinite(float(value)):
                msg = f"{name}[{key!r}] must be finite, got {value!r}"
                raise VSConfigError(msg, field=name)
    gaps = [abs(float(stated.get(k, 0.0)) - float(observed.get(k, 0.0))) for k in keys]
    return math.fsum(gaps) / len(keys)


# --------------------------------------------------------------------------- report


class DiversityReport(BaseModel):
    """The diversity metrics of one set of texts.

    Attributes:
        n_texts: How many texts were scored (pooled duplicates repeated).
        semantic_diversity: :func:`semantic_diversity` in percent, or None when
            no embedder was given.
        rouge_l: :func:`pairwise_rouge_l` (lower = more diverse).
        distinct_1: :func:`distinct_n` with n=1 (higher = more diverse).
        distinct_2: Same with n=2.
        distinct_3: Same with n=3.
        compression_ratio: :func:`compression_ratio` (lower = more diverse).
        vendi_score: :func:`vendi_score` of the embeddings (the effective
            number of distinct texts), or None when no embedder was given.
        distinct_classes: :func:`distinct_classes` (classes of equivalent
            meaning at :data:`CLASS_SIMILARITY`), or None without an embedder.

    Example:
        >>> r = diversity_report(["a b", "c d"])
        >>> (r.rouge_l, r.distinct_1, r.semantic_diversity)
        (0.0, 1.0, None)
    """

    model_config = ConfigDict(frozen=True)

    n_texts: int
    semantic_diversity: float | None
    rouge_l: float
    distinct_1: float
    distinct_2: float
    distinct_3: float
    compression_ratio: float
    vendi_score: float | None = None
    distinct_classes: int | None = None


def diversity_report(
    texts: Texts, embedder: Embedder | Literal["default"] | None = None
) -> DiversityReport:
    """Score a set of texts on every diversity metric at once.

    Args:
        texts: At least two texts, or a distribution (its ``all_texts()``, so
            pooled duplicates count once per sample).
        embedder: For the semantic score: any :data:`Embedder`, ``"default"``
            for the offline :func:`vs_common.backends.embeddings.default_embedder`
            (needs the ``metrics`` extra), or None to skip it.

    Returns:
        A :class:`DiversityReport`; ``.model_dump()`` gives a plain dict.

    Raises:
        VSConfigError: Fewer than 2 texts, or an unusable embedder.
        ImportError: ``embedder="default"`` without the ``metrics`` extra.

    Example:
        >>> diversity_report(["the cat sat", "the cat sat"]).rouge_l
        1.0
    """
    items = _as_texts(texts)
    _need_pairs(items, "a diversity report")
    semantic: float | None = None
    vendi: float | None = None
    classes: int | None = None
    if embedder is not None:
        if isinstance(embedder, str):
            if embedder != "default":
                msg = f"embedder must be an embedder object, 'default' or None, got {embedder!r}"
                raise VSConfigError(msg, field="embedder")
            from vs_common.backends.embeddings import default_embedder

            embedder = default_embedder()
        vectors = embed_texts(items, embedder)  # once, for the three embedding metrics
        semantic = embedding_diversity(vectors)
        vendi = vendi_score(vectors)
        keys = [normalize_key(t) for t in items]
        classes = len(equivalence_classes(vectors, keys=keys))
    return DiversityReport(
        n_texts=len(items),
        semantic_diversity=semantic,
        rouge_l=pairwise_rouge_l(items),
        distinct_1=distinct_n(items, 1),
        distinct_2=distinct_n(items, 2),
        distinct_3=distinct_n(items, 3),
        compression_ratio=compression_ratio(items),
        vendi_score=vendi,
        distinct_classes=classes,
    )
