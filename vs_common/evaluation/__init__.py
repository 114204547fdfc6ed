"""Evaluation: compare methods on the same budget, check the verbalized probabilities.

What ``vs compare`` and the benchmarks use, and what a notebook can use too:

* :func:`compare_methods` runs several methods (Direct, Sequence, VS-Standard
  by default) on the same prompts and budget of samples and scores them with
  :func:`vs_common.metrics.diversity_report` (semantic diversity, ROUGE-L,
  distinct-n, compression), valid-parse rate and tokens per sample; the
  result is a :class:`Comparison` (``.table()``, ``.to_dict()``,
  :func:`write_report` for an HTML page with charts).
* :func:`calibrate` / :func:`calibration_from`: for one prompt, each answer's
  mean stated probability against how often it comes back across calls and
  how often Direct sampling gives it, with the raw probability sums, entropy
  and tail mass (:class:`Calibration`).

Example:
    >>> import asyncio, json
    >>> from vs_common import Method
    >>> from vs_common.evaluation import compare_methods
    >>> async def call(request):  # your model here
    ...     if request.schema is None:  # Direct: one answer per call
    ...         return "California"
    ...     states = ["Ohio", "Utah", "Iowa"]
    ...     return json.dumps([{"text": s, "probability": 0.3} for s in states])
    >>> c = asyncio.run(compare_methods(["Name a US state"], call, n=6, k=3))
    >>> [(r.label, len(set(r.runs[0].texts))) for r in c.results]
    [('Direct', 1), ('Sequence', 3), ('VS-Standard', 3)]
    >>> round(c.get(Method.VS_STANDARD).runs[0].calibration.raw_sum_mean, 2)
    0.9
"""

from vs_common.evaluation._calibration import (
    DEFAULT_TAU,
    Calibration,
    CalibrationRow,
    calibrate,
    calibration_from,
)
from vs_common.evaluation._compare import (
    DEFAULT_METHODS,
    METHOD_LABELS,
    Comparison,
    MethodResult,
    ProgressFactory,
    PromptRun,
    compare_methods,
    load_embedder,
    method_config,
    score,
)
from vs_common.evaluation._reachability import Reachability, is_unreachable
from vs_common.evaluation._report import REPORT_EXTRA_HINT, WrittenReport, write_report

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_TAU",
    "METHOD_LABELS",
    "REPORT_EXTRA_HINT",
    "Calibration",
    "CalibrationRow",
    "Comparison",
    "MethodResult",
    "ProgressFactory",
    "PromptRun",
    "Reachability",
    "WrittenReport",
    "calibrate",
    "calibration_from",
    "compare_methods",
    "is_unreachable",
    "load_embedder",
    "method_config",
    "score",
    "write_report",
]
