"""A generator of model replies whose candidates are known: the parser's measuring stick.

A reply is composed of four independent choices, each drawn from what real
models produce when asked for k responses with probabilities:

- the candidate texts (one line, multi-line poems, quotes, braces, colons,
  numbers, emoji, non-Latin scripts);
- how each probability is stated (0.3, .3, 30%, "30 %", "probability: 0.3",
  "(p=0.3)", "[30%]", "- *Probability: 0.30*", "Confidence: 0.3", weights that
  do not sum to 1, percent strings in JSON...);
- the reply shape (JSON objects, lists, fenced, between prose, JSON Lines,
  trailing commas, Python quotes, cut off; XML tags in both child orders and
  the attribute form; numbered and bulleted lists, labels, bold labels,
  headings, tables; tool-call arguments);
- the surroundings (prose before and after, think blocks holding drafts,
  fences, notes as short bullets, and the envelopes people hand over: chat
  messages, chat completions, content blocks, tool calls, JSON strings).

The same code runs on two sources of choices: :class:`RandomDraw` (a seeded
``random.Random``: the fixed corpus of the snapshot and the benchmark) and
:func:`replies` (a hypothesis strategy: breadth and shrinking in tests).

Where a reply could honestly be read two ways (a text that ends in "(0.3)"
with no other probability, a text that starts with "Answer:"), the generator
does not write it: the space it draws from is what a careful human reads one
way only. Everything it writes, the parser must read exactly.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


class Draw(Protocol):
    """Where the generator's choices come from."""

    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, lo: int, hi: int) -> int: ...


class RandomDraw:
    """Choices from a seeded ``random.Random`` (reproducible across runs and machines)."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rnd.randrange(len(options))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rnd.randint(lo, hi)


class HypothesisDraw:
    """Choices from a hypothesis ``draw`` (shrinks to the simplest failing reply)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def choice(self, options: Sequence[T]) -> T:
        return options[self.draw(st.integers(0, len(options) - 1))]

    def integer(self, lo: int, hi: int) -> int:
        return int(self.draw(st.integers(lo, hi)))


def chance(d: Draw, percent: int) -> bool:
    return d.integer(0, 99) < percent


@dataclass(frozen=True)
class Reply:
    """A generated reply and what it holds.

    Attributes:
        shape: The reply shape (one of :data:`SHAPES`).
        extras: The surroundings and variations used (for reports by feature).
        output: What is handed to ``parse_distribution``: text or a decoded object.
        texts: The candidates' texts, in order.
        stated: Each candidate's stated probability as a number (percent and
            weight units kept as written), or None when the reply states none.
        truncated: Pass ``truncated=True`` (the reply was cut by max_tokens).
        method: The ``method`` to pass, if any.
    """

    shape: str
    extras: tuple[str, ...]
    output: Any
    texts: tuple[str, ...]
    stated: tuple[float | None, ...]
    truncated: bool = False
    method: str | None = None

    @property
    def expected_probabilities(self) -> list[float]:
        """The normalized probabilities the parser must return."""
        if all(s is None for s in self.stated):
            return [1.0 / len(self.texts)] * len(self.texts)
        values = [float(s) for s in self.stated if s is not None]
        total = sum(values)
        return [float(s) / total for s in self.stated if s is not None]


# --- candidate texts ------------------------------------------------------------------

_SUBJECTS = [
    "My coffee", "The barista", "A decaf latte", "The espresso machine", "Grandma's teapot",
    "The night-shift nurse", "A tired octopus", "The library cat", "Our startup's CEO",
    "The penguin", "A haunted kettle", "The weather app", "Dad", "The intern", "A robot",
]  # fmt: skip
_VERBS = [
    "filed for bankruptcy", "joined a band", "refused to wake up", "went to therapy",
    "started a podcast", "wrote a memoir", "ran for mayor", "took a gap year",
    "learned to juggle", "forgot the password", "sold its soul", "quit social media",
]  # fmt: skip
_ENDINGS = [
    "", " again", " twice", " on a Monday", " before breakfast", ", obviously", " at noon",
    " without telling anyone", " and regretted nothing", " out of spite",
]  # fmt: skip
_PUNCT = [".", "!", "?", "...", ""]
_NON_LATIN = [
    "Кофе без кофеина — это просто грустная вода.", "コーヒーは人生の燃料です。",
    "القهوة هي الحل لكل شيء.", "कॉफ़ी के बिना सुबह अधूरी है।", "咖啡是程序员的燃料。",
    "Ο καφές δεν ρωτάει, απλώς βοηθάει.", "커피 없이는 월요일도 없다.", "קפה זה החיים.",  # noqa: RUF001
    "Kaffee ist flüssige Geduld.", "El café descafeinado es una mentira piadosa.",
]  # fmt: skip
_EMOJI = ["☕", "🐙", "😂", "🤖", "🎉", "🐧", "✨", "🔥", "👻", "🍵"]
_POEM_LINES = [
    "Steam curls up like a question", "The cup is warm, the morning cold",
    "I wake before the kettle sings", "Roast and grind and pour again",
    "A bitter note, a sweeter end", "The mug remembers every hand",
    "Outside the rain keeps its own time", "We trade our dreams for crema",
    "Night shift, and the pot is empty", "Still the beans forgive us",
]  # fmt: skip


def _sentence(d: Draw) -> str:
    return d.choice(_SUBJECTS) + " " + d.choice(_VERBS) + d.choice(_ENDINGS) + d.choice(_PUNCT)


