"""examples/cli_batch.py runs against the real local model, and resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vs_common.backends.local_server import LocalModelServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cli_batch.py"


def _run(folder: Path, server: LocalModelServer) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VS_BASE_URL": server.base_url, "VS_MODEL": server.model}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, str(EXAMPLE), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


def test_cli_batch_example_runs_and_resumes(local_server: LocalModelServer, tmp_path: Path) -> None:
    first = _run(tmp_path, local_server)
    assert first.returncode in (0, 1), first.stderr  # 1: some prompts failed and were recorded
    output = tmp_path / "data.jsonl"
    errors = tmp_path / "data.errors.jsonl"
    ids = (
        [json.loads(line)["id"] for line in output.read_text().splitlines()]
        if output.exists()
        else []
    )
    failed = errors.read_text().splitlines() if errors.exists() else []
    assert len(ids) == len(set(ids))
    assert len(ids) + len(failed) >= 5 or first.returncode == 0
    assert ids, first.stdout + first.stderr
    second = _run(tmp_path, local_server)
    again = [json.loads(line)["id"] for line in output.read_text().splitlines()]
    assert again[: len(ids)] == ids  # nothing rewritten, nothing duplicated
    assert len(again) == len(set(again))
    assert second.returncode in (0, 1), second.stderr
