"""Property-based tests: the parser only ever raises VSParseError, and round-trips."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vs_common import StreamingParser, VSParseError, VSParserBug, parse_distribution

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text made of what breaks parsers: brackets, tags, quotes, numbers, markdown.
TOKENS = [
    *'{}[]<>/"\':,.%|*#-_\\\n\t 0123456789eE+',
    "response", "text", "probability", "<response>", "</response>", "<text>", "</text>",
    "<probability>", "```json", "```", "1. ", "- ", "**", "NaN", "responses", "Response 1:",
]  # fmt: skip
NASTY = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)

JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["text", "probability", "responses", "p", "reasoning", "x", "response"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@SETTINGS
@given(st.text(max_size=400) | NASTY)
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    for method in (None, "vs_standard", "sequence", "cot", "direct"):
        try:
            dist = parse_distribution(text, method=method)
        except VSParseError as exc:
            assert not isinstance(exc, VSParserBug), exc
            assert exc.raw_output == text
        else:
            assert dist.candidates
            assert abs(float(dist.probabilities.sum()) - 1.0) < 1e-9


@SETTINGS
@given(JSONISH)
def test_arbitrary_decoded_objects_raise_only_parse_error(obj: Any) -> None:
    for payload in (obj, json.dumps(obj)):
        try:
            dist = parse_distribution(payload)
        except VSParseError as exc:
            assert not isinstance(exc, VSParserBug), exc
            continue
        assert dist.candidates
        assert all(c.text for c in dist.candidates)


@SETTINGS
@given(NASTY, st.lists(st.integers(min_value=1, max_value=40), max_size=10))
def test_streaming_parser_raises_only_parse_error(text: str, cuts: list[int]) -> None:
    sp = StreamingParser()
    pos = 0
    emitted = []
    for c in cuts:
        emitted += sp.feed(text[pos : pos + c])
        pos += c
    emitted += sp.feed(text[pos:])
    try:
        final = sp.close()
    except VSParseError as exc:
        assert not isinstance(exc, VSParserBug), exc
        return
    assert final.candidates


# --- round trips ---------------------------------------------------------------

WORDS = ["coffee", "mug", "bean", "roast", "latte", "why", "did", "the", "cup", "go", "to",
         "school", "because", "it", "was", "bit", "hot", "decaf", "barista", "grind"]  # fmt: skip
TEXT = st.builds(
    lambda ws, end: " ".join(ws).capitalize() + end,
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8),
    st.sampled_from(["", "?", "!", "."]),
)
PAIRS = st.lists(
    st.tuples(TEXT, st.integers(min_value=1, max_value=1000).map(lambda i: i / 1000)),
    min_size=1,
    max_size=7,
    unique_by=lambda t: t[0],
)

Render = Callable[[list[tuple[str, float]]], Any]


def _items(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"text": t, "probability": p} for t, p in pairs]


RENDERERS: dict[str, Render] = {
    "json_object": lambda ps: json.dumps({"responses": _items(ps)}),
    "bare_list": lambda ps: json.dumps(_items(ps)),
    "fenced": lambda ps: "Sure:\n```json\n" + json.dumps({"responses": _items(ps)}) + "\n```",
    "python_repr": lambda ps: repr({"responses": _items(ps)}),
    "tool_args": lambda ps: {"responses": _items(ps)},
    "percent_strings": lambda ps: json.dumps(
        {"responses": [{"text": t, "probability": f"{p * 100:g}%"} for t, p in ps]}
    ),
    "xml": lambda ps: "\n".join(
        f"<response><text>{t}</text><probability>{p}</probability></response>" for t, p in ps
    ),
    "xml_reversed": lambda ps: (
        "<responses>"
        + "".join(
            f"<response><probability>{p}</probability><text>{t}</text></response>" for t, p in ps
        )
        + "</responses>"
    ),
    "numbered": lambda ps: "\n".join(
        f"{i}. {t} (probability: {p})" for i, (t, p) in enumerate(ps, 1)
    ),
    "response_label": lambda ps: "\n".join(
        f"Response {i} (probability: {p * 100:g}%): {t}" for i, (t, p) in enumerate(ps, 1)
    ),
    "bold": lambda ps: "\n\n".join(f"**Response:** {t}\n**Probability:** {p}" for t, p in ps),
    "headings": lambda ps: "\n\n".join(
        f"## Response {i}\n{t}\nProbability: {p}" for i, (t, p) in enumerate(ps, 1)
    ),
    "table": lambda ps: (
        "| Response | Probability |\n|---|---|\n" + "\n".join(f"| {t} | {p} |" for t, p in ps)
    ),
    # Replies in several pieces: every piece is read, not only the first.
    "json_lines": lambda ps: "\n".join(json.dumps(it) for it in _items(ps)),
    "fence_per_candidate": lambda ps: "\n".join(
        f"Response {i}:\n```json\n{json.dumps(it)}\n```" for i, it in enumerate(_items(ps), 1)
    ),
    "split_in_two_arrays": lambda ps: (
        json.dumps(_items(ps[: len(ps) // 2])) + "\nand\n" + json.dumps(_items(ps[len(ps) // 2 :]))
    ),
    "xml_in_groups_of_two": lambda ps: "\n\nMore:\n".join(
        "<responses>"
        + "".join(
            f"<response><text>{t}</text><probability>{p}</probability></response>"
            for t, p in ps[i : i + 2]
        )
        + "</responses>"
        for i in range(0, len(ps), 2)
    ),
}


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@settings(max_examples=40, deadline=None)
@given(pairs=PAIRS)
def test_rendered_distribution_parses_back(fmt: str, pairs: list[tuple[str, float]]) -> None:
    dist = parse_distribution(RENDERERS[fmt](pairs))
    assert dist.texts == [t for t, _ in pairs]
    total = sum(p for _, p in pairs)
    assert dist.probabilities.tolist() == pytest.approx([p / total for _, p in pairs], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(pairs=PAIRS, data=st.data())
def test_streamed_distribution_matches_whole_parse(
    pairs: list[tuple[str, float]], data: st.DataObject
) -> None:
    text = json.dumps({"responses": _items(pairs)})
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    sp = StreamingParser()
    emitted = []
    prev = 0
    for c in [*cuts, len(text)]:
        new = sp.feed(text[prev:c])
        prev = c
        for cand in new:  # a candidate is complete when handed out
            assert cand.text == pairs[len(emitted)][0]
            assert cand.raw_probability == pytest.approx(pairs[len(emitted)][1])
            emitted.append(cand)
    final = sp.close()
    assert final.texts == parse_distribution(text).texts
    assert [c.text for c in emitted] == final.texts[: len(emitted)]