# Each style writes one candidate text. None of them starts with a label word and a
# colon, a list marker, a quote or markup, or ends with something that reads as a
# probability: a careful human reads each one way only.
TEXT_STYLES: dict[str, Callable[[Draw], str]] = {
    "line": _sentence,
    "question": lambda d: (
        "Why did "
        + d.choice(_SUBJECTS).lower()
        + " cross the road? "
        + d.choice(
            ["To get to the other latte.", "Nobody knows.", "It was a dare.", "Espresso-ly."]
        )
    ),
    "quotes": lambda d: (
        d.choice(_SUBJECTS)
        + " said "
        + d.choice(['"decaf"', "'never again'", "“fine”"])
        + d.choice([" twice.", " and left.", ", which was a lie."])
    ),
    "apostrophe": lambda d: d.choice(["It's ", "Don't ", "That's "]) + _sentence(d).lower(),
    "braces": lambda d: (
        d.choice(_SUBJECTS)
        + " wrote "
        + d.choice(
            [
                "{sugar: none}",
                "[citation needed]",
                "{curly} braces",
                "[x for x in beans]",
                "a dict {} by hand",
                '{"key": "decaf"}',
            ]
        )
        + d.choice([" on the menu.", " in the logs.", " again."])
    ),
    "colon": lambda d: (
        d.choice(["Plot twist", "Fun fact", "Breaking news", "Pro tip", "Spoiler"])
        + ": "
        + _sentence(d).lower()
    ),
    "numbers": lambda d: (
        d.choice(["In 2024, ", "At 3 a.m., ", "After 42 cups, ", "On day 7, ", "At 99% battery, "])
        + _sentence(d).lower()
    ),
    "decimal": lambda d: (
        d.choice(_SUBJECTS)
        + " measured "
        + d.choice(["3.14", "0.5", "2.75", "12.5"])
        + d.choice([" grams of beans.", " liters and cried.", " inches of foam, twice."])
    ),
    "emoji": lambda d: _sentence(d) + " " + d.choice(_EMOJI),
    "non_latin": lambda d: d.choice(_NON_LATIN),
    "dash": lambda d: d.choice(_SUBJECTS) + " - " + _sentence(d).lower(),
    "long": lambda d: " ".join(_sentence(d) for _ in range(d.integer(3, 6))),
}
_MULTILINE = "poem"


def _poem(d: Draw, stanzas: bool) -> str:
    lines = [d.choice(_POEM_LINES) for _ in range(d.integer(2, 4))]
    lines = list(dict.fromkeys(lines))  # no repeated line (a refrain reads as a new item)
    if stanzas and len(lines) > 2 and chance(d, 50):
        return "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:])
    return "\n".join(lines)


def candidate_texts(d: Draw, k: int, *, multiline: bool, stanzas: bool = False) -> list[str]:
    styles = sorted(TEXT_STYLES)
    texts: list[str] = []
    while len(texts) < k:
        if multiline and chance(d, 30):
            text = _poem(d, stanzas)
        else:
            text = TEXT_STYLES[d.choice(styles)](d)
        if text not in texts:
            texts.append(text)
    return texts


# --- probabilities ----------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """One stated probability: how it is written and the value it means."""

    written: str  # "0.3", ".3", "30%", "30 %", "3"
    value: float  # as a number in the unit written (30 for "30%")
    percent: bool

    @property
    def fraction(self) -> float:
        return self.value / 100 if self.percent else self.value


UNITS = (
    "fraction",
    "fraction2",
    "short",
    "percent",
    "percent_space",
    "percent_decimal",
    "weights",
    "tail",
)


def numbers(d: Draw, k: int, unit: str) -> list[Number]:
    """k stated probabilities in one unit; some sum to 1, some do not (models' own sums)."""
    out: list[Number] = []
    sums_to_one = chance(d, 60)
    cents = _split_hundred(d, k) if sums_to_one else [d.integer(1, 60) for _ in range(k)]
    for c in cents:
        if unit == "fraction":
            out.append(Number(f"{c / 100:g}", c / 100, percent=False))
        elif unit == "fraction2":
            out.append(Number(f"{c / 100:.2f}", round(c / 100, 2), percent=False))
        elif unit == "short":  # ".3" as some models write it
            s = f"{c / 100:.2f}".lstrip("0")
            out.append(Number(s, float(s), percent=False))
        elif unit == "percent":
            out.append(Number(f"{c}%", c, percent=True))
        elif unit == "percent_space":
            out.append(Number(f"{c} %", c, percent=True))
        elif unit == "percent_decimal":
            out.append(Number(f"{c}.5%", c + 0.5, percent=True))
        elif unit == "weights":  # relative weights, no unit at all
            w = d.integer(1, 10)
            out.append(Number(str(w), w, percent=False))
        else:  # tail sampling: every probability below 0.1, three decimals
            m = d.integer(5, 99)
            out.append(Number(f"0.0{m:02d}", m / 1000, percent=False))
    return out


def _split_hundred(d: Draw, k: int) -> list[int]:
    """k positive integers summing to 100."""
    if k == 1:
        return [100]
    cuts = sorted({d.integer(1, 99) for _ in range(k * 3)})[: k - 1]
    while len(cuts) < k - 1:
        cuts = sorted({*cuts, d.integer(1, 99)})
    bounds = [0, *cuts, 100]
    return [b - a for a, b in itertools.pairwise(bounds)]


def stated_values(nums: Sequence[Number]) -> tuple[float, ...]:
    return tuple(n.value for n in nums)


