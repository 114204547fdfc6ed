"""VSConfig validation and the prompts of every method (paper Table 1 and appendix)."""

from __future__ import annotations

import pytest

from vs_common import (
    Method,
    VSConfig,
    VSConfigError,
    build_messages,
    completion_prompt,
    followup_instruction,
    response_schema,
    system_instruction,
)
from vs_common.methods import COMPLETION_STOP, trim_completion

CHAT_METHODS = [m for m in Method if not m.is_completion]


def test_the_papers_seven_methods_then_the_alternatives_and_the_base_reference() -> None:
    assert [m.value for m in Method] == [
        "direct", "cot", "sequence", "multi_turn", "vs_standard", "vs_cot", "vs_multi",
        "ssot", "simplestrat", "direct_base",
    ]  # fmt: skip
    assert [m for m in Method if m.is_completion] == [Method.DIRECT_BASE]


def test_direct_base_is_a_completion_prompt_not_chat_messages() -> None:
    cfg = VSConfig(method="direct_base", n=4)
    assert cfg.num_calls == 4 and response_schema(cfg) is None
    assert completion_prompt("Write a joke", cfg) == "### User: Write a joke\n### Assistant: "
    for build in (lambda: build_messages("Write a joke", cfg), lambda: system_instruction(cfg)):
        with pytest.raises(VSConfigError, match="completion"):
            build()


def test_completion_prompt_of_a_conversation_and_a_word_hint() -> None:
    turns = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "A joke"},
        {"role": "assistant", "content": "Decaf."},
        {"role": "user", "content": "Another"},
    ]
    text = completion_prompt(turns, VSConfig(method="direct_base", word_hint=20))
    assert text == (
        "### System: Be brief.\n### User: A joke\n### Assistant: Decaf.\n"
        "### User: Another The response should be approximately 20 words.\n### Assistant: "
    )
    for bad in ("  ", [{"role": "system", "content": "x"}], [{"content": "no role"}]):
        with pytest.raises(VSConfigError, match=r"prompt|message"):
            completion_prompt(bad)


def test_trim_completion_cuts_at_the_first_invented_turn() -> None:
    assert trim_completion(" A joke.\n### Assistant: more\n### User: x") == "A joke."
    assert trim_completion("No marker here.  ") == "No marker here."
    assert trim_completion("### User: straight away") == ""
    assert trim_completion("x" * 100_000 + COMPLETION_STOP[0]) == "x" * 100_000


