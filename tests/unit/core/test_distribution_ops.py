"""Operations on a verbalized distribution: filter (tail with a survivor minimum), map,
reweight, to_markdown. Each returns a new distribution and keeps what the model stated."""

from __future__ import annotations

import math

import pytest

from vs_common import VerbalizedDistribution, VSConfigError, pool


def dist(*pairs: tuple[str, float | None], repairs: tuple[str, ...] = ()) -> VerbalizedDistribution:
    return VerbalizedDistribution.from_pairs(pairs, repairs=repairs)


FIVE = dist(("a", 0.4), ("b", 0.3), ("c", 0.15), ("d", 0.1), ("e", 0.05), repairs=("fixed json",))


def probs(d: VerbalizedDistribution) -> list[float]:
    return [round(c.probability, 6) for c in d.candidates]


def test_filter_below_keeps_the_tail_renormalized_and_the_stated_values() -> None:
    tail = FIVE.filter(below=0.12)
    assert tail.texts == ["d", "e"]
    assert probs(tail) == [round(0.1 / 0.15, 6), round(0.05 / 0.15, 6)]
    assert [c.raw_probability for c in tail.candidates] == [0.1, 0.05]
    assert [c.index for c in tail.candidates] == [0, 1]
    assert tail.repairs == ["fixed json"]
    assert tail.history == ["filter: 2 of 5 candidates below tau=0.12"]
    assert FIVE.texts == ["a", "b", "c", "d", "e"]  # the original is unchanged


def test_filter_relaxes_tau_to_keep_the_minimum_and_says_so() -> None:
    tail = FIVE.filter(below=0.12, min_k_survivors=3)
    assert tail.texts == ["c", "d", "e"]  # the three least probable, in the model's order
    assert math.isclose(sum(probs(tail)), 1.0)
    assert tail.history == [
        "filter: 2 of 5 candidates below tau=0.12, fewer than 3; tau relaxed to 0.15: kept 3"
    ]
    assert FIVE.filter(below=0.12, min_k_survivors=2).history == [
        "filter: 2 of 5 candidates below tau=0.12"
    ]  # enough below tau: no relaxation


def test_relaxation_keeps_ties_at_the_boundary_and_never_more_than_exists() -> None:
    tied = dist(("a", 0.5), ("b", 0.25), ("c", 0.25))
    assert tied.filter(below=0.1, min_k_survivors=1).texts == ["b", "c"]
    assert tied.filter(below=0.1, min_k_survivors=10).texts == ["a", "b", "c"]


def test_filter_uses_the_stated_probability_not_the_normalized_one() -> None:
    # Stated 30 and 70 (percent): normalized 0.3/0.7; a percentage is converted.
    d = dist(("x", 30), ("y", 70))
    assert d.filter(below=0.5).texts == ["x"]
    # No stated probability: the normalized one decides (as the tail strategy does).
    assert dist(("x", None), ("y", None), ("z", None)).filter(below=0.5).texts == ["x", "y", "z"]


def test_filter_by_predicate_and_both() -> None:
    short = FIVE.filter(lambda c: c.text in {"a", "c", "e"})
    assert short.texts == ["a", "c", "e"]
    assert short.history[0].startswith("filter: 3 of 5 kept by ")
    assert FIVE.filter(lambda c: c.text != "e", below=0.2).texts == ["c", "d"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "predicate"),
        ({"below": 0.0}, "below"),
        ({"below": 1.5}, "below"),
        ({"below": float("nan")}, "below"),
        ({"below": 0.1, "min_k_survivors": -1}, "min_k_survivors"),
        ({"below": 0.01}, "below"),  # nothing below it and no minimum
        ({"predicate": lambda c: False}, "predicate"),
    ],
)
def test_filter_errors_name_the_problem(kwargs: dict, field: str) -> None:
    with pytest.raises(VSConfigError) as info:
        FIVE.filter(**kwargs)
    assert info.value.field == field


def test_zero_probability_survivors_become_uniform_and_it_is_recorded() -> None:
    d = dist(("a", 1.0), ("b", 0.0), ("c", 0.0))
    tail = d.filter(below=0.5)
    assert tail.texts == ["b", "c"] and probs(tail) == [0.5, 0.5]
    assert "uniform" in tail.history[-1]


def test_map_rewrites_texts_and_keeps_probabilities() -> None:
    upper = FIVE.map(lambda c: c.text.upper())
    assert upper.texts == ["A", "B", "C", "D", "E"]
    assert probs(upper) == probs(FIVE)
    assert [c.raw_probability for c in upper.candidates] == [0.4, 0.3, 0.15, 0.1, 0.05]
    assert upper.repairs == ["fixed json"] and upper.history[-1].startswith("map: texts by ")
    with pytest.raises(VSConfigError, match="returned int, not str, for candidate 0"):
        FIVE.map(lambda c: 1)  # type: ignore[arg-type, return-value]


def test_reweight_renormalizes_keeps_stated_values_and_order() -> None:
    r = FIVE.reweight(lambda c: 1.0 if c.text in {"a", "e"} else 0.0)
    assert r.texts == FIVE.texts
    assert probs(r) == [0.5, 0.0, 0.0, 0.0, 0.5]
    assert r.candidates[4].raw_probability == 0.05
    assert r.history == [
        "reweight: probabilities by"
        " test_reweight_renormalizes_keeps_stated_values_and_order.<locals>.<lambda>,"
        " renormalized"
    ]


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan"), "0.5", None])
def test_reweight_refuses_a_bad_weight(bad: object) -> None:
    with pytest.raises(VSConfigError, match="candidate 0 the weight"):
        FIVE.reweight(lambda c: bad)  # type: ignore[arg-type, return-value]


def test_reweight_refuses_all_zero() -> None:
    with pytest.raises(VSConfigError, match="weight 0"):
        FIVE.reweight(lambda c: 0)


def test_operations_chain_and_history_survives_pooling_and_round_trips() -> None:
    d = FIVE.filter(below=0.2).map(lambda c: c.text * 2).reweight(lambda c: 1.0)
    assert d.texts == ["cc", "dd", "ee"] and probs(d) == [round(1 / 3, 6)] * 3
    assert len(d.history) == 3
    assert VerbalizedDistribution.from_dict(d.to_dict()) == d
    assert pool([d, FIVE]).history == d.history


def test_to_markdown_escapes_what_would_break_the_table() -> None:
    d = dist(("pipe | in it", 0.5), ("two\nlines <b>bold</b> & more", 0.25), ("x" * 50, None))
    md = d.to_markdown(max_chars=10)
    lines = md.splitlines()
    assert lines[0] == "| # | probability | stated | text |"
    assert lines[2] == "| 1 | 0.444 | 0.5 | pipe \\| in … |"
    assert lines[3] == "| 2 | 0.222 | 0.25 | two<br>lines … |"
    assert "<b>" not in dist(("<b>x</b>", 1.0)).to_markdown()
    assert "&lt;b&gt;x&lt;/b&gt;" in dist(("<b>x</b>", 1.0)).to_markdown()
    assert len([ln for ln in lines if ln.startswith("| ")]) == 4  # header + 3 rows
    assert "imputed 1 missing probability" in md  # repairs are listed


def test_to_markdown_limits_items_and_lists_history() -> None:
    md = FIVE.filter(below=0.2).to_markdown(max_items=1)
    assert "(2 more)" in md
    assert "- filter: 3 of 5 candidates below tau=0.2" in md
    assert FIVE._repr_markdown_().startswith("| # |")
