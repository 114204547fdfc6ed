"""Evaluation: compare methods on the same budget, check the verbalized probabilities.

What ``vs compare`` and the benchmarks use, and what a notebook can use too:

* :func:`compare_methods` runs several methods (Direct, Sequence, VS-Standard
  by default) on the same prompts and budget of samples and scores them with
  :func:`vs_common.metrics.diversity_report` (semantic diversity, ROUGE-L,
  distinct-n, compression), valid-parse rate and tokens per sample; the
  result is a :class:`Comparison` (``.table()``, ``.to_dict()``,
  :func:`write_report` for an HTML page with charts).
* :func:`run_eval` (``vs eval``): the paper's experiments (random number
  generation, open-ended QA, creative writing; see
  :mod:`vs_common.evaluation.experiments`, where a user's own experiment is
  declared) on the user's model, each figure beside the paper's; the result
  is an :class:`Evaluation` (``.table()``, ``.to_dict()``,
  :func:`write_eval_report`).
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
from vs_common.evaluation._eval import (
    EVAL_METHODS,
    EvalProgress,
    Evaluation,
    ExperimentResult,
    run_eval,
    score_experiment,
)
from vs_common.evaluation._eval_report import write_eval_report
from vs_common.evaluation._reachability import Reachability, is_unreachable
from vs_common.evaluation._report import REPORT_EXTRA_HINT, WrittenReport, write_report

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_TAU",
    "EVAL_METHODS",
    "METHOD_LABELS",
    "REPORT_EXTRA_HINT",
    "Calibration",
    "CalibrationRow",
    "Comparison",
    "EvalProgress",
    "Evaluation",
    "ExperimentResult",
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
    "run_eval",
    "score",
    "score_experiment",
    "write_eval_report",
    "write_report",
]
