"""The LlamaIndex examples against SmolLM2 behind the real llama-cpp-python server.

The model is tiny: each example must run to the end and report what came back
(candidates, or failures recorded cleanly); the content is not checked.
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
    return result.stdout


def test_workflow_example(local_server):
    out = run_example("llamaindex_workflow.py", local_server)
    assert "progress: 1/1 calls" in out
    assert "selected: " in out or "no candidate could be read" in out
    if "selected: " in out:
        assert "  candidate: p=" in out
        assert "tokens: " in out and "tokens: not reported" not in out
    assert "tagline: " in out or "no tagline could be read" in out


def test_rag_example(local_server):
    out = run_example("llamaindex_rag.py", local_server)
    assert "answer: " in out or "no answer could be read" in out
    if "answer: " in out:
        assert "sources: hours.txt, menu.txt, where.txt" in out
    assert "async answer (most probable): " in out or "no async answer could be read" in out


def test_agent_example(local_server):
    out = run_example("llamaindex_agent.py", local_server)
    assert "tool call: verbalized_sampling({'prompt': " in out
    assert "agent answer:\nSampled response: " in out
    assert "All options with their probabilities:" in out