# How a probability is written next to a text in prose. "{n}" is the number as written.
INLINE = {
    "parens": " ({n})",
    "label_parens": " (probability: {n})",
    "label_cap": " (Probability: {n})",
    "p_equals": " (p={n})",
    "p_equals_spaced": " (p = {n})",
    "brackets": " [{n}]",
    "dash_italic": " — *Probability: {n}*",
    "dash_label": " - Probability: {n}",
    "confidence": " (Confidence: {n})",
    "likelihood": " (likelihood: {n})",
    "pipe": " | Probability: {n}",
    "bold_label": " **Probability:** {n}",
    "italic_parens": " *(probability: {n})*",
    "tilde": " (~{n})",
    "approx": " (≈{n})",
    "em_dash_bare": " — {n}",
    "prob_word": " (prob: {n})",
    "estimated": " (estimated probability: {n})",
    "bold_parens": " **({n})**",
}
LEADING = {
    "lead_parens": "({n}) ",
    "lead_brackets": "[{n}] ",
    "lead_label": "(probability {n}) ",
}
OWN_LINE = {
    "line_label": "Probability: {n}",
    "line_bold": "**Probability:** {n}",
    "line_italic": "*Probability: {n}*",
    "line_confidence": "Confidence: {n}",
    "line_parens": "(Probability: {n})",
    "line_bullet": "- Probability: {n}",
    "line_p": "p = {n}",
    "line_approx": "Probability ≈ {n}",
    "line_bold_italic": "***Probability: {n}***",
}
# The bare forms need a unit that cannot be a list number: "(3)" after a text is a
# footnote, not a weight.
_BARE = ("parens", "brackets", "tilde", "approx", "em_dash_bare", "bold_parens", "lead_parens",
         "lead_brackets")  # fmt: skip
# What models add after a candidate's probability: why it is likely. Never part of the text.
RATIONALES = [
    "Why: it plays on a double meaning.",
    "*Rationale: a classic setup, so fairly likely.*",
    "Reasoning: less common, more absurd.",
    "_Note: a stretch, but it lands._",
]


def inline_format(d: Draw, unit: str, table: dict[str, str]) -> str:
    names = [n for n in sorted(table) if not (unit == "weights" and n in _BARE)]
    return d.choice(names)


# --- shapes -----------------------------------------------------------------------

TEXT_KEYS = ["text", "response", "content", "answer", "output", "joke", "idea"]
PROB_KEYS = ["probability", "prob", "p", "confidence", "likelihood", "weight", "score"]
LIST_KEYS = ["responses", "candidates", "answers", "outputs", "results", "items", "options",
             "jokes", "ideas", "samples"]  # fmt: skip


@dataclass
class Built:
    """A shape's rendering before surroundings are added."""

    output: Any
    texts: list[str]
    stated: list[float | None]
    kind: str  # json | xml | prose | table | object (decoded)
    truncated: bool = False
    extras: list[str] = field(default_factory=list)
    method: str | None = None


def _json_items(d: Draw, texts: Sequence[str], nums: Sequence[Number]) -> list[dict[str, Any]]:
    tk = d.choice(TEXT_KEYS) if chance(d, 35) else "text"
    pk = d.choice(PROB_KEYS) if chance(d, 35) else "probability"
    as_string = chance(d, 15)  # "probability": "0.3" / "30%"
    prob_first = chance(d, 15)
    items = []
    for t, n in zip(texts, nums, strict=True):
        value: Any = n.written.replace(" ", "") if (as_string or n.percent) else n.value
        items.append({pk: value, tk: t} if prob_first else {tk: t, pk: value})
    return items


def _dumps(d: Draw, value: Any) -> str:
    style = d.integer(0, 2)
    if style == 0:
        return json.dumps(value, ensure_ascii=False)
    if style == 1:
        return json.dumps(value, ensure_ascii=False, indent=2)
    return json.dumps(value)  # \u escapes


def _json_unit(d: Draw) -> str:
    return d.choice(["fraction", "fraction2", "percent", "weights", "tail"])


def shape_json_object(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=True, stanzas=True)
    nums = numbers(d, k, _json_unit(d))
    key = d.choice(LIST_KEYS) if chance(d, 30) else "responses"
    return Built(
        _dumps(d, {key: _json_items(d, texts, nums)}), texts, [*stated_values(nums)], "json"
    )


def shape_json_list(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=True, stanzas=True)
    nums = numbers(d, k, _json_unit(d))
    return Built(_dumps(d, _json_items(d, texts, nums)), texts, [*stated_values(nums)], "json")


