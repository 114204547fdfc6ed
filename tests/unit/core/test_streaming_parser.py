"""StreamingParser hands out the start of the final reading, as early as it is sure."""

from __future__ import annotations

import json

import pytest

from vs_common import StreamingParser, parse_distribution


def feed_chars(sp: StreamingParser, text: str) -> list[tuple[int, str]]:
    """Feed one character at a time: (position, text) of each candidate handed out."""
    out = []
    for i, ch in enumerate(text):
        out += [(i, c.text) for c in sp.feed(ch)]
    return out


def test_a_list_item_is_handed_out_once_the_next_one_begins() -> None:
    text = "1. Decaf joke (0.4)\n2. Latte joke (0.6)"
    handed = feed_chars(StreamingParser(), text)
    assert handed == [(text.index("2."), "Decaf joke")]


def test_the_first_text_after_a_line_end_is_enough() -> None:
    sp = StreamingParser()
    assert sp.feed("1. Decaf joke (0.4)\n") == []  # the item may go on: "   more text"
    assert [c.text for c in sp.feed("2")] == ["Decaf joke"]


def test_a_json_candidate_is_handed_out_when_its_object_closes() -> None:
    items = [{"text": 'a " } b', "probability": 0.4}, {"text": "c", "probability": 0.6}]
    text = json.dumps({"responses": items})
    handed = feed_chars(StreamingParser(), text)
    assert handed == [(text.index("0.4}") + 3, 'a " } b'), (text.index("0.6}") + 3, "c")]


@pytest.mark.parametrize("cut", [1, 2, 3, 5])
def test_an_escaped_quote_split_across_chunks_does_not_end_the_string(cut: int) -> None:
    text = '[{"text": "say \\"hi\\" {now}", "probability": 0.4}, {"text": "b", "probability": 0.6}]'
    sp = StreamingParser()
    handed = []
    for i in range(0, len(text), cut):
        handed += [c.text for c in sp.feed(text[i : i + cut])]
    assert handed == ['say "hi" {now}', "b"]
    assert sp.close().texts == ['say "hi" {now}', "b"]


def test_notes_without_probabilities_are_held_back_and_never_handed_out() -> None:
    text = (
        "Notes:\n- short\n- sorted\n\n1. Decaf joke (0.4)\n2. Latte joke (0.6)\n3. Mocha joke (0.1)"
    )
    sp = StreamingParser()
    handed = [t for _, t in feed_chars(sp, text)]
    assert handed == ["Decaf joke", "Latte joke"]
    assert sp.close().texts == ["Decaf joke", "Latte joke", "Mocha joke"]


def test_a_sequence_reply_hands_out_texts_without_probabilities() -> None:
    handed = feed_chars(StreamingParser(method="sequence"), '["a joke", "another", "third"]')
    assert [t for _, t in handed] == ["a joke", "another", "third"]


def test_distribution_holds_only_what_was_handed_out() -> None:
    sp = StreamingParser()
    sp.feed("1. Decaf joke (0.4)\n2. Latte joke (0.6)\n3. Mocha")
    assert sp.distribution is not None
    assert sp.distribution.texts == ["Decaf joke", "Latte joke"]
    assert [round(p, 6) for p in sp.distribution.probabilities] == [0.4, 0.6]


def test_a_reading_that_changes_its_mind_stalls_the_stream() -> None:
    sp = StreamingParser()
    sp.feed("- idea one (0.4)\n- idea two (0.6)\n- ")
    assert sp.distribution is not None
    assert sp.distribution.texts == ["idea one", "idea two"]
    # The drafts were a think block after all: nothing more is handed out before close().
    later = "x\n</think>\n1. Decaf joke (0.3)\n2. Latte joke (0.7)\n3. Mocha (0.1)\n4. Brew (0.1)\n"
    assert sp.feed(later) == []
    assert sp.feed("5. Cold brew (0.1)\n6.") == []
    assert sp.distribution.texts == ["idea one", "idea two"]
    assert sp.close().texts == ["Decaf joke", "Latte joke", "Mocha", "Brew", "Cold brew"]


def test_thinking_reads_nothing_before_the_think_block_ends() -> None:
    sp = StreamingParser(thinking=True)
    assert feed_chars(sp, "- idea one (0.4)\n- idea two (0.6)\n- x\n") == []
    handed = feed_chars(sp, "</think>\n1. Decaf joke (0.3)\n2. Latte joke (0.7)")
    assert [t for _, t in handed] == ["Decaf joke"]
    assert sp.close().texts == ["Decaf joke", "Latte joke"]


def test_close_is_the_whole_parse() -> None:
    text = "<response><text>a</text><probability>0.3</probability></response><response><text>b"
    sp = StreamingParser()
    feed_chars(sp, text)
    assert sp.close() == parse_distribution(text)
