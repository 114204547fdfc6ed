"""RAG with VS: a retriever feeds a VS prompt; k diverse answers grounded in the context.

An in-memory vector store (langchain-core's ``InMemoryVectorStore``) holds a
few notes; its retriever fills ``{context}`` of the user's own prompt, to
which ``add_vs_instructions`` adds the VS instruction; ``VerbalizedSampler``
returns the candidate answers with their probabilities.

The embedding is langchain-core's ``DeterministicFakeEmbedding`` so the
example needs no network: its vectors are hash-seeded, not semantic, so
which notes are retrieved is arbitrary but reproducible. Swap in a real
embedding model for real retrieval.

    python examples/langchain_rag.py
"""

from __future__ import annotations

from langchain_common import model_backend, show
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_vs import VerbalizedSampler, add_vs_instructions
from vs_common import VerbalizedDistribution, VSConfig

NOTES = [
    "Espresso is brewed by forcing hot water through finely ground coffee at high pressure.",
    "Cold brew steeps coarse grounds in cold water for 12 to 24 hours.",
    "A pour-over drips hot water through grounds in a paper filter by hand.",
    "The French press steeps grounds in hot water, then presses them down with a mesh plunger.",
    "Turkish coffee simmers very fine grounds with water and often sugar in a cezve.",
]


def format_docs(docs: list[Document]) -> str:
    return "\n".join(f"- {d.page_content}" for d in docs)


def main() -> None:
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=64))
    store.add_documents([Document(page_content=n) for n in NOTES])
    retriever = store.as_retriever(search_kwargs={"k": 3})

    user_prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer only from these notes:\n{context}"),
            ("human", "{question}"),
        ]
    )
    prompt = add_vs_instructions(user_prompt, VSConfig(k=3))  # keeps {context} and {question}

    with model_backend() as (llm, name):
        print(f"model: {name}")
        sampler = VerbalizedSampler(llm=llm, k=3, min_successes=0)
        chain = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt
        question = "How can I make coffee at home?"
        print("retrieved notes:")
        print(format_docs(retriever.invoke(question)))
        dist = (chain | sampler).invoke(question)
        if not isinstance(dist, VerbalizedDistribution) or not dist.candidates:
            print("no answer could be read from the model's reply")
            return
        print(f"{len(dist.candidates)} diverse answers for: {question}")
        show(dist.texts, dist.probabilities.tolist())


if __name__ == "__main__":
    main()
