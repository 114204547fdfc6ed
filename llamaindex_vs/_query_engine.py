"""RAG with Verbalized Sampling: a response synthesizer and a query engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import RESPONSE_TYPE, Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.indices.base import BaseIndex
from llama_index.core.indices.prompt_helper import PromptHelper
from llama_index.core.llms import LLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.prompts.default_prompts import DEFAULT_TEXT_QA_PROMPT
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.base import BaseSynthesizer
from llama_index.core.schema import NodeWithScore
from llama_index.core.types import RESPONSE_TEXT_TYPE

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

__all__ = [
    "DISTRIBUTION_KEY",
    "SELECTED_KEY",
    "VerbalizedSamplingQueryEngine",
    "VerbalizedSamplingSynthesizer",
    "get_distribution",
]

DISTRIBUTION_KEY = "vs_distribution"
"""``Response.metadata`` key of the :class:`vs_common.VerbalizedDistribution`."""

SELECTED_KEY = "vs_selected"
"""``Response.metadata`` key of the selected :class:`vs_common.Candidate`."""


class _Sampled(str):
    """The selected answer, carrying its distribution through BaseSynthesizer."""

    candidate: Candidate
    distribution: VerbalizedDistribution

    def __new__(cls, candidate: Candidate, distribution: VerbalizedDistribution) -> _Sampled:
        obj = super().__new__(cls, candidate.text)
        obj.candidate = candidate
        obj.distribution = distribution
        return obj


def get_distribution(response: Any) -> VerbalizedDistribution:
    """The distribution a VS query engine or synthesizer put on a ``Response``.

    Args:
        response: A ``Response`` from :class:`VerbalizedSamplingQueryEngine` or
            :class:`VerbalizedSamplingSynthesizer`.

    Returns:
        Every candidate answer with its probability.

    Raises:
        KeyError: The response does not come from a VS synthesizer.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("Paris", 1.0)])
        >>> get_distribution(Response("Paris", metadata={DISTRIBUTION_KEY: d})).texts
        ['Paris']
    """
    metadata = getattr(response, "metadata", None) or {}
    value = metadata.get(DISTRIBUTION_KEY)
    if isinstance(value, VerbalizedDistribution):
        return value
    if isinstance(value, Mapping):
        return VerbalizedDistribution.from_dict(dict(value))
    msg = f"no {DISTRIBUTION_KEY!r} in the response metadata; was it made by a VS synthesizer?"
    raise KeyError(msg)


class VerbalizedSamplingSynthesizer(BaseSynthesizer):
    """Answer from the retrieved nodes with k diverse candidates and their probabilities.

    The context and the question are put in ``text_qa_template`` (LlamaIndex's
    default QA prompt), the VS instruction is added, and the core
    orchestration (:func:`vs_common.run_sampling`) samples ``config.n``
    candidate answers over ceil(n/k) calls. The ``Response`` carries the
    selected answer, the source nodes, and in ``metadata`` the full
    distribution (``"vs_distribution"``, see :func:`get_distribution`) and the
    selected candidate (``"vs_selected"``). Use it on its own or through
    ``index.as_query_engine(response_synthesizer=...)``.

    Args:
        llm: Any LlamaIndex LLM; default ``Settings.llm``.
        config: What to ask for; default ``VSConfig()`` (VS-Standard, k=5).
        strategy: How to choose the answer (``weighted``, ``argmax``, ``tail``...).
        seed: Seed of the selection (same seed, prompt and replies: same answer).
        temperature: For the ``temperature`` strategy.
        structured: ``auto``, ``tool``, ``json_schema`` or ``text``.
        retry: Retry, re-ask and timeout policy of the core.
        max_concurrency: Calls in flight at once.
        min_successes: Fewest successful calls to accept.
        llm_kwargs: Extra keyword arguments for every LLM call.
        text_qa_template: Prompt with ``{context_str}`` and ``{query_str}``.
        callback_manager: LlamaIndex callback manager.
        prompt_helper: Fits the context into the LLM's context window.

    Example:
        >>> from llama_index.core.llms import MockLLM
        >>> synth = VerbalizedSamplingSynthesizer(llm=MockLLM(), config=VSConfig(k=3))
        >>> sorted(synth.get_prompts())
        ['text_qa_template']
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
        text_qa_template: BasePromptTemplate | None = None,
        callback_manager: CallbackManager | None = None,
        prompt_helper: PromptHelper | None = None,
    ) -> None:
        super().__init__(llm=llm, callback_manager=callback_manager, prompt_helper=prompt_helper)
        self._sampler = Sampler(
            self._llm,
            config,
            strategy=strategy,
            seed=seed,
            temperature=temperature,
            structured=structured,
            retry=retry,
            max_concurrency=max_concurrency,
            min_successes=min_successes,
            llm_kwargs=llm_kwargs,
        )
        self._text_qa_template = text_qa_template or DEFAULT_TEXT_QA_PROMPT

    @property
    def config(self) -> VSConfig:
        """The VS configuration."""
        return self._sampler.config

    def _get_prompts(self) -> PromptDictType:
        return {"text_qa_template": self._text_qa_template}

    def _update_prompts(self, prompts: PromptDictType) -> None:
        if "text_qa_template" in prompts:
            self._text_qa_template = prompts["text_qa_template"]

    def _prompt(self, query_str: str, text_chunks: Sequence[str]) -> str:
        template = self._text_qa_template.partial_format(query_str=query_str)
        chunks = self._prompt_helper.truncate(
            prompt=template, text_chunks=["\n".join(text_chunks)], llm=self._llm
        )
        return template.format(context_str="\n".join(chunks))

    async def _sample(self, query_str: str, text_chunks: Sequence[str]) -> _Sampled:
        prompt = self._prompt(query_str, text_chunks)
        dist = await self._sampler.distribution(prompt)
        return _Sampled(self._sampler.select(dist, prompt), dist)

    def get_response(
        self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any
    ) -> RESPONSE_TEXT_TYPE:
        """Sample candidate answers and return the selected one (sync)."""
        return run_sync(self._sample(query_str, text_chunks))

    async def aget_response(
        self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any
    ) -> RESPONSE_TEXT_TYPE:
        """Sample candidate answers and return the selected one."""
        return await self._sample(query_str, text_chunks)

    def _prepare_response_output(
        self,
        response_str: RESPONSE_TEXT_TYPE | None,
        source_nodes: list[NodeWithScore],
    ) -> RESPONSE_TYPE:
        if not isinstance(response_str, _Sampled):
            return super()._prepare_response_output(response_str, source_nodes)
        metadata = self._get_metadata_for_response([n.node for n in source_nodes]) or {}
        metadata[DISTRIBUTION_KEY] = response_str.distribution
        metadata[SELECTED_KEY] = response_str.candidate
        return Response(str.__str__(response_str), source_nodes=source_nodes, metadata=metadata)


