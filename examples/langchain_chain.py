"""A VS chain, and a batch over many prompts.

    chain = vs_prompt(...) | llm | VerbalizedSamplingParser()

turns any chat model into a source of k candidates with verbalized
probabilities; ``VerbalizedSampler`` does n samples over ceil(n/k) calls,
concurrently, with retries, and sums token usage.

    python examples/langchain_chain.py

Backend: see examples/langchain_common.py (VS_BASE_URL, OPENAI_API_KEY, the
embedded SmolLM2 model, or VS_OFFLINE=1 for a scripted stand-in).
"""

from __future__ import annotations

from langchain_common import model_backend, show
from langchain_core.exceptions import OutputParserException

from langchain_vs import VerbalizedSampler, VerbalizedSamplingParser, VerbalizedSelector, vs_prompt
from vs_common import VerbalizedDistribution, VSConfig

TOPICS = ["coffee", "rain", "cats", "trains"]


def main() -> None:
    config = VSConfig(k=3)
    with model_backend() as (llm, name):
        print(f"model: {name}")

        # 1. prompt | llm | parser: one call, k candidates
        chain = vs_prompt(config, template="Write a one-line joke about {topic}.") | llm
        chain_parsed = chain | VerbalizedSamplingParser(config=config)
        try:
            dist = chain_parsed.invoke({"topic": "coffee"})
            print(f"chain: {len(dist.candidates)} candidates")
            show(dist.texts, dist.probabilities.tolist())
        except OutputParserException as exc:  # a tiny model may not follow the format
            print(f"chain: the reply held no candidate ({str(exc)[:80]}...)")

        # 2. a batch over many prompts through the sampler (tool calling where the
        #    server supports it, text otherwise), then a seeded choice per topic
        sampler = VerbalizedSampler(llm=llm, config=config, min_successes=0)
        pick = VerbalizedSelector(strategy="weighted", seed=7)
        prompts = [f"Write a one-line joke about {t}." for t in TOPICS]
        results = sampler.batch(prompts, {"max_concurrency": 2})
        for topic, result in zip(TOPICS, results, strict=True):
            if isinstance(result, VerbalizedDistribution) and result.candidates:
                print(
                    f"batch[{topic}]: {len(result.candidates)} candidates,"
                    f" picked: {pick.invoke(result)!r}"
                )
            elif isinstance(result, VerbalizedDistribution):
                print(f"batch[{topic}]: no candidate, {len(result.failures)} failure(s) recorded")
            if isinstance(result, VerbalizedDistribution) and result.usage is not None:
                print(f"  tokens: {result.usage.total_tokens}")
        print(f"batch done: {len(results)} prompts")


if __name__ == "__main__":
    main()