def shape_json_reasoning(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    obj = {
        "reasoning": "First, list the angles: puns, irony, absurdity [1, 2].",
        "responses": _json_items(d, texts, nums),
    }
    return Built(_dumps(d, obj), texts, [*stated_values(nums)], "json", method="vs_cot")


def shape_json_lines(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=True)
    nums = numbers(d, k, "fraction")
    lines = [json.dumps(it, ensure_ascii=False) for it in _json_items(d, texts, nums)]
    return Built("\n".join(lines), texts, [*stated_values(nums)], "json")


def shape_json_trailing_commas(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    body = ",\n".join(
        f'    {{"text": {json.dumps(t, ensure_ascii=False)}, "probability": {n.written},}}'
        for t, n in zip(texts, nums, strict=True)
    )
    return Built('{"responses": [\n' + body + ",\n],}", texts, [*stated_values(nums)], "json")


def shape_python_repr(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    obj = {
        "responses": [{"text": t, "probability": n.value} for t, n in zip(texts, nums, strict=True)]
    }
    return Built(repr(obj), texts, [*stated_values(nums)], "json")


def shape_json_percent_strings(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, d.choice(["percent", "percent_decimal"]))
    items = [{"text": t, "probability": n.written} for t, n in zip(texts, nums, strict=True)]
    return Built(_dumps(d, {"responses": items}), texts, [*stated_values(nums)], "json")


def shape_json_truncated(d: Draw, k: int) -> Built:
    """Cut by max_tokens inside the last candidate: the complete ones are kept."""
    k = max(k, 2)
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    full = json.dumps({"responses": _json_items(d, texts, nums)}, ensure_ascii=False, indent=2)
    last = full.rfind("{", 0, full.rfind(json.dumps(texts[-1], ensure_ascii=False)))
    cut = d.integer(last + 2, len(full) - 8)  # inside the last item, before its "}"
    return Built(full[:cut], texts[:-1], [*stated_values(nums)][:-1], "json", truncated=True)


def shape_json_texts_as_keys(d: Draw, k: int) -> Built:
    k = max(k, 2)
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    obj = {t: n.value for t, n in zip(texts, nums, strict=True)}
    return Built(_dumps(d, obj), texts, [*stated_values(nums)], "json")


def shape_json_pairs(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    pairs = [[t, n.value] for t, n in zip(texts, nums, strict=True)]
    return Built(_dumps(d, pairs), texts, [*stated_values(nums)], "json")


def shape_json_unquoted_keys(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    body = ", ".join(
        f"{{text: {json.dumps(t, ensure_ascii=False)}, probability: {n.written}}}"
        for t, n in zip(texts, nums, strict=True)
    )
    return Built("{responses: [" + body + "]}", texts, [*stated_values(nums)], "json")


def shape_sequence(d: Draw, k: int) -> Built:
    """The Sequence method: texts only, no probabilities (uniform weights)."""
    k = max(k, 2)
    texts = candidate_texts(d, k, multiline=False)
    if chance(d, 50):
        out = _dumps(d, texts)
    else:
        out = "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))
    return Built(
        out, texts, [None] * k, "json" if out.startswith("[") else "prose", method="sequence"
    )


def shape_xml(d: Draw, k: int) -> Built:
    texts = candidate_texts(d, k, multiline=True, stanzas=True)
    nums = numbers(d, k, d.choice(["fraction", "fraction2", "percent", "tail"]))
    order = d.choice(["text_first", "prob_first", "attribute", "prob_in_text", "bare_text",
                      "extra_child"])  # fmt: skip
    numbered = chance(d, 20) and order != "attribute"
    indent = chance(d, 50)
    blocks = []
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        tag = f"response_{i}" if numbered else "response"
        nl, pad = ("\n", "  ") if indent else ("", "")
        if order == "text_first":
            inner = f"{pad}<text>{t}</text>{nl}{pad}<probability>{n.written}</probability>"
        elif order == "prob_first":
            inner = f"{pad}<probability>{n.written}</probability>{nl}{pad}<text>{t}</text>"
        elif order == "prob_in_text":
            inner = f"{t} (probability: {n.written})"
        elif order == "bare_text":
            inner = f"{t}{nl}<probability>{n.written}</probability>"
        elif order == "extra_child":
            inner = (
                f"{pad}<text>{t}</text>{nl}{pad}<probability>{n.written}</probability>"
                f"{nl}{pad}<reason>It is a pun (0.5 of them are).</reason>"
            )
        else:
            blocks.append(f'<{tag} probability="{n.written}">{t}</{tag}>')
            continue
        blocks.append(f"<{tag}>{nl}{inner}{nl}</{tag}>")
    body = "\n".join(blocks)
    if chance(d, 40):
        body = "<responses>\n" + body + "\n</responses>"
    return Built(body, texts, [*stated_values(nums)], "xml", extras=[f"xml_{order}"])


def shape_xml_truncated(d: Draw, k: int) -> Built:
    k = max(k, 2)
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, "fraction")
    blocks = [
        f"<response>\n<text>{t}</text>\n<probability>{n.written}</probability>\n</response>"
        for t, n in zip(texts, nums, strict=True)
    ]
    full = "\n".join(blocks)
    start = full.rfind("<response>")
    cut = d.integer(start + len("<response>\n<text>") + 1, len(full) - len("</response>") - 1)
    return Built(full[:cut], texts[:-1], [*stated_values(nums)][:-1], "xml", truncated=True)


def _prose_unit(d: Draw) -> str:
    return d.choice(UNITS)


def _number_marker(d: Draw) -> Callable[[int], str]:
    style = d.choice(["{i}. ", "{i}) ", "({i}) ", "**{i}.** ", "{i}. "])
    return lambda i: style.format(i=i)


def _wrap_text(d: Draw, t: str, style: str) -> str:
    if style == "bold":
        return f"**{t}**"
    if style == "quoted":
        return f'"{t}"'
    if style == "curly":
        return f"“{t}”"
    if style == "italic":
        return f"*{t}*"
    return t


def shape_numbered(d: Draw, k: int) -> Built:
    """``1. text (probability: 0.3)``, the probability inline, leading or on its own line."""
    texts = candidate_texts(d, k, multiline=False)
    unit = _prose_unit(d)
    nums = numbers(d, k, unit)
    mark = _number_marker(d)
    bullet = chance(d, 35)
    bullet_char = d.choice(["-", "*", "•", "+"])
    place = d.choice(["inline", "inline", "leading", "own_line"])
    wrap = d.choice(["plain", "plain", "bold", "quoted", "curly", "italic"])
    table = INLINE if place == "inline" else LEADING if place == "leading" else OWN_LINE
    fmt = table[inline_format(d, unit, table)]
    if wrap == "italic" and "*" in fmt:
        wrap = "plain"
    rationale = chance(d, 20)
    lines = []
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        head = f"{bullet_char} " if bullet else mark(i)
        body = _wrap_text(d, t, wrap)
        p = fmt.format(n=n.written)
        if place == "inline":
            line = head + body + p
        elif place == "leading":
            line = head + p + body
        else:
            line = head + body + "\n   " + p
        if rationale:
            line += "\n   " + d.choice(RATIONALES)
        lines.append(line)
    sep = "\n\n" if chance(d, 30) else "\n"
    extras = [f"{'bullet' if bullet else 'number'}_{place}", f"wrap_{wrap}"]
    return Built(
        sep.join(lines),
        texts,
        [*stated_values(nums)],
        "prose",
        extras=[*extras, *(["rationale"] if rationale else [])],
    )


def shape_list_truncated(d: Draw, k: int) -> Built:
    """A numbered list cut by max_tokens inside its last item: that item is dropped."""
    k = max(k, 2)
    texts = candidate_texts(d, k, multiline=False)
    nums = numbers(d, k, d.choice(["fraction", "percent"]))
    fmt = INLINE[d.choice(["label_parens", "label_cap", "p_equals", "dash_italic"])]
    pairs = zip(texts, nums, strict=True)
    full = "\n".join(f"{i}. {t}" + fmt.format(n=n.written) for i, (t, n) in enumerate(pairs, 1))
    start = full.rfind("\n") + 1
    cut = d.integer(start + 4, len(full) - 1)
    return Built(full[:cut], texts[:-1], [*stated_values(nums)][:-1], "prose", truncated=True)


def shape_numbered_multiline(d: Draw, k: int) -> Built:
    """A poem per item, indented under its number, the probability on the last line."""
    texts = [
        _poem(d, stanzas=False) if chance(d, 70) else t
        for t in candidate_texts(d, k, multiline=False)
    ]
    texts = list(dict.fromkeys(texts))
    k = len(texts)
    unit = d.choice(["fraction", "fraction2", "percent"])
    nums = numbers(d, k, unit)
    fmt = OWN_LINE[d.choice(sorted(OWN_LINE))]
    title = chance(d, 30)
    fields = chance(d, 25)  # "1. **Option 1**\n   - Text: ...\n   - Probability: 0.3"
    items = []
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        lines = t.split("\n")
        if fields:
            name = d.choice(["Text", "Response", "Joke"])
            first, *more = lines
            body = [f"- **{name}:** {first}", *(f"  {ln}" for ln in more)]
            items.append("\n".join([f"{i}. **Option {i}**", *("   " + ln for ln in body),
                                    f"   - **Probability:** {n.written}"]))  # fmt: skip
            continue
        if title:
            head = f"{i}. **Option {i}**"
            body = lines
        else:
            head = f"{i}. {lines[0]}"
            body = lines[1:]
        items.append(
            "\n".join([head, *("   " + ln for ln in body), "   " + fmt.format(n=n.written)])
        )
    return Built("\n\n".join(items), texts, [*stated_values(nums)], "prose")


def _label(d: Draw, i: int) -> str:
    """How a model names the i-th candidate: "Response 1", "Option B", "Joke #3"."""
    word = d.choice(["Response", "Option", "Candidate", "Joke", "Idea", "Answer"])
    mark = d.choice([str(i), str(i), f"#{i}", "ABCDEFGHIJ"[i - 1]])
    return f"{word} {mark}"


def shape_label_inline(d: Draw, k: int) -> Built:
    """``Response 1 (probability: 30%): text``, ``- Response 1: text (Probability: 0.085)``,
    ``**Response 1**`` alone on a line over its text, ``1. Response: "text"``..."""
    texts = candidate_texts(d, k, multiline=False)
    unit = _prose_unit(d)
    nums = numbers(d, k, unit)
    form = d.choice(["label_prob_first", "label_prob_last", "bold_label", "bullet_label",
                     "bullet_bold_quoted", "label_own_line", "label_alone", "bold_label_alone",
                     "numbered_field"])  # fmt: skip
    fmt = INLINE[inline_format(d, unit, INLINE)]
    own = OWN_LINE[d.choice(sorted(OWN_LINE))]
    style = d.choice(["label", "letters"]) if form != "numbered_field" else "label"
    lines = []
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        label = (
            _label(d, i)
            if style == "label"
            else _label(d, i).split()[0] + " " + "ABCDEFGHIJ"[i - 1]
        )
        p = fmt.format(n=n.written)
        if form == "label_prob_first":
            lines.append(f"{label} (probability: {n.written}): {t}")
        elif form == "label_prob_last":
            lines.append(f"{label}: {t}{p}")
        elif form == "bold_label":
            lines.append(f"**{label}:** {t}{p}")
        elif form == "bullet_label":
            lines.append(f"- {label}: {t}{p}")
        elif form == "bullet_bold_quoted":  # Gemini
            lines.append(f'* **{label}:** "{t}"{p}')
        elif form == "label_own_line":  # Qwen
            lines.append(f"{label}: {t}\n{own.format(n=n.written)}\n")
        elif form == "label_alone":
            lines.append(f"{label}:\n{t}\n{own.format(n=n.written)}\n")
        elif form == "bold_label_alone":  # Llama
            lines.append(f'**{label}**\n"{t}"\n{own.format(n=n.written)}\n')
        else:  # Llama: the field named on the numbered line
            field = d.choice(["Response", "Text", "Joke"])
            lines.append(f'{i}. {field}: "{t}"\n{own.format(n=n.written)}\n')
    return Built("\n".join(lines), texts, [*stated_values(nums)], "prose", extras=[form])


def shape_bold_blocks(d: Draw, k: int) -> Built:
    """``**Response:** text`` then ``**Probability:** 0.2``, one block per candidate."""
    texts = candidate_texts(d, k, multiline=False)
    unit = d.choice(["fraction", "fraction2", "percent", "tail"])
    nums = numbers(d, k, unit)
    word = d.choice(["Response", "Text", "Answer", "Joke"])
    pword = d.choice(["Probability", "Confidence", "Likelihood"])
    numbered = chance(d, 40)
    blocks = []
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        label = f"{word} {i}" if numbered else word
        blocks.append(f"**{label}:** {t}\n**{pword}:** {n.written}")
    return Built("\n\n".join(blocks), texts, [*stated_values(nums)], "prose")


def shape_headings(d: Draw, k: int) -> Built:
    """A markdown heading per candidate: ``### Option 1 (0.30)`` over the text, and kin."""
    texts = candidate_texts(d, k, multiline=True)
    unit = d.choice(["fraction", "fraction2", "percent", "tail", "short"])
    nums = numbers(d, k, unit)
    hashes = "#" * d.integer(2, 4)
    form = d.choice(["prob_in_heading", "prob_below", "prob_label_heading", "bold_prob_below",
                     "number_only", "fields"])  # fmt: skip
    blocks = []
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        label = _label(d, i)
        if form == "prob_in_heading":
            blocks.append(f"{hashes} {label} ({n.written})\n{t}")
        elif form == "prob_label_heading":
            blocks.append(f"{hashes} {label} — Probability: {n.written}\n\n{t}")
        elif form == "prob_below":
            why = "\n" + d.choice(RATIONALES) if chance(d, 25) else ""
            blocks.append(f"{hashes} {label}\n{t}\n\nProbability: {n.written}{why}")
        elif form == "number_only":  # "### 1." over the text
            blocks.append(f"{hashes} {i}.\n{t}\n*Probability: {n.written}*")
        elif form == "fields":  # DeepSeek: fields as bullets, the colon outside the bold
            first, *more = t.split("\n")
            rest = "".join(f"\n  {ln}" for ln in more)
            blocks.append(
                f"{hashes} {label}\n- **Text**: {first}{rest}\n- **Probability**: {n.written}"
            )
        else:
            blocks.append(f"{hashes} {label}\n\n{t}\n\n**Probability:** {n.written}")
    return Built("\n\n".join(blocks), texts, [*stated_values(nums)], "prose", extras=[form])


def shape_table(d: Draw, k: int) -> Built:
    """A markdown table, a row per candidate; the text column's header may be one no
    parser knows ("Tagline"): the widest column holds the text."""
    texts = candidate_texts(d, k, multiline=False)
    unit = d.choice(["fraction", "fraction2", "percent", "percent_space", "short", "tail"])
    nums = numbers(d, k, unit)
    text_head = d.choice(["Response", "Joke", "Text", "Answer", "Tagline", "Headline", "Quip"])
    prob_head = d.choice(
        ["Probability", "Prob.", "Confidence", "Likelihood", "P", "Probability (%)"]
    )
    number_col = chance(d, 60)
    prob_first = chance(d, 15)
    cols = [*(["#"] if number_col else []),
            *([prob_head, text_head] if prob_first else [text_head, prob_head])]  # fmt: skip
    if chance(d, 25):
        cols = [f"**{c}**" for c in cols]
    rule = d.choice(["---", ":---", "---:", ":---:", "-----------"])
    rows = ["| " + " | ".join(cols) + " |", "|" + "|".join(rule for _ in cols) + "|"]
    bold_values = chance(d, 15)
    quoted = chance(d, 15)  # Gemini quotes the text cells
    for i, (t, n) in enumerate(zip(texts, nums, strict=True), 1):
        value = f"**{n.written}**" if bold_values else n.written
        t = f'"{t}"' if quoted else t
        cells = [*([str(i)] if number_col else []),
                 *([value, t] if prob_first else [t, value])]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    known = text_head.lower() in ("response", "joke", "text", "answer")
    return Built(
        "\n".join(rows),
        texts,
        [*stated_values(nums)],
        "table",
        extras=["table_known_header" if known else "table_unknown_header"],
    )


# --- tool calls and decoded objects ---------------------------------------------------


def _args(d: Draw, k: int) -> tuple[dict[str, Any], list[str], list[float | None]]:
    texts = candidate_texts(d, k, multiline=True, stanzas=True)
    nums = numbers(d, k, d.choice(["fraction", "fraction2", "weights"]))
    return {"responses": _json_items(d, texts, nums)}, texts, [*stated_values(nums)]


def shape_tool_args(d: Draw, k: int) -> Built:
    """Decoded tool-call arguments, as a framework hands them over."""
    args, texts, stated = _args(d, k)
    form = d.choice(["dict", "items_as_strings", "list_as_string", "double_encoded"])
    out: Any = args
    if form == "items_as_strings":
        out = {"responses": [json.dumps(it, ensure_ascii=False) for it in args["responses"]]}
    elif form == "list_as_string":
        out = {"responses": json.dumps(args["responses"], ensure_ascii=False)}
    elif form == "double_encoded":  # some gateways encode the arguments twice
        out = json.dumps(json.dumps(args, ensure_ascii=False))
    return Built(out, texts, stated, "object", extras=[f"args_{form}"])


_TOOL = "generate_responses"


def _tool_call_openai(args: str) -> dict[str, Any]:
    return {"id": "call_8f2a", "type": "function", "function": {"name": _TOOL, "arguments": args}}


def shape_tool_envelope(d: Draw, k: int) -> Built:
    """Tool calls as other families and frameworks hand them over, decoded or as text."""
    args, texts, stated = _args(d, k)
    arg_text = json.dumps(args, ensure_ascii=False)
    form = d.choice(
        [
            "openai_message",
            "openai_completion",
            "anthropic_tool_use",
            "anthropic_message",
            "bare_tool_call",
            "llama_parameters",
            "langchain_tool_call",
            "gemini_function_call",
            "hermes_text",
            "mistral_text",
            "responses_api",
        ]
    )
    out: Any
    if form == "openai_message":
        out = {"role": "assistant", "content": None, "tool_calls": [_tool_call_openai(arg_text)]}
    elif form == "openai_completion":
        out = {
            "id": "chatcmpl-9",
            "object": "chat.completion",
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [_tool_call_openai(arg_text)],
                    },
                }
            ],
            "usage": {"prompt_tokens": 80, "completion_tokens": 120, "total_tokens": 200},
        }
    elif form == "anthropic_tool_use":
        out = [{"type": "text", "text": "I'll generate the responses."},
               {"type": "tool_use", "id": "toolu_01", "name": _TOOL, "input": args}]  # fmt: skip
    elif form == "anthropic_message":
        out = {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": _TOOL, "input": args}],
            "stop_reason": "tool_use",
        }
    elif form == "bare_tool_call":
        out = {"name": _TOOL, "arguments": arg_text if chance(d, 50) else args}
    elif form == "llama_parameters":
        out = {"name": _TOOL, "parameters": args}
    elif form == "langchain_tool_call":
        out = {
            "type": "ai",
            "content": "",
            "tool_calls": [{"name": _TOOL, "args": args, "id": "call_1", "type": "tool_call"}],
        }
    elif form == "gemini_function_call":
        out = {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"functionCall": {"name": _TOOL, "args": args}}],
                    },
                    "finishReason": "STOP",
                }
            ]
        }
    elif form == "hermes_text":
        call = json.dumps({"name": _TOOL, "arguments": args}, ensure_ascii=False)
        out = f"<tool_call>\n{call}\n</tool_call>"
    elif form == "mistral_text":
        out = "[TOOL_CALLS] " + json.dumps([{"name": _TOOL, "arguments": args}], ensure_ascii=False)
    else:
        out = {
            "object": "response",
            "output": [
                {"type": "function_call", "name": _TOOL, "arguments": arg_text, "call_id": "c1"}
            ],
        }
    as_text = not isinstance(out, str) and chance(d, 40)
    if as_text:
        out = json.dumps(out, ensure_ascii=False, indent=2 if chance(d, 50) else None)
    return Built(out, texts, stated, "object", extras=[form, "as_text" if as_text else "decoded"])