class VerbalizedSamplingQueryEngine(RetrieverQueryEngine):
    """A retriever query engine that answers with Verbalized Sampling.

    It retrieves, post-processes, and synthesizes with a
    :class:`VerbalizedSamplingSynthesizer`; ``query()`` and ``aquery()``
    return a ``Response`` with the selected answer, the source nodes and the
    distribution in ``metadata["vs_distribution"]``.

    Args:
        retriever: Any LlamaIndex retriever.
        llm: Any LlamaIndex LLM; default ``Settings.llm``.
        config: What to ask for; default ``VSConfig()``.
        node_postprocessors: Applied to the retrieved nodes.
        callback_manager: LlamaIndex callback manager.
        **synthesizer_kwargs: Further arguments of
            :class:`VerbalizedSamplingSynthesizer` (``strategy``, ``seed``...).

    Example:
        >>> from llama_index.core import Document, Settings, VectorStoreIndex
        >>> from llama_index.core.embeddings import MockEmbedding
        >>> from llama_index.core.llms import MockLLM
        >>> Settings.embed_model = MockEmbedding(embed_dim=8)
        >>> index = VectorStoreIndex.from_documents([Document(text="Coffee is brewed.")])
        >>> engine = VerbalizedSamplingQueryEngine.from_index(index, llm=MockLLM(), seed=0)
        >>> engine.synthesizer.config.k
        5
    """

    def __init__(
        self,
        retriever: BaseRetriever,
        llm: LLM | None = None,
        config: VSConfig | None = None,
        *,
        node_postprocessors: list[BaseNodePostprocessor] | None = None,
        callback_manager: CallbackManager | None = None,
        **synthesizer_kwargs: Any,
    ) -> None:
        synthesizer = VerbalizedSamplingSynthesizer(
            llm=llm, config=config, callback_manager=callback_manager, **synthesizer_kwargs
        )
        super().__init__(
            retriever,
            response_synthesizer=synthesizer,
            node_postprocessors=node_postprocessors,
            callback_manager=callback_manager,
        )
        self._vs_synthesizer = synthesizer

    @property
    def synthesizer(self) -> VerbalizedSamplingSynthesizer:
        """The VS response synthesizer."""
        return self._vs_synthesizer

    @classmethod
    def from_index(
        cls,
        index: BaseIndex[Any],
        llm: LLM | None = None,
        config: VSConfig | None = None,
        *,
        similarity_top_k: int = 2,
        **kwargs: Any,
    ) -> VerbalizedSamplingQueryEngine:
        """Build the engine on ``index.as_retriever(similarity_top_k=...)``.

        Args:
            index: A LlamaIndex index (``VectorStoreIndex``...).
            llm: The LLM; default ``Settings.llm``.
            config: The VS configuration.
            similarity_top_k: Nodes to retrieve.
            **kwargs: Further arguments of the engine and its synthesizer.

        Returns:
            The query engine.
        """
        retriever = index.as_retriever(similarity_top_k=similarity_top_k)
        return cls(retriever, llm=llm, config=config, **kwargs)
