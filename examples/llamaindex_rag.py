"""RAG with Verbalized Sampling: k candidate answers from the retrieved nodes.

A small in-memory index over three documents; the VS query engine answers
with k candidate answers and their probabilities. The ``Response`` carries the
sampled answer, the source nodes and the full distribution
(``get_distribution(response)``). The same synthesizer also plugs into
``index.as_query_engine(response_synthesizer=...)``.

The model: ``$VS_BASE_URL`` / ``$VS_MODEL``, or the embedded SmolLM2 model
started on loopback (see examples/llamaindex_workflow.py).

    python examples/llamaindex_rag.py
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

from llama_index.core import Document, Settings, SummaryIndex
from llama_index.llms.openai_like import OpenAILike
from llamaindex_common import open_llm

from llamaindex_vs import (
    VerbalizedSamplingQueryEngine,
    VerbalizedSamplingSynthesizer,
    get_distribution,
)
from vs_common import VSConfig, VSSamplingError

DOCUMENTS = [
    Document(
        text="The Brew Lab cafe opens at 7 am and closes at 6 pm.", metadata={"file": "hours.txt"}
    ),
    Document(
        text="The Brew Lab sells espresso, flat whites and cold brew.",
        metadata={"file": "menu.txt"},
    ),
    Document(
        text="The Brew Lab is on 12 Harbour Street, next to the ferry.",
        metadata={"file": "where.txt"},
    ),
]


async def main(llm: OpenAILike) -> None:
    # A summary index retrieves every node: no embedding model is needed here.
    index = SummaryIndex.from_documents(DOCUMENTS)

    engine = VerbalizedSamplingQueryEngine(
        index.as_retriever(), llm=llm, config=VSConfig(k=3), seed=1
    )
    try:
        response = engine.query("What drinks does the Brew Lab sell?")
    except VSSamplingError as exc:  # every call failed: the failures say why
        print(f"no answer could be read: {exc.failures[0].message[:200]}")
    else:
        print(f"answer: {response}")
        for candidate in get_distribution(response).candidates:
            print(f"  candidate: p={candidate.probability:.2f} {candidate.text}")
        print(f"sources: {', '.join(n.node.metadata['file'] for n in response.source_nodes)}")

    synthesizer = VerbalizedSamplingSynthesizer(llm=llm, config=VSConfig(k=3), strategy="argmax")
    engine2 = index.as_query_engine(response_synthesizer=synthesizer)
    try:
        response2 = await engine2.aquery("When does the Brew Lab open?")
    except VSSamplingError as exc:
        print(f"no async answer could be read: {exc.failures[0].message[:200]}")
    else:
        print(f"async answer (most probable): {response2}")
        print(f"async candidates: {len(get_distribution(response2).candidates)}")


if __name__ == "__main__":
    with ExitStack() as stack:
        Settings.llm = open_llm(stack)
        asyncio.run(main(Settings.llm))