@pytest.mark.parametrize(
    ("method", "k", "n", "calls"),
    [
        ("direct", 5, 30, 30),
        ("cot", 5, 30, 30),
        ("sequence", 5, 30, 6),
        ("multi_turn", 5, 30, 30),
        ("vs_standard", 5, 30, 6),
        ("vs_cot", 5, 31, 7),
        ("vs_multi", 5, 30, 6),
        ("vs_standard", None, 12, 3),
        ("ssot", 5, 30, 30),
        ("simplestrat", 5, 30, 30),  # 30 samples of 2 calls each
    ],
)
def test_calls_follow_table_1(method: str, k: int | None, n: int, calls: int) -> None:
    assert VSConfig(method=method, k=k, n=n).num_calls == calls


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": 101}, "k"),
        ({"k": True}, "k"),
        ({"k": "five"}, "k"),
        ({"n": 0}, "n"),
        ({"n": -3}, "n"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"method": "direct", "threshold": 0.1}, "threshold"),
        ({"method": "bogus"}, "method"),
        ({"probability_format": "odds"}, "probability_format"),
        ({"output_format": "yaml"}, "output_format"),
        ({"turns": 3}, "turns"),
        ({"word_hint": 0}, "word_hint"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_raise_config_error_naming_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(VSConfigError) as info:
        VSConfig(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)


def test_config_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        VSConfig(k=-1)


def test_vs_standard_prompt_wording() -> None:
    text = system_instruction(VSConfig(k=5))
    assert text.startswith("Generate 5 responses to the input prompt.")
    assert '"responses"' in text and "probability" in text
    assert "Randomly sample the responses from the full distribution." in text
    assert "words" not in text  # no word-count hint unless asked


def test_tail_threshold_sentence() -> None:
    text = system_instruction(VSConfig(k=5, threshold=0.1))
    assert (
        "sample at random from the tails of the distribution, such that the probability of"
        " each response is less than 0.1." in text
    )
    pct = system_instruction(VSConfig(k=5, threshold=0.1, probability_format="percentage"))
    assert "less than 10%" in pct and "percentage" in pct


@pytest.mark.parametrize(
    ("fmt", "phrase"),
    [
        ("probability", "estimated probability from 0.0 to 1.0"),
        ("percentage", "expressed as a percentage from 0% to 100%"),
        ("confidence", "normalized likelihood score between 0.0 and 1.0"),
    ],
)
def test_probability_wordings(fmt: str, phrase: str) -> None:
    text = system_instruction(VSConfig(k=3, probability_format=fmt))
    assert phrase in text
    assert f"- {fmt}:" in text


def test_vs_multi_defaults_to_confidence() -> None:
    cfg = VSConfig(method="vs_multi", k=5, n=20)
    assert cfg.effective_probability_format == "confidence"
    assert "total of 20 responses" in system_instruction(cfg)
    assert "confidence" in system_instruction(cfg)


def test_model_decided_k() -> None:
    text = system_instruction(VSConfig(k=None, n=10))
    assert text.startswith("Generate as many responses as you see fit to the input prompt.")
    assert "minItems" in response_schema(VSConfig(k=None))["properties"]["responses"]  # type: ignore[index]


def test_word_hint_only_when_asked() -> None:
    assert "approximately 50 words" in system_instruction(VSConfig(k=2, word_hint=50))


def test_xml_output_format() -> None:
    text = system_instruction(VSConfig(k=4, output_format="xml"))
    assert "<response>" in text and "<text>" in text and "<probability>" in text


@pytest.mark.parametrize("method", CHAT_METHODS)
def test_every_method_builds_system_and_user(method: Method) -> None:
    cfg = VSConfig(method=method, k=3, n=6)
    msgs = build_messages("Write a joke about coffee", cfg)
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"] == "Write a joke about coffee"
    assert msgs[0]["content"]


def test_cot_prompts_ask_for_reasoning() -> None:
    assert '"reasoning"' in system_instruction(VSConfig(method="cot"))
    assert "chain-of-thought" in system_instruction(VSConfig(method="vs_cot", k=5))


def test_sequence_prompt_asks_for_list_of_strings() -> None:
    text = system_instruction(VSConfig(method="sequence", k=5))
    assert "exactly 5 responses as a Python list of strings" in text


def test_multi_turn_follow_up_turns() -> None:
    cfg = VSConfig(method="multi_turn", n=3)
    msgs = build_messages("Joke", cfg, history=["one", "two"])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[3]["content"] == "Generate another response to the original input prompt."
    assert msgs[4]["content"] == "two"


def test_vs_multi_follow_up_asks_for_k_more() -> None:
    cfg = VSConfig(method="vs_multi", k=5, n=15)
    follow = followup_instruction(cfg)
    assert follow is not None and follow.startswith("Generate 5 alternative responses")
    assert build_messages("Joke", cfg, history=["x"])[-1]["content"] == follow


def test_history_rejected_for_single_turn_methods() -> None:
    with pytest.raises(VSConfigError, match="history"):
        build_messages("Joke", VSConfig(), history=["x"])


def test_conversation_prompt_keeps_system_message() -> None:
    conv = [
        {"role": "system", "content": "You are a barista."},
        {"role": "user", "content": "Joke"},
    ]
    msgs = build_messages(conv, VSConfig(k=2))
    assert msgs[0]["content"].startswith("You are a barista.\n\nGenerate 2 responses")
    assert msgs[1] == {"role": "user", "content": "Joke"}


@pytest.mark.parametrize(
    "bad", ["", "   ", [], [{"role": "assistant", "content": "x"}], [{"x": 1}]]
)
def test_bad_prompt_rejected(bad: object) -> None:
    with pytest.raises(VSConfigError):
        build_messages(bad, VSConfig())  # type: ignore[arg-type]


def test_schema_constrains_exactly_k() -> None:
    schema = response_schema(VSConfig(k=5))
    assert schema is not None
    arr = schema["properties"]["responses"]
    assert arr["minItems"] == arr["maxItems"] == 5
    assert arr["items"]["required"] == ["text", "probability"]
    cot = response_schema(VSConfig(method="vs_cot", k=2))
    assert cot is not None and cot["required"] == ["reasoning", "responses"]
    assert response_schema(VSConfig(method="direct")) is None
    seq = response_schema(VSConfig(method="sequence", k=3))
    assert seq is not None and seq["properties"]["responses"]["items"]["required"] == ["text"]
