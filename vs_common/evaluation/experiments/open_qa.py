"""Open-ended QA: questions with many valid answers, scored against shipped ground truth.

The paper's section 7 (after CoverageQA, Wong et al. 2024): "Name a US
state", "Name a chemical element", "Name a country in Europe", with the
ground-truth sets shipped in ``vs_common/data/open_qa.json`` (the 50 US
states, the 118 elements, the 47 countries of Europe). For each method:

* coverage-N: the share of the ground truth among the N answers;
* KL to uniform over the ground truth (answer frequencies, smoothed; see
  :func:`vs_common.metrics.kl_divergence`): 0 when every valid answer comes
  equally often. The paper's KL is against a reference distribution from the
  RedPajama corpus, which does not ship; uniform is CoverageQA's reference;
* precision: the share of answers that are valid.

The paper (Figure 7, averaged over its models): VS-Standard lowers the KL
and raises coverage against every baseline, VS-Multi has the lowest KL and
the highest coverage, and precision stays near 1.0 for every method.

An answer counts as an item when, after :func:`normalize_key`, it is the item
or one of its spellings (aliases), or when an answer of at most 20 words
names exactly one item ("1. Ohio", "The US state I am referring to is
California."); the longest name wins ("West Virginia" is not "Virginia"),
and names of other things that contain an item are not items
("Washington D.C.", "New York City").

Example:
    >>> key = TASKS[0].matcher()
    >>> key("The US state I am referring to is California."), key("Washington D.C.")
    ('California', 'washington d.c')
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from vs_common.distribution import normalize_key
from vs_common.evaluation.experiments._base import Budget, Experiment, Metric
from vs_common.metrics import coverage_n, kl_divergence, precision

__all__ = ["OPEN_QA", "TASKS", "Task", "load_tasks", "score_answers"]

_SHORT_ANSWER_WORDS = 20


@dataclass(frozen=True)
class Task:
    """A question with its ground truth.

    Attributes:
        name: A short name (``us_states``).
        prompt: The question.
        truth: The valid answers (canonical names).
        aliases: Other spellings of items (item -> spellings).
        not_items: Names of other things that contain an item's name.
    """

    name: str
    prompt: str
    truth: tuple[str, ...]
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    not_items: tuple[str, ...] = ()

    @functools.cached_property
    def _patterns(self) -> tuple[dict[str, str], list[tuple[re.Pattern[str], str | None]]]:
        names: dict[str, str] = {}
        spellings = dict(self.aliases)
        for item in self.truth:
            names[normalize_key(item)] = item
            for alias in spellings.get(item, ()):
                names[normalize_key(alias)] = item
        every: dict[str, str | None] = {**names, **dict.fromkeys(self.not_items)}
        patterns = [
            (re.compile(rf"(?<!\w){re.escape(name)}(?!\w)"), item)
            for name, item in sorted(every.items(), key=lambda kv: -len(kv[0]))
        ]
        return names, patterns

    def matcher(self) -> Callable[[str], str]:
        """Maps an answer to its ground-truth item (canonical name), else its normalized text."""
        names, patterns = self._patterns

        def key(answer: str) -> str:
            text = normalize_key(answer)
            if text in names:
                return names[text]
            if len(text.split()) > _SHORT_ANSWER_WORDS:
                return text
            claimed: list[tuple[int, int]] = []
            found: set[str] = set()
            for pattern, item in patterns:  # longest names first
                for match in pattern.finditer(text):
                    span = match.span()
                    if any(span[0] < end and start < span[1] for start, end in claimed):
                        continue
                    claimed.append(span)
                    if item is not None:
                        found.add(item)
            return found.pop() if len(found) == 1 else text

        return key


def load_tasks() -> tuple[Task, ...]:
    """The questions and ground truth shipped in ``vs_common/data/open_qa.json``."""
    raw: dict[str, Any] = json.loads(
        resources.files("vs_common").joinpath("data/open_qa.json").read_text(encoding="utf-8")
    )
    aliases = tuple((item, tuple(names)) for item, names in raw["aliases"].items())
    not_items = tuple(raw["not_items"])
    return tuple(
        Task(t["name"], t["prompt"], tuple(t["items"]), aliases, not_items) for t in raw["tasks"]
    )


#: US states, chemical elements, countries of Europe.
TASKS = load_tasks()


def score_answers(answers: Sequence[str], task: Task) -> dict[str, float | None]:
    """Coverage-N, KL to uniform over the ground truth, and precision of the answers.

    Example:
        >>> s = score_answers(["Ohio", "ohio", "Mars"], TASKS[0])
        >>> s["coverage"], round(s["precision"], 3)
        (0.02, 0.667)
    """
    if not answers:
        return {"coverage": None, "kl_uniform": None, "precision": None}
    key = task.matcher()
    uniform = dict.fromkeys(task.truth, 1.0)
    return {
        "coverage": coverage_n(answers, task.truth, key=key),
        "kl_uniform": kl_divergence(answers, uniform, key=key),
        "precision": precision(answers, task.truth, key=key),
    }


def _answer(index: int, text: str) -> str | None:
    task = TASKS[index]
    item = task.matcher()(text)
    return item if item in task.truth else None


def _score(index: int, texts: Sequence[str]) -> dict[str, float | None]:
    return score_answers(texts, TASKS[index])


_PAPERS_SEVEN = ("direct", "cot", "sequence", "multi_turn", "vs_standard", "vs_cot", "vs_multi")
_PAPER = (
    "the paper gives these in its Figure 7 (values in its Table 25, not reproduced here):"
    " VS-Standard lowers the KL and raises coverage against every baseline, VS-Multi has the"
    " lowest KL and the highest coverage; its KL is to a RedPajama reference, here to uniform"
)

OPEN_QA = Experiment(
    name="open_qa",
    title="Open-ended QA: US states, chemical elements, countries of Europe",
    source="the paper's section 7 (after CoverageQA), N = 100 and k = 20 per question",
    prompts=tuple(t.prompt for t in TASKS),
    quick=Budget(n=8, k=4, prompts=1),
    full=Budget(n=100, k=20, prompts=len(TASKS)),
    metrics=(
        Metric("coverage", "Coverage-N", higher_is_better=True, paper_note=_PAPER),
        Metric("kl_uniform", "KL to uniform", higher_is_better=False, paper_note=_PAPER),
        Metric(
            "precision",
            "Precision",
            higher_is_better=True,
            paper=dict.fromkeys(_PAPERS_SEVEN, 1.0),
            paper_note="(paper): precision stays near 1.0 for every method (section 7)",
        ),
    ),
    score=_score,
    answer=_answer,
)
