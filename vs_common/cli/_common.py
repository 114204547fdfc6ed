"""Shared pieces of the ``vs`` command: errors, exit codes, settings from options.

Everything here is standard library plus :mod:`vs_common`; heavy extras
(matplotlib, onnxruntime) are imported only by the commands that need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vs_common.cli._errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    UsageError,
    eprint,
)
from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.methods import VSConfig
from vs_common.scale import CONFIG_KEYS, SELECT_KEYS
from vs_common.scale import Selection as _Selection

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
    "config_from",
    "eprint",
    "option_name",
]

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