SHAPES: dict[str, Callable[[Draw, int], Built]] = {
    "json_object": shape_json_object,
    "json_list": shape_json_list,
    "json_reasoning": shape_json_reasoning,
    "json_lines": shape_json_lines,
    "json_trailing_commas": shape_json_trailing_commas,
    "json_python_quotes": shape_python_repr,
    "json_percent_strings": shape_json_percent_strings,
    "json_truncated": shape_json_truncated,
    "json_texts_as_keys": shape_json_texts_as_keys,
    "json_pairs": shape_json_pairs,
    "json_unquoted_keys": shape_json_unquoted_keys,
    "sequence": shape_sequence,
    "xml": shape_xml,
    "xml_truncated": shape_xml_truncated,
    "numbered": shape_numbered,
    "numbered_multiline": shape_numbered_multiline,
    "list_truncated": shape_list_truncated,
    "label_inline": shape_label_inline,
    "bold_blocks": shape_bold_blocks,
    "headings": shape_headings,
    "table": shape_table,
    "tool_args": shape_tool_args,
    "tool_envelope": shape_tool_envelope,
}

# --- surroundings -----------------------------------------------------------------

PREAMBLES = [
    "Here are 5 jokes about coffee:",
    "Sure! Here are five responses with their probabilities:",
    "To sample from the tails of the distribution (where probability P < 0.10), here are"
    " five candidates:",
    "Okay, here you go.",
    "Certainly. Below are the candidates, each with an estimated probability.",
    "I've sampled these at random from the full distribution:",
    "**Responses**",
    "## Responses",
]
POSTAMBLES = [
    "Let me know if you'd like more options!",
    "These probabilities are rough estimates.",
    "I hope one of these makes you smile ☕",
    "*Note: the probabilities are my own estimates and may not sum exactly to 1.*",
    "Each one takes a different angle on the topic.",
    "Overall, the first one is the safest bet (about 0.35 of the mass).",
    "Probabilities: rough guesses, normalized to sum to 1.",
]
NOTES = [
    "A few notes first:\n- Kept each one short\n- Sorted by probability\n",
    "Notes:\n* Mixed puns and observational humor\n* Avoided repeats\n",
    "- Tone: light\n- Audience: general\n",
]
_THINK_DRAFTS = [
    "Let me brainstorm.\n1. Draft: a pun about beans (0.5)\n2. Draft: a latte joke (0.5)\n"
    "Hmm, these are weak. Let me refine.",
    'Plan: {"responses": [{"text": "draft joke", "probability": 1.0}]} then improve it.',
    "I need five jokes. <response><text>draft</text><probability>0.9</probability></response>"
    " is too plain; try again.",
    "- idea one (0.4)\n- idea two (0.6)\nOk, final answer below.",
]


