"""`vs batch --engine ray` killed with SIGKILL mid-run, then rerun: every id exactly once.

The command runs as a real subprocess that starts its own local Ray; the kill
takes the driver down while Ray workers are sampling.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(600)
def test_ray_address_runs_on_an_existing_cluster_and_leaves_it_running(tmp_path):
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists():
        pytest.fail(
            "the ray command is not installed next to this Python: pip install"
            ' "verbalized-sampling-kit[ray]" (make install installs it)'
        )
    port = _free_port()
    # Short: Ray's unix sockets live under it (a path limit of about 100 bytes).
    temp_dir = Path(tempfile.mkdtemp(prefix="vsray"))
    # Token auth off for this loopback test cluster: with it, Ray 2.60 refused drivers
    # of a `ray start` head here ("Authentication token is missing or incorrect").
    ray_env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen(  # a one-node "cluster"; --block: it stops its processes on exit
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ray_env,
    )  # fmt: skip
    try:
        source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        rows = [{"id": i, "prompt": f"Write joke {i}"} for i in range(30)]
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        with FaultInjectingServer(k=2) as server:
            command = [
                sys.executable, "-m", "vs_common.cli", "batch", str(source), "-o", str(target),
                "--engine", "ray", "--base-url", server.base_url, "--model", "fake", "-k", "2",
                "--structured", "text", "-q",
            ]  # fmt: skip
            env = {**ray_env, "RAY_ADDRESS": f"127.0.0.1:{port}"}
            env.pop("OPENAI_API_KEY", None)
            deadline = time.monotonic() + 120
            while True:  # the head takes a while to accept drivers
                run = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)
                _, err = run.communicate(timeout=300)
                if run.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(2)
            assert run.returncode == 0, err.decode()[-3000:]
        # The command was a driver of that cluster (its log is in the head's session),
        # not of a local Ray of its own.
        assert list(temp_dir.glob(f"session_*/logs/python-core-driver-*_{run.pid}.log"))
        ids = [json.loads(line)["id"] for line in target.read_text().splitlines()]
        assert sorted(ids) == list(range(30))
        assert head.poll() is None, "the command must not stop a cluster it did not start"
    finally:
        head.terminate()
        head.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)
