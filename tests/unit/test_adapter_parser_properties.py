"""Property tests: the adapters' parsers raise only their documented errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vs_common import VSParseError

TOKENS = [
    *"{}[]<>/\"':,.%|*#-_\\\n 0123456789",
    *["response", "text", "probability", "<response>", "</response>", "<text>", "</text>"],
    *["```json", "```", "1. ", "- ", "**", "responses", '"text": "', '"probability": '],
]
TEXT = st.one_of(st.text(max_size=300), st.lists(st.sampled_from(TOKENS), max_size=80).map("".join))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(TEXT)
def test_langchain_parser_raises_only_output_parser_exception(text: str) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.exceptions import OutputParserException

    from langchain_vs import VerbalizedSamplingParser

    try:
        dist = VerbalizedSamplingParser().parse(text)
    except OutputParserException as exc:
        assert exc.llm_output == text
    else:
        assert dist.candidates


@SETTINGS
@given(TEXT)
def test_llamaindex_parser_raises_only_parse_error(text: str) -> None:
    pytest.importorskip("llama_index.core")
    from llamaindex_vs import VerbalizedSamplingOutputParser

    try:
        dist = VerbalizedSamplingOutputParser().parse(text)
    except VSParseError as exc:
        assert exc.raw_output == text
    else:
        assert dist.candidates
