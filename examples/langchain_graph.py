"""LangGraph: simulating the persuadee of a persuasion dialogue with VS (paper, section 6).

In the PersuasionForGood task a persuader tries to convince a persuadee to
donate to Save the Children. Here the persuader's turns are scripted and the
persuadee is simulated: at each turn a graph node asks the model for k
candidate replies with verbalized probabilities (``VerbalizedSampler``) and
picks one by its probability (``VerbalizedSelector``), seeded per turn so the
whole dialogue is reproducible yet not always the single most likely reply.

    python examples/langchain_graph.py
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_common import model_backend
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import ConfigurableField
from langgraph.graph import END, START, StateGraph

from langchain_vs import VerbalizedSampler, VerbalizedSelector
from vs_common import Candidate, VerbalizedDistribution, VSConfig

SEED = 2025
PERSONA = (
    "You are role-playing the persuadee in a conversation about donating to the charity"
    " Save the Children. You are a busy, somewhat skeptical person with a modest income."
    " Reply to the persuader's last message in one or two sentences, in character."
    " Each candidate response is a possible next reply of yours about the donation."
)
PERSUADER = [
    "Hi! Have you heard of Save the Children? They help kids in over 100 countries.",
    "Even a small donation, like a dollar, buys a child clean water for a week.",
    "Would you consider donating part of your payment for this task today?",
]


class Dialogue(TypedDict):
    turns: list[tuple[str, str]]  # (speaker, text)
    probabilities: list[float]  # of each persuadee reply, as verbalized


def build_graph(llm: BaseChatModel, k: int = 4) -> Any:
    sampler = VerbalizedSampler(llm=llm, config=VSConfig(k=k), min_successes=0)
    selector = VerbalizedSelector(strategy="weighted", output="candidate").configurable_fields(
        seed=ConfigurableField(id="seed")
    )

    def persuader(state: Dialogue) -> Dialogue:
        said = sum(1 for who, _ in state["turns"] if who == "persuader")
        return {**state, "turns": [*state["turns"], ("persuader", PERSUADER[said])]}

    def persuadee(state: Dialogue) -> Dialogue:
        messages: list[BaseMessage] = [SystemMessage(PERSONA)]
        for who, text in state["turns"]:
            messages.append(HumanMessage(text) if who == "persuader" else AIMessage(text))
        dist = sampler.invoke(messages)
        turn = len(state["probabilities"])
        if isinstance(dist, VerbalizedDistribution) and dist.candidates:
            # a fresh, reproducible seed per turn: same dialogue on every run
            chosen = selector.invoke(dist, {"configurable": {"seed": SEED + turn}})
            assert isinstance(chosen, Candidate)  # noqa: S101 - output="candidate"
            text, prob = chosen.text, chosen.probability
            print(f"  [turn {turn}] {len(dist.candidates)} candidate replies:")
            for c in dist.candidates:
                mark = "->" if c.text == text else "  "
                print(f"    {mark} p={c.probability:.2f} {c.text[:90]}")
        else:
            text, prob = "(no readable reply)", 0.0
        return {
            "turns": [*state["turns"], ("persuadee", text)],
            "probabilities": [*state["probabilities"], prob],
        }

    def more(state: Dialogue) -> str:
        return "persuader" if len(state["probabilities"]) < len(PERSUADER) else END

    graph = StateGraph(Dialogue)
    graph.add_node("persuader", persuader)
    graph.add_node("persuadee", persuadee)
    graph.add_edge(START, "persuader")
    graph.add_edge("persuader", "persuadee")
    graph.add_conditional_edges("persuadee", more, ["persuader", END])
    return graph.compile()


def main() -> None:
    with model_backend() as (llm, name):
        print(f"model: {name}")
        app = build_graph(llm)
        final = app.invoke({"turns": [], "probabilities": []})
        print("dialogue:")
        for who, text in final["turns"]:
            print(f"  {who:>9}: {text}")
        print(f"persuadee turns: {len(final['probabilities'])}")


if __name__ == "__main__":
    main()
