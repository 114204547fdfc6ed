"""API keys never appear in reprs, errors, recorded failures, traces or logs.

The fault server echoes the Authorization header in its error bodies (as
careless servers do), the worst case for leaking a key into an error.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

import pytest

from vs_common import RetryPolicy, VSConfig, VSSamplingError, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.calls import redact_secrets
from vs_common.testing import FaultInjectingServer, FaultRates

KEY = "sk-test-SECRET0123456789abcdef"
FAST = RetryPolicy(max_retries=0, max_reasks=0, backoff_base=0.0)


def _assert_clean(*texts: object) -> None:
    for text in texts:
        rendered = text if isinstance(text, str) else repr(text)
        assert KEY not in rendered
        assert "SECRET0123456789" not in rendered


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {KEY}",
        f'{{"api_key": "{KEY}"}}',
        f"api-key={KEY} rejected",
        f"bad key {KEY}",
        "x-api-key: AIzaSyA1234567890abcdefghijklmnop",
    ],
)
def test_redact_secrets(text: str) -> None:
    out = redact_secrets(text)
    assert "***" in out
    _assert_clean(out)
    assert "AIzaSy" not in out


async def test_core_client_failures_and_errors_are_clean(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FaultInjectingServer(FaultRates(status_500=1.0), echo_auth=True) as server:
        client = OpenAICompatClient(server.base_url, "m", api_key=KEY)
        _assert_clean(repr(client), str(client))
        with pytest.raises(VSSamplingError) as info:
            await run_sampling("Joke", VSConfig(k=2, n=4), client, retry=FAST)
    err = info.value
    _assert_clean(str(err), repr(err), err.failures, caplog.text)
    assert err.failures


async def test_core_failures_are_redacted_even_if_the_client_does_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def leaky(request: object) -> str:
        msg = f"HTTP 429: invalid key Bearer {KEY}"
        raise ConnectionError(msg) if getattr(request, "attempt", 0) == 0 else PermissionError(msg)

    dist = await run_sampling(
        "Joke", VSConfig(k=2, n=2), leaky, min_successes=0, retry=RetryPolicy(backoff_base=0.0)
    )
    _assert_clean(dist.failures, dist.to_dict(), caplog.text)
    assert "Bearer ***" in dist.failures[0].message
    logged = [r.getMessage() for r in caplog.records if r.name == "vs_common.sampling"]
    assert any("retry 1 of 3" in m and "Bearer ***" in m for m in logged), logged
    assert any("failed after 2 attempts" in m and "Bearer ***" in m for m in logged), logged


async def test_langchain_sampler_repr_failures_traces_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_core.tracers.base import AsyncBaseTracer
    from langchain_core.tracers.schemas import Run

    from langchain_vs import VerbalizedSampler

    class Collect(AsyncBaseTracer):
        def __init__(self) -> None:
            super().__init__()
            self.runs: list[Run] = []

        async def _persist_run(self, run: Run) -> None:
            self.runs.append(run)

        async def _end_trace(self, run: Run) -> None:
            self.runs.append(run)
            await super()._end_trace(run)

    caplog.set_level(logging.DEBUG)
    server = FaultInjectingServer(
        FaultRates(status_500=0.5), seed=2, echo_auth=True, schedule=("status_500", "ok")
    )
    with server:
        llm = langchain_openai.ChatOpenAI(
            model="m", base_url=server.base_url, api_key=KEY, max_retries=0, timeout=5
        )
        sampler = VerbalizedSampler(llm=llm, k=2, n=8, retry=FAST, min_successes=0)
        tracer = Collect()
        dist = await sampler.ainvoke("Joke", config={"callbacks": [tracer]})
    assert dist.failures, "the run should have recorded failures"
    traced = json.dumps([_run_data(r) for r in tracer.runs], default=_default)
    _assert_clean(repr(sampler), str(sampler), dist.failures, traced, caplog.text)
    _assert_clean(json.dumps(sampler.to_json(), default=str))


def _run_data(run: Any) -> list[dict[str, Any]]:
    """Every run of the trace as data, except a model run's own error text.

    LangChain records a provider exception verbatim in the model's run; when a
    server echoes the key in its error body (this fake does, real OpenAI masks
    it) that text is the provider's, out of this library's reach. Everything
    the sampler records itself (its run, inputs, outputs, failures) is checked.
    """
    data = run.model_dump(exclude={"child_runs"})
    if run.run_type == "llm":
        data.pop("error", None)
        data["events"] = [e for e in data.get("events", []) if e.get("name") != "error"]
    out = [data]
    for child in run.child_runs:
        out.extend(_run_data(child))
    return out


def _default(value: Any) -> str:
    if isinstance(value, UUID):
        return str(value)
    return repr(value)


async def test_llamaindex_workflow_and_tool_are_clean(caplog: pytest.LogCaptureFixture) -> None:
    openai_like = pytest.importorskip("llama_index.llms.openai_like")
    from llamaindex_vs import (
        VerbalizedSamplingWorkflow,
        verbalized_sampling_tool,
    )

    caplog.set_level(logging.DEBUG)
    server = FaultInjectingServer(
        FaultRates(status_500=0.5), seed=4, echo_auth=True, schedule=("status_500", "ok")
    )
    with server:
        llm = openai_like.OpenAILike(
            model="m",
            api_base=server.base_url,
            api_key=KEY,
            is_chat_model=True,
            is_function_calling_model=True,
            max_retries=0,
            timeout=5,
        )
        workflow = VerbalizedSamplingWorkflow(
            llm=llm, config=VSConfig(k=2, n=8), retry=FAST, min_successes=0, seed=1, timeout=60
        )
        result = await workflow.run(prompt="Joke")
        tool = verbalized_sampling_tool(llm, VSConfig(k=2, n=4), retry=FAST, min_successes=0)
        try:
            output: Any = await tool.acall(prompt="Joke")
        except VSSamplingError as exc:  # every call of the tool faulted: the error is clean too
            output = exc
    _assert_clean(repr(workflow), str(result), repr(result), caplog.text)
    _assert_clean(str(output), repr(getattr(output, "raw_output", output)), repr(tool))
    _assert_clean(repr(tool.metadata))
    _assert_clean(result.distribution.failures)


async def test_debug_logs_record_retries_and_fallbacks_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(max_retries=2, max_reasks=1, backoff_base=0.0, jitter=0.0)
    with FaultInjectingServer(FaultRates(status_500=1.0), echo_auth=True) as server:
        client = OpenAICompatClient(server.base_url, "m", api_key=KEY)
        with pytest.raises(VSSamplingError):
            await run_sampling("Joke", VSConfig(k=2, n=2), client, retry=policy)
    ours = [r for r in caplog.records if r.name.startswith("vs_common")]
    messages = [r.getMessage() for r in ours]
    assert any("retry 1 of 2" in m for m in messages), messages
    assert any("failed after 3 attempts" in m for m in messages), messages
    assert any(r.levelno == logging.DEBUG and "HTTP 500" in r.getMessage() for r in ours)
    assert any("Authorization: Bearer ***" in m for m in messages)  # the echo, redacted
    _assert_clean(caplog.text, *messages)


def test_the_library_is_silent_unless_logging_is_configured() -> None:
    import subprocess
    import sys

    code = (
        "import asyncio\n"
        "from vs_common import RetryPolicy, VSConfig, run_sampling\n"
        "async def call(request):\n"
        "    if request.attempt == 0:\n"
        "        raise TimeoutError('slow')\n"
        "    return 'not a distribution' if request.attempt == 1 else '[\"a\", \"b\"]'\n"
        "policy = RetryPolicy(backoff_base=0.0)\n"
        "dist = asyncio.run(run_sampling('Joke', VSConfig(k=2), call, retry=policy))\n"
        "print(len(dist.candidates))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "2"
    assert done.stderr == ""
