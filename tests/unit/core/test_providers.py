"""vs_common.providers: the OpenAI wire rules every path uses."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from vs_common.calls import CallRequest
from vs_common.providers import (
    TOOL_DESCRIPTION,
    decode_tool_arguments,
    is_transient_status,
    parse_retry_after,
    pick_tool_arguments,
    response_format,
    structured_fields,
    tool_calls_of,
    tool_finish_reason,
)

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"responses": {"type": "array"}}}


def test_transient_statuses_are_every_5xx_but_501_and_408_409_425_429():
    transient = {s for s in range(100, 600) if is_transient_status(s)}
    assert transient == {408, 409, 425, 429} | (set(range(500, 600)) - {501})


class CaseInsensitive:
    """Headers the way httpx and aiohttp hold them."""

    def __init__(self, **items: str) -> None:
        self._items = {k.lower().replace("_", "-"): v for k, v in items.items()}

    def get(self, name: str) -> str | None:
        return self._items.get(name.lower())


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"RETRY-AFTER-MS": "250", "Retry-After": "9"}, 0.25),  # the finer one wins
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
        (CaseInsensitive(Retry_After="4"), 4.0),
        (CaseInsensitive(retry_after_ms="1500"), 1.5),
    ],
)
def test_retry_after_from_any_headers(headers: Any, expected: float | None):
    assert parse_retry_after(headers) == expected


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after({"Retry-After": when}) or 0) <= 31


def test_retry_after_on_headers_that_fail():
    class Broken:
        def get(self, name: str) -> str:
            raise RuntimeError(name)

    assert parse_retry_after(Broken()) is None


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ('{"responses": [1]}', {"responses": [1]}),
        ("[1, 2]", [1, 2]),
        ({"responses": []}, {"responses": []}),
        ('{"responses": [{"te', '{"responses": [{"te'),  # cut: the parser repairs it
        ('"just a string"', '"just a string"'),
        ("{}", None),
        ("  ", None),
        ({}, None),
        (None, None),
        ("1" * 5000, "1" * 5000),  # a number too long for int(): kept as text
    ],
)
def test_decode_tool_arguments(raw: Any, decoded: Any):
    assert decode_tool_arguments(raw) == decoded


def test_pick_prefers_the_named_call_then_the_first_with_arguments():
    calls = [("other", '{"x": 1}'), ("submit", '{"y": 2}')]
    assert pick_tool_arguments(calls, "submit") == {"y": 2}
    assert pick_tool_arguments(calls, "missing") == {"x": 1}
    assert pick_tool_arguments([("submit", "{}"), ("other", "[3]")], "submit") == [3]
    assert pick_tool_arguments([], "submit") is None


def test_tool_calls_of_reads_tool_calls_and_the_legacy_function_call():
    message = {
        "tool_calls": [{"function": {"name": "a", "arguments": "{}"}}, "junk", {"x": 1}],
        "function_call": {"name": "b", "arguments": "[]"},
    }
    assert tool_calls_of(message) == [("a", "{}"), ("b", "[]")]


@pytest.mark.parametrize(
    ("reported", "arguments", "tokens", "limit", "expected"),
    [
        ("tool_calls", '{"resp', 64, 64, "length"),  # llama.cpp: cut, yet "tool_calls"
        ("stop", '{"resp', 70, 64, "length"),
        ("tool_calls", '{"resp', 12, 64, "tool_calls"),  # malformed, not cut
        ("tool_calls", {"responses": []}, 64, 64, "tool_calls"),  # decoded: complete
        ("tool_calls", '{"resp', 64, None, "tool_calls"),  # limit unknown
        ("tool_calls", '{"resp', None, 64, "tool_calls"),  # usage unknown
        ("max_tokens", {"responses": []}, 3, 64, "length"),  # spellings normalized
    ],
)
def test_cut_tool_call_rule(reported, arguments, tokens, limit, expected):
    got = tool_finish_reason(reported, arguments, completion_tokens=tokens, max_tokens=limit)
    assert got == expected


def test_structured_fields_per_mode():
    tool = structured_fields(CallRequest(messages=[], structured="tool", schema=SCHEMA))
    assert tool["tools"][0]["function"] == {
        "name": "submit_responses",
        "description": TOOL_DESCRIPTION,
        "parameters": SCHEMA,
    }
    assert tool["tool_choice"] == {"type": "function", "function": {"name": "submit_responses"}}
    fmt = structured_fields(CallRequest(messages=[], structured="json_schema", schema=SCHEMA))
    assert fmt == {"response_format": response_format("submit_responses", SCHEMA)}
    assert fmt["response_format"]["json_schema"]["schema"] == SCHEMA
    assert structured_fields(CallRequest(messages=[], structured="tool", schema=None)) == {}
    assert structured_fields(CallRequest(messages=[], structured="text", schema=SCHEMA)) == {}
