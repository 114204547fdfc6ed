"""A LlamaIndex output parser for Verbalized Sampling replies."""

from __future__ import annotations

from llama_index.core.types import BaseOutputParser

from vs_common import VerbalizedDistribution, VSConfig, read_reply, system_instruction

__all__ = ["VerbalizedSamplingOutputParser"]


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class VerbalizedSamplingOutputParser(BaseOutputParser):
    """Ask for k candidates with probabilities and read them back.

    ``format()`` appends the VS instruction of ``config`` (the paper's wording,
    from :func:`vs_common.system_instruction`) to a query or prompt, braces
    escaped as LlamaIndex prompt templates expect; ``parse()`` returns a
    :class:`vs_common.VerbalizedDistribution` read by the robust core parser
    (JSON, XML tags, lists, tables, cut-off output...). It works as a prompt
    template's ``output_parser``, an ``LLM.output_parser`` and with
    ``LLMTextCompletionProgram`` (``output_cls=VerbalizedDistribution``).

    Args:
        config: What to ask for (method, k, threshold, formats); default
            ``VSConfig()`` (VS-Standard, k=5).
        strict: Raise instead of guessing when the reply can be read more
            than one way (see :func:`vs_common.parse_distribution`).

    Raises:
        vs_common.VSParseError: From ``parse()`` when no candidate can be
            recovered; a ``ValueError`` whose ``raw_output`` is the text.

    Example:
        >>> parser = VerbalizedSamplingOutputParser(VSConfig(k=2))
        >>> "Generate 2 responses" in parser.format("Tell a joke about coffee")
        True
        >>> parser.parse(
        ...     '{"responses": [{"text": "Decaf?", "probability": 0.6},'
        ...     ' {"text": "Brew-tiful.", "probability": 0.4}]}'
        ... ).texts
        ['Decaf?', 'Brew-tiful.']
    """

    def __init__(self, config: VSConfig | None = None, *, strict: bool = False) -> None:
        self._config = config if config is not None else VSConfig()
        self._strict = strict

    @property
    def config(self) -> VSConfig:
        """The VS configuration the instruction is written for."""
        return self._config

    @property
    def instruction(self) -> str:
        """The VS instruction, unescaped."""
        return system_instruction(self._config)

    @property
    def format_string(self) -> str:
        """The VS instruction with braces escaped for LlamaIndex templates."""
        return _escape_braces(self.instruction)

    def format(self, query: str) -> str:
        """Append the VS instruction to a query or prompt.

        Args:
            query: The query, prompt or template text.

        Returns:
            ``query``, a blank line, and the escaped instruction.
        """
        if not query.strip():
            return self.format_string
        return f"{query.rstrip()}\n\n{self.format_string}"

    def parse(self, output: str) -> VerbalizedDistribution:
        """Read the candidates and their probabilities from a model's reply.

        Args:
            output: The reply text.

        Returns:
            The distribution, probabilities normalized, repairs recorded.

        Raises:
            vs_common.VSParseError: No candidate could be recovered (or, with
                ``strict``, the reply can be read more than one way).
        """
        return read_reply(output, method=self._config.method, strict=self._strict)

    def __repr__(self) -> str:
        strict = ", strict=True" if self._strict else ""
        return f"{type(self).__name__}(config={self._config!r}{strict})"