def surround(d: Draw, b: Built) -> tuple[Any, list[str]]:
    """Prose, think blocks, fences, notes and envelopes around a text reply."""
    extras: list[str] = []
    out = b.output
    if not isinstance(out, str) or b.kind == "object":
        return out, extras
    if b.kind == "prose" and chance(d, 20) and all(s is not None for s in b.stated):
        out = d.choice(NOTES) + "\n" + out
        extras.append("notes_before")
    if b.kind in ("json", "xml") and chance(d, 35) and not b.truncated:
        lang = {"json": d.choice(["json", "JSON", ""]), "xml": d.choice(["xml", ""])}[b.kind]
        out = f"```{lang}\n{out}\n```"
        extras.append("fenced")
    if chance(d, 45) and not b.truncated:
        joint = ["\n\n", "\n", " "] if b.kind in ("json", "xml") else ["\n\n", "\n"]
        out = d.choice(PREAMBLES) + d.choice(joint) + out
        extras.append("prose_before")
    if chance(d, 35) and not b.truncated:
        out = out + d.choice(["\n\n", "\n\n"]) + d.choice(POSTAMBLES)
        extras.append("prose_after")
    if chance(d, 15):
        draft = d.choice(_THINK_DRAFTS)
        form = d.integer(0, 2)
        if form == 0:
            out = f"<think>\n{draft}\n</think>\n\n{out}"
        elif form == 1:  # servers that strip the opening tag (it was in the prompt)
            out = f"{draft}\n</think>\n\n{out}"
        else:
            out = f"<thinking>\n{draft}\n</thinking>\n{out}"
        extras.append("think_unopened" if form == 1 else "think")
    if chance(d, 12):
        out, env = _text_envelope(d, out)
        extras.append(env)
    return out, extras


