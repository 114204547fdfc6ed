"""Error classification shared by every client: transient, rejection, Retry-After."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from vs_common import VSTransientError, is_transient, retry_after_seconds
from vs_common.providers import is_structured_rejection, normalize_finish_reason, status_of


class HTTPError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.response = SimpleNamespace(status_code=status, headers=headers or {})


def _json_error_with_ok_response() -> Exception:
    try:
        json.loads("<html>proxy error</html>")
    except json.JSONDecodeError as exc:
        exc.response = SimpleNamespace(status_code=200, headers={})  # type: ignore[attr-defined]
        return exc
    raise AssertionError


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (VSTransientError("x"), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (HTTPError(429), True),
        (HTTPError(503), True),
        (HTTPError(520), True),  # every 5xx but 501 (a CDN's "unknown error" too)
        (HTTPError(501), False),
        (HTTPError(408), True),
        (HTTPError(409), True),
        (HTTPError(401), False),
        (HTTPError(400), False),
        (ValueError("bug"), False),
        (_json_error_with_ok_response(), True),  # a 200 whose body was not JSON
    ],
)
def test_is_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_status_of_reads_response() -> None:
    assert status_of(HTTPError(502)) == 502
    assert status_of(ValueError()) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({}, None),
        ({"retry-after": "soon"}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(HTTPError(429, headers)) == expected


@pytest.mark.parametrize(
    ("status", "message", "rejected"),
    [
        (400, "tool_choice is not supported by this model", True),
        (400, "context length exceeded", False),
        (500, "1 validation error: literal_error ('body', 'response_format', 'type')", True),
        (500, "internal error in tool router", False),
        (None, "tools unsupported", False),
    ],
)
def test_structured_rejection(status: int | None, message: str, rejected: bool) -> None:
    assert is_structured_rejection(status, message) is rejected


def test_finish_reason_spellings() -> None:
    assert [normalize_finish_reason(r) for r in ("length", "max_tokens", "MAX_TOKENS")] == [
        "length"
    ] * 3
    assert normalize_finish_reason("stop") == "stop"
    assert normalize_finish_reason(None) is None
