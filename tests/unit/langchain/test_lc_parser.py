from __future__ import annotations

import json

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration
from langchain_core.prompts import ChatPromptTemplate
from lc_fakes import FakeVSChatModel, vs_json

from langchain_vs import VerbalizedSamplingParser, vs_prompt
from vs_common import VerbalizedDistribution, VSConfig, parse_distribution, system_instruction

THREE = vs_json([("Decaf? Never.", 0.5), ("Espresso yourself.", 0.3), ("Brew-tiful day.", 0.2)])


def test_chain_returns_distribution_from_text():
    llm = GenericFakeChatModel(messages=iter([AIMessage(content=THREE)]))
    chain = vs_prompt(k=3, template="Joke about {topic}") | llm | VerbalizedSamplingParser(k=3)
    dist = chain.invoke({"topic": "coffee"})
    assert isinstance(dist, VerbalizedDistribution)
    assert dist.texts == ["Decaf? Never.", "Espresso yourself.", "Brew-tiful day."]
    assert dist.probabilities.sum() == pytest.approx(1.0)


def test_reads_tool_call_arguments():
    args = {"responses": [{"text": "a", "probability": 0.25}, {"text": "b", "probability": 0.75}]}
    msg = AIMessage(content="", tool_calls=[{"name": "submit_responses", "args": args, "id": "1"}])
    dist = VerbalizedSamplingParser().invoke(msg)
    assert dist.texts == ["a", "b"]
    assert dist.probabilities.tolist() == pytest.approx([0.25, 0.75])


def test_tool_name_picks_the_right_call():
    other = {"name": "search", "args": {"query": "x"}, "id": "1"}
    vs = {"name": "submit", "args": {"responses": [{"text": "yes", "probability": 1}]}, "id": "2"}
    msg = AIMessage(content="", tool_calls=[other, vs])
    assert VerbalizedSamplingParser(tool_name="submit").invoke(msg).texts == ["yes"]


def test_invalid_tool_call_args_are_repaired():
    msg = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": "submit_responses",
                "args": '{"responses": [{"text": "x", "probability": 0.5},',
                "id": "1",
                "error": "bad json",
                "type": "invalid_tool_call",
            }
        ],
    )
    assert VerbalizedSamplingParser().invoke(msg).texts == ["x"]


def test_finish_reason_length_drops_the_cut_off_item():
    text = "1. First joke (probability: 0.5)\n2. Second joke (probability: 0.3)\n3. Third jo"
    cut = AIMessage(content=text, response_metadata={"finish_reason": "length"})
    whole = AIMessage(content=text, response_metadata={"finish_reason": "stop"})
    parser = VerbalizedSamplingParser()
    assert parser.invoke(cut).texts == ["First joke", "Second joke"]
    assert len(parser.invoke(whole).texts) == 3


def test_unrecoverable_output_raises_output_parser_exception_with_raw():
    raw = "I am sorry, I cannot do that."
    with pytest.raises(OutputParserException) as info:
        VerbalizedSamplingParser().invoke(raw)
    assert info.value.llm_output == raw
    with pytest.raises(OutputParserException):
        VerbalizedSamplingParser().parse_result([ChatGeneration(message=AIMessage(content=raw))])


def test_partial_parse_returns_none_until_a_candidate_is_complete():
    parser = VerbalizedSamplingParser()
    gen = ChatGeneration(
        message=AIMessage(content='{"responses": [{"text": "A", "probability": 0.')
    )
    assert parser.parse_result([gen], partial=True) is None


def test_format_instructions_are_safe_in_a_template():
    cfg = VSConfig(k=4, threshold=0.1)
    parser = VerbalizedSamplingParser(config=cfg)
    text = parser.get_format_instructions()
    prompt = ChatPromptTemplate.from_messages([("system", text), ("human", "{q}")])
    assert prompt.input_variables == ["q"]
    rendered = prompt.invoke({"q": "hi"}).to_messages()[0].text
    assert rendered == system_instruction(cfg)
    assert "less than 0.1" in rendered


def test_shorthand_fields_build_the_config():
    parser = VerbalizedSamplingParser(method="vs_cot", k=2)
    assert parser.config == VSConfig(method="vs_cot", k=2)


def test_vs_cot_reasoning_and_xml_are_read():
    cot = json.dumps({"reasoning": "think", "responses": [{"text": "r", "probability": 1}]})
    assert VerbalizedSamplingParser(method="vs_cot").invoke(cot).reasoning == "think"
    xml = (
        "<response><text>T1</text><probability>0.4</probability></response>"
        "<response><probability>0.6</probability><text>T2</text></response>"
    )
    assert VerbalizedSamplingParser(output_format="xml").invoke(xml).texts == ["T1", "T2"]


def test_output_schema_of_a_chain_describes_the_distribution():
    chain = vs_prompt() | FakeVSChatModel() | VerbalizedSamplingParser()
    schema = chain.output_schema.model_json_schema()
    assert {"candidates", "reasoning", "repairs", "usage"} <= set(schema["properties"])
    assert chain.OutputType is VerbalizedDistribution


# -- streaming golden tests --------------------------------------------------

