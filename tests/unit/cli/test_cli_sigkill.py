"""`vs batch` killed with SIGKILL at random points, again and again, loses and duplicates nothing.

The command runs as a real subprocess against a stdlib OpenAI-compatible
server on loopback that answers with a little latency.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

IDS = 3000
KILLS = 24


def start(source: Path, target: Path, url: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "vs_common.cli", "batch", str(source), "-o", str(target),
        "--base-url", url, "--model", "fake", "--concurrency", "4", "-k", "3", "-q",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.timeout(600)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path, fake_openai):
    fake_openai.latency = 0.02
    source = tmp_path / "in.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"Write joke {i} about topic {i % 7}"} for i in range(IDS)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    target = tmp_path / "out.jsonl"
    rng = random.Random(1234)
    killed_running = 0
    counts = []
    for _ in range(KILLS):
        before = _lines(target)
        process = start(source, target, fake_openai.url)
        # Kill at a random point after the run has written something: start-up time
        # depends on the machine's load, the batch's progress must not.
        deadline = time.monotonic() + 60
        while _lines(target) == before and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        if process.poll() is None:
            killed_running += 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if target.exists():
            counts.append(target.read_bytes().count(b"\n"))
    assert killed_running >= 20, "the kills must land while the batch is running"
    assert counts and counts[-1] > 0, "some progress must survive the kills"
    final = start(source, target, fake_openai.url)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    lines = target.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]  # every line is valid JSON
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted(r["id"] for r in rows)  # every id exactly once
    assert len(ids) == len(set(ids)) == IDS
    assert all(r["candidates"] and r["selected"] for r in records)
