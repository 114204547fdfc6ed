"""Verbalized Sampling as LlamaIndex workflow steps, and a ready-made workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.llms import LLM
from llama_index.core.workflow import Context, Event, StartEvent, StopEvent, Workflow, step

from llamaindex_vs._sampler import Sampler
from vs_common import (
    Candidate,
    Message,
    Method,
    Progress,
    RetryPolicy,
    Strategy,
    Structured,
    VerbalizedDistribution,
    VSConfig,
    VSConfigError,
    read_reply,
)
from vs_common.distinct import DistinctPolicy

__all__ = [
    "VSDistributionEvent",
    "VSGenerateEvent",
    "VSParseEvent",
    "VSProgressEvent",
    "VSSelectedEvent",
    "VSStartEvent",
    "VSStopEvent",
    "VerbalizedSamplingSteps",
    "VerbalizedSamplingWorkflow",
]


class VSGenerateEvent(Event):
    """Ask for a VS run: ``config.n`` samples over ceil(n/k) calls.

    Attributes:
        prompt: The task, or a conversation of role/content dicts.
        config: Overrides the steps' configuration for this run.
        seed: Seed of the selection that follows (None: the steps' seed).

    Example:
        >>> VSGenerateEvent(prompt="Tell a joke about coffee").prompt
        'Tell a joke about coffee'
    """

    prompt: str | list[Message]
    config: VSConfig | None = None
    seed: int | None = None


class VSParseEvent(Event):
    """Model output produced elsewhere, to be parsed (``run(output=...)`` of the workflow).

    Attributes:
        output: The reply text or decoded tool-call arguments.
        method: The method the reply answers (None: the config's method).
        truncated: The reply was cut off by max_tokens.
        config: Overrides the workflow's configuration (method, tail threshold).
        seed: Seed of the selection that follows.

    Example:
        >>> VSParseEvent(output='[{"text": "a", "probability": 1}]').truncated
        False
    """

    output: Any
    method: Method | None = None
    truncated: bool = False
    config: VSConfig | None = None
    seed: int | None = None


class VSDistributionEvent(Event):
    """The pooled distribution of a run (or of parsed output).

    Attributes:
        distribution: Every candidate, with usage and failures.
        config: The run's configuration, when it replaced the steps'.
        seed: Seed of the selection that follows.
        prompt: The prompt the distribution answers (mixed into the seed).

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("a", 1.0)])
        >>> VSDistributionEvent(distribution=d).distribution.texts
        ['a']
    """

    distribution: VerbalizedDistribution
    config: VSConfig | None = None
    seed: int | None = None
    prompt: str | list[Message] | None = None


class VSSelectedEvent(Event):
    """The candidate chosen from the distribution.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("a", 1.0)])
        >>> VSSelectedEvent(candidate=d.candidates[0], distribution=d).text
        'a'
    """

    candidate: Candidate
    distribution: VerbalizedDistribution

    @property
    def text(self) -> str:
        """The selected response."""
        return self.candidate.text


class VSProgressEvent(Event):
    """Streamed after each call of a run ends (``handler.stream_events()``).

    Example:
        >>> VSProgressEvent(calls_done=1, calls_planned=2, candidates=5, failures=0).calls_done
        1
    """

    calls_done: int
    calls_planned: int
    candidates: int
    failures: int


class VSStartEvent(StartEvent):
    """Start :class:`VerbalizedSamplingWorkflow` with a prompt, or with output to parse.

    Attributes:
        prompt: The task (or a conversation) to sample responses for.
        output: Model output to parse instead of calling the LLM.
        config: Overrides the workflow's configuration for this run.
        seed: Seed of the selection.

    Example:
        >>> VSStartEvent(prompt="Name a color").output is None
        True
    """

    prompt: str | list[Message] | None = None
    output: Any = None
    config: VSConfig | None = None
    seed: int | None = None


class VSStopEvent(StopEvent):
    """The result of :class:`VerbalizedSamplingWorkflow`: ``await workflow.run(...)`` returns it.

    Attributes:
        text: The selected response.
        candidate: The selected candidate with its probability.
        distribution: Every candidate of the run, with usage and failures.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("a", 1.0)])
        >>> VSStopEvent(text="a", candidate=d.candidates[0], distribution=d).text
        'a'
    """

    text: str
    candidate: Candidate
    distribution: VerbalizedDistribution


class VerbalizedSamplingSteps(Workflow):
    """The VS steps, for your own workflow: subclass this instead of ``Workflow``.

    Steps:

    * ``vs_generate``: :class:`VSGenerateEvent` -> :class:`VSDistributionEvent`.
      Runs :func:`vs_common.run_sampling` with the LLM (ceil(n/k) concurrent
      calls, retries, re-asks of unparseable replies, tool calling with a text
      fallback, partial failures kept, usage summed) and streams a
      :class:`VSProgressEvent` after each call. Each reply is parsed inside
      the run, as it arrives, so that a bad one can be asked again.
    * ``vs_select``: :class:`VSDistributionEvent` -> :class:`VSSelectedEvent`,
      with the configured strategy (``weighted``, ``uniform``, ``argmax``,
      ``tail``, ``temperature``), seeded by the seed and the prompt.

    Your workflow emits ``VSGenerateEvent`` and consumes ``VSSelectedEvent``;
    it has its own ``StartEvent`` and ``StopEvent`` steps. A step of yours may
    also emit a :class:`VSDistributionEvent` (say, ``parse_distribution`` of
    text you already have) to have it selected.

    Args:
        llm: Any LlamaIndex LLM; default ``Settings.llm``.
        config: What to ask for; default ``VSConfig()`` (VS-Standard, k=5).
        strategy: How to choose the returned candidate.
        seed: Seed of the selection: same seed, prompt and replies give the
            same choice; different prompts draw independently (see
            :mod:`vs_common.sampler`).
        temperature: For the ``temperature`` strategy.
        structured: ``auto`` (tool calling when the LLM supports it, else
            text), ``tool``, ``json_schema`` or ``text``.
        retry: Retry, re-ask and timeout policy of the core.
        max_concurrency: Calls in flight at once.
        min_successes: Fewest successful calls to accept.
        llm_kwargs: Extra keyword arguments for every LLM call.
        distinct: Keep asking until n *distinct* candidates (True, or a
            :class:`vs_common.distinct.DistinctPolicy`); the distribution's
            ``distinct`` says how many, after how many calls, and why it stopped.
        **workflow_kwargs: ``timeout``, ``verbose``... for ``Workflow``.

    Example:
        >>> from llama_index.core.workflow import StartEvent, StopEvent, step
        >>> class JokeFlow(VerbalizedSamplingSteps):
        ...     @step
        ...     async def ask(self, ev: StartEvent) -> VSGenerateEvent:
        ...         return VSGenerateEvent(prompt=f"Tell a joke about {ev.topic}")
        ...
        ...     @step
        ...     async def done(self, ev: VSSelectedEvent) -> StopEvent:
        ...         return StopEvent(result=ev.text.upper())
    """

    def __init__(
        self,
        llm: LLM | None = None,
        config: VSConfig | None = None,
        *,
        strategy: Strategy = "weighted",
        seed: int | None = None,
        temperature: float | None = None,
        structured: Structured = "auto",
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        min_successes: int = 1,
        llm_kwargs: Mapping[str, Any] | None = None,
        distinct: DistinctPolicy | bool | None = None,
        **workflow_kwargs: Any,
    ) -> None:
        self._sampler = Sampler(
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
        super().__init__(**workflow_kwargs)

    @property
    def llm(self) -> LLM:
        """The LLM the steps call."""
        return self._sampler.llm

    @property
    def config(self) -> VSConfig:
        """The default VS configuration."""
        return self._sampler.config

    @step
    async def vs_generate(self, ctx: Context, ev: VSGenerateEvent) -> VSDistributionEvent:
        """Sample ``config.n`` candidates over ceil(n/k) calls and pool them."""

        def progress(p: Progress) -> None:
            ctx.write_event_to_stream(
                VSProgressEvent(
                    calls_done=p.calls_done,
                    calls_planned=p.calls_planned,
                    candidates=p.candidates,
                    failures=p.failures,
                )
            )

        dist = await self._sampler.distribution(ev.prompt, ev.config, on_progress=progress)
        return VSDistributionEvent(
            distribution=dist, config=ev.config, seed=ev.seed, prompt=ev.prompt
        )

    @step
    async def vs_select(self, ev: VSDistributionEvent) -> VSSelectedEvent:
        """Choose one candidate with the configured strategy."""
        candidate = self._sampler.select(ev.distribution, ev.prompt, seed=ev.seed, config=ev.config)
        return VSSelectedEvent(candidate=candidate, distribution=ev.distribution)


class VerbalizedSamplingWorkflow(VerbalizedSamplingSteps):
    """A workflow that samples k diverse responses with probabilities and picks one.

    ``run(prompt=...)`` goes start -> ``vs_generate`` -> ``vs_select`` ->
    :class:`VSStopEvent`; ``run(output=...)`` parses output you already have
    (start -> ``vs_parse`` -> ``vs_select``). ``vs_generate`` parses each reply
    as it arrives (inside :func:`vs_common.run_sampling`, so that a bad reply
    can be asked again); ``vs_parse`` is for output produced elsewhere. Takes
    the arguments of :class:`VerbalizedSamplingSteps`.

    Example:
        >>> import asyncio
        >>> from llama_index.core.llms import MockLLM
        >>> wf = VerbalizedSamplingWorkflow(llm=MockLLM(), seed=0)
        >>> reply = '[{"text": "Decaf?", "p": 0.7}, {"text": "Beans", "p": 0.3}]'
        >>> async def main() -> VSStopEvent:
        ...     return await wf.run(output=reply)
        >>> result = asyncio.run(main())
        >>> result.distribution.texts
        ['Decaf?', 'Beans']
    """

    @step
    async def start(self, ev: VSStartEvent) -> VSGenerateEvent | VSParseEvent:
        """Route a prompt to generation and existing output to parsing."""
        if ev.output is not None:
            return VSParseEvent(output=ev.output, config=ev.config, seed=ev.seed)
        if ev.prompt is None:
            msg = "VerbalizedSamplingWorkflow.run() needs prompt=... (or output=... to parse)"
            raise VSConfigError(msg, field="prompt")
        return VSGenerateEvent(prompt=ev.prompt, config=ev.config, seed=ev.seed)

    @step
    async def vs_parse(self, ev: VSParseEvent) -> VSDistributionEvent:
        """Parse model output with the robust core parser."""
        config = ev.config if ev.config is not None else self.config
        method = ev.method if ev.method is not None else config.method
        dist = read_reply(ev.output, method=method, truncated=ev.truncated)
        return VSDistributionEvent(distribution=dist, config=ev.config, seed=ev.seed)

    @step
    async def finish(self, ev: VSSelectedEvent) -> VSStopEvent:
        """Return the selected candidate and the distribution."""
        return VSStopEvent(
            text=ev.candidate.text, candidate=ev.candidate, distribution=ev.distribution
        )
