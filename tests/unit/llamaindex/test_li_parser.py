"""VerbalizedSamplingOutputParser: format() in prompts and templates, parse() to a distribution."""

from __future__ import annotations

import pytest
from li_fakes import ScriptedLLM, vs_json
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.program import LLMTextCompletionProgram
from llama_index.core.prompts import ChatPromptTemplate, PromptTemplate
from llama_index.core.types import BaseOutputParser

from llamaindex_vs import VerbalizedSamplingOutputParser
from vs_common import VerbalizedDistribution, VSConfig, VSParseError, system_instruction


def test_is_a_llamaindex_output_parser():
    assert isinstance(VerbalizedSamplingOutputParser(), BaseOutputParser)


def test_format_appends_the_instruction_of_the_config():
    config = VSConfig(k=4, threshold=0.1)
    out = VerbalizedSamplingOutputParser(config).format("Tell a joke about coffee")
    assert out.startswith("Tell a joke about coffee\n\n")
    assert out.endswith(system_instruction(config))
    assert "Generate 4 responses" in out
    assert "less than 0.1" in out  # the tail sentence of the paper


def test_format_escapes_braces(monkeypatch: pytest.MonkeyPatch):
    parser = VerbalizedSamplingOutputParser()
    monkeypatch.setattr(
        "llamaindex_vs._output_parser.system_instruction", lambda c: 'Answer {"responses": []}'
    )
    assert parser.format("Q") == 'Q\n\nAnswer {{"responses": []}}'
    assert parser.instruction == 'Answer {"responses": []}'


def test_prompt_template_output_parser_keeps_variables_and_adds_instruction():
    parser = VerbalizedSamplingOutputParser(VSConfig(k=3))
    template = PromptTemplate("Tell a joke about {topic}.", output_parser=parser)
    text = template.format(topic="tea")
    assert text.startswith("Tell a joke about tea.")
    assert "Generate 3 responses" in text


def test_chat_template_puts_instruction_in_system_message():
    parser = VerbalizedSamplingOutputParser(VSConfig(k=2))
    template = ChatPromptTemplate(
        [
            ChatMessage(role=MessageRole.SYSTEM, content="You are funny."),
            ChatMessage(role=MessageRole.USER, content="Joke about {topic}"),
        ],
        output_parser=parser,
    )
    messages = template.format_messages(topic="tea")
    assert messages[0].content is not None
    assert messages[0].content.startswith("You are funny.")
    assert "Generate 2 responses" in messages[0].content
    assert messages[1].content == "Joke about tea"


def test_parse_json_and_xml():
    parser = VerbalizedSamplingOutputParser()
    dist = parser.parse(vs_json([("A", 0.25), ("B", 0.75)]))
    assert dist.texts == ["A", "B"]
    assert dist.probabilities.tolist() == pytest.approx([0.25, 0.75])
    xml = (
        "<response><text>Hot</text><probability>0.4</probability></response>"
        "<response><probability>0.6</probability><text>Iced</text></response>"
    )
    assert parser.parse(xml).texts == ["Hot", "Iced"]


def test_parse_error_is_a_value_error_with_the_raw_text():
    parser = VerbalizedSamplingOutputParser()
    with pytest.raises(ValueError, match="no candidate") as info:
        parser.parse("")
    assert isinstance(info.value, VSParseError)
    assert info.value.raw_output == ""


def test_parse_uses_the_method_of_the_config():
    direct = VerbalizedSamplingOutputParser(VSConfig(method="direct"))
    assert direct.parse("Just one plain answer.").texts == ["Just one plain answer."]
    with pytest.raises(VSParseError):
        VerbalizedSamplingOutputParser().parse("")


@pytest.mark.parametrize("chat_model", [True, False])
def test_llm_text_completion_program(chat_model: bool):
    llm = ScriptedLLM(
        replies=[vs_json([("Decaf?", 0.6), ("Brew-tiful", 0.4)])], chat_model=chat_model
    )
    program = LLMTextCompletionProgram.from_defaults(
        output_parser=VerbalizedSamplingOutputParser(VSConfig(k=2)),
        output_cls=VerbalizedDistribution,
        prompt_template_str="Tell a joke about {topic}.",
        llm=llm,
    )
    dist = program(topic="coffee")
    assert isinstance(dist, VerbalizedDistribution)
    assert dist.texts == ["Decaf?", "Brew-tiful"]
    sent = llm.conversations[0][-1].content if chat_model else llm.prompts[0]
    assert sent is not None
    assert "Tell a joke about coffee." in sent
    assert "Generate 2 responses" in sent


async def test_llm_text_completion_program_async_raises_parse_error():
    llm = ScriptedLLM(replies=["I cannot help with that."])
    program = LLMTextCompletionProgram.from_defaults(
        output_parser=VerbalizedSamplingOutputParser(),
        output_cls=VerbalizedDistribution,
        prompt_template_str="Joke about {topic}",
        llm=llm,
    )
    with pytest.raises(VSParseError) as info:
        await program.acall(topic="tea")
    assert info.value.raw_output == "I cannot help with that."


def test_strict_raises_where_the_default_guesses():
    reply = "1. Decaf joke (0.4)\n2. Latte joke\n3. Mocha joke (0.2)"
    assert VerbalizedSamplingOutputParser().parse(reply).texts[1] == "Latte joke"
    strict = VerbalizedSamplingOutputParser(strict=True)
    assert "strict=True" in repr(strict)
    with pytest.raises(VSParseError, match="stated no usable probability"):
        strict.parse(reply)
