"""VerbalizedSamplingParser: a LangChain output parser for VS replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk
from langchain_core.output_parsers.transform import BaseCumulativeTransformOutputParser
from langchain_core.outputs import ChatGeneration, Generation
from pydantic import Field

from langchain_vs._config import take_config_fields
from langchain_vs._convert import finish_reason_of, message_output
from langchain_vs._prompts import escape_braces
from vs_common import (
    VerbalizedDistribution,
    VSConfig,
    VSParseError,
    read_reply,
    streaming_parser,
    system_instruction,
)

__all__ = ["VerbalizedSamplingParser"]


class VerbalizedSamplingParser(BaseCumulativeTransformOutputParser[VerbalizedDistribution]):
    """Parse a model's VS reply into a :class:`~vs_common.VerbalizedDistribution`.

    Reads text in any shape the core parser recovers (JSON, XML tags, lists,
    tables...) and AI messages whose answer is in a tool call. While
    streaming it yields a growing distribution each time a candidate is
    complete, never a half-read probability, and finally the distribution
    of the whole reply (the same as ``invoke``). Output that holds no
    candidate raises ``OutputParserException`` with ``llm_output`` set, so
    LangChain's retry parsers work.

    Attributes:
        config: The VS configuration the prompt used (its method decides how
            a reply is read; format instructions come from it). VSConfig
            fields may also be passed directly: ``VerbalizedSamplingParser(k=3)``.
        tool_name: Read the tool call with this name (default: the first).
        strict: Raise ``OutputParserException`` instead of guessing when the
            reply can be read more than one way (see ``parse_distribution``);
            streamed partial results are never strict.

    Raises:
        ValueError: ``diff=True`` (streams always yield the whole distribution).

    Example:
        >>> parser = VerbalizedSamplingParser()
        >>> parser.invoke(
        ...     '{"responses": [{"text": "Hi", "probability": 0.4},'
        ...     ' {"text": "Yo", "probability": 0.6}]}'
        ... ).texts
        ['Hi', 'Yo']
    """

    config: VSConfig = Field(default_factory=VSConfig)
    tool_name: str | None = None
    strict: bool = False

    def __init__(self, **kwargs: Any) -> None:
        # VSConfig fields given directly are folded into ``config`` here, before
        # pydantic runs, so a bad value raises VSConfigError naming the field.
        super().__init__(**take_config_fields(kwargs))
        if self.diff:
            msg = "diff streaming is not supported: streams yield the whole distribution so far"
            raise ValueError(msg)

    @property
    def _type(self) -> str:
        return "verbalized_sampling"

    def get_format_instructions(self) -> str:
        """The VS instruction for ``config``, braces escaped for f-string templates."""
        return escape_braces(system_instruction(self.config))

    # parse_result(partial=True) returns None when nothing is complete yet,
    # like langchain-core's JSON parsers; the base class types it as T only.
    def parse_result(  # type: ignore[override]
        self, result: list[Generation], *, partial: bool = False
    ) -> VerbalizedDistribution | None:
        """Parse the first generation (text or AI message with a tool call).

        Args:
            result: The generations; only the first is read.
            partial: The output may be incomplete: return the complete
                candidates so far, or None when there is none yet.

        Returns:
            The distribution (None only when ``partial`` and nothing is complete).

        Raises:
            OutputParserException: No candidate could be recovered (not partial).
        """
        if not result:
            if partial:
                return None
            msg = "no generation to parse"
            raise OutputParserException(msg, llm_output="")
        gen = result[0]
        truncated = partial
        if isinstance(gen, ChatGeneration):
            output: Any = message_output(gen.message, self.tool_name)
            truncated = truncated or finish_reason_of(gen.message) == "length"
        else:
            output = gen.text
        try:
            return read_reply(
                output,
                method=self.config.method,
                truncated=truncated,
                strict=self.strict and not partial,
            )
        except VSParseError as exc:
            if partial:
                return None
            raw = output if isinstance(output, str) else str(output)
            msg = f"Could not parse a verbalized distribution: {exc.reason}"
            raise OutputParserException(msg, llm_output=raw) from exc

    def parse(self, text: str) -> VerbalizedDistribution:
        """Parse a complete reply text.

        Raises:
            OutputParserException: No candidate could be recovered.
        """
        dist = self.parse_result([Generation(text=text)])
        if dist is None:  # pragma: no cover - only partial parses return None
            msg = "no candidate responses found"
            raise OutputParserException(msg, llm_output=text)
        return dist

    def _transform(self, input: Iterator[str | BaseMessage]) -> Iterator[VerbalizedDistribution]:
        stream = _Stream(self)
        for chunk in input:
            dist = stream.add(chunk)
            if dist is not None:
                yield dist
        final = stream.finish()
        if final is not None:
            yield final

    async def _atransform(
        self,
        input: AsyncIterator[str | BaseMessage],
    ) -> AsyncIterator[VerbalizedDistribution]:
        stream = _Stream(self)
        async for chunk in input:
            dist = stream.add(chunk)
            if dist is not None:
                yield dist
        final = stream.finish()
        if final is not None:
            yield final


class _Stream:
    """One stream's state: incremental parsers for the text and the tool arguments.

    The core's StreamingParser re-parses only when a chunk can close a
    candidate, so a long stream costs far less than re-parsing every chunk.
    """

    def __init__(self, parser: VerbalizedSamplingParser) -> None:
        self.parser = parser
        method = parser.config.method
        self.text = streaming_parser(method)
        self.args = streaming_parser(method)
        self.tool_index: int | str | None = None
        self.acc: BaseMessageChunk | None = None
        self.whole: BaseMessage | None = None
        self.acc_text: list[str] = []
        self.last: VerbalizedDistribution | None = None

    def add(self, chunk: str | BaseMessage) -> VerbalizedDistribution | None:
        if isinstance(chunk, str):
            self.acc_text.append(chunk)
            new = bool(self.text.feed(chunk))
        else:
            new = bool(self.text.feed(chunk.text))
            if isinstance(chunk, BaseMessageChunk):
                self.acc = chunk if self.acc is None else self.acc + chunk
                new = self._feed_tool_args(chunk) or new
            else:  # a whole message (a model that does not stream): read it at the end
                self.whole = chunk
        if not new:
            return None
        dist = self.args.distribution or self.text.distribution
        if dist is None or dist == self.last:
            return None
        self.last = dist
        return dist

    def _feed_tool_args(self, chunk: BaseMessageChunk) -> bool:
        if not isinstance(chunk, AIMessageChunk):
            return False
        new = False
        wanted = self.parser.tool_name
        for tc in chunk.tool_call_chunks:
            index = tc.get("index")
            name = tc.get("name")
            if self.tool_index is None and (wanted is None or name == wanted or name is None):
                self.tool_index = index if index is not None else tc.get("id")
            if index == self.tool_index and tc.get("args"):
                new = bool(self.args.feed(tc["args"] or "")) or new
        return new

    def finish(self) -> VerbalizedDistribution | None:
        message = self.whole if self.whole is not None else self.acc
        if message is not None:
            gen: Generation = ChatGeneration(message=message)
        else:
            gen = Generation(text="".join(self.acc_text))
        final = self.parser.parse_result([gen])
        if final is None or final == self.last:
            return None
        return final
