"""The experiments of vs eval: shipped ground truth, answer reading, figures, registry."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from vs_common.errors import VSConfigError
from vs_common.evaluation.experiments import (
    EXPERIMENTS,
    Budget,
    Experiment,
    Metric,
    experiment,
    register_experiment,
)
from vs_common.evaluation.experiments import open_qa as open_qa_module
from vs_common.evaluation.experiments.dice import DICE, read_roll, score_rolls

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def open_qa():
    return open_qa_module


def test_the_benchmark_scores_with_the_shipped_ground_truth():
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("bench_qa", ROOT / "benchmarks" / "open_qa.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_qa"] = module
    spec.loader.exec_module(module)
    assert module.TASKS is open_qa_module.TASKS
    assert module.score_answers is open_qa_module.score_answers


def test_ground_truth_sets(open_qa):
    states, elements, europe = (t.truth for t in open_qa.TASKS)
    assert len(states) == len(set(states)) == 50
    assert len(elements) == len(set(elements)) == 118
    assert len(europe) == len(set(europe)) >= 44


@pytest.mark.parametrize(
    ("answer", "item"),
    [
        ("Ohio", "Ohio"),
        ("  ohio. ", "Ohio"),
        ("1. Ohio", "Ohio"),
        ("The US state I am referring to is California.", "California"),
        ("West Virginia", "West Virginia"),
        ("Virginia", "Virginia"),
        ("Arkansas", "Arkansas"),
        ("The capital is Washington D.C.", None),
        ("New York City", None),
        ("I love New York City", None),
        ("New York", "New York"),
        ("Ohio or Texas", None),  # two items: no single answer
        ("Mars", None),
        ("Kansas " + "word " * 25, None),  # too long to read as an answer
    ],
)
def test_matcher_on_states(open_qa, answer, item):
    key = open_qa.TASKS[0].matcher()
    if item is None:
        assert key(answer) not in open_qa.TASKS[0].truth
    else:
        assert key(answer) == item


def test_matcher_takes_aliases(open_qa):
    elements, europe = open_qa.TASKS[1], open_qa.TASKS[2]
    assert elements.matcher()("Aluminium") == "Aluminum"
    assert europe.matcher()("Holland") == "Netherlands"
    assert europe.matcher()("England") == "United Kingdom"


def test_scores_hand_computed(open_qa):
    task = open_qa.TASKS[0]
    answers = ["Ohio", "ohio", "Texas", "Mars"]
    scores = open_qa.score_answers(answers, task)
    assert scores["coverage"] == pytest.approx(2 / 50)
    assert scores["precision"] == pytest.approx(3 / 4)
    assert scores["kl_uniform"] > 0
    every_state_once = open_qa.score_answers(list(task.truth), task)
    assert every_state_once["coverage"] == 1.0
    assert every_state_once["kl_uniform"] == pytest.approx(0.0, abs=1e-4)
    assert open_qa.score_answers([], task)["coverage"] is None
    assert math.isfinite(scores["kl_uniform"])


# --------------------------------------------------------------------------- dice


@pytest.mark.parametrize(
    ("reply", "roll"),
    [
        ("4", 4),
        ("I rolled a 4!", 4),
        ("The die shows four.", 4),
        ("**4**", 4),
        ("`6`", 6),
        ("You rolled: SIX", 6),
        ('{"roll": 2}', 2),
        ("4, I rolled a 4", 4),
        ("I rolled a six-sided die and got 3", 3),
        ("The roll of a fair six-sided die is 1.", 1),
        ("The result is 3 out of 6", 3),
        ("I rolled one die and got a 5", 5),
        ("Rolling a d6... 2", 2),
        ("1. 1 (one)", 1),
        ("6.", 6),
        ("1. Integer result", None),
        ("The number of heads is the result of a random integer and six dice.", None),
        ("between 1 and 6", None),
        ("A number from one to six", None),
        ("(1-6)", None),
        ("1, 2, 3, 4, 5, 6", None),
        ("3 or 4", None),
        ("4.5", None),
        ("7", None),
        ("0", None),
        ("42", None),
        ("I cannot roll dice.", None),
        ("", None),
    ],
)
def test_a_roll_is_read_by_the_stated_rules(reply, roll):
    assert read_roll(reply) == roll


def test_a_roll_is_read_in_the_first_2000_characters_only():
    assert read_roll("I rolled a 4. " + "x" * 3000 + " and a 5") == 4
    assert read_roll("x" * 2001 + "4") is None
    assert read_roll("9" * 1_000_000) is None  # one huge number: not a face


def test_dice_figures_hand_computed():
    fair = score_rolls(0, ["1", "two", "3", "I rolled a 4", "5", "**6**"])
    assert fair["kl_uniform"] == pytest.approx(0.0, abs=1e-4)
    assert fair["valid"] == 1.0
    stuck = score_rolls(0, ["4", "four", "I rolled a 4!", "between 1 and 6"])
    assert stuck["kl_uniform"] == pytest.approx(math.log(6), abs=1e-4)  # one face of six
    assert stuck["valid"] == 0.75
    half = score_rolls(0, ["1", "1", "2", "2"])  # two faces of six: ln 3
    assert half["kl_uniform"] == pytest.approx(math.log(3), abs=1e-4)
    assert score_rolls(0, ["no roll"]) == {"kl_uniform": None, "valid": 0.0}
    assert DICE.metrics[0].paper == {"direct": 0.926, "sequence": 0.058, "vs_standard": 0.027}


# --------------------------------------------------------------------------- the registry


def coin() -> Experiment:
    return Experiment(
        name="coin",
        title="Flip a coin",
        source="a test",
        prompts=("Flip a fair coin.",),
        quick=Budget(4, 2, 1),
        full=Budget(10, 2, 1),
        metrics=(Metric("heads", "Heads", higher_is_better=False, paper={"direct": 0.5}),),
        score=lambda i, texts: {"heads": sum("head" in t.lower() for t in texts) / len(texts)},
        answer=lambda i, text: "heads" if "head" in text.lower() else None,
    )


def test_the_registry_names_every_experiment_and_refuses_doubles(monkeypatch):
    assert list(EXPERIMENTS) == ["dice", "open_qa", "poem", "story", "joke"]
    assert experiment("dice") is DICE
    with pytest.raises(VSConfigError, match=r"unknown experiment 'nope'.*dice, open_qa"):
        experiment("nope")
    monkeypatch.setattr("vs_common.evaluation.experiments.EXPERIMENTS", dict(EXPERIMENTS))
    from vs_common.evaluation import experiments

    register_experiment(coin())
    assert experiments.EXPERIMENTS["coin"].title == "Flip a coin"
    with pytest.raises(VSConfigError, match="already registered"):
        register_experiment(coin())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"prompts": ()}, "no prompt"),
        ({"full": Budget(10, 2, 2)}, "runs 2 prompts but has 1"),
        (
            {"metrics": (Metric("a", "A", True), Metric("a", "B", True))},
            "names a metric twice",
        ),
    ],
)
def test_an_experiment_is_checked(change, words):
    import dataclasses

    with pytest.raises(VSConfigError, match=words):
        dataclasses.replace(coin(), **change)


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_a_budget_is_checked(bad):
    with pytest.raises(VSConfigError, match=r"Budget\.n"):
        Budget(bad, 5, 1)
