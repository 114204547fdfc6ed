"""Shared pieces of the ``vs`` command: errors, exit codes, settings from options.

Everything here is standard library plus :mod:`vs_common`; heavy extras
(matplotlib, onnxruntime) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSConfigError, VSError
from vs_common.methods import Method, VSConfig
from vs_common.selection import STRATEGIES, select

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

#: Settings that go into :class:`~vs_common.methods.VSConfig` (options and batch keys).
CONFIG_KEYS = (
    "method",
    "k",
    "n",
    "threshold",
    "probability_format",
    "output_format",
    "turns",
    "word_hint",
)
#: Settings of the choice of one candidate.
SELECT_KEYS = ("strategy", "seed", "select_temperature")

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
        msg = f"argument {option_name(exc.field)}: {exc}"
        raise UsageError(msg) from None


@dataclass(frozen=True)
class Selection:
    """How one candidate is chosen from a distribution (see :func:`vs_common.select`).

    Attributes:
        strategy: One of :data:`vs_common.STRATEGIES`.
        seed: Seed of the choice (None: fresh randomness).
        threshold: For the ``tail`` strategy (the config's tail threshold).
        temperature: For the ``temperature`` strategy.

    Example:
        >>> from vs_common import VerbalizedDistribution
        >>> dist = VerbalizedDistribution.from_pairs([("a", 0.9), ("b", 0.1)])
        >>> Selection("argmax").choose(dist).text
        'a'
    """

    strategy: str = "weighted"
    seed: int | None = None
    threshold: float | None = None
    temperature: float | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], config: VSConfig) -> Selection:
        """Read strategy, seed and selection temperature; check them early.

        Raises:
            UsageError: An unknown strategy, or one that lacks its parameter.
        """
        strategy = settings.get("strategy") or "weighted"
        if strategy not in STRATEGIES:
            msg = f"argument --strategy: invalid choice {strategy!r} (choose from {STRATEGIES})"
            raise UsageError(msg)
        seed = settings.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            msg = f"argument --seed: must be an integer, got {seed!r}"
            raise UsageError(msg)
        temperature = settings.get("select_temperature")
        if strategy == "temperature" and temperature is None:
            msg = "argument --select-temperature: the temperature strategy needs it"
            raise UsageError(msg)
        if strategy == "tail" and config.threshold is None:
            msg = "argument --threshold: the tail strategy needs a threshold"
            raise UsageError(msg)
        return cls(str(strategy), seed, config.threshold, temperature)

    def choose(self, dist: VerbalizedDistribution) -> Candidate:
        """Choose a candidate of ``dist`` with :func:`vs_common.select`."""
        try:
            return select(
                dist,
                self.strategy,  # type: ignore[arg-type]  # checked in from_settings
                seed=self.seed,
                threshold=self.threshold,
                temperature=self.temperature,
            )
        except VSConfigError as exc:
            msg = f"argument {option_name(exc.field)}: {exc}"
            raise UsageError(msg) from None


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
