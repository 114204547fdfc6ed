"""What a sampler's settings mean, once for every adapter.

LangChain's ``VerbalizedSampler`` and brainstorm tool, LlamaIndex's workflow,
synthesizer and tool are thin wrappers over a :class:`SamplerSettings`: the
same validation (every bad setting is a
:class:`~vs_common.errors.VSConfigError` naming the field, however it
arrives), the same run (:func:`~vs_common.sampling.run_sampling`), the same
meaning of ``seed`` and ``min_successes``, and the same text for agents
(:func:`format_options`).

* ``seed``: the choice is a function of the seed, the prompt and the
  distribution. Same seed, same prompt and same replies: same choice, in any
  order and at any concurrency (no generator state is shared between runs).
  Different prompts draw independently, so one seed over a batch of prompts
  does not make them all draw the same number (:func:`selection_seed`).
  No seed: a fresh draw each time.
* ``min_successes``: the fewest successful calls a run accepts, between 0
  and the calls planned; it is never lowered behind the caller's back (a
  per-run config that plans fewer calls is an error too).

Example:
    >>> from vs_common import VerbalizedDistribution, VSConfig
    >>> settings = SamplerSettings(config={"k": 2}, strategy="weighted", seed=7)
    >>> dist = VerbalizedDistribution.from_pairs([("Decaf?", 0.6), ("Espresso", 0.4)])
    >>> settings.choose(dist, "Joke") == settings.choose(dist, "Joke")
    True
    >>> SamplerSettings(config={"k": 0})
    Traceback (most recent call last):
    ...
    vs_common.errors.VSConfigError: k must be an integer between 1 and 100 or None, got 0
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from vs_common._logging import logger
from vs_common._runner import check_run_args
from vs_common.calls import Call, Message
from vs_common.distinct import DistinctPolicy
from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.methods import VSConfig
from vs_common.sampling import Progress, RetryPolicy, Structured, run_sampling
from vs_common.selection import Strategy, check_strategy, select

__all__ = ["SamplerSettings", "format_options", "selection_seed"]

_STRUCTURED: tuple[str, ...] = get_args(Structured)
_log = logger(__name__)
_WARNED: set[str] = set()
_MAX_LISTED = 20


def selection_seed(seed: int | None, prompt: str | Sequence[Message] | None) -> int | None:
    """The seed of one selection: ``seed`` mixed with the prompt it answers.

    Stable across runs, processes and machines (sha256, not ``hash()``).
    With no prompt the seed is used as it is; with no seed there is none.

    Example:
        >>> selection_seed(7, "a") == selection_seed(7, "a") != selection_seed(7, "b")
        True
        >>> selection_seed(7, None), selection_seed(None, "a")
        (7, None)
    """
    if seed is None or prompt is None:
        return seed
    if isinstance(prompt, str):
        text = prompt
    else:
        text = json.dumps([dict(m) for m in prompt], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{seed}\x00{text}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


def _probability(p: float) -> str:
    # Tail candidates are the point of VS: show 0.004 rather than 0.00.
    return f"{p:.2f}" if p >= 0.01 or p == 0 else f"{p:.1g}"


def format_options(
    dist: VerbalizedDistribution,
    selected: Candidate | None = None,
    *,
    max_listed: int = _MAX_LISTED,
) -> str:
    """The candidates as numbered lines with their probabilities, for an agent to read.

    Both adapters' agent tools return this text. With ``selected``, the
    sampled response comes first.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("Decaf?", 0.7), ("Bean there.", 0.3)])
        >>> print(format_options(d))
        1. Decaf? (p=0.70)
        2. Bean there. (p=0.30)
        >>> print(format_options(d, d.candidates[1]))
        Sampled response: Bean there.
        All options with their probabilities:
        1. Decaf? (p=0.70)
        2. Bean there. (p=0.30)
    """
    lines: list[str] = []
    if selected is not None:
        lines += [f"Sampled response: {selected.text}", "All options with their probabilities:"]
    for i, c in enumerate(dist.candidates[:max_listed], start=1):
        text = c.text.replace("\n", "\n   ")  # continuation lines stay under their number
        lines.append(f"{i}. {text} (p={_probability(c.probability)})")
    hidden = len(dist.candidates) - max_listed
    if hidden > 0:
        lines.append(f"... and {hidden} more")
    return "\n".join(lines)


def _coerce(value: Any, kind: type[Any], name: str) -> Any:
    """``value`` as ``kind``, built from a mapping if need be; else VSConfigError."""
    if isinstance(value, kind):
        return value
    if isinstance(value, Mapping):
        try:
            return kind(**dict(value))
        except VSConfigError:
            raise
        except TypeError as exc:  # an unknown key of a dataclass
            msg = f"{name}: {exc}"
            raise VSConfigError(msg, field=name) from None
    msg = f"{name} must be a {kind.__name__} or a dict of its fields, got {type(value).__name__}"
    raise VSConfigError(msg, field=name)


def _check_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an integer, got {value!r}"
        raise VSConfigError(msg, field=name)


def _check_seed(seed: Any) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        msg = f"seed must be a non-negative integer or None, got {seed!r}"
        raise VSConfigError(msg, field="seed")


@dataclass(frozen=True)
class SamplerSettings:
    """A sampler's settings, checked once, with one meaning in every adapter.

    Attributes:
        config: What to ask for (a :class:`~vs_common.VSConfig`, or a dict of
            its fields).
        structured: ``auto`` (tool calling, falling back to text when the
            server rejects it), ``tool``, ``json_schema`` or ``text``.
        retry: Retry, re-ask and timeout policy (or a dict of its fields).
        max_concurrency: Calls in flight at once.
        min_successes: Fewest successful calls to accept, from 0 to the calls
            the config plans.
        strategy: How to choose one candidate (None: the adapter returns the
            distribution; :meth:`choose` then draws ``weighted``).
        seed: Seed of the choice, mixed with the prompt (see the module doc),
            and of a method's own draws (SimpleStrat's strata).
        threshold: For the ``tail`` strategy (default: ``config.threshold``).
        temperature: For the ``temperature`` strategy.
        distinct: Keep asking until n *distinct* candidates are held (True, a
            :class:`~vs_common.distinct.DistinctPolicy` or a dict of its
            fields; see :func:`~vs_common.distinct.run_distinct`); the
            result's ``distinct`` says how many, after how many calls, why it
            stopped.

    Example:
        >>> SamplerSettings(max_concurrency=0)
        Traceback (most recent call last):
        ...
        vs_common.errors.VSConfigError: max_concurrency must be at least 1, got 0
    """

    config: VSConfig = field(default_factory=VSConfig)
    structured: Structured = "auto"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 8
    min_successes: int = 1
    strategy: Strategy | None = None
    seed: int | None = None
    threshold: float | None = None
    temperature: float | None = None
    distinct: DistinctPolicy | None = None

    def __post_init__(self) -> None:
        """Check every setting; raise VSConfigError naming the first bad one."""
        object.__setattr__(self, "config", _coerce(self.config, VSConfig, "config"))
        distinct: Any = self.distinct  # True, False and dicts arrive from adapters
        if isinstance(distinct, bool):
            distinct = DistinctPolicy() if distinct else None
        if distinct is not None:
            distinct = _coerce(distinct, DistinctPolicy, "distinct")
        object.__setattr__(self, "distinct", distinct)
        retry: Any = self.retry  # None (as adapters pass it) means the default policy
        retry = RetryPolicy() if retry is None else retry
        object.__setattr__(self, "retry", _coerce(retry, RetryPolicy, "retry"))
        if self.structured not in _STRUCTURED:
            msg = f"structured must be one of {', '.join(_STRUCTURED)}, got {self.structured!r}"
            raise VSConfigError(msg, field="structured")
        _check_int(self.max_concurrency, "max_concurrency")
        _check_int(self.min_successes, "min_successes")
        # the ranges are the orchestration's own rule, checked where it runs too
        check_run_args(self.config, self.max_concurrency, self.min_successes, self.config.num_calls)
        _check_seed(self.seed)
        for name in ("threshold", "temperature"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                msg = f"{name} must be a finite number or None, got {value!r}"
                raise VSConfigError(msg, field=name)
        if self.strategy is not None:
            check_strategy(
                self.strategy, threshold=self.tail_threshold(), temperature=self.temperature
            )

    def replace(self, **changes: Any) -> SamplerSettings:
        """A copy with some settings changed, checked again."""
        return dataclasses.replace(self, **changes)

    def over_retrying_client(self, model: str, retries: int) -> SamplerSettings:
        """The settings to run over a model client that retries ``retries`` times by itself.

        One retry layer: the core owns retries, so an adapter first switches
        its framework client's retries off. When it cannot (a client it does
        not know how to change), the core's retries go off instead, and the
        log says so: the two would otherwise multiply ((1 + a) x (1 + b)
        requests for one failing call).

        Example:
            >>> SamplerSettings().over_retrying_client("SomeLLM", 2).retry.max_retries
            0
            >>> SamplerSettings().over_retrying_client("SomeLLM", 0).retry.max_retries
            3
        """
        if retries <= 0 or self.retry.max_retries == 0:
            return self
        if model not in _WARNED:  # once per model class, as the warnings module would
            _WARNED.add(model)
            _log.warning(
                "%s retries failed requests itself (max_retries=%d) and cannot be changed"
                " from here: the core's retries are off (RetryPolicy.max_retries %d -> 0)"
                " so that failed requests are not retried twice over",
                model,
                retries,
                self.retry.max_retries,
            )
        return self.replace(retry=dataclasses.replace(self.retry, max_retries=0))

    def tail_threshold(self, config: VSConfig | None = None) -> float | None:
        """The ``tail`` strategy's threshold: ``threshold``, else the config's."""
        if self.threshold is not None:
            return self.threshold
        return (config if config is not None else self.config).threshold

    async def run(
        self,
        prompt: str | Sequence[Message],
        call: Call,
        *,
        config: VSConfig | None = None,
        max_concurrency: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> VerbalizedDistribution:
        """Sample with :func:`~vs_common.sampling.run_sampling` and these settings.

        Args:
            prompt: The task, or a conversation.
            call: The adapter's model call.
            config: Replaces ``self.config`` for this run.
            max_concurrency: Replaces ``self.max_concurrency`` for this run.
            on_progress: Called after each call ends.

        Returns:
            The pooled distribution.

        Raises:
            VSConfigError: ``min_successes`` exceeds the calls ``config`` plans.
            VSSamplingError: Fewer than ``min_successes`` calls succeeded.
        """
        return await run_sampling(
            prompt,
            config if config is not None else self.config,
            call,
            structured=self.structured,
            max_concurrency=max_concurrency
            if max_concurrency is not None
            else self.max_concurrency,
            retry=self.retry,
            min_successes=self.min_successes,
            on_progress=on_progress,
            distinct=self.distinct,
            seed=self.seed,
        )

    def choose(
        self,
        dist: VerbalizedDistribution,
        prompt: str | Sequence[Message] | None = None,
        *,
        seed: int | None = None,
        config: VSConfig | None = None,
    ) -> Candidate:
        """Choose one candidate with the strategy, seeded by ``seed`` and the prompt.

        Args:
            dist: The distribution to choose from.
            prompt: The prompt the distribution answers (mixed into the seed).
            seed: Replaces ``self.seed`` for this choice.
            config: The run's config, when it replaced ``self.config`` (its
                threshold serves the ``tail`` strategy).

        Returns:
            The chosen candidate.
        """
        strategy: Strategy = self.strategy or "weighted"
        base = seed if seed is not None else self.seed
        _check_seed(base)
        threshold = self.tail_threshold(config) if strategy == "tail" else None
        return select(
            dist,
            strategy,
            seed=selection_seed(base, prompt),
            threshold=threshold,
            temperature=self.temperature,
        )
