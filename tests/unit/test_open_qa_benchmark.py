"""benchmarks/open_qa.py: the ground truth and the answer matcher its figures rest on."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def open_qa():
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("open_qa", ROOT / "benchmarks" / "open_qa.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["open_qa"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


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
