"""Every reply shape `vs_common.parsing` lists is recovered, in the model's order."""

from __future__ import annotations

import math

import pytest

from vs_common import VSParseError, parse_distribution

AB = ["A joke about decaf", "B joke about espresso"]


def probs(dist: object) -> list[float]:
    return [round(float(p), 6) for p in dist.probabilities]  # type: ignore[attr-defined]


SHAPES: dict[str, tuple[str, list[str], list[float]]] = {
    "json_object": (
        '{"responses": [{"text": "A joke about decaf", "probability": 0.3},'
        ' {"text": "B joke about espresso", "probability": 0.7}]}',
        AB,
        [0.3, 0.7],
    ),
    "json_other_key": (
        '{"candidates": [{"text": "A joke about decaf", "probability": 0.25},'
        ' {"text": "B joke about espresso", "probability": 0.75}]}',
        AB,
        [0.25, 0.75],
    ),
    "bare_list": (
        '[{"text": "A joke about decaf", "probability": 0.4},'
        ' {"text": "B joke about espresso", "probability": 0.6}]',
        AB,
        [0.4, 0.6],
    ),
    "code_fence": (
        'Here you go:\n```json\n{"responses": [{"text": "A joke about decaf", "probability": 0.5},'
        ' {"text": "B joke about espresso", "probability": 0.5}]}\n```\nEnjoy!',
        AB,
        [0.5, 0.5],
    ),
    "json_between_prose": (
        'Sure! {"responses": [{"text": "A joke about decaf", "probability": 0.2},'
        ' {"text": "B joke about espresso", "probability": 0.8}]} Hope that helps.',
        AB,
        [0.2, 0.8],
    ),
    "trailing_commas": (
        '{"responses": [{"text": "A joke about decaf", "probability": 0.2,},'
        ' {"text": "B joke about espresso", "probability": 0.8,},],}',
        AB,
        [0.2, 0.8],
    ),
    "python_repr": (
        "{'responses': [{'text': 'A joke about decaf', 'probability': 0.1},"
        " {'text': 'B joke about espresso', 'probability': 0.9}]}",
        AB,
        [0.1, 0.9],
    ),
    "string_numbers_and_percent": (
        '{"responses": [{"text": "A joke about decaf", "probability": "0.3"},'
        ' {"text": "B joke about espresso", "probability": "70%"}]}',
        AB,
        [0.3, 0.7],
    ),
    "scientific_notation": (
        '{"responses": [{"text": "A joke about decaf", "probability": 2.5e-1},'
        ' {"text": "B joke about espresso", "probability": 7.5E-1}]}',
        AB,
        [0.25, 0.75],
    ),
    "key_aliases": (
        '[{"response": "A joke about decaf", "prob": 0.5},'
        ' {"content": "B joke about espresso", "likelihood": 0.5}]',
        AB,
        [0.5, 0.5],
    ),
    "more_aliases": (
        '[{"answer": "A joke about decaf", "weight": 1},'
        ' {"output": "B joke about espresso", "p": 3}]',
        AB,
        [0.25, 0.75],
    ),
    "confidence_and_percentage_keys": (
        '[{"text": "A joke about decaf", "confidence": 0.2},'
        ' {"text": "B joke about espresso", "percentage": "80%"}]',
        AB,
        [0.2, 0.8],
    ),
    "numeric_percentages": (
        '{"responses": [{"text": "A joke about decaf", "percentage": 40},'
        ' {"text": "B joke about espresso", "percentage": 60}]}',
        AB,
        [0.4, 0.6],
    ),
    "xml_tags": (
        "<response><text>A joke about decaf</text><probability>0.3</probability></response>\n"
        "<response><text>B joke about espresso</text><probability>0.7</probability></response>",
        AB,
        [0.3, 0.7],
    ),
    "xml_reversed_children_with_wrapper": (
        "<responses>\n<response>\n  <probability>0.6</probability>\n  <text>A joke about decaf"
        "</text>\n</response>\n<response><probability>0.4</probability><text>B joke about"
        " espresso</text></response>\n</responses>",
        AB,
        [0.6, 0.4],
    ),
    "xml_percent": (
        "<response><text>A joke about decaf</text><probability>10%</probability></response>"
        "<response><text>B joke about espresso</text><probability>30%</probability></response>",
        AB,
        [0.25, 0.75],
    ),
    "numbered_list": (
        "Here are two:\n1. A joke about decaf (probability: 0.3)\n"
        "2. B joke about espresso (probability: 0.7)\n\nThanks!",
        AB,
        [0.3, 0.7],
    ),
    "bulleted_list": (
        "- A joke about decaf (0.45)\n- B joke about espresso (0.55)",
        AB,
        [0.45, 0.55],
    ),
    "response_n_probability_label": (
        "Response 1 (probability: 30%): A joke about decaf\n"
        "Response 2 (probability: 70%): B joke about espresso",
        AB,
        [0.3, 0.7],
    ),
    "bold_labels_one_line": (
        "**Response:** A joke about decaf **Probability:** 0.2\n"
        "**Response:** B joke about espresso **Probability:** 0.8",
        AB,
        [0.2, 0.8],
    ),
    "bold_labels_multi_line": (
        "**Response 1:** A joke about decaf\n**Probability:** 0.2\n\n"
        "**Response 2:** B joke about espresso\n**Probability:** 0.8",
        AB,
        [0.2, 0.8],
    ),
    "markdown_headings": (
        "### Response 1\nA joke about decaf\nProbability: 0.35\n\n"
        "### Response 2\nB joke about espresso\nProbability: 0.65",
        AB,
        [0.35, 0.65],
    ),
    "markdown_table": (
        "| # | Response | Probability |\n|---|----------|-------------|\n"
        "| 1 | A joke about decaf | 0.3 |\n| 2 | B joke about espresso | 0.7 |",
        AB,
        [0.3, 0.7],
    ),
    "sequence_list_of_strings": (
        '["A joke about decaf", "B joke about espresso"]',
        AB,
        [0.5, 0.5],
    ),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_is_recovered(name: str) -> None:
    raw, texts, expected = SHAPES[name]
    dist = parse_distribution(raw)
    assert dist.texts == texts
    assert probs(dist) == pytest.approx(expected, abs=1e-6)
    assert math.isclose(float(dist.probabilities.sum()), 1.0)
    assert [c.index for c in dist.candidates] == list(range(len(texts)))


def test_multiline_xml_text_is_kept() -> None:
    raw = "<response><text>Line one\nLine two</text><probability>1</probability></response>"
    assert parse_distribution(raw).texts == ["Line one\nLine two"]


def test_vs_cot_reasoning_is_kept() -> None:
    raw = (
        '{"reasoning": "Coffee puns are common; go wider.", "responses": ['
        '{"text": "A joke about decaf", "probability": 0.5},'
        ' {"text": "B joke about espresso", "probability": 0.5}]}'
    )
    dist = parse_distribution(raw, method="vs_cot")
    assert dist.reasoning == "Coffee puns are common; go wider."
    assert dist.texts == AB


def test_xml_reasoning_is_kept() -> None:
    raw = (
        "<reasoning>think first</reasoning><response><text>A joke about decaf</text>"
        "<probability>1</probability></response>"
    )
    dist = parse_distribution(raw)
    assert dist.reasoning == "think first"
    assert dist.texts == ["A joke about decaf"]


def test_raw_probability_keeps_stated_value_after_unit_conversion() -> None:
    dist = parse_distribution(
        '[{"text": "a", "probability": "20%"}, {"text": "b", "probability": 0.2}]'
    )
    assert [c.raw_probability for c in dist.candidates] == [0.2, 0.2]
    assert probs(dist) == [0.5, 0.5]


def test_tool_call_arguments_as_decoded_object() -> None:
    args = {"responses": [{"text": "a", "probability": 2}, {"text": "b", "probability": 6}]}
    dist = parse_distribution(args)
    assert dist.texts == ["a", "b"]
    assert probs(dist) == [0.25, 0.75]
    assert "read probabilities as percentages" in dist.repairs


def test_tool_arguments_holding_json_string() -> None:
    args = {"responses": '[{"text": "a", "probability": 0.5}, {"text": "b", "probability": 0.5}]'}
    assert parse_distribution(args).texts == ["a", "b"]


def test_labels_and_numbering_are_not_part_of_text() -> None:
    raw = (
        '1. **Response:** "Decaf? Never heard of it." (Probability: 0.5)\n'
        "2. Espresso yourself (0.5)"
    )
    assert parse_distribution(raw).texts == ["Decaf? Never heard of it.", "Espresso yourself"]


class TestTruncation:
    def test_json_cut_inside_last_candidate_drops_it(self) -> None:
        raw = '{"responses": [{"text": "A", "probability": 0.3}, {"text": "B is cut mid-sen'
        dist = parse_distribution(raw, truncated=True)
        assert dist.texts == ["A"]
        assert any("cut off" in r for r in dist.repairs)

    def test_json_cut_between_candidates_keeps_all(self) -> None:
        raw = '{"responses": [{"text": "A", "probability": 0.3}, {"text": "B", "probability": 0.7},'
        dist = parse_distribution(raw, truncated=True)
        assert dist.texts == ["A", "B"]
        assert not any("cut off" in r for r in dist.repairs)

    def test_json_cut_inside_probability_drops_candidate(self) -> None:
        raw = '[{"text": "A", "probability": 0.3}, {"text": "B", "probability": 0.'
        assert parse_distribution(raw).texts == ["A"]

    def test_sequence_cut_inside_string_drops_it(self) -> None:
        assert parse_distribution('["A", "B", "C is cu').texts == ["A", "B"]

    def test_xml_unclosed_last_response_dropped(self) -> None:
        raw = (
            "<response><text>A</text><probability>0.5</probability></response>"
            "<response><text>B is cut"
        )
        dist = parse_distribution(raw)
        assert dist.texts == ["A"]
        assert any("cut off" in r for r in dist.repairs)

    def test_list_last_item_dropped_when_truncated(self) -> None:
        raw = "1. A (probability: 0.5)\n2. B (probability: 0.5)\n3. C is cu"
        assert parse_distribution(raw, truncated=True).texts == ["A", "B"]
        assert parse_distribution(raw).texts == ["A", "B", "C is cu"]

    def test_only_candidate_cut_is_a_parse_error(self) -> None:
        with pytest.raises(VSParseError):
            parse_distribution('{"responses": [{"text": "A is cu', truncated=True)


class TestNormalization:
    def test_missing_probability_is_imputed_with_mean(self) -> None:
        dist = parse_distribution(
            '[{"text": "a", "probability": 0.2}, {"text": "b", "probability": 0.6}, {"text": "c"}]'
        )
        assert probs(dist) == pytest.approx([0.2 / 1.2, 0.6 / 1.2, 0.4 / 1.2], abs=1e-6)
        assert any("imputed 1" in r for r in dist.repairs)
        assert dist.candidates[2].raw_probability is None

    @pytest.mark.parametrize("bad", ["-0.5", '"NaN"', '"high"', "1e400", "49382176"])
    def test_unusable_probability_is_imputed(self, bad: str) -> None:
        dist = parse_distribution(
            f'[{{"text": "a", "probability": 0.25}}, {{"text": "b", "probability": {bad}}}]'
        )
        assert probs(dist) == [0.5, 0.5]
        assert dist.repairs

    def test_all_zero_becomes_uniform(self) -> None:
        dist = parse_distribution(
            '[{"text": "a", "probability": 0}, {"text": "b", "probability": 0}]'
        )
        assert probs(dist) == [0.5, 0.5]
        assert any("zero" in r for r in dist.repairs)

    def test_empty_texts_dropped(self) -> None:
        dist = parse_distribution(
            '[{"text": "  ", "probability": 0.5}, {"text": "b", "probability": 0.5}]'
        )
        assert dist.texts == ["b"]
        assert any("empty" in r for r in dist.repairs)

    def test_all_empty_is_parse_error(self) -> None:
        with pytest.raises(VSParseError):
            parse_distribution('{ "responses" : [ { "text": "", "probability": 1 } ]}')


class TestSingleAnswerMethods:
    def test_direct_reads_whole_reply(self) -> None:
        raw = "Why did the coffee file a report? It got mugged. {not json}"
        assert parse_distribution(raw, method="direct").texts == [raw]

    def test_cot_json_response_field(self) -> None:
        dist = parse_distribution('{"reasoning": "r", "response": "It got mugged."}', method="cot")
        assert dist.texts == ["It got mugged."]
        assert dist.reasoning == "r"

    def test_cot_falls_back_to_whole_reply(self) -> None:
        assert parse_distribution("Just a joke.", method="cot").texts == ["Just a joke."]

    def test_vs_method_prose_is_parse_error(self) -> None:
        with pytest.raises(VSParseError) as info:
            parse_distribution("What goes around, comes around.", method="vs_standard")
        assert info.value.raw_output == "What goes around, comes around."


class TestErrors:
    @pytest.mark.parametrize(
        "raw",
        ["", "   ", "hello", "{}", "[]", '{"responses": []}', "<response></response>", 42, None],
    )
    def test_nothing_recoverable_raises_parse_error(self, raw: object) -> None:
        with pytest.raises(VSParseError) as info:
            parse_distribution(raw)
        assert info.value.raw_output == raw

    def test_error_message_names_problem_and_shows_raw(self) -> None:
        with pytest.raises(VSParseError, match=r"no candidate responses found.*nothing here"):
            parse_distribution("nothing here")

    def test_parse_error_is_value_error(self) -> None:
        with pytest.raises(ValueError):
            parse_distribution("nothing")

    def test_unknown_method(self) -> None:
        with pytest.raises(VSParseError, match="unknown method"):
            parse_distribution("x", method="bogus")


def test_think_block_is_reasoning() -> None:
    dist = parse_distribution('<think>plan</think>[{"text": "a", "probability": 1}]')
    assert dist.texts == ["a"]
    assert dist.reasoning == "plan"


def test_bytes_are_decoded() -> None:
    assert parse_distribution(b'["a", "b"]').texts == ["a", "b"]
