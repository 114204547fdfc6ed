"""RAG: the VS synthesizer and query engine over a small in-memory index."""

from __future__ import annotations

import asyncio

import pytest
from li_fakes import ScriptedLLM, vs_json
from llama_index.core import Document, SummaryIndex, VectorStoreIndex
from llama_index.core.base.response.schema import Response
from llama_index.core.prompts import PromptTemplate

from llamaindex_vs import (
    DISTRIBUTION_KEY,
    SELECTED_KEY,
    VerbalizedSamplingQueryEngine,
    VerbalizedSamplingSynthesizer,
    get_distribution,
)
from vs_common import Candidate, VerbalizedDistribution, VSConfig

DOCS = [
    Document(text="Lisbon is the capital of Portugal.", metadata={"source": "geo"}),
    Document(text="Porto is famous for port wine.", metadata={"source": "wine"}),
]
ANSWERS = vs_json([("Lisbon", 0.8), ("Lisbon, Portugal", 0.15), ("Porto", 0.05)])


@pytest.fixture
def index() -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(DOCS)


def check_response(response: object, llm: ScriptedLLM) -> None:
    assert isinstance(response, Response)
    assert type(response.response) is str
    dist = get_distribution(response)
    assert dist.texts == ["Lisbon", "Lisbon, Portugal", "Porto"]
    assert response.response in dist.texts
    selected = response.metadata[SELECTED_KEY]  # type: ignore[index]
    assert isinstance(selected, Candidate)
    assert selected.text == response.response
    assert len(response.source_nodes) == 2
    user_prompt = llm.conversations[-1][1].content
    assert user_prompt is not None
    assert "Lisbon is the capital of Portugal." in user_prompt
    assert "Porto is famous for port wine." in user_prompt
    assert "What is the capital of Portugal?" in user_prompt
    assert "Generate 3 responses" in (llm.conversations[-1][0].content or "")


def test_query_engine_sync(index: VectorStoreIndex):
    llm = ScriptedLLM(replies=[ANSWERS])
    engine = VerbalizedSamplingQueryEngine.from_index(index, llm=llm, config=VSConfig(k=3), seed=0)
    response = engine.query("What is the capital of Portugal?")
    check_response(response, llm)
    assert response.metadata is not None
    node_ids = {n.node.node_id for n in response.source_nodes}
    assert node_ids <= set(response.metadata)  # LlamaIndex's per-node metadata is kept


async def test_query_engine_async_and_sync_inside_a_running_loop(index: VectorStoreIndex):
    llm = ScriptedLLM(replies=[ANSWERS])
    engine = VerbalizedSamplingQueryEngine.from_index(index, llm=llm, config=VSConfig(k=3), seed=0)
    check_response(await engine.aquery("What is the capital of Portugal?"), llm)
    # the sync API called from a running loop runs the core on a worker thread
    check_response(engine.query("What is the capital of Portugal?"), llm)


def test_synthesizer_through_as_query_engine(index: VectorStoreIndex):
    llm = ScriptedLLM(replies=[ANSWERS])
    synth = VerbalizedSamplingSynthesizer(llm=llm, config=VSConfig(k=3), strategy="argmax")
    engine = index.as_query_engine(response_synthesizer=synth, similarity_top_k=2)
    response = engine.query("What is the capital of Portugal?")
    check_response(response, llm)
    assert response.response == "Lisbon"


def test_summary_index_and_n_over_several_calls():
    llm = ScriptedLLM(replies=[ANSWERS, vs_json([("Lisbon", 0.5), ("Coimbra", 0.5)])])
    engine = VerbalizedSamplingQueryEngine(
        SummaryIndex.from_documents(DOCS).as_retriever(), llm=llm, config=VSConfig(k=3, n=6)
    )
    response = engine.query("What is the capital of Portugal?")
    dist = get_distribution(response)
    # the second call gave 2 of the 3 asked for: one top-up call fills n
    assert (dist.num_calls, dist.top_up_calls, dist.shortfall) == (3, 1, 0)
    assert "Coimbra" in dist.texts
    assert dist.usage is not None and dist.usage.prompt_tokens == 33


def test_custom_template_and_prompt_mixin(index: VectorStoreIndex):
    llm = ScriptedLLM(replies=[ANSWERS])
    engine = VerbalizedSamplingQueryEngine.from_index(index, llm=llm, config=VSConfig(k=3))
    assert "response_synthesizer:text_qa_template" in engine.get_prompts()
    template = PromptTemplate("FACTS:\n{context_str}\nQUESTION: {query_str}")
    engine.update_prompts({"response_synthesizer:text_qa_template": template})
    engine.query("Which city?")
    user_prompt = llm.conversations[0][1].content or ""
    assert user_prompt.startswith("FACTS:\n")
    assert user_prompt.endswith("QUESTION: Which city?")


def test_no_nodes_gives_the_empty_response():
    llm = ScriptedLLM()
    synth = VerbalizedSamplingSynthesizer(llm=llm)
    response = synth.synthesize("q", nodes=[])
    assert str(response) == "Empty Response"
    assert llm.conversations == []


def test_get_distribution_reads_dicts_and_rejects_other_responses():
    dist = VerbalizedDistribution.from_pairs([("a", 1.0)])
    assert get_distribution(Response("a", metadata={DISTRIBUTION_KEY: dist.to_dict()})) == dist
    with pytest.raises(KeyError, match=DISTRIBUTION_KEY):
        get_distribution(Response("a", metadata={}))


def test_concurrent_async_queries_keep_their_own_distributions(index: VectorStoreIndex):
    llm = ScriptedLLM(replies=[vs_json([("one", 1.0)]), vs_json([("two", 1.0)])])
    engine = VerbalizedSamplingQueryEngine.from_index(index, llm=llm, config=VSConfig(k=1))

    async def both() -> list[object]:
        return list(await asyncio.gather(engine.aquery("a"), engine.aquery("b")))

    responses = asyncio.run(both())
    pairs = {(str(r), tuple(get_distribution(r).texts)) for r in responses}
    assert pairs == {("one", ("one",)), ("two", ("two",))}
