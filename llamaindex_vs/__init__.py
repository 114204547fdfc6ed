"""LlamaIndex adapter for Verbalized Sampling: output parser, workflow steps, RAG, agent tool.

Everything here translates LlamaIndex objects to and from the framework-free
core (:mod:`vs_common`); the sampling policy itself is
:func:`vs_common.run_sampling`.

Importing it without llama-index-core installed raises ImportError naming the
extra to install.

Example:
    >>> from llamaindex_vs import VerbalizedSamplingOutputParser
    >>> VerbalizedSamplingOutputParser().parse('[{"text": "Hi", "probability": 1}]').texts
    ['Hi']
"""

from __future__ import annotations

import logging

try:
    import llama_index.core  # noqa: F401 - only checks that the extra is installed
except ImportError as exc:
    _msg = (
        "llamaindex_vs needs llama-index-core; install it with "
        'pip install "verbalized-sampling-kit[llamaindex]"'
    )
    raise ImportError(_msg, name=exc.name) from exc

from llamaindex_vs._call import make_llm_call
from llamaindex_vs._output_parser import VerbalizedSamplingOutputParser
from llamaindex_vs._query_engine import (
    DISTRIBUTION_KEY,
    SELECTED_KEY,
    VerbalizedSamplingQueryEngine,
    VerbalizedSamplingSynthesizer,
    get_distribution,
)
from llamaindex_vs._tool import VerbalizedSamplingToolResult, verbalized_sampling_tool
from llamaindex_vs._workflow import (
    VerbalizedSamplingSteps,
    VerbalizedSamplingWorkflow,
    VSDistributionEvent,
    VSGenerateEvent,
    VSParseEvent,
    VSProgressEvent,
    VSSelectedEvent,
    VSStartEvent,
    VSStopEvent,
)

# Silent unless the application configures logging (see vs_common).
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DISTRIBUTION_KEY",
    "SELECTED_KEY",
    "VSDistributionEvent",
    "VSGenerateEvent",
    "VSParseEvent",
    "VSProgressEvent",
    "VSSelectedEvent",
    "VSStartEvent",
    "VSStopEvent",
    "VerbalizedSamplingOutputParser",
    "VerbalizedSamplingQueryEngine",
    "VerbalizedSamplingSteps",
    "VerbalizedSamplingSynthesizer",
    "VerbalizedSamplingToolResult",
    "VerbalizedSamplingWorkflow",
    "get_distribution",
    "make_llm_call",
    "verbalized_sampling_tool",
]
