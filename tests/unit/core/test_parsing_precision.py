"""Precision first: a candidate the reply does not hold is worse than a miss.

The wrong answers and regressions of issue 18, the rules that prevent them
(labels, headings, notes, markup and rationales are never a candidate's text),
``strict=True``, and a parser bug that is never passed off as "no candidates".
"""

from __future__ import annotations

import logging

import pytest

from vs_common import StreamingParser, VSParseError, VSParserBug, parse_distribution
from vs_common.parsing import _lists


def probs(dist: object) -> list[float]:
    return [round(float(p), 6) for p in dist.probabilities]  # type: ignore[attr-defined]


# --- the wrong answers and regressions quoted in the issue ------------------------------


def test_notes_as_bullets_before_a_numbered_list_are_not_candidates() -> None:
    reply = (
        "A couple of notes:\n- I kept them short\n- Sorted by probability\n\n"
        "1. Decaf joke (probability: 0.5)\n2. Latte joke (probability: 0.3)\n"
        "3. Mocha joke (probability: 0.2)"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf joke", "Latte joke", "Mocha joke"]
    assert probs(dist) == [0.5, 0.3, 0.2]
    assert not any("imputed" in r for r in dist.repairs)


def test_a_heading_that_labels_the_candidate_is_not_its_text() -> None:
    reply = "### Option 1 (0.30)\nDecaf joke\n\n### Option 2 (0.70)\nLatte joke"
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf joke", "Latte joke"]
    assert probs(dist) == [0.3, 0.7]


def test_bold_text_with_an_italic_probability_label_loses_its_markup() -> None:
    """Regression: the `**` stayed in the text after the move to vs_common/parsing/."""
    reply = (
        "1. **Why did the latte go to therapy?** — *Probability: 0.30*\n"
        "2. **Decaf: the great betrayal.** — *Probability: 0.70*"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["Why did the latte go to therapy?", "Decaf: the great betrayal."]
    assert probs(dist) == [0.3, 0.7]


# (The chat message pasted as JSON and the JSON string holding the reply are in
# test_parsing_envelopes.py.)

# --- labels, markup, notes and rationales are never text ------------------------------


MARKUP = {
    "italic": "- *Decaf* (probability: 0.4)\n- *Latte* (probability: 0.6)",
    "curly_quotes": "1. “Decaf” [40%]\n2. “Latte” [60%]",
    "leading": "1. (0.4) Decaf\n2. (0.6) Latte",
    "leading_label_bold": "- (probability 0.4) **Decaf**\n- (probability 0.6) **Latte**",
    "gemini": '* **Option A:** "Decaf" **(0.4)**\n* **Option B:** "Latte" **(0.6)**',
    "llama_label_alone": (
        '**Response 1**\n"Decaf"\nProbability: 0.4\n\n**Response 2**\n"Latte"\nProbability: 0.6'
    ),
    "number_heading": "### 1.\nDecaf\n*Probability: 0.4*\n\n### 2.\nLatte\n*Probability: 0.6*",
    "rationale": (
        "1. Decaf\n   Probability: 0.4\n   Why: a pun.\n"
        "2. Latte\n   Probability: 0.6\n   Why: foam."
    ),
    "title_heading": "## Responses\n\n1. Decaf (p=0.4)\n2. Latte (p=0.6)",
    "field_bullets": (
        "1. **Option 1**\n   - **Text:** Decaf\n   - **Probability:** 0.4\n"
        "2. **Option 2**\n   - **Text:** Latte\n   - **Probability:** 0.6"
    ),
    "approximate": "1. Decaf (estimated probability: 0.4)\n2. Latte (≈0.6)",
}


@pytest.mark.parametrize("name", sorted(MARKUP))
def test_labels_markup_and_rationales_are_not_text(name: str) -> None:
    dist = parse_distribution(MARKUP[name])
    assert dist.texts == ["Decaf", "Latte"]
    assert probs(dist) == [0.4, 0.6]


def test_notes_of_the_same_kind_set_apart_from_the_candidates_are_not_read() -> None:
    reply = (
        "Notes:\n- short ones\n- sorted\n\nThe jokes:\n- Decaf joke (0.4)\n- Latte joke (0.6)"
        "\n\n- enjoy\n- more on request"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf joke", "Latte joke"]
    assert not any("imputed" in r for r in dist.repairs)


def test_a_list_of_notes_after_the_candidates_is_not_read() -> None:
    reply = "1. Decaf joke (0.4)\n2. Latte joke (0.6)\n\nWhy these:\n- puns\n- short"
    assert parse_distribution(reply).texts == ["Decaf joke", "Latte joke"]


def test_a_json_list_in_prose_loses_to_the_list_that_states_probabilities() -> None:
    reply = 'I weighed ["puns", "irony"] first.\n1. Decaf joke (0.4)\n2. Latte joke (0.6)'
    assert parse_distribution(reply).texts == ["Decaf joke", "Latte joke"]


def test_a_missing_probability_among_stated_ones_stays_a_candidate_in_doubt() -> None:
    reply = "1. Decaf joke (0.4)\n2. Latte joke\n3. Mocha joke (0.2)"
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf joke", "Latte joke", "Mocha joke"]
    assert any("imputed 1" in r for r in dist.repairs)
    with pytest.raises(VSParseError, match="stated no usable probability"):
        parse_distribution(reply, strict=True)


@pytest.mark.parametrize(
    "reply",
    [
        "<think>\n1. draft (0.5)\n2. other (0.5)\n</think>\n1. Decaf joke (.4)\n2. Latte joke (.6)",
        "1. draft (0.5)\n2. other (0.5)\n</think>\n\n1. Decaf joke (0.4)\n2. Latte joke (0.6)",
        '<thinking>{"responses": [{"text": "draft", "probability": 1}]}</thinking>\n'
        "1. Decaf joke (0.4)\n2. Latte joke (0.6)",
    ],
)
def test_drafts_in_a_think_block_are_reasoning_not_candidates(reply: str) -> None:
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf joke", "Latte joke"]
    assert dist.reasoning is not None
    assert "draft" in dist.reasoning


def test_a_reply_cut_inside_its_think_block_holds_no_candidate() -> None:
    with pytest.raises(VSParseError):
        parse_distribution("<think>\n1. draft (0.5)\n2. other draft (0.5)", truncated=True)


def test_json_repair_guessing_another_kind_is_refused() -> None:
    """json-repair turns '{"key"' into ["key"]: a guess, not a candidate."""
    with pytest.raises(VSParseError):
        parse_distribution('1. He wrote {"key"', method="sequence", truncated=True)


# --- strict ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "doubt"),
    [
        ('{"responses": [{"text": "a", "p": 0.5}], "more": [{"text": "b", "p": 1}]}', "'more'"),
        ('[{"text": "a", "probability": 1}]\n\n- b (0.5)\n- c (0.5)', "outside the JSON"),
        ('[{"text": "a", "probability": 1}] ' + "[" * 70, "nested over"),
    ],
)  # fmt: skip
def test_strict_raises_where_the_default_guesses(reply: str, doubt: str) -> None:
    dist = parse_distribution(reply)
    assert any(doubt in r for r in dist.repairs)
    with pytest.raises(VSParseError, match="more than one way") as info:
        parse_distribution(reply, strict=True)
    assert doubt in info.value.reason


def test_strict_reads_a_clean_or_merely_repaired_reply() -> None:
    for reply in (
        '{"responses": [{"text": "a", "probability": 0.4}, {"text": "b", "probability": 60}]}',
        "{'responses': [{'text': 'a', 'probability': 0.4,}, {'text': 'b', 'probability': 0.6,},]}",
        '{"responses": [{"text": "a", "probability": 0.4}, {"text": "b", "probab',
    ):
        assert parse_distribution(reply, strict=True).texts[0] == "a"


def test_streaming_parser_is_strict_at_close() -> None:
    sp = StreamingParser(strict=True)
    sp.feed("1. Decaf joke (0.4)\n2. Latte joke\n")
    with pytest.raises(VSParseError, match="stated no usable probability"):
        sp.close()


# --- a parser bug is a bug, not "no candidates" -----------------------------------------


def test_a_readers_own_crash_is_a_parser_bug_chained_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(text: str, truncated: bool) -> None:
        msg = "boom"
        raise TypeError(msg)

    monkeypatch.setattr("vs_common.parsing._parse.read_list", broken)
    with (
        caplog.at_level(logging.ERROR, logger="vs_common.parsing"),
        pytest.raises(VSParserBug, match="TypeError: boom") as info,
    ):
        parse_distribution("1. Decaf joke (0.4)\n2. Latte joke (0.6)")
    assert isinstance(info.value, VSParseError)  # the contract: VSParseError and nothing else
    assert isinstance(info.value.__cause__, TypeError)
    assert info.value.raw_output == "1. Decaf joke (0.4)\n2. Latte joke (0.6)"
    assert "a bug" in caplog.text
    assert any(r.exc_info for r in caplog.records)


def test_a_model_output_problem_is_never_called_a_bug() -> None:
    for reply in ("", "nothing here", "[" * 100_000, '{"a": ' * 10_000, "<response>" * 1000):
        with pytest.raises(VSParseError) as info:
            parse_distribution(reply)
        assert type(info.value) is VSParseError


def test_the_bug_path_is_reached_from_any_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lists, "split_prob", None)
    with pytest.raises(VSParserBug):
        parse_distribution("1. Decaf joke (0.4)\n2. Latte joke (0.6)")


def test_a_title_over_the_headings_is_not_a_candidate() -> None:
    reply = "### The jokes\n### Option 1 (0.4)\nDecaf joke\n### Option 2 (0.6)\nLatte joke"
    assert parse_distribution(reply).texts == ["Decaf joke", "Latte joke"]


def test_a_probability_stated_before_the_text_of_a_heading_block() -> None:
    reply = (
        "### Option 1\nProbability: 0.4\n\nDecaf joke\n\n### Option 2\nProbability: 0.6\n\nLatte"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf joke", "Latte"]
    assert probs(dist) == [0.4, 0.6]


# --- what the JSON reader records when it mends a reply ---------------------------------


@pytest.mark.parametrize(
    ("reply", "truncated", "texts", "notes"),
    [
        # cut between candidates: the brackets are closed, nothing is lost
        ('{"responses": [{"text": "a", "p": 0.4}, {"text": "b", "p": 0.6},', True, ["a", "b"],
         ["closed JSON that ended early"]),
        # cut inside the last candidate, after a complete one
        ('{"responses": [{"text": "a", "p": 0.4}, {"text": "b", "p": 0.', True, ["a"],
         ["closed JSON that ended early", "dropped 1 candidate cut off at the end of the output"]),
        # the last candidate of a list without its closing brace may be cut: dropped
        ('[{"text": "a", "p": 0.4}, {"text": "b", "p": 0.6', False, ["a"],
         ["closed JSON that ended early", "dropped 1 candidate cut off at the end of the output"]),
        # a lone candidate without its closing brace is kept when not known to be cut
        ('Here: {"text": "a", "p": 0.4', False, ["a"], ["repaired malformed JSON"]),
        ('{"text": "a", "p": 0.4', False, ["a"], ["repaired malformed JSON"]),
        # broken inside but closed: repaired
        ('[{"text": "a", "p": 0.4,}, {"text": "b" "p": 0.6}]', False, ["a", "b"],
         ["repaired malformed JSON"]),
    ],
)  # fmt: skip
def test_json_mends_are_recorded(
    reply: str, truncated: bool, texts: list[str], notes: list[str]
) -> None:
    dist = parse_distribution(reply, truncated=truncated)
    assert dist.texts == texts
    for note in notes:
        assert note in dist.repairs