def _text_envelope(d: Draw, text: str) -> tuple[Any, str]:
    form = d.choice(
        [
            "chat_message",
            "chat_completion",
            "text_completion",
            "content_blocks",
            "anthropic_message",
            "ollama_chat",
            "gemini_response",
            "langchain_message",
            "json_string",
            "conversation",
            "deepseek_reasoning",
            "anthropic_thinking",
            "responses_message",
            "langchain_serialized",
            "content_parts",
            "ollama_generate",
        ]
    )
    out: Any
    if form == "chat_message":
        out = {"role": "assistant", "content": text}
    elif form == "chat_completion":
        out = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
        }
    elif form == "text_completion":
        out = {
            "id": "cmpl-1",
            "object": "text_completion",
            "model": "llama-3",
            "choices": [{"text": text, "index": 0, "finish_reason": "stop"}],
        }
    elif form == "content_blocks":
        out = [{"type": "text", "text": text}]
    elif form == "anthropic_message":
        out = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
        }
    elif form == "ollama_chat":
        out = {
            "model": "qwen2.5:7b",
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": text},
            "done": True,
        }
    elif form == "gemini_response":
        out = {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ]
        }
    elif form == "langchain_message":
        out = {"type": "ai", "content": text, "tool_calls": [], "id": "run-1"}
    elif form == "conversation":  # the whole exchange: the model's turn is the last one
        out = [{"role": "system", "content": "Generate 5 responses with probabilities."},
               {"role": "user", "content": "1. a joke (0.5)\n2. another (0.5)"},
               {"role": "assistant", "content": text}]  # fmt: skip
    elif form == "deepseek_reasoning":
        out = {"role": "assistant", "content": text,
               "reasoning_content": "1. draft (0.5)\n2. draft two (0.5)"}  # fmt: skip
    elif form == "anthropic_thinking":
        out = {"type": "message", "role": "assistant", "content": [
            {"type": "thinking", "thinking": "- idea (0.4)\n- idea (0.6)", "signature": "x"},
            {"type": "text", "text": text}]}  # fmt: skip
    elif form == "responses_message":
        out = {"object": "response", "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": []}]}]}  # fmt: skip
    elif form == "langchain_serialized":
        out = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "AIMessage"],
               "kwargs": {"content": text, "type": "ai", "tool_calls": []}}  # fmt: skip
    elif form == "content_parts":
        cut = len(text) // 2
        out = {"role": "assistant", "content": [{"type": "text", "text": text[:cut]},
                                                {"type": "text", "text": text[cut:]}]}  # fmt: skip
    elif form == "ollama_generate":
        out = {"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z", "response": text,
               "done": True}  # fmt: skip
    else:
        return json.dumps(text, ensure_ascii=False), form
    if chance(d, 50):
        return json.dumps(out, ensure_ascii=False), form + "_as_text"
    return out, form


