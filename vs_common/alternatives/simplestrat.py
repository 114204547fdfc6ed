"""SimpleStrat: the model lists strata of the answer space, one is drawn, then it answers within it.

Source: Justin Wong, Yury Orlovskiy, Michael Luo, Sanjit A. Seshia and Joseph
E. Gonzalez, "SimpleStrat: Diversifying Language Model Generation with
Stratification", arXiv:2410.09038 (code: github.com/jwong8314/simplestrat).
The paper's pipeline has three stages: auto-stratification (the model lists
true/false properties that split the answer space in halves, "like a first
question of 20 questions"), heuristic estimation (a call per property for
the probability that an answer has it) and probabilistic prompting (per
sample, each property or its negation is drawn with that probability and
added to the prompt under "Additional instructions").

This is the two-call form the issue asks for: per sample, (1) the model lists
k strata that together cover the valid answers ("west of the Mississippi",
"east of the Mississippi"), (2) one stratum is drawn uniformly with the run's
seeded generator and the model answers the prompt with Direct's instruction
and "Additional instructions: your response must fit this category: ...".
Listing strata per sample (not once per prompt) and drawing uniformly (no
per-property estimates) keep it to two calls and no shared state between
samples. The drawn stratum is kept as the sample's ``reasoning``.

Cost: two calls per sample; the first returns k short strata (tens of
tokens), the second is a Direct answer with the stratum added to the prompt.
Token usage is summed over both.

Used alone (a prompt template, a parser), ``simplestrat`` is its first call:
``build_messages`` asks for the strata and :func:`read_strata` reads them.

Example:
    >>> read_strata('["even numbers", "odd numbers"]', False).texts
    ['even numbers', 'odd numbers']
    >>> read_strata({"strata": ["north", "south"]}, False).texts
    ['north', 'south']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vs_common.alternatives._base import (
    Alternative,
    Context,
    Output,
    distribution_of,
    loads_lenient,
)
from vs_common.errors import VSParseError

if TYPE_CHECKING:
    from vs_common.distribution import VerbalizedDistribution

__all__ = ["SIMPLESTRAT", "instruction", "read_answer", "read_strata", "run", "schema"]

_MAX_STRATA = 100
_MAX_STRATUM_CHARS = 300
# A stratum is a short phrase; without a bound a small model's first string
# runs to max_tokens under the grammar (SmolLM2-135M did, 3 of 4 replies).
_SCHEMA_STRATUM_CHARS = 80
# "1. text", "- text", "* text", "(a) text": the marker is not part of the stratum.
_MARKER = re.compile(r"^[ \t]*(?:[-*+\u2022]|\(?\w{1,2}[.)])[ \t]+")


def instruction(k: int | None, word_hint: int | None) -> str:
    """The instruction of the first call: list the strata (word_hint applies to the answer).

    Example:
        >>> instruction(4, None).startswith("Do not answer the input prompt yet")
        True
    """
    count = f"{k} distinct categories" if k is not None else "as many distinct categories"
    fit = "" if k is not None else " as you see fit"
    exact = f"exactly {k} strings" if k is not None else "the strings"
    return (
        f"Do not answer the input prompt yet. Instead, list {count}{fit} (strata) that"
        " together cover the whole space of valid responses to it, so that every valid"
        " response belongs to one of them and they split the possibilities evenly; for"
        ' example, for "Name a US state": "a state west of the Mississippi River" and'
        ' "a state east of the Mississippi River". Describe each category in a short'
        f" phrase. Return {exact} as a JSON list:"
        ' ["category 1", "category 2", ...]. Output ONLY the list, with no explanations'
        " or extra text."
    )


def schema(k: int | None) -> dict[str, Any]:
    """The strata call's JSON schema: exactly k short strings (at least 2 when k is None).

    Example:
        >>> schema(3)["properties"]["strata"]["maxItems"]
        3
    """
    item = {"type": "string", "minLength": 1, "maxLength": _SCHEMA_STRATUM_CHARS}
    array: dict[str, Any] = {"type": "array", "items": item}
    if k is not None:
        array["minItems"] = array["maxItems"] = k
    else:
        array["minItems"] = 2
    return {"type": "object", "properties": {"strata": array}, "required": ["strata"]}


def _strings(items: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for item in items[:_MAX_STRATA]:
        if isinstance(item, Mapping):  # {"category": "..."}: its first string value
            item = next((v for v in item.values() if isinstance(v, str)), None)
        if isinstance(item, str) and item.strip():
            out.append(" ".join(item.split())[:_MAX_STRATUM_CHARS])
    return out


def _from_text(text: str) -> list[str]:
    start, end = text.find("["), text.rfind("]")
    if 0 <= start < end:
        value = loads_lenient(text[start : end + 1])
        if isinstance(value, list):
            found = _strings(value)
            if found:
                return found
    lines = []
    for line in text.splitlines()[: _MAX_STRATA * 4]:
        clean = _MARKER.sub("", line).strip().strip('",').strip()
        if clean and not clean.endswith(":"):  # "Here are the categories:" is no stratum
            lines.append(clean)
    return _strings(lines)


def read_strata(output: Output, truncated: bool) -> VerbalizedDistribution:
    """The strata of the first call's reply, as a uniform distribution (at most 100).

    Read from the ``strata`` list of tool-call arguments (or any list in
    them), a JSON list in the text, or else one stratum per non-empty line
    (list markers dropped). A reply cut by max_tokens keeps what it holds:
    a stratum is a short phrase, and one cut phrase still names a stratum.

    Raises:
        VSParseError: No stratum at all.
    """
    found: list[str] = []
    if isinstance(output, Mapping):
        value = output.get("strata")
        if not isinstance(value, list):
            value = next((v for v in output.values() if isinstance(v, list)), [])
        found = _strings(value)
    elif isinstance(output, str):
        found = _from_text(output)
    elif isinstance(output, Sequence):
        found = _strings(output)
    if not found:
        msg = "no strata found (expected a JSON list of categories)"
        raise VSParseError(msg, raw_output=output)
    return distribution_of([(s, 1.0) for s in found])


def read_answer(output: Output, truncated: bool) -> VerbalizedDistribution:
    """The second call's reply: the whole text is the sample (as Direct's).

    Raises:
        VSParseError: An empty reply, or not text.
    """
    if not isinstance(output, str) or not output.strip():
        msg = "the answer within the stratum is empty"
        raise VSParseError(msg, raw_output=output)
    return distribution_of([(output, None)])


async def run(ctx: Context) -> VerbalizedDistribution:
    """One sample: list the strata, draw one, answer within it."""
    strata = await ctx.ask(
        ctx.compose(instruction(ctx.k, ctx.word_hint)), schema=schema(ctx.k), read=read_strata
    )
    texts = strata.texts
    pick = int(ctx.rng.integers(len(texts)))
    addendum = f"Additional instructions: your response must fit this category: {texts[pick]}"
    answer = await ctx.ask(
        ctx.compose(ctx.direct_instruction, addendum=addendum), schema=None, read=read_answer
    )
    note = f"stratum {pick + 1} of {len(texts)}: {texts[pick]}"
    return answer.model_copy(update={"reasoning": note})


SIMPLESTRAT = Alternative(
    name="simplestrat",
    label="SimpleStrat",
    source="Wong et al., SimpleStrat: Diversifying Language Model Generation with"
    " Stratification, arXiv:2410.09038",
    cost="2 calls per sample: k short strata, then a Direct answer within the drawn one;"
    " usage is summed over both",
    calls_per_sample=2,
    instruction=instruction,
    schema=schema,
    read=read_strata,
    program=run,
)
