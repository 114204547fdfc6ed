"""The LangChain examples run end to end offline (scripted stand-in model).

tests/integration/test_langchain_examples.py runs them on the real local server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def run_example(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VS_BASE_URL", "OPENAI_API_KEY")}
    env["VS_OFFLINE"] = "1"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OFFLINE scripted stand-in" in result.stdout
    return result.stdout


def test_chain_example():
    out = run_example("langchain_chain.py")
    assert "chain: 3 candidates" in out
    assert out.count("candidates, picked:") == 4
    assert "batch done: 4 prompts" in out


def test_rag_example_answers_from_the_retrieved_notes():
    out = run_example("langchain_rag.py")
    retrieved = [ln[2:] for ln in out.splitlines() if ln.startswith("- ")]
    assert len(retrieved) == 3
    answers = [ln.split("  ", 2)[-1] for ln in out.splitlines() if ln.startswith("  p=")]
    assert len(answers) == 3
    assert set(answers) <= set(retrieved)


def test_graph_example_is_reproducible():
    first = run_example("langchain_graph.py")
    assert "persuadee turns: 3" in first
    assert first.count("  persuadee: ") == 3
    assert first.count("    -> p=") == 3  # one chosen reply per turn
    assert run_example("langchain_graph.py") == first


@pytest.mark.parametrize("name", ["langchain_agent.py"])
def test_agent_example_calls_the_tool(name):
    out = run_example(name)
    assert "agent called: brainstorm(" in out
    assert "(artifact: 4 candidates, 1 call(s))" in out
    assert "answer: Here are 4 ideas:" in out
