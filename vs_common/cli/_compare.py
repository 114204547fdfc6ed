"""``vs compare PROMPT...``: several methods on the same budget, scored for diversity.

This module only reads the options and prints: the runs, the scores and the
calibration diagnostics come from :mod:`vs_common.evaluation`
(:func:`~vs_common.evaluation.compare_methods`), the HTML report from
:func:`vs_common.evaluation.write_report`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from vs_common.calls import Call
from vs_common.cli._backend import BackendOptions, open_backend
from vs_common.cli._common import CLIError, UsageError, eprint
from vs_common.cli._progress import ProgressLine
from vs_common.errors import VSConfigError, VSSamplingError
from vs_common.evaluation import (
    DEFAULT_METHODS,
    DEFAULT_TAU,
    METHOD_LABELS,
    compare_methods,
    load_embedder,
    score,
)
from vs_common.methods import Method, VSConfig
from vs_common.sampling import Progress, RetryPolicy, run_sync

__all__ = [
    "add_compare_arguments",
    "parse_methods",
    "run_compare_command",
]


def parse_methods(text: str) -> list[Method]:
    """Read ``--methods direct,sequence,vs_standard``.

    Raises:
        argparse.ArgumentTypeError: An unknown method (named).

    Example:
        >>> [m.value for m in parse_methods("direct, vs_cot")]
        ['direct', 'vs_cot']
    """
    methods: list[Method] = []
    for part in text.split(","):
        name = part.strip().lower().replace("-", "_")
        if not name:
            continue
        try:
            method = Method(name)
        except ValueError:
            choices = ", ".join(m.value for m in Method)
            msg = f"unknown method {part.strip()!r} (choose from {choices})"
            raise argparse.ArgumentTypeError(msg) from None
        if method not in methods:
            methods.append(method)
    if not methods:
        msg = "no method given"
        raise argparse.ArgumentTypeError(msg)
    return methods


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the prompts, budget, methods and report options."""
    parser.add_argument("prompts", metavar="PROMPT", nargs="+", help="one or more prompts")
    parser.add_argument(
        "-n",
        "--n",
        type=int,
        default=10,
        help="samples per method and prompt (10); no top-up calls unless --max-top-up,"
        " so every method gets the same budget",
    )
    parser.add_argument("-k", "--k", type=int, default=5, help="candidates per call (5)")
    parser.add_argument(
        "--methods",
        type=parse_methods,
        default=list(DEFAULT_METHODS),
        help="comma-separated methods (default: direct,sequence,vs_standard)",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=Path("vs-report"),
        help="directory of the HTML report and its PNG charts (vs-report)",
    )
    parser.add_argument("--no-report", action="store_true", help="print the table only")
    parser.add_argument(
        "--no-semantic", action="store_true", help="skip semantic diversity (no embedder)"
    )
    parser.add_argument(
        "--tau",
        type=_tau,
        default=DEFAULT_TAU,
        help=f"tail threshold of the calibration diagnostics ({DEFAULT_TAU:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _tau(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"expected a number in (0, 1], got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not 0.0 < value <= 1.0:
        msg = f"expected a number in (0, 1], got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _check_budget(n: int, k: int) -> None:
    try:
        VSConfig(method=Method.VS_STANDARD, n=n, k=k)
    except VSConfigError as exc:
        flag = "-n" if exc.field == "n" else "-k"
        msg = f"argument {flag}: {exc}"
        raise UsageError(msg) from None


def run_compare_command(
    args: argparse.Namespace,
    backend_options: BackendOptions,
    out: TextIO,
    err: TextIO,
    *,
    call: Call | None = None,
) -> int:
    """Run ``vs compare`` with parsed arguments; returns the exit code."""
    _check_budget(args.n, args.k)
    prompts = [p for p in args.prompts if p.strip()]
    if not prompts:
        msg = "argument PROMPT: every prompt is empty"
        raise UsageError(msg)
    line = ProgressLine(err)

    def progress(method: Method, index: int) -> Callable[[Progress], None] | None:
        if args.quiet:
            return None
        label = f"{METHOD_LABELS[method]} [prompt {index + 1}/{len(prompts)}]"

        def report(p: Progress) -> None:
            line.show(
                f"{label}: call {p.calls_done}/{p.calls_planned}, {p.failures} failed",
                final=p.calls_done >= p.calls_planned and index == len(prompts) - 1,
            )

        return report

    with open_backend(backend_options, err, call=call) as backend:
        try:
            comparison = run_sync(
                compare_methods(
                    prompts,
                    backend.call,
                    methods=args.methods,
                    n=args.n,
                    k=args.k,
                    tau=args.tau,
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
                    scored=False,  # the embedder loads only once the server answered
                )
            )
        except VSSamplingError as exc:  # raised only when the server cannot be reached
            msg = f"{exc} ({backend.label})"
            raise CLIError(" ".join(msg.split())) from None
    embedder, note = load_embedder(not args.no_semantic)
    comparison.semantic_note = note
    score(comparison, embedder)
    if args.json:
        out.write(json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(comparison.table() + "\n")
    out.flush()
    if not args.no_report:
        from vs_common.evaluation import write_report

        written = write_report(comparison, args.report)
        if written.note:
            eprint(f"vs compare: {written.note}", err)
        eprint(f"vs compare: report written to {written.html}", err)
    return 0
