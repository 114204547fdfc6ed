"""`vs batch --engine ray` killed with SIGKILL mid-run, then rerun: every id exactly once.

The command runs as a real subprocess that starts its own local Ray; the kill
takes the driver down while Ray workers are sampling.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vs_common.testing import FaultInjectingServer

if not os.environ.get("CI"):
    pytest.importorskip("ray", reason='needs pip install "verbalized-sampling-kit[ray]"')

IDS = 400


def start(source: Path, target: Path, url: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "vs_common.cli", "batch", str(source), "-o", str(target),
        "--engine", "ray", "--workers", "2", "--concurrency", "8",
        "--base-url", url, "--model", "fake", "-k", "2", "--structured", "text", "-q",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OPENAI_API_KEY", None)
    env.pop("RAY_ADDRESS", None)  # a local Ray of its own
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.timeout(900)
def test_driver_killed_mid_run_then_resumed(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": f"r{i:04d}", "prompt": f"Write joke {i}"} for i in range(IDS)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FaultInjectingServer(latency=0.05, k=2) as server:
        process = start(source, target, server.base_url)
        deadline = time.monotonic() + 400
        while lines(target) < 50 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        before = lines(target)
        assert 50 <= before < IDS, "the kill must land mid-run"
    # A server of its own for the rerun: the killed run's workers can outlive it a moment.
    with FaultInjectingServer(latency=0.05, k=2) as server:
        final = start(source, target, server.base_url)
        _, err = final.communicate(timeout=600)
        assert final.returncode == 0, err.decode()[-3000:]
        resumed_requests = len(server.requests)
    records = [json.loads(line) for line in target.read_bytes().splitlines()]  # all valid JSON
    ids = [r["id"] for r in records]
    assert sorted(ids) == [r["id"] for r in rows]  # every id exactly once
    assert all(r["candidates"] and r["selected"] for r in records)
    # the rerun skipped what the killed run had written (it asked only for the rest)
    assert resumed_requests == IDS - before
    assert f"{before} already done" in err.decode()
