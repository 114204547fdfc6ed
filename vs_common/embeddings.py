"""Deprecated location of the offline embedder: use :mod:`vs_common.backends`.

Deprecated: the embedder moved to :mod:`vs_common.backends.embeddings`. This module
re-exports its public names for one more release and will then be
removed; import ``from vs_common.backends import default_embedder`` instead.

Example:
    >>> from vs_common.embeddings import MiniLMEmbedder
    >>> MiniLMEmbedder.__module__
    'vs_common.backends.embeddings'
"""

from vs_common.backends.embeddings import (
    MODEL_SHA256,
    TOKENIZER_SHA256,
    MiniLMEmbedder,
    default_embedder,
)

__all__ = ["MODEL_SHA256", "TOKENIZER_SHA256", "MiniLMEmbedder", "default_embedder"]
