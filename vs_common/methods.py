"""Prompt methods of the paper (Table 1), their configuration and prompts.

Example:
    >>> config = VSConfig(method=Method.VS_STANDARD, k=5, n=30)
    >>> config.num_calls
    6
    >>> [m["role"] for m in build_messages("Tell a joke about coffee", config)]
    ['system', 'user']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vs_common.alternatives import alternative
from vs_common.calls import Message
from vs_common.errors import VSConfigError

__all__ = [
    "COMPLETION_STOP",
    "Method",
    "OutputFormat",
    "ProbabilityFormat",
    "VSConfig",
    "build_messages",
    "completion_prompt",
    "compose_messages",
    "followup_instruction",
    "response_schema",
    "system_instruction",
    "trim_completion",
]

ProbabilityFormat = Literal["probability", "percentage", "confidence"]
OutputFormat = Literal["json", "xml"]


class Method(StrEnum):
    """The seven prompting methods of the paper's Table 1, then the others.

    ``direct_base`` is the paper's base-model reference (its Figure 4): the
    prompt as a plain-text completion (``POST /completions``, no chat
    template) for a pretrained model without alignment; see
    :func:`completion_prompt`. ``ssot`` (String Seed of Thought) and
    ``simplestrat`` (SimpleStrat), the methods people compare VS with, are
    declared in :mod:`vs_common.alternatives`, one module each.
    """

    DIRECT = "direct"
    COT = "cot"
    SEQUENCE = "sequence"
    MULTI_TURN = "multi_turn"
    VS_STANDARD = "vs_standard"
    VS_COT = "vs_cot"
    VS_MULTI = "vs_multi"
    SSOT = "ssot"
    SIMPLESTRAT = "simplestrat"
    DIRECT_BASE = "direct_base"

    @property
    def is_list(self) -> bool:
        """True for methods that ask for k candidates per call."""
        return self in _LIST_METHODS

    @property
    def is_verbalized(self) -> bool:
        """True for the distribution-level (VS) methods."""
        return self in (Method.VS_STANDARD, Method.VS_COT, Method.VS_MULTI)

    @property
    def is_conversation(self) -> bool:
        """True for methods whose calls are the turns of one conversation."""
        return self in (Method.MULTI_TURN, Method.VS_MULTI)

    @property
    def is_completion(self) -> bool:
        """True for methods sent as a plain-text completion, not as chat messages."""
        return self is Method.DIRECT_BASE


_LIST_METHODS = frozenset({Method.SEQUENCE, Method.VS_STANDARD, Method.VS_COT, Method.VS_MULTI})
_MAX_K = 100
_MAX_N = 100_000
_ASSUMED_K = 5  # calls planned per candidate when the model decides k


class VSConfig(BaseModel):
    """What to ask the model for, validated.

    Attributes:
        method: The prompting method.
        k: Candidates per call for list methods; None lets the model decide
            ("as many as you see fit", the paper's section 6). Ignored (1) for
            single-answer methods; for simplestrat, the strata listed per sample.
        n: Total samples wanted (defaults to k, or 1 for single-answer methods).
        threshold: Tail threshold tau in (0, 1]; adds the tail-sampling
            sentence to VS prompts.
        probability_format: How the model states probabilities; defaults to
            ``probability``, and ``confidence`` for vs_multi as in the paper.
        output_format: ``json`` or ``xml`` tags.
        turns: Turns of a vs_multi / multi_turn conversation (default ceil(n/k)
            or n).
        word_hint: Approximate words per response, added only when set.

    Example:
        >>> VSConfig(method="vs_multi", k=5, n=20).num_calls
        4
        >>> VSConfig(k=0)
        Traceback (most recent call last):
        ...
        vs_common.errors.VSConfigError: k must be an integer between 1 and 100 or None, got 0
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method = Method.VS_STANDARD
    k: int | None = 5
    n: int | None = None
    threshold: float | None = None
    probability_format: ProbabilityFormat | None = None
    output_format: OutputFormat = "json"
    turns: int | None = None
    word_hint: int | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            original = (err.get("ctx") or {}).get("error")
            if isinstance(original, VSConfigError):
                raise original from None
            field = ".".join(str(p) for p in err["loc"]) or "config"
            msg = f"{field}: {err['msg']} (got {err.get('input')!r})"
            raise VSConfigError(msg, field=field) from None

    @field_validator("k", "n", "turns", "word_hint", mode="before")
    @classmethod
    def _no_bool(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            msg = f"{info.field_name} must be an integer, got {value!r}"
            raise VSConfigError(msg, field=info.field_name)
        return value

    @model_validator(mode="after")
    def _check(self) -> VSConfig:
        k = self.k
        if k is not None and (isinstance(k, bool) or not 1 <= k <= _MAX_K):
            msg = f"k must be an integer between 1 and {_MAX_K} or None, got {k}"
            raise VSConfigError(msg, field="k")
        if self.n is not None and not 1 <= self.n <= _MAX_N:
            msg = f"n must be an integer between 1 and {_MAX_N}, got {self.n}"
            raise VSConfigError(msg, field="n")
        t = self.threshold
        if t is not None and not (math.isfinite(t) and 0.0 < t <= 1.0):
            msg = f"threshold must be in (0, 1], got {t}"
            raise VSConfigError(msg, field="threshold")
        if t is not None and not self.method.is_verbalized:
            msg = f"threshold only applies to VS methods, not {self.method.value}"
            raise VSConfigError(msg, field="threshold")
        if self.turns is not None and not 1 <= self.turns <= _MAX_N:
            msg = f"turns must be an integer between 1 and {_MAX_N}, got {self.turns}"
            raise VSConfigError(msg, field="turns")
        if self.turns is not None and not self.method.is_conversation:
            msg = f"turns only applies to multi_turn and vs_multi, not {self.method.value}"
            raise VSConfigError(msg, field="turns")
        if self.word_hint is not None and not 1 <= self.word_hint <= 10_000:
            msg = f"word_hint must be between 1 and 10000 words, got {self.word_hint}"
            raise VSConfigError(msg, field="word_hint")
        return self

    @property
    def per_call(self) -> int | None:
        """Candidates asked for per call: k for list methods, else 1."""
        return self.k if self.method.is_list else 1

    @property
    def total(self) -> int:
        """Total samples wanted (n, or its default)."""
        if self.n is not None:
            return self.n
        return self.per_call or _ASSUMED_K

    @property
    def num_calls(self) -> int:
        """LLM calls (or conversation turns) planned for ``total`` samples."""
        if self.turns is not None:
            return self.turns
        per_call = self.per_call or _ASSUMED_K
        return math.ceil(self.total / per_call)

    @property
    def effective_probability_format(self) -> ProbabilityFormat:
        """The probability wording in use, after the method's default."""
        if self.probability_format is not None:
            return self.probability_format
        return "confidence" if self.method is Method.VS_MULTI else "probability"


def _words(config: VSConfig, plural: bool) -> str:
    if config.word_hint is None:
        return ""
    noun = "responses" if plural else "response"
    verb = "should each be" if plural else "should be"
    return f" The {noun} {verb} approximately {config.word_hint} words."


def _count(config: VSConfig, noun: str = "responses") -> str:
    """Say "5 responses", or "as many responses as you see fit" when the model decides k."""
    return f"{config.k} {noun}" if config.k is not None else f"as many {noun} as you see fit"


_FIELD_DOC: dict[ProbabilityFormat, str] = {
    "probability": (
        "the estimated probability from 0.0 to 1.0 of this response given the input"
        " prompt (relative to the full distribution)"
    ),
    "percentage": (
        "the probability of this response relative to the full distribution,"
        " expressed as a percentage from 0% to 100%"
    ),
    "confidence": (
        "the normalized likelihood score between 0.0 and 1.0 that indicates how"
        " representative or typical this response is compared to the full distribution"
    ),
}


def _threshold_text(config: VSConfig) -> str:
    fmt = config.effective_probability_format
    if config.threshold is None:
        return "Randomly sample the responses from the full distribution."
    value = f"{config.threshold * 100:g}%" if fmt == "percentage" else f"{config.threshold:g}"
    noun = "confidence" if fmt == "confidence" else "probability"
    return (
        "Please sample at random from the tails of the distribution, such that the"
        f" {noun} of each response is less than {value}."
    )


def _vs_format(config: VSConfig) -> str:
    fmt = config.effective_probability_format
    if config.output_format == "xml":
        return (
            f"Put each response within a separate <response> tag. Each <response> must"
            f" include a <text> with the response only and a numeric <{fmt}>: {_FIELD_DOC[fmt]}."
            f" {_threshold_text(config)}"
            " Give ONLY the <response> tags, with no explanations or extra text."
        )
    return (
        'Return the responses in JSON format with the key: "responses" (list of dicts).'
        " Each dictionary must include:\n"
        "- text: the response string only (no explanation or extra text).\n"
        f"- {fmt}: {_FIELD_DOC[fmt]}.\n"
        f"{_threshold_text(config)}\n"
        "Give ONLY the JSON object, with no explanations or extra text."
    )


def system_instruction(config: VSConfig) -> str:
    """The system instruction for ``config.method`` (the paper's wording).

    Example:
        >>> system_instruction(VSConfig(method="direct")).startswith("Generate a response")
        True
    """
    m = config.method
    if m is Method.DIRECT_BASE:
        msg = (
            "direct_base has no system instruction: it sends completion_prompt(prompt,"
            " config) to /completions, for a base (pretrained) model"
        )
        raise VSConfigError(msg, field="method")
    alt = alternative(m)
    if alt is not None:  # its first call's instruction (simplestrat: the strata)
        return alt.instruction(config.k, config.word_hint)
    if m in (Method.DIRECT, Method.MULTI_TURN):
        return (
            f"Generate a response to the input prompt.{_words(config, False)}"
            " Output ONLY the response, with no explanations or extra text."
        )
    if m is Method.COT:
        if config.output_format == "xml":
            return (
                f"Generate a response to the input prompt.{_words(config, False)}"
                " First, think step by step inside a <reasoning> tag. Then, give your"
                " response inside a <response> tag. Give ONLY these tags, with no extra text."
            )
        return (
            f"Generate a response to the input prompt.{_words(config, False)}"
            ' First, provide a single "reasoning" field as a string, detailing your'
            ' step-by-step thought process. Then, provide your response in the "response"'
            " field. Give ONLY the JSON object, with no explanations or extra text."
        )
    count = _count(config)
    if m is Method.SEQUENCE:
        if config.output_format == "xml":
            return (
                f"Generate {count} to the input prompt.{_words(config, True)}"
                " Put each response within a separate <response> tag."
                " Give ONLY the <response> tags, with no explanations or extra text."
            )
        exact = f"exactly {config.k} responses" if config.k is not None else "the responses"
        return (
            f"Generate {count} to the input prompt.{_words(config, True)}"
            f" Return {exact} as a Python list of strings, formatted as:"
            ' ["response1", "response2", "response3", ...].'
            " Output ONLY the list, with no explanations or extra text."
        )
    if m is Method.VS_COT:
        if config.output_format == "xml":
            cot = " First, think step by step inside a single <reasoning> tag. Then, "
        else:
            cot = (
                ' First, provide a single "reasoning" field as a string, detailing your'
                " step-by-step thought process. Then, "
            )
        return (
            f"Generate {count} to the input prompt using chain-of-thought"
            f" reasoning.{_words(config, True)}{cot}{_vs_format(config)}"
        )
    if m is Method.VS_MULTI:
        total = config.total
        return (
            f"You will generate a total of {total} responses to the input prompt."
            f"{_words(config, True)} First, sample {count}. {_vs_format(config)}"
        )
    return f"Generate {count} to the input prompt.{_words(config, True)} " + _vs_format(config)


def followup_instruction(config: VSConfig) -> str | None:
    """The user turn that asks for more in multi_turn / vs_multi, else None.

    Example:
        >>> followup_instruction(VSConfig(method="multi_turn"))
        'Generate another response to the original input prompt.'
    """
    if config.method is Method.MULTI_TURN:
        return "Generate another response to the original input prompt."
    if config.method is Method.VS_MULTI:
        return (
            f"Generate {_count(config, 'alternative responses')} to the original input prompt."
            f" {_threshold_text(config)}"
        )
    return None


def build_messages(
    prompt: str | Sequence[Message], config: VSConfig, *, history: Sequence[str] | None = None
) -> list[Message]:
    """Chat messages for one call: the method's system instruction and the prompt.

    For multi_turn and vs_multi, pass the assistant replies so far as
    ``history``; the result then continues the conversation with the
    follow-up turn ("Generate another response...").

    Args:
        prompt: The user's task, e.g. "Write a joke about coffee", or a
            conversation (role/content dicts); a system message of the
            conversation is kept, with the method's instruction after it.
        config: The method and its settings.
        history: Earlier assistant replies of this conversation.

    Returns:
        A list of ``{"role": ..., "content": ...}`` dicts.

    Raises:
        VSConfigError: The prompt is empty or history is given for a method
            that has no follow-up turns.

    Example:
        >>> cfg = VSConfig(method="multi_turn", n=3)
        >>> [m["role"] for m in build_messages("Joke", cfg, history=["A joke."])]
        ['system', 'user', 'assistant', 'user']
    """
    if config.method.is_completion:
        msg = (
            "direct_base is sent as a plain-text completion, not as chat messages:"
            " use completion_prompt(prompt, config)"
        )
        raise VSConfigError(msg, field="method")
    messages = compose_messages(prompt, system_instruction(config))
    if history:
        follow = followup_instruction(config)
        if follow is None:
            msg = f"history only applies to multi_turn and vs_multi, not {config.method.value}"
            raise VSConfigError(msg, field="history")
        for reply in history:
            messages.append({"role": "assistant", "content": reply})
            messages.append({"role": "user", "content": follow})
    return messages


def compose_messages(
    prompt: str | Sequence[Message], instruction: str, *, addendum: str | None = None
) -> list[Message]:
    r"""``instruction`` as the system turn, then the prompt (kept system message first).

    ``addendum`` is appended to the last user turn, after a blank line (a
    method that adds to the prompt, as SimpleStrat adds its stratum).

    Raises:
        VSConfigError: The prompt is empty, or a conversation without a user turn.

    Example:
        >>> compose_messages("Name a state", "Answer.", addendum="Pick a western one.")[1]
        {'role': 'user', 'content': 'Name a state\n\nPick a western one.'}
    """
    if isinstance(prompt, str):
        if not prompt.strip():
            msg = "prompt must be a non-empty string"
            raise VSConfigError(msg, field="prompt")
        messages: list[Message] = [
            {"role": "system", "content": instruction},
            {"role": "user", "content": prompt},
        ]
    else:
        messages = _with_instruction(prompt, instruction)
    if addendum:
        last = max(i for i, m in enumerate(messages) if m["role"] == "user")
        messages[last] = {
            "role": "user",
            "content": f"{messages[last]['content'].rstrip()}\n\n{addendum}",
        }
    return messages


COMPLETION_STOP: tuple[str, ...] = ("### User:", "### Assistant:")
"""Where a base model's completion ends: the next turn marker it invents."""

_ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}


def completion_prompt(prompt: str | Sequence[Message], config: VSConfig | None = None) -> str:
    r"""The plain-text prompt of ``direct_base``: the request as a base model continues it.

    A pretrained model without a chat template only continues text, so the
    request is framed as a transcript that ends where the answer begins, as
    in the authors' experiments (``### User: ...`` then ``### Assistant: ``);
    the reply ends at the next turn marker (:data:`COMPLETION_STOP`, cut by
    :func:`trim_completion`).

    Args:
        prompt: The user's task, or a conversation (role/content dicts).
        config: The settings; only ``word_hint`` is used.

    Returns:
        The text to send to ``POST /completions``.

    Raises:
        VSConfigError: The prompt is empty or the conversation has no user turn.

    Example:
        >>> completion_prompt("Write a joke about coffee")
        '### User: Write a joke about coffee\n### Assistant: '
    """
    words = _words(config, False) if config is not None else ""
    if isinstance(prompt, str):
        if not prompt.strip():
            msg = "prompt must be a non-empty string"
            raise VSConfigError(msg, field="prompt")
        return f"### User: {prompt}{words}\n### Assistant: "
    turns = _checked_turns(prompt)
    lines = [f"### {_ROLE_LABELS.get(m['role'], m['role'].title())}: {m['content']}" for m in turns]
    if words:
        last_user = max(i for i, m in enumerate(turns) if m["role"] == "user")
        lines[last_user] += words
    return "\n".join(lines) + "\n### Assistant: "


def trim_completion(text: str, stop: Sequence[str] = COMPLETION_STOP) -> str:
    r"""A base model's completion up to the first stop marker, stripped.

    Servers honour ``stop`` too; this makes the cut the same on every
    backend (a LlamaIndex LLM or a server that ignores ``stop``).

    Example:
        >>> trim_completion(" Decaf.\n### User: another one\n### Assistant: ...")
        'Decaf.'
    """
    end = len(text)
    for marker in stop:
        if marker:
            found = text.find(marker, 0, end)
            if found != -1:
                end = found
    return text[:end].strip()


def _checked_turns(conversation: Sequence[Message]) -> list[Message]:
    """The conversation as role/content dicts; it must hold a user message."""
    messages: list[Message] = []
    for i, m in enumerate(conversation):
        if not isinstance(m, Mapping) or not isinstance(m.get("role"), str):
            msg = f"message {i} must be a dict with a 'role' and a 'content', got {m!r:.80}"
            raise VSConfigError(msg, field="prompt")
        messages.append({"role": m["role"], "content": str(m.get("content") or "")})
    if not any(m["role"] == "user" for m in messages):
        msg = "the conversation has no user message"
        raise VSConfigError(msg, field="prompt")
    return messages


def _with_instruction(conversation: Sequence[Message], instruction: str) -> list[Message]:
    messages = _checked_turns(conversation)
    if messages[0]["role"] == "system":
        first = messages[0]["content"].rstrip()
        messages[0] = {
            "role": "system",
            "content": f"{first}\n\n{instruction}" if first else instruction,
        }
    else:
        messages.insert(0, {"role": "system", "content": instruction})
    return messages


def response_schema(config: VSConfig) -> dict[str, Any] | None:
    """JSON schema of the structured reply (tool parameters or response format).

    The list of responses is constrained to exactly k items when k is set:
    measured with the llama.cpp server, SmolLM2-135M and Qwen2.5-0.5B return
    exactly 5 of 5 with it and 1 or 2 of 5 without it.
    Single-answer methods other than CoT have no schema (text only).

    Example:
        >>> response_schema(VSConfig(k=3))["properties"]["responses"]["maxItems"]
        3
    """
    m = config.method
    alt = alternative(m)
    if alt is not None:
        return alt.schema(config.k)
    if m in (Method.DIRECT, Method.MULTI_TURN, Method.DIRECT_BASE):
        return None
    if m is Method.COT:
        return {
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, "response": {"type": "string"}},
            "required": ["reasoning", "response"],
        }
    item_props: dict[str, Any] = {"text": {"type": "string"}}
    required = ["text"]
    if m.is_verbalized:
        key = config.effective_probability_format
        item_props[key] = {"type": "number"}
        required.append(key)
    array: dict[str, Any] = {
        "type": "array",
        "items": {"type": "object", "properties": item_props, "required": required},
    }
    if config.k is not None:
        array["minItems"] = config.k
        array["maxItems"] = config.k
    else:
        array["minItems"] = 1
    props: dict[str, Any] = {"responses": array}
    top_required = ["responses"]
    if m is Method.VS_COT:
        props = {"reasoning": {"type": "string"}, **props}
        top_required = ["reasoning", "responses"]
    return {"type": "object", "properties": props, "required": top_required}
