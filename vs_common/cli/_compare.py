"""``vs compare PROMPT...``: several methods on the same budget, scored for diversity.

This module only reads the options and prints: the runs, the scores and the
calibration diagnostics come from :mod:`vs_common.evaluation`
(:func:`~vs_common.evaluation.compare_methods`), the HTML report from
:func:`vs_common.evaluation.write_report`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
from collections.abc import Callable
from typing import TextIO

from vs_common.backends.local_server import BASE_MODEL_ALIAS
from vs_common.calls import Call
from vs_common.cli._backend import Backend, BackendOptions, open_backend
from vs_common.cli._common import CLIError, UsageError, eprint
from vs_common.cli._progress import ProgressLine
from vs_common.errors import VSConfigError, VSSamplingError
from vs_common.evaluation import (
    METHOD_LABELS,
    compare_methods,
    load_embedder,
    score,
)
from vs_common.methods import Method, VSConfig
from vs_common.sampling import Progress, RetryPolicy, run_sync

__all__ = [
    "run_compare_command",
]


def _check_budget(n: int, k: int) -> None:
    try:
        VSConfig(method=Method.VS_STANDARD, n=n, k=k)
    except VSConfigError as exc:
        flag = "-n" if exc.field == "n" else "-k"
        msg = f"argument {flag}: {exc}"
        raise UsageError(msg) from None


def _base_options(args: argparse.Namespace, main: BackendOptions) -> BackendOptions | None:
    """The backend of ``--base-model``: the embedded Gemma 3 270M, or a URL (no key sent)."""
    if args.base_model is None:
        return None
    tokens = args.base_max_tokens or main.max_tokens
    if args.base_model == "embedded":
        return dataclasses.replace(
            main, base_url=None, model=None, api_key_env=None, embedded=True,
            local_model=BASE_MODEL_ALIAS, max_tokens=tokens,
        )  # fmt: skip
    return dataclasses.replace(
        main, base_url=args.base_model, model=args.base_model_name, api_key_env=None,
        embedded=False, max_tokens=tokens,
    )  # fmt: skip


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
        label = f"{METHOD_LABELS.get(method, method.value)} [prompt {index + 1}/{len(prompts)}]"

        def report(p: Progress) -> None:
            line.show(
                f"{label}: call {p.calls_done}/{p.calls_planned}, {p.failures} failed",
                final=p.calls_done >= p.calls_planned and index == len(prompts) - 1,
            )

        return report

    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(open_backend(backend_options, err, call=call))
        base_options = _base_options(args, backend_options)
        base: Backend | None = None
        if base_options is not None:
            base = stack.enter_context(open_backend(base_options, err, call=call))
        try:
            comparison = run_sync(
                compare_methods(
                    prompts,
                    backend.call,
                    methods=[Method(m) for m in args.methods],
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
                    base_call=base.call if base is not None else None,
                    base_model=base.model if base is not None else "",
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
