"""``vs generate PROMPT``: sample a verbalized distribution and select one candidate."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from vs_common.calls import Call
from vs_common.cli._backend import BackendOptions, open_backend
from vs_common.cli._common import CLIError, Selection, UsageError, config_from, eprint
from vs_common.cli._progress import ProgressLine, sampling_progress
from vs_common.cli._render import distribution_payload, render_table
from vs_common.distinct import DistinctPolicy
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSSamplingError
from vs_common.evaluation import Reachability
from vs_common.methods import VSConfig
from vs_common.sampling import RetryPolicy, run_sampling, run_sync

__all__ = ["run_generate", "sampling_failure", "shortfall_note"]


def sampling_failure(exc: VSSamplingError, label: str, *, unreachable: bool = False) -> CLIError:
    """One clear line for a run where too few calls succeeded.

    Args:
        exc: The error of the run.
        label: Where the model runs, for the message.
        unreachable: No call reached the server (see
            :func:`vs_common.evaluation.is_unreachable`).
    """
    first = exc.failures[0] if exc.failures else None
    if first is not None and unreachable:
        msg = f"cannot reach the model server ({label}): {first.message}"
    elif first is not None:
        msg = (
            f"all {len(exc.failures)} call(s) failed ({label}); last error:"
            f" {exc.failures[-1].error_type}: {exc.failures[-1].message[:300]}"
        )
    else:
        msg = f"sampling failed ({label}): {exc}"
    return CLIError(" ".join(msg.split()))


def _summary(config: VSConfig, dist: VerbalizedDistribution, model: str) -> str:
    samples = len(dist.all_texts())
    head = (
        f"{len(dist.candidates)} candidates ({samples} samples) from {dist.num_calls} call(s)"
        f" | {config.method.value} k={config.k} n={config.total} | model {model}"
    )
    if dist.usage is not None and samples:
        tokens = dist.usage.total_tokens
        head += f" | {tokens} tokens ({tokens / samples:.0f}/sample)"
    if dist.failures:
        head += f" | {len(dist.failures)} call(s) failed"
    if dist.top_up_calls:
        head += f" | {dist.top_up_calls} top-up call(s)"
    if dist.shortfall:
        head += f" | short by {dist.shortfall}"
    if dist.distinct is not None:
        d = dist.distinct
        head += f" | {d.distinct}/{d.wanted} distinct, stopped: {d.stop_reason}"
    return head


def shortfall_note(dist: VerbalizedDistribution) -> str | None:
    """One line saying how many of the n samples asked for are missing, or None.

    Example:
        >>> d = VerbalizedDistribution(candidates=[], requested=10, shortfall=3, top_up_calls=2)
        >>> shortfall_note(d)
        'short by 3 of the 10 samples asked for, after 2 top-up call(s) (see --max-top-up)'
    """
    if not dist.shortfall:
        return None
    if dist.distinct is not None:
        d = dist.distinct
        why = {
            "budget": "the call budget is spent (see --max-calls)",
            "repeating": "the model kept repeating itself",
            "failing": "the calls kept failing",
            "reached_n": "",
        }[d.stop_reason]
        return f"{d.distinct} distinct of the {d.wanted} asked for after {d.calls} call(s): {why}"
    return (
        f"short by {dist.shortfall} of the {dist.requested} samples asked for, after"
        f" {dist.top_up_calls} top-up call(s) (see --max-top-up)"
    )


def _distinct_policy(args: argparse.Namespace) -> DistinctPolicy | None:
    max_calls = getattr(args, "max_calls", None)
    if not getattr(args, "distinct", False):
        if max_calls is not None:
            msg = "argument --max-calls: only applies with --distinct"
            raise UsageError(msg)
        return None
    return DistinctPolicy(max_calls=max_calls)


def run_generate(
    args: argparse.Namespace,
    backend_options: BackendOptions,
    out: TextIO,
    err: TextIO,
    *,
    call: Call | None = None,
) -> int:
    """Run ``vs generate`` with parsed arguments; returns the exit code.

    Raises:
        UsageError: A bad option value (exit 2).
        CLIError: The server failed (exit 1).
    """
    settings = vars(args)
    config = config_from(settings)
    selection = Selection.from_settings(settings, config)
    distinct = _distinct_policy(args)
    with open_backend(backend_options, err, call=call) as backend:
        watch = Reachability(backend.call)
        show = not args.quiet and config.num_calls > 1
        on_progress = sampling_progress(ProgressLine(err)) if show else None
        try:
            dist = run_sync(
                run_sampling(
                    args.prompt,
                    config,
                    watch,
                    structured=args.structured,
                    max_concurrency=args.concurrency,
                    retry=RetryPolicy(max_retries=args.retries, max_top_up_calls=args.max_top_up),
                    on_progress=on_progress,
                    jitter_seed=args.seed,
                    distinct=distinct,
                    seed=args.seed,  # SimpleStrat's strata draws too
                )
            )
        except VSSamplingError as exc:
            unreachable = watch.unreachable is not None and not watch.reached
            raise sampling_failure(exc, backend.label, unreachable=unreachable) from None
    if not dist.candidates:
        msg = f"the model returned no usable candidate ({backend.label})"
        raise CLIError(msg)
    chosen = selection.choose(dist)
    if args.json:
        payload = distribution_payload(
            dist, chosen, config, prompt=args.prompt, model=backend.model
        )
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        header = _summary(config, dist, backend.model)
        out.write(
            render_table(
                dist, chosen, encoding=getattr(out, "encoding", None) or "utf-8", header=header
            )
            + "\n"
        )
    note = shortfall_note(dist)
    if note is not None:
        eprint(f"vs: {note}", err)
    out.flush()
    return 0
