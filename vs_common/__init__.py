"""Framework-free core of Verbalized Sampling: prompts, parsing, pooling, selection.

Example:
    >>> from vs_common import VSConfig, build_messages, parse_distribution
    >>> msgs = build_messages("Write a joke about coffee", VSConfig(k=5))
    >>> parse_distribution('[{"text": "Decaf?", "probability": 1}]').texts
    ['Decaf?']

In one line, on your server, OpenAI, or the embedded model (see :func:`verbalize`):

    >>> verbalize("Write a joke about coffee", k=5, tau=0.12).sample(seed=7).text  # doctest: +SKIP
    'Decaf: all the taste, none of the point.'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vs_common._verbalize import averbalize, verbalize
    from vs_common.calls import Call, CallRequest, CallResponse, Message, StructuredMode, Usage
    from vs_common.distribution import (
        CallFailure,
        Candidate,
        VerbalizedDistribution,
        normalize_key,
        pool,
    )
    from vs_common.errors import (
        VSConfigError,
        VSError,
        VSParseError,
        VSParserBug,
        VSSamplingError,
        VSStructuredOutputUnsupported,
        VSTransientError,
    )
    from vs_common.methods import (
        Method,
        OutputFormat,
        ProbabilityFormat,
        VSConfig,
        build_messages,
        completion_prompt,
        followup_instruction,
        response_schema,
        system_instruction,
    )
    from vs_common.parsing import StreamingParser, parse_distribution
    from vs_common.providers import is_transient, retry_after_seconds
    from vs_common.replies import read_reply, streaming_parser
    from vs_common.sampling import Progress, RetryPolicy, Structured, run_sampling, run_sync
    from vs_common.selection import STRATEGIES, Strategy, check_strategy, select, selection_weights

# Each public name and the module that defines it, imported on first use (PEP 562):
# `import vs_common` and `vs --help` load no pydantic, numpy or asyncio until a
# name that needs them is used.
_LAZY: dict[str, str] = {
    "Call": "vs_common.calls",
    "CallFailure": "vs_common.distribution",
    "CallRequest": "vs_common.calls",
    "CallResponse": "vs_common.calls",
    "Candidate": "vs_common.distribution",
    "Message": "vs_common.calls",
    "Method": "vs_common.methods",
    "OutputFormat": "vs_common.methods",
    "ProbabilityFormat": "vs_common.methods",
    "Progress": "vs_common.sampling",
    "RetryPolicy": "vs_common.sampling",
    "STRATEGIES": "vs_common.selection",
    "Strategy": "vs_common.selection",
    "StreamingParser": "vs_common.parsing",
    "Structured": "vs_common.sampling",
    "StructuredMode": "vs_common.calls",
    "Usage": "vs_common.calls",
    "VSConfig": "vs_common.methods",
    "VSConfigError": "vs_common.errors",
    "VSError": "vs_common.errors",
    "VSParseError": "vs_common.errors",
    "VSParserBug": "vs_common.errors",
    "VSSamplingError": "vs_common.errors",
    "VSStructuredOutputUnsupported": "vs_common.errors",
    "VSTransientError": "vs_common.errors",
    "VerbalizedDistribution": "vs_common.distribution",
    "averbalize": "vs_common._verbalize",
    "build_messages": "vs_common.methods",
    "check_strategy": "vs_common.selection",
    "completion_prompt": "vs_common.methods",
    "followup_instruction": "vs_common.methods",
    "is_transient": "vs_common.providers",
    "normalize_key": "vs_common.distribution",
    "parse_distribution": "vs_common.parsing",
    "pool": "vs_common.distribution",
    "read_reply": "vs_common.replies",
    "response_schema": "vs_common.methods",
    "retry_after_seconds": "vs_common.providers",
    "run_sampling": "vs_common.sampling",
    "run_sync": "vs_common.sampling",
    "select": "vs_common.selection",
    "selection_weights": "vs_common.selection",
    "streaming_parser": "vs_common.replies",
    "system_instruction": "vs_common.methods",
    "verbalize": "vs_common._verbalize",
}

__all__ = [
    "STRATEGIES",
    "Call",
    "CallFailure",
    "CallRequest",
    "CallResponse",
    "Candidate",
    "Message",
    "Method",
    "OutputFormat",
    "ProbabilityFormat",
    "Progress",
    "RetryPolicy",
    "Strategy",
    "StreamingParser",
    "Structured",
    "StructuredMode",
    "Usage",
    "VSConfig",
    "VSConfigError",
    "VSError",
    "VSParseError",
    "VSParserBug",
    "VSSamplingError",
    "VSStructuredOutputUnsupported",
    "VSTransientError",
    "VerbalizedDistribution",
    "__version__",
    "averbalize",
    "build_messages",
    "check_strategy",
    "completion_prompt",
    "followup_instruction",
    "is_transient",
    "normalize_key",
    "parse_distribution",
    "pool",
    "read_reply",
    "response_schema",
    "retry_after_seconds",
    "run_sampling",
    "run_sync",
    "select",
    "selection_weights",
    "streaming_parser",
    "system_instruction",
    "verbalize",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        msg = f"module 'vs_common' has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("verbalized-sampling-kit")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"
