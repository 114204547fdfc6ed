"""Hostile input files: a malformed, deeply nested or huge line is one failed row, never a crash.

A hypothesis fuzz over JSONL lines (random bytes, 100,000 ``[``, invalid
UTF-8, lone surrogates, NaN, integers past 64 bits, a ``meta`` nested
thousands deep, U+2028 inside a prompt...) mixed with valid rows, on the local
engine, the process engine (``--processes``) and the Ray engine (a real local
cluster; few examples there): the run ends, every valid row is in the output,
every other line is one record of the errors file with a one-line message,
and the counts add up. Then a line longer than the limit, on each engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vs_common import RetryPolicy
from vs_common.backends import OpenAICompatClient
from vs_common.scale import (
    BatchOptions,
    BatchSummary,
    RayOptions,
    client_factory,
    run_batch,
    run_batch_processes,
    run_batch_ray,
)
from vs_common.scale._formats import MAX_LINE_BYTES
from vs_common.testing import FaultInjectingServer

pytestmark = pytest.mark.timeout(900)

if os.environ.get("CI"):
    import ray  # CI installs the ray extra: a missing Ray is a failure there
else:
    ray = pytest.importorskip("ray", reason='needs pip install "verbalized-sampling-kit[ray]"')


HOSTILE_FIXED = [
    b"[" * 100_000,
    b"{" * 50_000,
    b'{"id": "s", "prompt": "\\ud800"}',  # a lone surrogate
    b'{"id": "u", "prompt": "caf\xff"}',  # invalid UTF-8
    b"\xff\xfe\x00\x00",
    b'{"id": 123456789012345678901234567890, "prompt": "big id"}',
    b'{"id": "n", "prompt": "x", "threshold": NaN}',
    b'{"id": "i", "prompt": "x", "k": 1e999}',
    b'{"id": "m", "prompt": "x", "meta": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'{"id": "m2", "prompt": "x", "meta": ' + b"[" * 900 + b"]" * 900 + b"}",
    b'{"id": "d", "prompt": "x", "k": {"k": {"k": []}}}',
    b"null",
    b'"just a string"',
    b"\x00" * 64,
]

hostile_lines = st.one_of(
    st.sampled_from(HOSTILE_FIXED),
    st.binary(max_size=120),
    st.integers(1, 120_000).map(lambda n: b"[" * n),
    st.text(max_size=40).map(lambda t: json.dumps({"id": 0, "prompt": t, "meta": t}).encode()),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=10,
    ).map(lambda v: json.dumps({"id": 0, "prompt": "p", "meta": v, "k": v}).encode()),
)


@st.composite
def input_files(draw: st.DrawFn, max_lines: int) -> tuple[list[bytes], set[str]]:
    """Lines of a JSONL file (no newline inside) and the ids of its valid rows."""
    lines: list[bytes] = []
    valid: set[str] = set()
    for i in range(draw(st.integers(1, max_lines))):
        if draw(st.booleans()):
            ident = f"v{i}"
            # U+2028 and \r are line breaks to str.splitlines(), not to JSONL.
            prompt = draw(st.sampled_from(["Joke", "Joke\u2028two", "a\rb", "\u00e9t\u00e9"]))
            lines.append(json.dumps({"id": ident, "prompt": prompt}, ensure_ascii=False).encode())
            valid.add(ident)
        else:
            line = draw(hostile_lines).replace(b"\n", b" ")
            # A hostile line with a valid id gets one no valid row has.
            lines.append(line.replace(b'"id": 0', f'"id": "h{i}"'.encode()))
    return lines, valid


@pytest.fixture(scope="module")
def server() -> Iterator[FaultInjectingServer]:
    with FaultInjectingServer(k=2) as healthy:
        yield healthy


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


Engine = Callable[[BatchOptions, str], BatchSummary]


def _local(options: BatchOptions, url: str) -> BatchSummary:
    return asyncio.run(run_batch(options, OpenAICompatClient(url, "m", timeout=5)))


def _processes(options: BatchOptions, url: str) -> BatchSummary:
    return run_batch_processes(options, client_factory(OpenAICompatClient(url, "m", timeout=5)), 2)


def _ray(options: BatchOptions, url: str) -> BatchSummary:
    factory = client_factory(OpenAICompatClient(url, "m", timeout=5))
    return run_batch_ray(options, factory, RayOptions(workers=1, concurrency_per_worker=4))


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def _check_run(engine: Engine, url: str, lines: list[bytes], valid: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        inp.write_bytes(b"\n".join(lines) + b"\n")
        options = BatchOptions(
            inp,
            out,
            {"k": 2, "n": 2},
            concurrency=4,
            structured="text",
            retry=RetryPolicy(max_retries=0, max_reasks=0),
            max_consecutive_failures=0,
        )
        summary = engine(options, url)  # the run ends: no traceback, whatever the lines
        rows = sum(1 for line in lines if line.strip())
        assert summary.written + summary.failed + summary.duplicates == rows
        done = {str(r["id"]) for r in _records(out)}
        assert valid <= done  # every valid row was sampled
        errors = _records(Path(tmp) / "out.errors.jsonl")
        assert len(errors) == summary.failed
        for record in errors:
            message = record["message"]
            assert isinstance(message, str) and message.isprintable(), record


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(input_files(max_lines=12))
def test_fuzzed_lines_on_the_local_engine(
    server: FaultInjectingServer, case: tuple[list[bytes], set[str]]
) -> None:
    _check_run(_local, server.base_url, *case)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(input_files(max_lines=10))
def test_fuzzed_lines_on_the_process_engine(
    server: FaultInjectingServer, case: tuple[list[bytes], set[str]]
) -> None:
    _check_run(_processes, server.base_url, *case)


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(input_files(max_lines=8))
def test_fuzzed_lines_on_the_ray_engine(
    server: FaultInjectingServer, local_ray: Any, case: tuple[list[bytes], set[str]]
) -> None:
    _check_run(_ray, server.base_url, *case)


@pytest.mark.parametrize("engine", ["local", "processes", "ray"])
def test_every_fixed_hostile_line_and_a_line_over_the_limit(
    server: FaultInjectingServer, request: pytest.FixtureRequest, engine: str
) -> None:
    if engine == "ray":
        request.getfixturevalue("local_ray")
    huge = b'{"id": "huge", "prompt": "' + b"x" * MAX_LINE_BYTES + b'"}'
    lines = [
        b'{"id": "first", "prompt": "Joke"}',
        huge,
        *HOSTILE_FIXED,
        b'{"id": "last", "prompt": "J"}',
    ]
    engines: dict[str, Engine] = {"local": _local, "processes": _processes, "ray": _ray}
    _check_run(engines[engine], server.base_url, lines, {"first", "last"})
