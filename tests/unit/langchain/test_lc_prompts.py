from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from langchain_vs import add_vs_instructions, escape_braces, vs_prompt
from vs_common import Method, VSConfig, VSConfigError, system_instruction


@pytest.mark.parametrize("method", [m for m in Method if not m.is_completion])
def test_vs_prompt_uses_the_core_instruction_for_every_method(method):
    cfg = VSConfig(method=method)
    msgs = vs_prompt(cfg).invoke({"input": "Tell a joke"}).to_messages()
    assert [m.type for m in msgs] == ["system", "human"]
    assert msgs[0].text == system_instruction(cfg)
    assert msgs[1].text == "Tell a joke"


def test_vs_prompt_options_override_the_config():
    p = vs_prompt(
        VSConfig(k=5),
        k=3,
        threshold=0.05,
        probability_format="percentage",
        template="A {adj} poem about {topic}",
    )
    assert sorted(p.input_variables) == ["adj", "topic"]
    system = p.invoke({"adj": "short", "topic": "rain"}).to_messages()[0].text
    assert system.startswith("Generate 3 responses")
    assert "less than 5%" in system
    assert system == system_instruction(
        VSConfig(k=3, threshold=0.05, probability_format="percentage")
    )


def test_vs_prompt_xml_output_format():
    system = vs_prompt(output_format="xml").invoke({"input": "x"}).to_messages()[0].text
    assert "<response>" in system


def test_vs_prompt_rejects_bad_options():
    with pytest.raises(VSConfigError, match="k"):
        vs_prompt(k=0)


def test_escape_braces_round_trips_through_a_template():
    text = 'Use {"a": [1, {"b": 2}]} as is'
    prompt = ChatPromptTemplate.from_messages([("human", escape_braces(text))])
    assert prompt.input_variables == []
    assert prompt.invoke({}).to_messages()[0].text == text


def test_add_vs_instructions_appends_to_existing_system_template():
    base = ChatPromptTemplate.from_messages(
        [
            ("system", "You are {persona}. JSON like {{}} is fine."),
            MessagesPlaceholder("history"),
            ("human", "{question}"),
        ]
    ).partial(persona="a barista")
    cfg = VSConfig(k=4)
    out = add_vs_instructions(base, cfg)
    assert out.input_variables == base.input_variables
    assert out.partial_variables == {"persona": "a barista"}
    msgs = out.invoke(
        {"history": [HumanMessage("hi"), AIMessage("hello")], "question": "Name a drink"}
    ).to_messages()
    assert [m.type for m in msgs] == ["system", "human", "ai", "human"]
    assert msgs[0].text == "You are a barista. JSON like {} is fine.\n\n" + system_instruction(cfg)
    assert msgs[-1].text == "Name a drink"
    # the original prompt is untouched
    assert base.invoke({"history": [], "question": "q"}).to_messages()[0].text.endswith("fine.")


def test_add_vs_instructions_without_system_message_puts_one_first():
    base = ChatPromptTemplate.from_messages([("human", "Name a {thing}")])
    out = add_vs_instructions(base, k=2, method="vs_cot")
    msgs = out.invoke({"thing": "river"}).to_messages()
    assert isinstance(msgs[0], SystemMessage)
    assert msgs[0].text == system_instruction(VSConfig(method="vs_cot", k=2))
    assert out.input_variables == ["thing"]


def test_add_vs_instructions_to_literal_system_message_and_mustache():
    lit = ChatPromptTemplate.from_messages(
        [SystemMessage("Be brief {not a var}"), ("human", "{q}")]
    )
    msgs = add_vs_instructions(lit).invoke({"q": "x"}).to_messages()
    assert msgs[0].text.startswith("Be brief {not a var}\n\nGenerate 5 responses")
    must = ChatPromptTemplate.from_messages(
        [("system", "Hi {{name}}"), ("human", "{{q}}")], template_format="mustache"
    )
    out = add_vs_instructions(must, k=2)
    msgs = out.invoke({"name": "Ann", "q": "go"}).to_messages()
    assert msgs[0].text == "Hi Ann\n\n" + system_instruction(VSConfig(k=2))
    assert sorted(out.input_variables) == ["name", "q"]
