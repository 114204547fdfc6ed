"""Framework-free core of Verbalized Sampling: prompts, parsing, pooling, selection.

Example:
    >>> from vs_common import VSConfig, build_messages, parse_distribution
    >>> msgs = build_messages("Write a joke about coffee", VSConfig(k=5))
    >>> parse_distribution('[{"text": "Decaf?", "probability": 1}]').texts
    ['Decaf?']
"""

import logging
from importlib.metadata import PackageNotFoundError, version

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
    followup_instruction,
    response_schema,
    system_instruction,
)
from vs_common.parsing import StreamingParser, parse_distribution
from vs_common.providers import is_transient, retry_after_seconds
from vs_common.sampling import Progress, RetryPolicy, Structured, run_sampling, run_sync
from vs_common.selection import STRATEGIES, Strategy, check_strategy, select, selection_weights

# Retries, re-asks and fallbacks are logged (keys redacted) at INFO and DEBUG;
# the application decides what to show: silent unless logging is configured.
logging.getLogger(__name__).addHandler(logging.NullHandler())

try:
    __version__ = version("verbalized-sampling-kit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

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
    "VSSamplingError",
    "VSStructuredOutputUnsupported",
    "VSTransientError",
    "VerbalizedDistribution",
    "__version__",
    "build_messages",
    "check_strategy",
    "followup_instruction",
    "is_transient",
    "normalize_key",
    "parse_distribution",
    "pool",
    "response_schema",
    "retry_after_seconds",
    "run_sampling",
    "run_sync",
    "select",
    "selection_weights",
    "system_instruction",
]
