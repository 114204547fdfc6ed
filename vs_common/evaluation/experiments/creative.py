"""Creative writing: poems, stories and jokes, scored by semantic diversity (the paper's section 5).

Three experiments with the paper's prompt templates: poem continuation
("Please write a poem starting with the following line: ..."), story
generation ("Please write a short story starting with the following
prompt: ...", the paper's Table 2 uses "Without a goodbye,") and joke writing
("Write me a joke about ...", after the r/DadJokes topics). The paper draws
100 prompts per task from PoemHunter, BookMIA and r/DadJokes, which do not
ship; five public-domain first lines, story openings and topics do, and the
size follows the paper's N = 30 samples, k = 5 per call.

Each sample is scored as free text: semantic diversity (``100 * (1 - mean
pairwise cosine)``, embedder injected), and beside it the Vendi score and the
number of classes of equivalent meaning, which padding a set with near-copies
cannot raise. The report gives each VS method's semantic diversity over
Direct's, against the paper's 1.6-2.1x ("VS increases diversity by 1.6-2.1x
over direct prompting", averaged over its models; Figure 3 a-c per task).
The paper's embedder is OpenAI's text-embedding-3-small; the offline default
here is all-MiniLM-L6-v2, so the percentages themselves are not comparable,
only the ratios.

Example:
    >>> [e.name for e in CREATIVE]
    ['poem', 'story', 'joke']
    >>> POEM.prompts[0]
    'Please write a poem starting with the following line: I wandered lonely as a cloud'

"""

from __future__ import annotations

from collections.abc import Sequence

from vs_common.evaluation.experiments._base import Budget, Experiment

__all__ = ["CREATIVE", "JOKE", "POEM", "STORY"]

_POEM = "Please write a poem starting with the following line: {}"
_STORY = "Please write a short story starting with the following prompt: {}"
_JOKE = "Write me a joke about {}."

POEM_LINES = (
    "I wandered lonely as a cloud",
    "Because I could not stop for Death,",
    "Hope is the thing with feathers",
    "Tyger Tyger, burning bright,",
    "Shall I compare thee to a summer's day?",
)
STORY_OPENINGS = (
    "Without a goodbye,",
    "The last train left at midnight,",
    "Nobody noticed the door until",
    "She found the letter under the floorboards,",
    "When the lights went out,",
)
JOKE_TOPICS = ("coffee", "an octopus", "the moon", "Mondays", "a library")


def _no_score(index: int, texts: Sequence[str]) -> dict[str, float | None]:
    """Nothing task-specific: the report's semantic scores are computed on the embeddings."""
    return {}


def _creative(name: str, title: str, template: str, items: tuple[str, ...]) -> Experiment:
    return Experiment(
        name=name,
        title=title,
        source=f"the paper's section 5, {name} task; N = 30, k = 5",
        prompts=tuple(template.format(item) for item in items),
        quick=Budget(n=4, k=4, prompts=1),
        full=Budget(n=30, k=5, prompts=len(items)),
        metrics=(),
        score=_no_score,
        semantic=True,
        ratio="semantic",
        paper_ratio=(1.6, 2.1),
    )


POEM = _creative("poem", "Creative writing: poem continuation", _POEM, POEM_LINES)
STORY = _creative("story", "Creative writing: story generation", _STORY, STORY_OPENINGS)
JOKE = _creative("joke", "Creative writing: joke writing", _JOKE, JOKE_TOPICS)
CREATIVE = (POEM, STORY, JOKE)