def generate(d: Draw, shape: str | None = None) -> Reply:
    """One reply: a shape, k candidates, surroundings."""
    name = shape if shape is not None else d.choice(sorted(SHAPES))
    k = d.choice([1, 2, 3, 3, 4, 5, 5, 5, 6, 7])
    built = SHAPES[name](d, k)
    # One candidate in a list without probabilities is a sentence, not a distribution.
    output, extras = surround(d, built)
    return Reply(
        shape=name,
        extras=(*built.extras, *extras),
        output=output,
        texts=tuple(t.strip() for t in built.texts),
        stated=tuple(built.stated),
        truncated=built.truncated,
        method=built.method,
    )


def corpus(n: int, seed: int = 18) -> list[Reply]:
    """n replies from a fixed seed: the same replies on every run and machine."""
    return [generate(RandomDraw(seed * 1_000_003 + i)) for i in range(n)]


@st.composite
def replies(draw: Callable[[st.SearchStrategy[Any]], Any], shape: str | None = None) -> Reply:
    """A hypothesis strategy over the same space."""
    return generate(HypothesisDraw(draw), shape)


# --- scoring ----------------------------------------------------------------------


@dataclass
class Score:
    """What the parser read of one reply, against what the reply holds."""

    expected: int  # candidates the reply holds
    read: int  # candidates the parser returned
    right: int  # read candidates with the right text and probability
    error: str | None = None  # the VSParseError's reason, when it raised

    @property
    def wrong(self) -> int:
        return self.read - self.right

    @property
    def exact(self) -> bool:
        return self.right == self.expected == self.read


def score(reply: Reply, texts: Sequence[str], probabilities: Sequence[float]) -> Score:
    """Align what was read with what the reply holds, in order.

    A read candidate is right when its text is the next expected text (in
    order; expected ones may be skipped: a miss) and its probability is the
    expected one renormalized over the candidates read: a skipped candidate
    costs recall, never precision.
    """
    pos = 0
    matched: list[tuple[int, int]] = []  # (read index, expected index)
    for i, t in enumerate(texts):
        j = pos
        while j < len(reply.texts) and reply.texts[j] != t:
            j += 1
        if j < len(reply.texts):
            matched.append((i, j))
            pos = j + 1
    right = 0
    if matched and len(matched) == len(texts):
        if all(s is None for s in reply.stated):
            want = [1.0 / len(texts)] * len(texts)
        else:
            subset = [reply.stated[j] for _, j in matched]
            if any(s is None for s in subset):
                want = []
            else:
                total = sum(float(s) for s in subset if s is not None)
                want = [float(s) / total for s in subset if s is not None]
        right = sum(
            1 for (i, _), w in zip(matched, want, strict=False) if abs(probabilities[i] - w) <= 1e-6
        )
    return Score(expected=len(reply.texts), read=len(texts), right=right)
