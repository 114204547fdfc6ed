"""String Seed of Thought (SSoT): the model writes a random string, then derives its answer from it.

Source: Kou Misaki and Takuya Akiba, "String Seed of Thought: Prompting LLMs
for Distribution-Faithful and Diverse Generation", arXiv:2510.21150 (Sakana
AI, ICLR 2026). The method adds two instructions to the prompt: (1) first
write a random string, (2) manipulate it to derive the answer (for a choice
among options, e.g. by a sum of character codes modulo the number of
options), so the answer takes its randomness from the string rather than
from the model's preference for one option. The paper proves the bias falls
exponentially with the string's length and reports reasoning models close
to a pseudo-random number generator on coin flips and n-way choices, and more
diverse answers on NoveltyBench. The wording below is ours, after the
paper's description: the seed in ``<random_string>``, the manipulation in
``<thinking>``, the answer in ``<answer>``.

Cost: one call per sample, like Direct, with the string and the derivation
as extra output tokens before the answer (tens of tokens for a die roll).

The answer is read (:func:`read_answer`) from, in order: the ``answer`` field
of tool-call arguments; the text of the last ``<answer>`` tag (closed, or
open at the end of a complete reply); the last line that starts with
``Answer:`` or ``Final answer:``; the ``answer`` field of a JSON object in the
text (tool-call arguments a server could not decode: SmolLM2 writes raw
newlines into the strings). Anything else, or an empty answer, is a parse
error (and the run's re-ask policy applies). An ``<answer>`` left open by a reply cut at
max_tokens is an error too: the answer may be cut.

Example:
    >>> read_answer("<random_string>k3Qz9</random_string><answer>4</answer>", False).texts
    ['4']
    >>> read_answer({"random_string": "x1", "answer": "Ohio"}, False).reasoning
    'random string: x1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vs_common.alternatives._base import Alternative, Output, distribution_of, loads_lenient
from vs_common.errors import VSParseError

if TYPE_CHECKING:
    from vs_common.distribution import VerbalizedDistribution

__all__ = ["SSOT", "instruction", "read_answer", "schema"]

_OPEN, _CLOSE = "<answer>", "</answer>"
# Bounds of the structured reply's seed and derivation: without them a small
# model's derivation runs to max_tokens and the answer never comes.
_MAX_SEED_CHARS = 40
_MAX_THINKING_CHARS = 300
_ANSWER_KEYS = ("answer", "final_answer", "response", "text")
_SEED_KEYS = ("random_string", "string", "seed")
_THINKING_KEYS = ("thinking", "derivation", "reasoning")
# "Answer: 4" / "Final answer - 4" at the start of a line (one line, bounded).
_LABEL = re.compile(
    r"^[ \t*_#>-]*(?:final[ \t]+)?answer[ \t*_]*[:=-][ \t*_]*(\S[^\n]*)$", re.I | re.M
)


def instruction(k: int | None, word_hint: int | None) -> str:
    """SSoT's system instruction (k is not used: one answer per call).

    Example:
        >>> "<random_string>" in instruction(None, None)
        True
    """
    words = f" The response should be approximately {word_hint} words." if word_hint else ""
    return (
        "Generate a response to the input prompt. First, write a random string of about"
        " 20 characters (letters and digits), inside <random_string></random_string> tags."
        " Then, inside <thinking></thinking> tags, use that string to decide your response:"
        " to choose among options, map the string to one of them (for example, the sum of"
        " its characters' positions in the alphabet, modulo the number of options); for an"
        " open-ended task, let the string pick the angle, the words and the details."
        f" Finally, give the response inside <answer></answer> tags.{words}"
        " Output ONLY these three tags, with no other text."
    )


def schema(k: int | None) -> dict[str, Any]:
    """The reply's JSON schema in tool / JSON-schema mode: the string first, the answer last.

    Example:
        >>> list(schema(None)["properties"])
        ['random_string', 'thinking', 'answer']
    """
    props: dict[str, Any] = {
        "random_string": {"type": "string", "maxLength": _MAX_SEED_CHARS},
        "thinking": {"type": "string", "maxLength": _MAX_THINKING_CHARS},
        "answer": {"type": "string"},
    }
    return {"type": "object", "properties": props, "required": list(props)}


def _first_string(data: Mapping[Any, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
    return None


def _from_text(text: str, truncated: bool) -> tuple[str | None, str | None, str | None]:
    """(answer, random string, thinking) of a text reply."""
    start = text.rfind(_OPEN)
    answer: str | None = None
    if start >= 0:
        end = text.find(_CLOSE, start)
        if end >= 0:
            answer = text[start + len(_OPEN) : end]
        elif truncated:
            msg = "the reply was cut off inside its <answer> tag"
            raise VSParseError(msg, raw_output=text)
        else:
            answer = text[start + len(_OPEN) :]
    else:
        labelled = _LABEL.findall(text)
        if labelled:
            answer = labelled[-1]
        else:  # tool-call arguments the server could not decode, or JSON in text mode
            decoded = _json_object(text)
            if decoded is not None:
                return (
                    _first_string(decoded, _ANSWER_KEYS),
                    _first_string(decoded, _SEED_KEYS),
                    _first_string(decoded, _THINKING_KEYS),
                )
    return answer, _tag(text, "random_string"), _tag(text, "thinking")


def _json_object(text: str) -> Mapping[Any, Any] | None:
    start, end = text.find("{"), text.rfind("}")
    if not 0 <= start < end:
        return None
    value = loads_lenient(text[start : end + 1])
    return value if isinstance(value, Mapping) else None


def _tag(text: str, name: str) -> str | None:
    """The body of the first closed ``<name>`` tag (found with str.find: linear time)."""
    opening, closing = f"<{name}>", f"</{name}>"
    start = text.find(opening)
    if start < 0:
        return None
    end = text.find(closing, start)
    return text[start + len(opening) : end].strip() if end >= 0 else None


def read_answer(output: Output, truncated: bool) -> VerbalizedDistribution:
    """The answer of an SSoT reply, as a one-candidate distribution.

    The random string and the derivation are kept as the distribution's
    ``reasoning``.

    Args:
        output: The reply text, or the decoded tool-call arguments.
        truncated: The reply was cut by max_tokens.

    Returns:
        One candidate, the answer.

    Raises:
        VSParseError: No answer could be found, or it was cut off.
    """
    if isinstance(output, Mapping):
        answer = _first_string(output, _ANSWER_KEYS)
        seed = _first_string(output, _SEED_KEYS)
        thinking = _first_string(output, _THINKING_KEYS)
    elif isinstance(output, str):
        answer, seed, thinking = _from_text(output, truncated)
    else:
        msg = f"an SSoT reply is text or an object with an answer, got a {type(output).__name__}"
        raise VSParseError(msg, raw_output=output)
    if answer is None or not answer.strip():
        msg = "no answer found (expected <answer>...</answer> or 'Answer: ...')"
        raise VSParseError(msg, raw_output=output)
    notes = [f"random string: {seed}"] if seed else []
    if thinking:
        notes.append(f"thinking: {thinking}")
    return distribution_of([(answer, None)], reasoning="\n".join(notes) or None)


SSOT = Alternative(
    name="ssot",
    label="SSoT",
    source="Misaki and Akiba, String Seed of Thought, arXiv:2510.21150 (ICLR 2026)",
    cost="1 call per sample, as Direct; the random string and the derivation are extra"
    " output tokens before the answer",
    calls_per_sample=1,
    instruction=instruction,
    schema=schema,
    read=read_answer,
)
