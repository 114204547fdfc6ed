"""The LangChain examples against SmolLM2 behind the real llama-cpp-python server.

The model is tiny: the examples must run to the end and report whatever came
back (candidates, or failures recorded cleanly); the content is not checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vs_common.backends.local_server import LocalModelServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, server: LocalModelServer) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "VS_OFFLINE")}
    env.update(VS_BASE_URL=server.base_url, VS_MODEL=server.model, VS_API_KEY=server.api_key)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{server.model} at {server.base_url}" in result.stdout
    return result.stdout


def test_chain_example_on_the_local_server(local_server):
    out = run_example("langchain_chain.py", local_server)
    assert out.startswith("model: ")
    assert out.count("batch[") == 4
    assert "batch done: 4 prompts" in out


def test_rag_example_on_the_local_server(local_server):
    out = run_example("langchain_rag.py", local_server)
    assert "retrieved notes:" in out
    assert "diverse answers for:" in out or "no answer could be read" in out


def test_graph_example_on_the_local_server(local_server):
    out = run_example("langchain_graph.py", local_server)
    assert "persuadee turns: 3" in out
    assert out.count("  persuadee: ") == 3


def test_agent_example_on_the_local_server(local_server):
    out = run_example("langchain_agent.py", local_server)
    assert "agent called: brainstorm(" in out
    assert "tool brainstorm returned:" in out
    assert "answer: " in out
