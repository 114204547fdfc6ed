"""SSoT and SimpleStrat through both adapters: the same core policy, the same seeded draws."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel
from li_fakes import ScriptedLLM

from langchain_vs import VerbalizedSampler, VerbalizedSamplingParser
from llamaindex_vs import VerbalizedSamplingOutputParser, VerbalizedSamplingWorkflow
from vs_common import VSConfig

STRATA = '["west of the Mississippi", "east of the Mississippi", "on an ocean"]'
SSOT_REPLY = "<random_string>Qe81</random_string><thinking>Q=17</thinking><answer>5</answer>"
PROMPTS = [f"Name US state number {i}" for i in range(8)]


async def test_simplestrat_draws_the_same_strata_through_both_adapters() -> None:
    config = VSConfig(method="simplestrat", k=3, n=1)
    lc = VerbalizedSampler(
        llm=FakeListChatModel(responses=[STRATA, "Ohio"]),
        config=config,
        structured="text",
        seed=3,
    )
    li = VerbalizedSamplingWorkflow(
        llm=ScriptedLLM(replies=[STRATA, "Ohio"]), config=config, structured="text", seed=3
    )
    lc_notes = [(await lc.ainvoke(p)).reasoning for p in PROMPTS]
    li_notes = [(await li.run(prompt=p)).distribution.reasoning for p in PROMPTS]
    assert lc_notes == li_notes
    assert all(note is not None and note.startswith("stratum ") for note in lc_notes)
    assert len(set(lc_notes)) > 1  # the seed is mixed with each prompt
    assert len(li.llm.conversations) == 2 * len(PROMPTS)  # two calls per sample
    answer_turn = li.llm.conversations[1][-1].content
    assert "Additional instructions: your response must fit this category:" in answer_turn


def test_ssot_replies_are_read_by_both_parsers() -> None:
    config = VSConfig(method="ssot")
    lc = VerbalizedSamplingParser(config=config)
    assert lc.parse(SSOT_REPLY).texts == ["5"]
    chunks = [SSOT_REPLY[i : i + 7] for i in range(0, len(SSOT_REPLY), 7)]
    streamed = list(lc.transform(iter(chunks)))
    assert [d.texts for d in streamed] == [["5"]]  # nothing partial: the answer comes last
    li = VerbalizedSamplingOutputParser(config=config)
    assert li.parse(SSOT_REPLY).texts == ["5"]
    assert "<random_string>" in li.format("Roll a die")


@pytest.mark.parametrize("method", ["ssot", "simplestrat"])
async def test_the_alternatives_sample_through_the_workflow(method: str) -> None:
    replies = [SSOT_REPLY] if method == "ssot" else [STRATA, "Texas"]
    workflow = VerbalizedSamplingWorkflow(
        llm=ScriptedLLM(replies=replies),
        config=VSConfig(method=method, k=3, n=2),
        structured="text",
        seed=1,
    )
    result = await workflow.run(prompt="Name a US state")
    assert result.distribution.all_texts() == (["5", "5"] if method == "ssot" else ["Texas"] * 2)
    assert result.distribution.num_calls == 2
