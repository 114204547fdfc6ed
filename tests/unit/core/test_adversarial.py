"""Adversarial replies: big, deep, binary, malformed; never evaluated as code.

Sizes here are kept small enough for CI; benchmarks/adversarial.py measures
time and peak memory up to 10 MB.
"""

from __future__ import annotations

import ast
import builtins
import os
from pathlib import Path
from typing import Any

import pytest

from vs_common import StreamingParser, VSParseError, VSParserBug, parse_distribution

# Under mutation testing (make mutation, every reader instrumented) a sixteenth of the
# size: what these tests check (only VSParseError, bounded results) holds at any size.
MB = 1024 * 1024 // (16 if "MUTANT_UNDER_TEST" in os.environ else 1)

ADVERSARIAL = {
    "deep_brackets": "[" * MB,
    "deep_objects": '{"a":' * (MB // 5),
    "deep_python_literal": "{'a': " * (MB // 6),
    "unclosed_tags": "<response><text>x" * (MB // 10),
    "unclosed_response": "<response>" * (MB // 10),
    "one_huge_line": "1. " + "word " * (MB // 5),
    "million_digit_number": '[{"text": "a", "probability": ' + "9" * MB + "}]",
    "nul_bytes": '{"responses": [{"text": "a\\u0000b", "probability": 1}]}\x00\x00',
    "lone_surrogates": "1. \ud800 joke (0.5)\n2. \udfff joke (0.5)\n",
    "huge_unterminated_string": '{"responses": [{"text": "' + "a" * MB,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_input_raises_only_parse_error(name: str) -> None:
    text = ADVERSARIAL[name]
    try:
        dist = parse_distribution(text)
    except VSParseError as exc:
        assert not isinstance(exc, VSParserBug), exc
        assert exc.raw_output is text
        assert len(str(exc)) < 1000  # the message previews the output, it does not copy it
        return
    assert dist.candidates
    assert len(dist.candidates) <= 1000


def test_streaming_adversarial_input() -> None:
    text = ADVERSARIAL["unclosed_tags"]
    sp = StreamingParser()
    for i in range(0, len(text), 4096):
        sp.feed(text[i : i + 4096])
    assert len(sp.close().candidates) <= 1000


def test_million_digit_probability_is_unusable_not_fatal() -> None:
    dist = parse_distribution(ADVERSARIAL["million_digit_number"])
    assert dist.texts == ["a"]
    assert dist.candidates[0].raw_probability is None


def test_nul_bytes_and_surrogates_survive() -> None:
    assert parse_distribution(ADVERSARIAL["nul_bytes"]).texts == ["a\x00b"]
    assert parse_distribution(ADVERSARIAL["lone_surrogates"]).texts == [
        "\ud800 joke",
        "\udfff joke",
    ]
    assert parse_distribution(b"1. caf\xc3\xa9 (0.5)\n2. \xff\xfe bad (0.5)").texts[0] == "café"


def test_model_text_is_never_evaluated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        msg = "model text must never be evaluated"
        raise AssertionError(msg)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(ast, "literal_eval", refuse)
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    reply = "{'responses': [{'text': " + repr(payload) + ", 'probability': 1}, " + payload + "]}"
    dist = parse_distribution(reply)
    assert payload in dist.texts
    assert not marker.exists()


def test_python_literal_reply_is_read_without_eval() -> None:
    reply = (
        "{'responses': [{'text': 'it\\'s decaf', 'probability': 0.5},"
        " {'text': 'b', 'probability': None}]}"
    )
    dist = parse_distribution(reply)
    assert dist.texts == ["it's decaf", "b"]
