"""The ``vs`` command: Verbalized Sampling from the shell.

Subcommands:

* ``vs generate PROMPT``: k candidates with verbalized probabilities, pooled
  over ceil(n/k) calls, shown as a table with bars; one is selected.
* ``vs batch INPUT.jsonl -o OUTPUT.jsonl``: one prompt per line, streamed,
  resumable after any kill; failures go to ``OUTPUT.errors.jsonl``.
* ``vs compare PROMPT...``: Direct, Sequence and VS-Standard on the same
  budget, with diversity metrics and an HTML report with charts; with
  ``--base-model embedded`` (or a URL), a base model's reference line.
* ``vs eval``: the paper's experiments (a die roll, open-ended QA, creative
  writing) with every method, each figure beside the paper's, in a report.

With no API key and no ``--base-url`` the embedded SmolLM2-135M model is
started for the run. Exit codes: 0 success, 1 failure, 2 bad usage, 130
interrupted.

Example:
    >>> main(["generate", "--k", "0", "Write a joke"])  # doctest: +SKIP
    2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

# Only what parsing the arguments needs: the core is imported when a command runs.
from vs_common.cli._errors import EXIT_FAILURE, EXIT_INTERRUPTED, CLIError, UsageError
from vs_common.cli._parser import build_parser

if TYPE_CHECKING:
    from vs_common.calls import Call
    from vs_common.cli._backend import BackendOptions

__all__ = ["build_parser", "main"]


def _backend_options(args: argparse.Namespace) -> BackendOptions:
    from vs_common.cli._backend import BackendOptions

    return BackendOptions(
        base_url=args.base_url,
        model=args.model,
        api_key_env=args.api_key_env,
        embedded=args.embedded,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout=args.timeout,
        max_reply_bytes=args.max_reply_bytes,
    )


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO, call: Call | None) -> int:
    backend = _backend_options(args)
    if args.command == "generate":
        from vs_common.cli._generate import run_generate

        return run_generate(args, backend, out, err, call=call)
    if args.command == "batch":
        from vs_common.cli._batch import run_batch_command

        return run_batch_command(args, backend, out, err, call=call)
    if args.command == "eval":
        from vs_common.cli._eval import run_eval_command

        return run_eval_command(args, backend, out, err, call=call)
    from vs_common.cli._compare import run_compare_command

    return run_compare_command(args, backend, out, err, call=call)


def main(
    argv: Sequence[str] | None = None,
    *,
    call: Call | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the ``vs`` command.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        call: A model call to use instead of any server (for tests and
            embedding); see :mod:`vs_common.calls`.
        stdout: Where results go (default: ``sys.stdout``).
        stderr: Where progress and errors go (default: ``sys.stderr``).

    Returns:
        The exit code: 0 success, 1 failure, 2 bad usage, 130 interrupted.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, or a bad option (2)
        return exc.code if isinstance(exc.code, int) else EXIT_FAILURE
    try:
        return _dispatch(args, out, err, call)
    except UsageError as exc:
        sub: argparse.ArgumentParser = args._parser
        sub.print_usage(err)
        err.write(f"{sub.prog}: error: {exc}\n")
        return exc.exit_code
    except CLIError as exc:
        err.write(f"vs: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("\nvs: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `vs ... | head`
        return EXIT_FAILURE
