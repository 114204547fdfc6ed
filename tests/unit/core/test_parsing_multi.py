"""A reply holding its candidates in several pieces: every piece is read, or repairs say not.

The bug behind this file: five JSON objects one per line (JSON Lines) came back
as one candidate with probability 1.0 and no repair note, because the first
JSON value in the text won. The same "first piece wins" rule lost candidates
in several fenced blocks, objects between prose, candidate objects keyed by
name, a tag wrapper, lists split by prose and several tables.
"""

from __future__ import annotations

import json

import pytest

from vs_common import StreamingParser, VSParseError, parse_distribution

JOKES = ["Decaf joke", "Espresso joke", "Latte joke", "Mocha joke", "Brew joke"]
PROBS = [0.3, 0.25, 0.2, 0.15, 0.1]
PAIRS = list(zip(JOKES, PROBS, strict=True))


def obj(text: str, p: float) -> str:
    return json.dumps({"text": text, "probability": p})


def responses(pairs: list[tuple[str, float]]) -> str:
    return json.dumps({"responses": [{"text": t, "probability": p} for t, p in pairs]})


def stated(dist: object) -> list[float | None]:
    return [c.raw_probability for c in dist.candidates]  # type: ignore[attr-defined]


def unread_notes(dist: object) -> list[str]:
    return [r for r in dist.repairs if r.startswith("did not read")]  # type: ignore[attr-defined]


# Each reply holds all five candidates, split into pieces.
SPLIT_REPLIES = {
    "json_lines": "\n".join(obj(t, p) for t, p in PAIRS),
    "json_lines_crlf_and_blank_lines": "\r\n\r\n".join(obj(t, p) for t, p in PAIRS),
    "objects_separated_by_commas": ", ".join(obj(t, p) for t, p in PAIRS),
    "objects_between_prose": "Sure!\n"
    + "\n".join(f"Here is number {i}: {obj(t, p)}" for i, (t, p) in enumerate(PAIRS, 1))
    + "\nEnjoy!",
    "labelled_objects": "\n".join(
        f"Response {i}: {obj(t, p)}" for i, (t, p) in enumerate(PAIRS, 1)
    ),
    "numbered_objects": "\n".join(f"{i}. {obj(t, p)}" for i, (t, p) in enumerate(PAIRS, 1)),
    "two_arrays": json.dumps([{"text": t, "probability": p} for t, p in PAIRS[:2]])
    + "\n"
    + json.dumps([{"text": t, "probability": p} for t, p in PAIRS[2:]]),
    "two_response_objects": responses(PAIRS[:3]) + "\n\n" + responses(PAIRS[3:]),
    "one_fence_per_candidate": "\n\n".join(
        f"Option {i}:\n```json\n{obj(t, p)}\n```" for i, (t, p) in enumerate(PAIRS, 1)
    ),
    "two_fences": f"```json\n{responses(PAIRS[:2])}\n```\nand\n```\n{responses(PAIRS[2:])}\n```",
    "candidate_objects_keyed_by_name": json.dumps(
        {f"response_{i}": {"text": t, "probability": p} for i, (t, p) in enumerate(PAIRS, 1)}
    ),
    "batched_replies_in_one_array": json.dumps(
        [json.loads(responses(PAIRS[:2])), json.loads(responses(PAIRS[2:]))]
    ),
    "list_split_by_prose_into_numbers_and_bullets": (
        "Here are some:\n1. Decaf joke (0.3)\n2. Espresso joke (0.25)\n\n"
        "And a few in another style:\n\n- Latte joke (0.2)\n- Mocha joke (0.15)\n"
        "- Brew joke (0.1)"
    ),
    "list_split_by_prose": (
        "1. Decaf joke (probability: 0.3)\n2. Espresso joke (probability: 0.25)\n\n"
        "Those were puns. Now one-liners:\n\n3. Latte joke (probability: 0.2)\n"
        "4. Mocha joke (probability: 0.15)\n5. Brew joke (probability: 0.1)"
    ),
    "tags_in_an_answer_wrapper": "<answer>"
    + "".join(
        f"<response><text>{t}</text><probability>{p}</probability></response>" for t, p in PAIRS
    )
    + "</answer>",
    "numbered_tags": "\n".join(
        f"<response_{i}>{t} (probability: {p})</response_{i}>" for i, (t, p) in enumerate(PAIRS, 1)
    ),
    "two_tag_groups": "<responses>"
    + "".join(
        f"<response><text>{t}</text><probability>{p}</probability></response>" for t, p in PAIRS[:2]
    )
    + "</responses>\nMore:\n<responses>"
    + "".join(
        f"<response><text>{t}</text><probability>{p}</probability></response>" for t, p in PAIRS[2:]
    )
    + "</responses>",
    "two_tables": "| Response | Probability |\n|---|---|\n"
    + "\n".join(f"| {t} | {p} |" for t, p in PAIRS[:2])
    + "\n\nMore:\n\n| Joke | Probability |\n|---|---|\n"
    + "\n".join(f"| {t} | {p} |" for t, p in PAIRS[2:]),
    "table_split_by_a_blank_line": "| Response | Probability |\n|---|---|\n"
    + "\n".join(f"| {t} | {p} |" for t, p in PAIRS[:2])
    + "\n\n"
    + "\n".join(f"| {t} | {p} |" for t, p in PAIRS[2:]),
}


