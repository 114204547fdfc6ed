"""What the workflow, the synthesizer and the tool share: run the core, then select."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from llama_index.core.llms import LLM
from llama_index.core.settings import Settings

from llamaindex_vs._call import make_llm_call
from vs_common import (
    Candidate,
    Message,
    Progress,
    RetryPolicy,
    Strategy,
    Structured,
    VerbalizedDistribution,
    VSConfig,
    VSConfigError,
    check_strategy,
    run_sampling,
    select,
)

_STRUCTURED = ("auto", "tool", "json_schema", "text")


class Sampler:
    """An LLM, a VS configuration and a selection strategy, checked once.

    Not public: each adapter component holds one and exposes its settings.
    """

    def __init__(
        self,
        llm: LLM | None,
        config: VSConfig | None,
        *,
        strategy: Strategy = "weighted",
        seed: int | None = None,
        temperature: float | None = None,
        structured: Structured = "auto",
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        min_successes: int = 1,
        llm_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.llm: LLM = llm if llm is not None else Settings.llm
        self.config = config if config is not None else VSConfig()
        check_strategy(strategy, threshold=self.config.threshold, temperature=temperature)
        if structured not in _STRUCTURED:
            msg = f"structured must be one of {', '.join(_STRUCTURED)}, got {structured!r}"
            raise VSConfigError(msg, field="structured")
        if isinstance(max_concurrency, bool) or max_concurrency < 1:
            msg = f"max_concurrency must be at least 1, got {max_concurrency}"
            raise VSConfigError(msg, field="max_concurrency")
        self.strategy: Strategy = strategy
        self.seed = seed
        self.temperature = temperature
        self.structured: Structured = structured
        self.retry = retry
        self.max_concurrency = max_concurrency
        self.min_successes = min_successes
        self.llm_kwargs = dict(llm_kwargs or {})
        self._rng = np.random.default_rng(seed)
        self._rng_lock = threading.Lock()

    async def distribution(
        self,
        prompt: str | Sequence[Message],
        config: VSConfig | None = None,
        *,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> VerbalizedDistribution:
        """Run the core orchestration with this LLM and return the pooled distribution."""
        cfg = config if config is not None else self.config
        return await run_sampling(
            prompt,
            cfg,
            make_llm_call(self.llm, llm_kwargs=self.llm_kwargs),
            structured=self.structured,
            max_concurrency=self.max_concurrency,
            retry=self.retry,
            min_successes=min(self.min_successes, cfg.num_calls),
            on_progress=on_progress,
        )

    def select(
        self,
        dist: VerbalizedDistribution,
        *,
        seed: int | None = None,
        config: VSConfig | None = None,
    ) -> Candidate:
        """Choose one candidate; a per-call seed overrides the sampler's generator."""
        cfg = config if config is not None else self.config
        threshold = cfg.threshold if self.strategy == "tail" else None
        if seed is not None:
            return select(
                dist, self.strategy, seed=seed, threshold=threshold, temperature=self.temperature
            )
        with self._rng_lock:  # a numpy Generator is not safe to share between threads
            return select(
                dist,
                self.strategy,
                rng=self._rng,
                threshold=threshold,
                temperature=self.temperature,
            )
