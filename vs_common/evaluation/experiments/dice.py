"""Random number generation: "roll a fair six-sided die", KL of the rolls to uniform.

The paper's random number generation experiment (its appendix G.5), with the
authors' prompt: "Roll a fair six-sided dice. Return ONLY the integer result
(1-6), with no explanation or extra text." Each method samples N rolls; the
figures are the KL divergence of the rolls' frequencies to the uniform
distribution over 1-6 (nats; 0 is a fair die, ln 6 = 1.79 a die that always
shows one face) and the share of samples that are a roll at all.

The paper's KL (averaged over its models): Direct 0.926, Sequence 0.058,
VS-Standard 0.027. The KL of N rolls of a truly fair die is not 0: it is
about 5 / (2N) nats on average, 0.21 at the quick size (N = 12) and 0.004 at
the full one (N = 600, the authors' figure), so the quick size can tell a
collapsed method from a spread one, not VS-Standard from Sequence.

The authors' scripts count only replies that are a bare integer; a small
model wraps its roll in words, so here a sample is read with
:func:`read_roll`, whose rules are stated there and tested.

Example:
    >>> [read_roll(t) for t in ["I rolled a 4!", "The die shows four.", "**4**", "1 to 6"]]
    [4, 4, 4, None]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vs_common.evaluation.experiments._base import Budget, Experiment, Metric
from vs_common.metrics import kl_divergence

__all__ = ["DICE", "PROMPT", "read_roll", "score_rolls"]

#: The authors' prompt (their random-number script).
PROMPT = (
    "Roll a fair six-sided dice. Return ONLY the integer result (1-6), with no explanation"
    " or extra text."
)
_FACES = ("1", "2", "3", "4", "5", "6")
_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_NUM = r"(?:\d+|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
# Words about the die, not a roll: "six-sided", "d6", "1-6", "1 to 6",
# "between 1 and 6", "out of 6", "one die", "one of".
_NOT_A_ROLL = re.compile(
    r"\b(?:six|6)[\s-]*(?:sided|sides|faced|faces)\b"
    r"|\bd6\b"
    rf"|\b{_NUM}\s*(?:-|\u2013|to|through|and)\s*{_NUM}\b"
    rf"|\bout\s+of\s+{_NUM}\b"
    rf"|\b{_NUM}\s+(?:dice|die)\b"
    r"|\bone\s+(?:roll|time|of)\b"
)
# "1. Integer result", "2) ...": a list marker before more text is no roll ("6." alone is).
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s+(?=\S)")
_NUMBER = re.compile(rf"\b{_NUM}\b")
_MARKUP = re.compile(r"[*_`#>]")
_MAX_CHARS = 2000  # a roll is a few words; a longer reply is read in its first 2,000 characters


def read_roll(text: str) -> int | None:
    """The face a reply rolled, or None when it names no face or more than one.

    The rules, in order:

    1. Only the first 2,000 characters are read; markdown marks (``*``, ``_``,
       backticks, ``#``, ``>``) are dropped and case is ignored; a leading list
       marker before more text ("1. Integer result", "2) ...") is dropped.
    2. Words about the die rather than a roll are removed: "six-sided" (and
       "6 sides", "six-faced"), "d6", ranges ("1-6", "1 to 6", "between 1
       and 6", "one through six"), "out of 6", a count of dice ("one die",
       "six dice"), "one of", "one roll".
    3. Every number left is collected, in digits or in words (zero to twelve).
    4. The reply rolled a face when exactly one distinct number is left and it
       is 1 to 6: "I rolled a 4!", "The die shows four.", "**4**",
       ``{"roll": 4}``, "4, I rolled a 4". Otherwise it is not a roll: no
       number ("between 1 and 6"), several ("1, 2, 3, 4, 5, 6", "4.5", "3 or
       4"), or one outside the die ("7", "0", "42").

    Example:
        >>> read_roll("You rolled: SIX"), read_roll("3 or 4"), read_roll("7")
        (6, None, None)
    """
    lowered = _MARKUP.sub("", text[:_MAX_CHARS].lower())
    cleaned = _NOT_A_ROLL.sub(" ", _LIST_MARKER.sub("", lowered, count=1))
    values = {
        _WORDS[token] if token in _WORDS else int(token) for token in _NUMBER.findall(cleaned)
    }
    if len(values) != 1:
        return None
    (value,) = values
    return value if 1 <= value <= len(_FACES) else None


def _answer(index: int, text: str) -> str | None:
    roll = read_roll(text)
    return None if roll is None else str(roll)


def score_rolls(index: int, texts: Sequence[str]) -> dict[str, float | None]:
    """KL of the rolls to uniform over 1-6, and the share of samples that are a roll.

    Only the samples read as a roll count in the KL (the authors' scripts
    drop the others too); with none, the KL is None.

    Example:
        >>> s = score_rolls(0, ["1", "2", "3", "4", "5", "6", "pizza"])
        >>> round(s["kl_uniform"], 6), round(s["valid"], 3)
        (0.0, 0.857)
    """
    rolls = [a for a in (_answer(index, t) for t in texts) if a is not None]
    valid = len(rolls) / len(texts) if texts else None
    if not rolls:
        return {"kl_uniform": None, "valid": valid}
    uniform = dict.fromkeys(_FACES, 1.0)
    return {"kl_uniform": kl_divergence(rolls, uniform), "valid": valid}


DICE = Experiment(
    name="dice",
    title='Random number generation: "roll a fair six-sided die"',
    source="the paper's appendix G.5 (random number generation), with the authors' prompt",
    prompts=(PROMPT,),
    quick=Budget(n=12, k=4, prompts=1),
    full=Budget(n=600, k=5, prompts=1),
    metrics=(
        Metric(
            "kl_uniform",
            "KL to uniform",
            higher_is_better=False,
            paper={"direct": 0.926, "sequence": 0.058, "vs_standard": 0.027},
            paper_note="(paper): the paper's random number generation figures (appendix G.5),"
            " averaged over its models",
        ),
        Metric("valid", "Valid rolls", higher_is_better=True, fmt=".0%"),
    ),
    score=score_rolls,
    answer=_answer,
)