@pytest.mark.parametrize("name", sorted(SPLIT_REPLIES))
def test_every_piece_of_a_split_reply_is_read(name: str) -> None:
    dist = parse_distribution(SPLIT_REPLIES[name])
    assert dist.texts == JOKES
    assert stated(dist) == pytest.approx(PROBS)
    assert not unread_notes(dist)


def test_json_lines_are_five_candidates_not_one() -> None:
    """The reported case, as a new user tried it."""
    dist = parse_distribution("\n".join(obj(t, p) for t, p in PAIRS))
    assert len(dist.candidates) == 5
    assert dist.probabilities.tolist() == pytest.approx(PROBS)
    assert "joined the candidates of 5 separate JSON values" in dist.repairs


def test_json_lines_in_smollm2_style() -> None:
    """Loose spacing and stated probabilities like 1.5, 2 and 4, as SmolLM2-135M writes them."""
    reply = (
        '{ "text": "One day at the beach, a penguin jumped out of the sky." ,"probability":1.5 }\n'
        '{ "text":"One minute on the boat!" ,"probability":2}\n'
        '{"text":"No penguin\'s in the world! On the last moment!" ,"probability":4}'
    )
    dist = parse_distribution(reply)
    assert dist.texts == [
        "One day at the beach, a penguin jumped out of the sky.",
        "One minute on the boat!",
        "No penguin's in the world! On the last moment!",
    ]
    assert dist.probabilities.tolist() == pytest.approx([1.5 / 7.5, 2 / 7.5, 4 / 7.5])


def test_json_lines_cut_off_drop_only_the_last_line() -> None:
    reply = "\n".join(obj(t, p) for t, p in PAIRS)
    cut = reply[: reply.rindex('"probability"') + len('"probability": 0')]
    dist = parse_distribution(cut, truncated=True)
    assert dist.texts == JOKES[:4]
    assert "dropped 1 candidate cut off at the end of the output" in dist.repairs
    # Not known to be cut: a lone object missing its brace is kept, and the note says so.
    dist = parse_distribution(cut)
    assert dist.texts == JOKES
    assert "output ended before the JSON was closed" in dist.repairs


def test_json_lines_cut_inside_the_last_text() -> None:
    reply = "\n".join(obj(t, p) for t, p in PAIRS[:4]) + '\n{"text": "Brew jo'
    dist = parse_distribution(reply)
    assert dist.texts == JOKES[:4]
    assert "dropped 1 candidate cut off at the end of the output" in dist.repairs


def test_streamed_json_lines_hand_out_each_candidate_once_complete() -> None:
    reply = "\n".join(obj(t, p) for t, p in PAIRS)
    sp = StreamingParser()
    emitted = []
    for i in range(0, len(reply), 7):
        for cand in sp.feed(reply[i : i + 7]):
            assert cand.raw_probability == pytest.approx(PROBS[len(emitted)])
            emitted.append(cand.text)
    assert emitted == JOKES[: len(emitted)]
    assert sp.close().texts == JOKES


def test_lone_object_missing_its_brace_is_kept_unless_truncated() -> None:
    reply = '{"reasoning": "r", "response": "It got mugged.", "probability": 0.4'
    dist = parse_distribution(reply)
    assert dist.texts == ["It got mugged."]
    assert dist.candidates[0].raw_probability == pytest.approx(0.4)
    assert "output ended before the JSON was closed" in dist.repairs
    with pytest.raises(VSParseError):
        parse_distribution(reply, truncated=True)


def test_candidate_cut_after_a_nested_value_is_dropped_not_kept_half() -> None:
    reply = '[{"text": "A", "probability": 0.3}, {"text": "B", "meta": {"tone": "dry"}, "probabil'
    dist = parse_distribution(reply)
    assert dist.texts == ["A"]
    assert "dropped 1 candidate cut off at the end of the output" in dist.repairs


