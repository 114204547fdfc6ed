"""Tables and tags in their less common forms: what the generated corpus rarely writes."""

from __future__ import annotations

import pytest

from vs_common import parse_distribution
from vs_common.parsing._common import CAP_NOTE, MAX_CANDIDATES


def probs(dist: object) -> list[float]:
    return [round(float(p), 6) for p in dist.probabilities]  # type: ignore[attr-defined]


# --- tables ---------------------------------------------------------------------------


def test_rows_without_a_closing_pipe() -> None:
    table = "| Response | Probability\n|---|---\n| Decaf | 0.3\n| Latte | 0.7"
    dist = parse_distribution(table)
    assert dist.texts == ["Decaf", "Latte"]
    assert probs(dist) == [0.3, 0.7]


def test_the_text_column_is_found_by_name_before_width() -> None:
    table = (
        "| Response | Explanation | Probability |\n|---|---|---|\n"
        "| Decaf | a long explanation of why decaf is funny at all | 0.4 |\n"
        "| Latte | another long explanation, longer than the joke | 0.6 |"
    )
    assert parse_distribution(table).texts == ["Decaf", "Latte"]


def test_a_column_named_like_the_list_is_the_text() -> None:
    table = "| # | Jokes | Probability |\n|---|---|---|\n| 1 | Decaf | 0.4 |\n| 2 | Latte | 0.6 |"
    assert parse_distribution(table).texts == ["Decaf", "Latte"]


@pytest.mark.parametrize("header", ["Confidence score", "Prob. (%)", "probability estimate"])
def test_probability_columns_by_the_start_of_their_name(header: str) -> None:
    table = f"| Tagline | {header} |\n|---|---|\n| Decaf | 40 |\n| Latte | 60 |"
    dist = parse_distribution(table)
    assert dist.texts == ["Decaf", "Latte"]
    assert probs(dist) == [0.4, 0.6]


def test_a_table_without_a_probability_column_is_a_sequence() -> None:
    dist = parse_distribution("| Tagline |\n|---|\n| Decaf |\n| Latte |")
    assert dist.texts == ["Decaf", "Latte"]
    assert probs(dist) == [0.5, 0.5]


def test_the_widest_column_over_all_rows_holds_unnamed_text() -> None:
    table = (
        "| Tagline | Note | P |\n|---|---|---|\n"
        "| Decaf is a lie we tell ourselves every morning | ok | 0.3 |\n"
        "| Latte art is a cry for help in foam and milk | ok | 0.3 |\n"
        "| Mocha | a note longer than this tagline | 0.4 |"
    )
    assert parse_distribution(table).texts[2] == "Mocha"


def test_short_rows_are_read_as_far_as_they_go() -> None:
    table = (
        "| # | Response | Probability |\n|---|---|---|\n| 1 | Decaf | 0.4 |\n| 2 |\n| 3 | Latte |"
    )
    dist = parse_distribution(table)
    assert dist.texts == ["Decaf", "Latte"]
    assert dist.candidates[1].raw_probability is None


# --- tags -----------------------------------------------------------------------------


def test_text_and_probability_pairs_without_a_wrapper() -> None:
    reply = (
        "<text>Decaf</text><probability>0.4</probability>\n"
        "<text>Latte</text>\n<text>Mocha</text><probability>0.2</probability>\n</text>"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf", "Latte", "Mocha"]
    assert [c.raw_probability for c in dist.candidates] == [0.4, None, 0.2]


def test_a_probability_tag_closed_by_another_name_is_not_read() -> None:
    reply = (
        "<text>Decaf</text><probability>0.4</prob><text>Latte</text><probability>0.6</probability>"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["Decaf", "Latte"]
    assert dist.candidates[0].raw_probability is None


def test_bare_pairs_stop_at_the_candidate_cap() -> None:
    reply = "<text>x</text><probability>0.1</probability>" * (MAX_CANDIDATES + 5)
    dist = parse_distribution(reply)
    assert len(dist.candidates) == MAX_CANDIDATES
    assert CAP_NOTE in dist.repairs
