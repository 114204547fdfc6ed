"""SSoT, SimpleStrat and `vs eval` against the real SmolLM2 server (reduced sizes)."""

from __future__ import annotations

import io
import json
from typing import Any

from vs_common import CallRequest, RetryPolicy, VSConfig, run_sampling
from vs_common.backends import LocalModelServer, OpenAICompatClient
from vs_common.cli import main

FIXED = RetryPolicy(max_reasks=0, max_top_up_calls=0)  # exactly the planned calls


def _client(server: LocalModelServer, max_tokens: int = 200) -> OpenAICompatClient:
    return OpenAICompatClient(server.base_url, server.model, temperature=0.7, max_tokens=max_tokens)


class Recorder:
    def __init__(self, call: Any) -> None:
        self.call = call
        self.requests: list[CallRequest] = []

    async def __call__(self, request: CallRequest) -> Any:
        self.requests.append(request)
        return await self.call(request)


async def test_ssot_over_http_in_tool_mode(local_server: LocalModelServer) -> None:
    call = Recorder(_client(local_server))
    dist = await run_sampling(
        "Roll a fair six-sided die.",
        VSConfig(method="ssot", n=3),
        call,
        structured="tool",
        max_concurrency=1,
        min_successes=0,
        retry=FIXED,
    )
    assert dist.num_calls == 3 == len(call.requests)
    assert all(r.schema is not None and "random_string" in r.schema["properties"]
               for r in call.requests)  # fmt: skip
    assert len(dist.failures) < 3, dist.failures  # the grammar holds the shape
    for candidate in dist.candidates:
        assert candidate.text.strip()
    assert dist.usage is not None and dist.usage.completion_tokens > 0


async def test_simplestrat_over_http_two_calls_a_sample(local_server: LocalModelServer) -> None:
    call = Recorder(_client(local_server))
    dist = await run_sampling(
        "Name a US state.",
        VSConfig(method="simplestrat", n=2, k=3),
        call,
        structured="tool",
        max_concurrency=1,
        min_successes=0,
        seed=5,
        retry=FIXED,
    )
    succeeded = dist.num_calls - len(dist.failures)
    assert dist.num_calls == 2
    strata_calls = [r for r in call.requests if r.schema is not None]
    answers = [r for r in call.requests if r.schema is None]
    assert len(strata_calls) == 2  # one per sample
    assert strata_calls[0].schema["properties"]["strata"]["maxItems"] == 3
    for request in answers:
        assert request.messages[0]["content"].startswith("Generate a response")
        assert (
            "Additional instructions: your response must fit this category:"
            in (request.messages[-1]["content"])
        )
    assert len(answers) >= succeeded
    if succeeded:
        assert dist.reasoning is not None and dist.reasoning.startswith("stratum ")
        assert dist.usage is not None and dist.usage.prompt_tokens > 0


def test_vs_eval_quick_plumbing_over_http(local_server: LocalModelServer, tmp_path) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = [
        "eval", "--quick", "--experiments", "dice,joke", "--methods", "direct,vs_standard,ssot",
        "-n", "4", "-k", "2", "--base-url", local_server.base_url, "--model", local_server.model,
        "--max-tokens", "120", "--concurrency", "1", "--report", str(tmp_path / "eval"), "-q",
    ]  # fmt: skip
    code = main(argv, stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    table = out.getvalue()
    assert "dice: Random number generation" in table and "joke: Creative writing" in table
    assert "(0.926)" in table  # the paper's Direct figure beside ours
    data = json.loads((tmp_path / "eval" / "eval.json").read_text(encoding="utf-8"))
    dice, joke = data["experiments"]
    assert [m["method"] for m in dice["methods"]] == ["direct", "vs_standard", "ssot"]
    direct = dice["methods"][0]
    assert direct["calls"] == 4 and direct["samples"] <= 4
    valid = direct["figures"]["valid"]
    assert valid is not None and 0.0 <= valid <= 1.0
    assert (direct["figures"]["kl_uniform"] is None) == (valid == 0.0)
    assert joke["methods"][1]["calls"] == 2  # VS-Standard: ceil(4 / 2)
    assert joke["methods"][0]["semantic_diversity"] is not None  # the offline embedder ran
    assert (tmp_path / "eval" / "index.html").is_file()
    assert (tmp_path / "eval" / "dice" / "index.html").is_file()