class TestUnreadNotes:
    """Where another shape outside what was read looks like more candidates, repairs say so."""

    def test_list_after_json(self) -> None:
        reply = obj(*PAIRS[0]) + "\nAlso:\n1. Espresso joke (0.25)\n2. Latte joke (0.2)"
        dist = parse_distribution(reply)
        assert dist.texts == ["Decaf joke"]
        assert unread_notes(dist) == [
            "did not read 2 list item(s) outside the JSON; they may be more candidates"
        ]

    def test_list_after_tags(self) -> None:
        reply = (
            "<response><text>Decaf joke</text><probability>0.3</probability></response>\n"
            "- Espresso joke (0.25)\n- Latte joke (0.2)"
        )
        dist = parse_distribution(reply)
        assert dist.texts == ["Decaf joke"]
        assert unread_notes(dist) == [
            "did not read 2 list item(s) outside the tag; they may be more candidates"
        ]

    def test_list_after_table(self) -> None:
        reply = (
            "| Response | Probability |\n|---|---|\n| Decaf joke | 0.3 |\n\n"
            "1. Espresso joke (0.25)\n2. Latte joke (0.2)"
        )
        dist = parse_distribution(reply)
        assert dist.texts == ["Decaf joke"]
        assert unread_notes(dist) == [
            "did not read 2 list item(s) outside the table; they may be more candidates"
        ]

    def test_second_list_of_candidates_in_one_object(self) -> None:
        reply = json.dumps(
            {
                "responses": [{"text": t, "probability": p} for t, p in PAIRS[:2]],
                "more": [{"text": t, "probability": p} for t, p in PAIRS[2:]],
            }
        )
        dist = parse_distribution(reply)
        assert dist.texts == JOKES[:2]
        assert "did not read 3 candidate-like item(s) under 'more'" in dist.repairs

    @pytest.mark.parametrize(
        "reply",
        [
            "Here you go:\n```json\n" + responses(PAIRS) + "\n```\nHope that helps!",
            "### Response set\n" + responses(PAIRS),
            "\n".join(f"Response {i}: {obj(t, p)}" for i, (t, p) in enumerate(PAIRS, 1)),
        ],
    )
    def test_prose_labels_and_fences_around_json_are_not_candidates(self, reply: str) -> None:
        dist = parse_distribution(reply)
        assert dist.texts == JOKES
        assert not unread_notes(dist)


class TestLimits:
    def test_more_json_values_than_candidates_allowed(self) -> None:
        reply = "\n".join(obj(f"joke {i}", 0.001) for i in range(1200))
        dist = parse_distribution(reply)
        assert len(dist.candidates) == 1000
        assert "kept the first 1000 candidates" in dist.repairs

    def test_deep_nesting_after_candidates_is_noted(self) -> None:
        reply = obj(*PAIRS[0]) + "\n" + "[" * 100 + "x"
        dist = parse_distribution(reply)
        assert dist.texts == ["Decaf joke"]
        assert any(r.startswith("stopped reading JSON nested over 64") for r in dist.repairs)

    def test_broken_value_too_long_to_repair_after_candidates_is_noted(self) -> None:
        broken = "{'responses': [" + "{'text': 'a', 'p': 1}, " * 10_000 + "]}"
        dist = parse_distribution(obj(*PAIRS[0]) + "\n" + broken)
        assert dist.texts == ["Decaf joke"]
        assert any(r.startswith("stopped reading JSON at a broken value") for r in dist.repairs)

    def test_many_prose_brackets_before_the_json(self) -> None:
        reply = " ".join(f"[{i}]" for i in range(40)) + " {see below} and [a stray one\n"
        dist = parse_distribution(reply + responses(PAIRS))
        assert dist.texts == JOKES
        assert not dist.repairs

    def test_python_repr_with_brackets_and_apostrophes_in_strings(self) -> None:
        reply = (
            "{'responses': [{'text': 'It\\'s a [decaf] joke', 'probability': 0.5,},"
            " {'text': 'a {brew} joke', 'probability': 0.5,},],}\nAnd that's it [end]."
        )
        dist = parse_distribution(reply)
        assert dist.texts == ["It's a [decaf] joke", "a {brew} joke"]
        assert "repaired malformed JSON" in dist.repairs


class TestToolArguments:
    def test_items_sent_as_json_strings(self) -> None:
        args = {"responses": [obj(t, p) for t, p in PAIRS]}
        dist = parse_distribution(args)
        assert dist.texts == JOKES
        assert stated(dist) == pytest.approx(PROBS)

    def test_string_that_only_looks_like_json_stays_text(self) -> None:
        assert parse_distribution(['{"a": "b"}', "plain"]).texts == ['{"a": "b"}', "plain"]

    def test_every_argument_holding_a_json_string_is_read(self) -> None:
        args = {
            "first": json.dumps([{"text": t, "probability": p} for t, p in PAIRS[:2]]),
            "second": json.dumps([{"text": t, "probability": p} for t, p in PAIRS[2:]]),
        }
        dist = parse_distribution(args)
        assert dist.texts == JOKES
        assert "joined the candidates of 2 JSON strings in the arguments" in dist.repairs

    def test_numbers_in_strings_are_not_texts_keyed_to_probabilities(self) -> None:
        args = {"a": "[" + obj(*PAIRS[0]) + "]", "b": "[" + obj(*PAIRS[1]) + "]"}
        assert parse_distribution(args).texts == JOKES[:2]
