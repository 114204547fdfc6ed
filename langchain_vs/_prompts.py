"""Prompt builders: VS instructions as LangChain chat prompt templates."""

from __future__ import annotations

from langchain_core.messages import SystemMessage
from langchain_core.prompts import (
    ChatPromptTemplate,
    PromptTemplate,
    SystemMessagePromptTemplate,
)

from langchain_vs._config import resolve_config
from vs_common import Method, OutputFormat, ProbabilityFormat, VSConfig, system_instruction

__all__ = ["add_vs_instructions", "escape_braces", "vs_prompt"]


def escape_braces(text: str) -> str:
    """Escape ``{`` and ``}`` so ``text`` is literal inside an f-string template.

    Example:
        >>> escape_braces('{"responses": []}')
        '{{"responses": []}}'
    """
    return text.replace("{", "{{").replace("}", "}}")


def vs_prompt(
    config: VSConfig | None = None,
    *,
    template: str = "{input}",
    method: Method | str | None = None,
    k: int | None = None,
    n: int | None = None,
    threshold: float | None = None,
    probability_format: ProbabilityFormat | None = None,
    output_format: OutputFormat | None = None,
    word_hint: int | None = None,
) -> ChatPromptTemplate:
    """A chat prompt asking for a verbalized distribution (any method of the paper).

    The system message is the core's instruction for the method (kept
    literal, so braces in it are never read as variables); the human message
    is ``template``, whose variables become the prompt's input variables.
    Multi-turn methods get their first turn only: use
    :class:`~langchain_vs.VerbalizedSampler` to run the whole conversation.

    Args:
        config: The VS configuration (default ``VSConfig()``: vs_standard, k=5).
        template: The human message, an f-string template.
        method: Overrides ``config.method``.
        k: Overrides ``config.k``.
        n: Overrides ``config.n``.
        threshold: Overrides ``config.threshold`` (adds the tail sentence).
        probability_format: Overrides ``config.probability_format``.
        output_format: Overrides ``config.output_format`` (``json``/``xml``).
        word_hint: Overrides ``config.word_hint``.

    Returns:
        A ``ChatPromptTemplate`` with a system and a human message.

    Raises:
        VSConfigError: An option is out of range.

    Example:
        >>> p = vs_prompt(k=3, template="Write a joke about {topic}")
        >>> p.input_variables
        ['topic']
    """
    cfg = resolve_config(
        config,
        method=method,
        k=k,
        n=n,
        threshold=threshold,
        probability_format=probability_format,
        output_format=output_format,
        word_hint=word_hint,
    )
    return ChatPromptTemplate.from_messages(
        [SystemMessage(content=system_instruction(cfg)), ("human", template)]
    )


def add_vs_instructions(
    prompt: ChatPromptTemplate,
    config: VSConfig | None = None,
    *,
    method: Method | str | None = None,
    k: int | None = None,
    threshold: float | None = None,
    probability_format: ProbabilityFormat | None = None,
    output_format: OutputFormat | None = None,
) -> ChatPromptTemplate:
    """Add VS instructions to an existing chat prompt, keeping everything else.

    If the prompt starts with a system message template, the instruction is
    appended to it (escaped for its template format); otherwise a literal
    system message is put first. Input variables, partial variables,
    placeholders and other messages are unchanged.

    Args:
        prompt: The user's prompt.
        config: The VS configuration (default ``VSConfig()``).
        method: Overrides ``config.method``.
        k: Overrides ``config.k``.
        threshold: Overrides ``config.threshold``.
        probability_format: Overrides ``config.probability_format``.
        output_format: Overrides ``config.output_format``.

    Returns:
        A new ``ChatPromptTemplate``; ``prompt`` is not modified.

    Example:
        >>> base = ChatPromptTemplate.from_messages([("human", "Name a {thing}")])
        >>> add_vs_instructions(base, k=4).input_variables
        ['thing']
    """
    cfg = resolve_config(
        config,
        method=method,
        k=k,
        threshold=threshold,
        probability_format=probability_format,
        output_format=output_format,
    )
    instruction = system_instruction(cfg)
    messages = list(prompt.messages)
    first = messages[0] if messages else None
    merged = _merged_system(first, instruction) if first is not None else None
    if merged is not None:
        messages[0] = merged
    elif isinstance(first, SystemMessage):
        messages[0] = SystemMessage(content=f"{first.text.rstrip()}\n\n{instruction}")
    else:
        messages.insert(0, SystemMessage(content=instruction))
    return prompt.model_copy(update={"messages": messages})


def _merged_system(first: object, instruction: str) -> SystemMessagePromptTemplate | None:
    """The leading system template with the instruction appended, if it is one."""
    if not isinstance(first, SystemMessagePromptTemplate):
        return None
    inner = first.prompt
    if not isinstance(inner, PromptTemplate):
        return None
    fmt = inner.template_format
    if fmt == "f-string":
        extra = escape_braces(instruction)
    elif "{{" in instruction or "{%" in instruction or "{#" in instruction:
        return None  # would be read as mustache/jinja2 syntax: keep it literal instead
    else:
        extra = instruction
    new_inner = inner.model_copy(update={"template": f"{inner.template.rstrip()}\n\n{extra}"})
    return first.model_copy(update={"prompt": new_inner})