GOLDEN_TEXT = vs_json([("One", 0.125), ("Two", 0.375), ("Three", 0.5)])
GOLDEN = [["One"], ["One", "Two"], ["One", "Two", "Three"]]


def _check_golden(
    outs: list[VerbalizedDistribution], final: VerbalizedDistribution, *, exact: bool = True
) -> None:
    grown = [d.texts for d in outs]
    # each distinct step once, in order; the last is the full parse
    dedup = [t for i, t in enumerate(grown) if i == 0 or t != grown[i - 1]]
    if exact:  # chunks small enough that every candidate closes in its own chunk
        assert dedup == GOLDEN
    else:  # big chunks may complete several candidates at once
        assert dedup == [g for g in GOLDEN if g in dedup]
        assert dedup[-1] == GOLDEN[-1]
    assert outs[-1] == final
    stated = {c.text: c.raw_probability for c in final.candidates}
    for d in outs:  # a probability is never half read
        for c in d.candidates:
            assert c.raw_probability == stated[c.text]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_stream_text_golden(size):
    parser = VerbalizedSamplingParser()
    chunks = [GOLDEN_TEXT[i : i + size] for i in range(0, len(GOLDEN_TEXT), size)]
    outs = list(parser.transform(iter(chunks)))
    _check_golden(outs, parser.invoke(GOLDEN_TEXT), exact=size < 10)


@pytest.mark.parametrize("size", [1, 7, 13])
async def test_astream_message_chunks_golden(size):
    parser = VerbalizedSamplingParser()

    async def gen():
        for i in range(0, len(GOLDEN_TEXT), size):
            yield AIMessageChunk(content=GOLDEN_TEXT[i : i + size])

    outs = [d async for d in parser.atransform(gen())]
    _check_golden(outs, parser.invoke(GOLDEN_TEXT), exact=size < 10)


def test_chain_stream_text_and_tool_modes_agree_with_invoke():
    args = json.loads(GOLDEN_TEXT)
    for llm in (
        FakeVSChatModel(replies=[GOLDEN_TEXT]),
        FakeVSChatModel(replies=[args]).bind_tools(
            [
                {
                    "name": "submit_responses",
                    "description": "d",
                    "parameters": {"type": "object", "properties": {}},
                }
            ]
        ),
    ):
        chain = vs_prompt(k=3) | llm | VerbalizedSamplingParser(k=3)
        outs = list(chain.stream({"input": "count"}))
        _check_golden(outs, chain.invoke({"input": "count"}))


async def test_chain_astream_tool_call_chunks():
    args = json.loads(GOLDEN_TEXT)
    llm = FakeVSChatModel(replies=[args], chunk_size=4).bind_tools(
        [
            {
                "name": "submit_responses",
                "description": "d",
                "parameters": {"type": "object", "properties": {}},
            }
        ]
    )
    chain = llm | VerbalizedSamplingParser()
    outs = [d async for d in chain.astream("count")]
    _check_golden(outs, await chain.ainvoke("count"))


def test_candidate_is_emitted_as_soon_as_its_object_closes():
    head = GOLDEN_TEXT[: GOLDEN_TEXT.index('"Three"') - len('"text": ')]
    assert head.endswith("}, {")
    outs = list(VerbalizedSamplingParser().transform(iter([head])))
    assert outs[0].texts == ["One", "Two"]


def test_stream_of_unparseable_output_raises_at_the_end():
    parser = VerbalizedSamplingParser()
    with pytest.raises(OutputParserException):
        list(parser.transform(iter(["no ", "candidates ", "here"])))


def test_stream_final_matches_core_parse_for_truncated_reply():
    text = "1. Alpha (probability: 0.6)\n2. Beta (probability: 0.4)\n3. Gam"
    msg_chunks = [
        AIMessageChunk(content=text[:30]),
        AIMessageChunk(content=text[30:]),
        AIMessageChunk(content="", response_metadata={"finish_reason": "length"}),
    ]
    outs = list(VerbalizedSamplingParser().transform(iter(msg_chunks)))
    assert outs[-1] == parse_distribution(text, truncated=True)
    assert outs[-1].texts == ["Alpha", "Beta"]


def test_diff_mode_is_refused():
    with pytest.raises(ValueError, match="diff"):
        VerbalizedSamplingParser(diff=True)


def test_strict_raises_where_the_default_guesses():
    reply = "1. Decaf joke (0.4)\n2. Latte joke\n3. Mocha joke (0.2)"
    assert VerbalizedSamplingParser().parse(reply).texts[1] == "Latte joke"
    with pytest.raises(OutputParserException, match="stated no usable probability") as info:
        VerbalizedSamplingParser(strict=True).parse(reply)
    assert info.value.llm_output == reply


def test_strict_is_not_applied_to_streamed_partial_results():
    chunks = ["1. Decaf joke (0.4)\n", "2. Latte joke (0.6)\n", "3. Mocha joke (0.2)"]
    dists = list(VerbalizedSamplingParser(strict=True).transform(iter(chunks)))
    assert dists[-1].texts == ["Decaf joke", "Latte joke", "Mocha joke"]
