"""`vs batch --processes P`: the local engine over worker processes, same guarantees.

Real worker processes against real servers (the fault-injecting one, and the
fixed-latency one for the kills): every id exactly once in the output or the
errors file, a dead worker named in the error and the run resumable, and no
worker left behind when the command itself is killed.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vs_common.backends import OpenAICompatClient
from vs_common.cli import main
from vs_common.scale import BatchOptions, client_factory, run_batch_processes
from vs_common.testing import ALL_FAULTS, FaultInjectingServer, FaultRates, FixedLatencyServer


def _write_prompts(path: Path, n: int) -> list[str]:
    ids = [f"p{i:04d}" for i in range(n)]
    path.write_text(
        "".join(json.dumps({"id": i, "prompt": f"Joke number {i}"}) + "\n" for i in ids)
    )
    return ids


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _batch(inp: Path, out: Path, base_url: str, *extra: str) -> tuple[int, str]:
    args = ["batch", str(inp), "-o", str(out), "--base-url", base_url, "--model", "fault"]
    args += ["-k", "5", "-n", "5", "--retries", "1", "--timeout", "1", "--concurrency", "8"]
    args += ["--structured", "tool", "-q", "--max-consecutive-failures", "0", *extra]
    err = io.StringIO()
    return main(args, stdout=io.StringIO(), stderr=err), err.getvalue()


def test_processes_under_faults_every_id_once_then_resume(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = _write_prompts(inp, 120)
    with inp.open("a") as f:  # a duplicate id and a bad line: handled like the local engine
        f.write(json.dumps({"id": "p0001", "prompt": "again"}) + "\n{not json\n")
    server = FaultInjectingServer(
        FaultRates.uniform(0.3), seed=5, hang_seconds=3.0, retry_after=0.1, schedule=ALL_FAULTS
    )
    with server:
        code, err = _batch(inp, out, server.base_url, "--processes", "2")
        delivered = server.delivered_texts()
    assert code == 1, err
    done = [str(r["id"]) for r in _records(out)]
    errors = _records(tmp_path / "out.errors.jsonl")
    failed = {str(r["id"]) for r in errors if "id" in r and r.get("id") is not None}
    assert len(done) == len(set(done))  # exactly once
    assert set(done) | failed == set(ids)  # every prompt accounted for
    assert not set(done) & failed
    assert any(r.get("line") == 122 for r in errors)  # the bad line, by its number
    assert "1 duplicate id(s) in the input ignored" in err
    kept = {c["text"] for r in _records(out) for c in r["candidates"]}  # type: ignore[attr-defined]
    assert kept <= delivered
    with FaultInjectingServer() as healthy:  # rerun: only the missing ids are sent
        code, err = _batch(inp, out, healthy.base_url, "--processes", "2")
        assert code == 1  # the bad line fails again, nothing else
        assert len(healthy.requests) == len(failed)
    final = [str(r["id"]) for r in _records(out)]
    assert sorted(final) == ids


def test_the_same_records_as_the_local_engine(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    _write_prompts(inp, 60)
    with FaultInjectingServer() as server:  # healthy (its replies differ by request)
        for name, extra in (("one", ()), ("three", ("--processes", "3"))):
            code, err = _batch(inp, tmp_path / f"{name}.jsonl", server.base_url, *extra)
            assert code == 0, err
    one = {r["id"]: r for r in _records(tmp_path / "one.jsonl")}
    three = {r["id"]: r for r in _records(tmp_path / "three.jsonl")}
    assert one.keys() == three.keys()
    for key, row in one.items():  # the same fields, settings and counts
        other = three[key]
        assert row.keys() == other.keys()
        for field in ("prompt", "config", "model", "num_calls", "requested", "shortfall"):
            assert row[field] == other[field], field
        assert len(row["candidates"]) == len(other["candidates"]) == 5  # type: ignore[arg-type]
        texts = [c["text"] for c in other["candidates"]]  # type: ignore[attr-defined]
        assert other["selected"]["text"] in texts  # type: ignore[index]


def test_run_batch_processes_from_python(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = _write_prompts(inp, 30)
    rows: list[int] = []
    with FaultInjectingServer() as server:
        client = client_factory(OpenAICompatClient(server.base_url, "m", timeout=5))
        options = BatchOptions(inp, out, {"k": 3}, concurrency=6, structured="tool")
        summary = run_batch_processes(options, client, 2, on_row=lambda s: rows.append(s.written))
    assert (summary.written, summary.failed) == (30, 0)
    assert rows[-1] == 30
    assert sorted(str(r["id"]) for r in _records(out)) == ids


def _start(tmp_path: Path, url: str, rows: int) -> tuple[subprocess.Popen[bytes], Path]:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    if not inp.exists():
        _write_prompts(inp, rows)
    cmd = [sys.executable, "-m", "vs_common.cli", "batch", str(inp), "-o", str(out)]
    cmd += ["--base-url", url, "--model", "m", "-k", "5", "-n", "5", "--concurrency", "8"]
    cmd += ["--processes", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_records(out)) < 10:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)
    return proc, out


def _workers(pid: int) -> list[int]:
    """The spawned worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_killed_worker_is_named_and_a_rerun_completes(tmp_path: Path) -> None:
    with FixedLatencyServer(latency=0.2) as server:
        proc, out = _start(tmp_path, server.base_url, 300)
        workers = _workers(proc.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        message = err.decode()
        assert "died (signal SIGKILL)" in message
        assert "rerun the same command to resume" in message
        assert not any(_alive(w) for w in workers)
        before = [r["id"] for r in _records(out)]
        assert 10 <= len(before) < 300
        args = ["batch", str(tmp_path / "in.jsonl"), "-o", str(out), "--base-url"]
        args += [server.base_url, "--model", "m", "-k", "5", "-n", "5", "--processes", "2", "-q"]
        assert main(args, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    ids = [r["id"] for r in _records(out)]
    assert len(ids) == len(set(ids)) == 300
    assert ids[: len(before)] == before


def test_workers_stop_when_the_command_is_killed(tmp_path: Path) -> None:
    with FixedLatencyServer(latency=0.2) as server:
        proc, _ = _start(tmp_path, server.base_url, 2000)
        workers = _workers(proc.pid)
        assert len(workers) == 2
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers):
            assert time.monotonic() < deadline, "a worker outlived the command"
            time.sleep(0.1)
