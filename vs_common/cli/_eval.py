"""``vs eval``: the paper's experiments on the user's model, each figure beside the paper's.

This module only reads the options and prints: the runs and the scores come
from :func:`vs_common.evaluation.run_eval`, the report from
:func:`vs_common.evaluation.write_eval_report`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import TextIO

from vs_common.calls import Call
from vs_common.cli._backend import BackendOptions, open_backend
from vs_common.cli._common import CLIError, UsageError, eprint
from vs_common.cli._progress import ProgressLine
from vs_common.errors import VSConfigError, VSSamplingError
from vs_common.evaluation import METHOD_LABELS, load_embedder, run_eval, score_experiment
from vs_common.evaluation.experiments import Budget, Experiment
from vs_common.methods import Method, VSConfig
from vs_common.sampling import Progress, RetryPolicy, run_sync

__all__ = ["run_eval_command"]


def _budget(args: argparse.Namespace) -> Callable[[Experiment], Budget]:
    """Each experiment's size: quick or the paper's, with -n, -k and --prompts applied."""

    def size(exp: Experiment) -> Budget:
        base = exp.quick if args.quick else exp.full
        prompts = min(args.prompts, len(exp.prompts)) if args.prompts else base.prompts
        return dataclasses.replace(base, n=args.n or base.n, k=args.k or base.k, prompts=prompts)

    return size


def _check(args: argparse.Namespace) -> None:
    try:
        VSConfig(method=Method.VS_STANDARD, n=args.n, k=args.k or 5)
    except VSConfigError as exc:
        flag = "-n" if exc.field == "n" else "-k"
        msg = f"argument {flag}: {exc}"
        raise UsageError(msg) from None


def run_eval_command(
    args: argparse.Namespace,
    backend_options: BackendOptions,
    out: TextIO,
    err: TextIO,
    *,
    call: Call | None = None,
) -> int:
    """Run ``vs eval`` with parsed arguments; returns the exit code."""
    _check(args)
    line = ProgressLine(err)

    def progress(name: str, method: Method, index: int) -> Callable[[Progress], None] | None:
        if args.quiet:
            return None
        label = f"{name}: {METHOD_LABELS.get(method, method.value)} [prompt {index + 1}]"

        def report(p: Progress) -> None:
            line.show(f"{label}: call {p.calls_done}/{p.calls_planned}, {p.failures} failed")

        return report

    with open_backend(backend_options, err, call=call) as backend:
        try:
            evaluation = run_sync(
                run_eval(
                    backend.call,
                    experiments=args.experiments,
                    methods=[Method(m) for m in args.methods],
                    quick=args.quick,
                    budget=_budget(args),
                    structured=args.structured,
                    max_concurrency=args.concurrency,
                    retry=RetryPolicy(
                        max_retries=args.retries,
                        max_reasks=0,
                        # equal budgets: no top-up calls unless asked for
                        max_top_up_calls=args.max_top_up or 0,
                    ),
                    progress=progress,
                    model=backend.model,
                    seed=args.seed,
                    scored=False,  # the embedder loads only once the server answered
                )
            )
        except VSSamplingError as exc:  # raised only when the server cannot be reached
            msg = f"{exc} ({backend.label})"
            raise CLIError(" ".join(msg.split())) from None
    if not args.quiet:
        line.show(f"sampled in {evaluation.seconds:.0f} s; scoring", final=True)
    evaluation.quick = args.quick
    needs_embedder = any(r.experiment.semantic for r in evaluation.results)
    embedder, note = load_embedder(not args.no_semantic and needs_embedder)
    evaluation.semantic_note = note if needs_embedder else None
    for result in evaluation.results:
        score_experiment(result, embedder)
    if args.json:
        out.write(json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(evaluation.table() + "\n")
    out.flush()
    if not args.no_report:
        from vs_common.evaluation import write_eval_report

        written = write_eval_report(evaluation, args.report)
        if written.note:
            eprint(f"vs eval: {written.note}", err)
        eprint(f"vs eval: report written to {written.html}", err)
    return 0
