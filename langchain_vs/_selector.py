"""VerbalizedSelector: choose one candidate of a distribution, as a Runnable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from langchain_core.runnables import RunnableConfig, RunnableSerializable

from vs_common import Candidate, Strategy, VerbalizedDistribution, VSConfigError, select

__all__ = ["SelectorInput", "VerbalizedSelector"]

SelectorInput: TypeAlias = VerbalizedDistribution | dict[str, Any]
"""A distribution, or its ``to_dict()`` form."""


class VerbalizedSelector(RunnableSerializable[SelectorInput, str | Candidate]):
    """Choose one candidate from a verbalized distribution, seeded.

    Wraps :func:`vs_common.select` (``weighted``, ``uniform``, ``argmax``,
    ``tail``, ``temperature``); the global RNG is never used. The seed is a
    field, so ``selector.configurable_fields(seed=ConfigurableField(id="seed"))``
    lets a graph vary it per turn reproducibly.

    Attributes:
        strategy: How to choose.
        seed: Seed of the choice (same seed and distribution, same choice).
        threshold: For ``tail``.
        temperature: For ``temperature``.
        output: ``text`` (the chosen text) or ``candidate`` (the Candidate).

    Example:
        >>> dist = VerbalizedDistribution.from_pairs([("tea", 0.9), ("mate", 0.1)])
        >>> VerbalizedSelector(strategy="argmax").invoke(dist)
        'tea'
    """

    strategy: Strategy = "weighted"
    seed: int | None = None
    threshold: float | None = None
    temperature: float | None = None
    output: Literal["text", "candidate"] = "text"

    @property
    def OutputType(self) -> Any:
        """``str`` or :class:`~vs_common.Candidate`, after ``output``."""
        return str if self.output == "text" else Candidate

    def invoke(
        self, input: SelectorInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> str | Candidate:
        """Choose one candidate.

        Raises:
            VSConfigError: Bad strategy or options, an empty distribution, or
                an input that is not a distribution.
        """
        return self._call_with_config(self._select, input, config, **kwargs)

    async def ainvoke(
        self, input: SelectorInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> str | Candidate:
        """Choose one candidate (no I/O: the same as ``invoke``)."""
        return self.invoke(input, config, **kwargs)

    def _select(self, input_: SelectorInput) -> str | Candidate:
        dist = _as_distribution(input_)
        chosen = select(
            dist,
            self.strategy,
            seed=self.seed,
            threshold=self.threshold,
            temperature=self.temperature,
        )
        return chosen.text if self.output == "text" else chosen


def _as_distribution(value: Any) -> VerbalizedDistribution:
    if isinstance(value, VerbalizedDistribution):
        return value
    if isinstance(value, Mapping) and "candidates" in value:
        return VerbalizedDistribution.from_dict(dict(value))
    msg = f"the selector needs a VerbalizedDistribution, got {type(value).__name__}"
    raise VSConfigError(msg, field="input")
