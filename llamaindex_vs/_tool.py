"""Verbalized Sampling as a LlamaIndex agent tool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.llms import LLM
from llama_index.core.tools import FunctionTool, ToolMetadata
from pydantic import BaseModel, ConfigDict, Field

from llamaindex_vs._sampler import Sampler
from vs_common import (
    Candidate,
    RetryPolicy,
    Strategy,
    Structured,
    VerbalizedDistribution,
    VSConfig,
    run_sync,
)
from vs_common.distinct import DistinctPolicy
from vs_common.sampler import format_options

__all__ = ["VerbalizedSamplingToolResult", "verbalized_sampling_tool"]

DEFAULT_TOOL_NAME = "verbalized_sampling"
DEFAULT_TOOL_DESCRIPTION = (
    "Generate several diverse candidate responses to a creative or open-ended task"
    " (jokes, stories, names, ideas, questions...), each with its probability, and"
    " return one sampled from that distribution together with all the candidates."
    " Use it when variety matters. Input: the task as a full instruction."
)


class _ToolInput(BaseModel):
    prompt: str = Field(
        description="The task to generate diverse responses for, e.g. 'Write a joke about coffee'."
    )


class VerbalizedSamplingToolResult(BaseModel):
    """What the tool returns: ``ToolOutput.raw_output``; ``str()`` is what the agent reads.

    Attributes:
        selected: The sampled candidate.
        distribution: Every candidate with its probability.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("Decaf?", 0.7), ("Bean there.", 0.3)])
        >>> print(VerbalizedSamplingToolResult(selected=d.candidates[0], distribution=d))
        Sampled response: Decaf?
        All options with their probabilities:
        1. Decaf? (p=0.70)
        2. Bean there. (p=0.30)
    """

    model_config = ConfigDict(frozen=True)

    selected: Candidate
    distribution: VerbalizedDistribution

    def __str__(self) -> str:
        return format_options(self.distribution, self.selected)


def verbalized_sampling_tool(
    llm: LLM | None = None,
    config: VSConfig | None = None,
    *,
    name: str = DEFAULT_TOOL_NAME,
    description: str = DEFAULT_TOOL_DESCRIPTION,
    return_direct: bool = False,
    strategy: Strategy = "weighted",
    seed: int | None = None,
    temperature: float | None = None,
    structured: Structured = "auto",
    retry: RetryPolicy | None = None,
    max_concurrency: int = 8,
    min_successes: int = 1,
    llm_kwargs: Mapping[str, Any] | None = None,
    distinct: DistinctPolicy | bool | None = None,
) -> FunctionTool:
    """A ``FunctionTool`` that samples diverse responses with Verbalized Sampling.

    The tool takes one argument, ``prompt``; it runs the core orchestration
    (:func:`vs_common.run_sampling`) with ``llm`` and returns a
    :class:`VerbalizedSamplingToolResult`: the agent reads the sampled response
    and every candidate with its probability, and ``ToolOutput.raw_output``
    keeps the objects. Works with ``FunctionAgent``, ``ReActAgent`` and
    ``AgentWorkflow``, sync (``tool.call``) and async (``tool.acall``).

    Args:
        llm: The LLM that generates the candidates (may differ from the
            agent's); default ``Settings.llm``.
        config: What to ask for; default ``VSConfig()`` (VS-Standard, k=5).
        name: The tool name the agent sees.
        description: The tool description the agent sees.
        return_direct: End the agent's turn with the tool's output.
        strategy: How to choose the returned candidate.
        seed: Seed of the selection (same seed, prompt and replies: same choice).
        temperature: For the ``temperature`` strategy.
        structured: ``auto``, ``tool``, ``json_schema`` or ``text``.
        retry: Retry, re-ask and timeout policy of the core.
        max_concurrency: Calls in flight at once.
        min_successes: Fewest successful calls to accept.
        llm_kwargs: Extra keyword arguments for every LLM call.
        distinct: Keep asking until n *distinct* candidates (True, or a
            :class:`vs_common.distinct.DistinctPolicy`); the distribution's
            ``distinct`` says how many, after how many calls, and why it stopped.

    Returns:
        The tool.

    Example:
        >>> from llama_index.core.llms import MockLLM
        >>> tool = verbalized_sampling_tool(llm=MockLLM(), config=VSConfig(k=3))
        >>> tool.metadata.name, list(tool.metadata.get_parameters_dict()["properties"])
        ('verbalized_sampling', ['prompt'])
    """
    sampler = Sampler(
        llm,
        config,
        strategy=strategy,
        seed=seed,
        temperature=temperature,
        structured=structured,
        retry=retry,
        max_concurrency=max_concurrency,
        min_successes=min_successes,
        llm_kwargs=llm_kwargs,
        distinct=distinct,
    )

    async def asample(prompt: str) -> VerbalizedSamplingToolResult:
        dist = await sampler.distribution(prompt)
        return VerbalizedSamplingToolResult(
            selected=sampler.select(dist, prompt), distribution=dist
        )

    def sample(prompt: str) -> VerbalizedSamplingToolResult:
        return run_sync(asample(prompt))

    metadata = ToolMetadata(
        description=description, name=name, fn_schema=_ToolInput, return_direct=return_direct
    )
    return FunctionTool(fn=sample, async_fn=asample, metadata=metadata)
