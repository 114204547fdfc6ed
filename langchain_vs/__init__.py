"""LangChain adapter for Verbalized Sampling.

Make VS a natural part of chains, agents and LangGraph graphs: a parser for
``prompt | llm | parser``, prompt builders, a sampler Runnable that runs the
core orchestration over any chat model, a seeded selector and an agent tool.

Example:
    >>> from langchain_vs import VerbalizedSamplingParser, vs_prompt
    >>> prompt = vs_prompt(k=3, template="Write a joke about {topic}")
    >>> prompt.input_variables
    ['topic']

Importing it without langchain-core installed raises ImportError naming the
extra to install.
"""

from __future__ import annotations

import logging

try:
    import langchain_core  # noqa: F401 - only checks that the extra is installed
except ImportError as exc:
    _msg = (
        "langchain_vs needs langchain-core; install it with "
        'pip install "verbalized-sampling-kit[langchain]"'
    )
    raise ImportError(_msg, name=exc.name) from exc

from langchain_vs._parser import VerbalizedSamplingParser
from langchain_vs._prompts import add_vs_instructions, escape_braces, vs_prompt
from langchain_vs._sampler import SamplerInput, SamplerOutput, VerbalizedSampler
from langchain_vs._selector import SelectorInput, VerbalizedSelector
from langchain_vs._tool import (
    BrainstormInput,
    VerbalizedSamplingTool,
    create_vs_tool,
    format_options,
)

# Silent unless the application configures logging (see vs_common).
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "BrainstormInput",
    "SamplerInput",
    "SamplerOutput",
    "SelectorInput",
    "VerbalizedSampler",
    "VerbalizedSamplingParser",
    "VerbalizedSamplingTool",
    "VerbalizedSelector",
    "add_vs_instructions",
    "create_vs_tool",
    "escape_braces",
    "format_options",
    "vs_prompt",
]
