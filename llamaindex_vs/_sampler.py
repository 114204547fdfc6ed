"""What the workflow, the synthesizer and the tool share: an LLM and the core's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llama_index.core.llms import LLM
from llama_index.core.settings import Settings

from llamaindex_vs._call import check_completion_model, make_llm_call
from llamaindex_vs._retries import single_retry_layer
from vs_common import (
    Candidate,
    Message,
    Progress,
    RetryPolicy,
    Strategy,
    Structured,
    VerbalizedDistribution,
    VSConfig,
)
from vs_common.distinct import DistinctPolicy
from vs_common.sampler import SamplerSettings


class Sampler:
    """An LLM and a :class:`vs_common.sampler.SamplerSettings`, checked once.

    Not public: each adapter component holds one and exposes its settings.
    Validation, the run, the meaning of ``seed`` and ``min_successes`` are
    the core's, as in the LangChain adapter.
    """

    def __init__(
        self,
        llm: LLM | None,
        config: VSConfig | Mapping[str, Any] | None,
        *,
        strategy: Strategy = "weighted",
        seed: int | None = None,
        temperature: float | None = None,
        structured: Structured = "auto",
        retry: RetryPolicy | Mapping[str, Any] | None = None,
        max_concurrency: int = 8,
        min_successes: int = 1,
        llm_kwargs: Mapping[str, Any] | None = None,
        distinct: DistinctPolicy | bool | None = None,
    ) -> None:
        self.llm: LLM = llm if llm is not None else Settings.llm
        self.settings = SamplerSettings(
            config=config if config is not None else VSConfig(),  # type: ignore[arg-type]
            structured=structured,
            retry=retry,  # type: ignore[arg-type]
            max_concurrency=max_concurrency,
            min_successes=min_successes,
            strategy=strategy,
            seed=seed,
            temperature=temperature,
            distinct=distinct,  # type: ignore[arg-type]  # True is read as the default
        )
        self.llm_kwargs = dict(llm_kwargs or {})
        # One retry layer: the LLM's own retries off (on a copy), else the core's.
        self._call_llm, retries = single_retry_layer(self.llm)
        self.settings = self.settings.over_retrying_client(type(self.llm).__name__, retries)

    @property
    def config(self) -> VSConfig:
        """The default VS configuration."""
        return self.settings.config

    async def distribution(
        self,
        prompt: str | Sequence[Message],
        config: VSConfig | None = None,
        *,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> VerbalizedDistribution:
        """Run the core orchestration with this LLM and return the pooled distribution."""
        if (config or self.config).method.is_completion:
            check_completion_model(self.llm)  # fail now, not once per call
        call = make_llm_call(self._call_llm, llm_kwargs=self.llm_kwargs)
        return await self.settings.run(prompt, call, config=config, on_progress=on_progress)

    def select(
        self,
        dist: VerbalizedDistribution,
        prompt: str | Sequence[Message] | None = None,
        *,
        seed: int | None = None,
        config: VSConfig | None = None,
    ) -> Candidate:
        """Choose one candidate; a per-run seed replaces the sampler's."""
        return self.settings.choose(dist, prompt, seed=seed, config=config)
