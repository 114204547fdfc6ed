"""Shared pieces of the ``vs`` command: errors, exit codes, settings from options.

Everything here is standard library plus :mod:`vs_common`; heavy extras
(matplotlib, onnxruntime) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, TextIO

from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSConfigError, VSError
from vs_common.methods import Method, VSConfig
from vs_common.scale import CONFIG_KEYS, SELECT_KEYS
from vs_common.scale import Selection as _Selection
from vs_common.selection import STRATEGIES

__all__ = [
    "CONFIG_KEYS",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SELECT_KEYS",
    "CLIError",
    "Selection",
    "UsageError",
    "add_sampling_options",
    "config_from",
    "eprint",
    "option_name",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_OPTION_NAMES = {
    "method": "--method",
    "k": "-k",
    "n": "-n",
    "threshold": "--threshold",
    "probability_format": "--probability-format",
    "output_format": "--output-format",
    "turns": "--turns",
    "word_hint": "--word-hint",
    "strategy": "--strategy",
    "seed": "--seed",
    "select_temperature": "--select-temperature",
    "temperature": "--select-temperature",
}


class CLIError(VSError):
    """A failure to report as one line on stderr (no traceback), exit code 1."""

    exit_code = EXIT_FAILURE


class UsageError(CLIError):
    """A bad option or option value: reported like an argparse error, exit code 2."""

    exit_code = EXIT_USAGE


def option_name(field: str | None) -> str:
    """The command-line option that sets a VSConfig / selection field.

    Example:
        >>> option_name("probability_format")
        '--probability-format'
    """
    if field is None:
        return "options"
    return _OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def config_from(settings: Mapping[str, Any]) -> VSConfig:
    """Build a validated :class:`VSConfig` from the non-None settings given.

    Raises:
        UsageError: A bad value; the message names the option.
    """
    values = {key: settings[key] for key in CONFIG_KEYS if settings.get(key) is not None}
    try:
        return VSConfig(**values)
    except VSConfigError as exc:
        raise _usage(exc) from None


class Selection(_Selection):
    """:class:`vs_common.scale.Selection` whose errors are usage errors naming the option.

    Example:
        >>> from vs_common import VerbalizedDistribution
        >>> dist = VerbalizedDistribution.from_pairs([("a", 0.9), ("b", 0.1)])
        >>> Selection("argmax").choose(dist).text
        'a'
    """

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], config: VSConfig) -> Selection:
        """Read strategy, seed and selection temperature; check them early.

        Raises:
            UsageError: An unknown strategy, or one that lacks its parameter.
        """
        try:
            found = _Selection.from_settings(settings, config)
        except VSConfigError as exc:
            raise _usage(exc) from None
        return cls(found.strategy, found.seed, found.threshold, found.temperature)

    def choose(self, dist: VerbalizedDistribution) -> Candidate:
        """Choose a candidate of ``dist`` with :func:`vs_common.select`."""
        try:
            return super().choose(dist)
        except VSConfigError as exc:
            raise _usage(exc) from None


def _usage(exc: VSConfigError) -> UsageError:
    return UsageError(f"argument {option_name(exc.field)}: {exc}")


def add_sampling_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """Add the method, k, n, threshold, format and selection options."""
    group = parser.add_argument_group("sampling")
    group.add_argument(
        "-m",
        "--method",
        choices=[m.value for m in Method],
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
        choices=["probability", "percentage", "confidence"],
        help="how the model states probabilities",
    )
    group.add_argument("--output-format", choices=["json", "xml"], help="reply format asked for")
    group.add_argument("--turns", type=int, help="turns of a multi_turn / vs_multi conversation")
    group.add_argument("--word-hint", type=int, help="approximate words per response")
    group.add_argument(
        "-s",
        "--strategy",
        choices=list(STRATEGIES),
        default="weighted",
        help="how to select one candidate (default: weighted)",
    )
    group.add_argument("--seed", type=int, help="seed of the selection (reproducible choice)")
    group.add_argument(
        "--select-temperature",
        type=float,
        help="temperature of the 'temperature' selection strategy",
    )


def eprint(text: str, stream: TextIO) -> None:
    """Write one line to ``stream`` and flush it."""
    stream.write(text + "\n")
    stream.flush()
