"""The Ray engine on a real local Ray (no mock): faults, a killed worker, duplicates, resume.

One local Ray (2 CPUs, no dashboard) serves the whole module. Every model
call goes over HTTP to the fault-injecting server; the workers are real Ray
actors in their own processes.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from vs_common import RetryPolicy
from vs_common.backends import OpenAICompatClient
from vs_common.scale import (
    BatchOptions,
    RayOptions,
    client_factory,
    run_batch_ray,
    sample_dataset,
)
from vs_common.testing import ALL_FAULTS, FaultInjectingServer, FaultRates

if os.environ.get("CI"):
    import ray  # CI installs the ray extra: a missing Ray is a failure there
else:
    ray = pytest.importorskip("ray", reason='needs pip install "verbalized-sampling-kit[ray]"')

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


def write_prompts(path: Path, ids: list[str], **extra: object) -> None:
    rows = [{"id": i, "prompt": f"Write joke {i}", **extra} for i in ids]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def ids_in(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def client(url: str, timeout: float = 1.0):
    return client_factory(OpenAICompatClient(url, "fault", timeout=timeout))


def test_500_prompts_under_30_percent_faults_each_id_exactly_once_then_resume(local_ray, tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    errors = tmp_path / "out.errors.jsonl"
    ids = [f"p{i:03d}" for i in range(500)]
    write_prompts(inp, ids)
    options = BatchOptions(
        inp,
        out,
        {"k": 3},
        structured="tool",
        retry=RetryPolicy(max_retries=1, backoff_base=0.05, backoff_max=0.2),
        max_consecutive_failures=0,
    )
    server = FaultInjectingServer(
        FaultRates.uniform(0.3), seed=11, hang_seconds=2.0, retry_after=0.05,
        schedule=ALL_FAULTS, k=3,
    )  # fmt: skip
    with server:
        summary = run_batch_ray(
            options, client(server.base_url), RayOptions(workers=2, concurrency_per_worker=6)
        )
        delivered = server.delivered_texts()
        assert set(server.fault_counts()) == {"ok", *ALL_FAULTS}
    done, failed = ids_in(out), ids_in(errors)
    assert len(done) == len(set(done))  # exactly once
    assert not set(done) & set(failed)
    assert sorted(done + failed) == ids  # every id accounted for
    assert failed, "with one retry under 30% faults some prompts fail and are recorded"
    assert (summary.written, summary.failed) == (len(done), len(failed))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {c["text"] for r in records for c in r["candidates"]} <= delivered  # nothing invented

    with FaultInjectingServer(k=3) as healthy:  # resume: only the failed ids are sent
        again = run_batch_ray(options, client(healthy.base_url), RayOptions(workers=2))
        assert len(healthy.requests) == len(failed)
    final = ids_in(out)
    assert sorted(final) == ids
    assert final[: len(done)] == done  # nothing rewritten
    assert (again.written, again.skipped, again.failed) == (len(failed), len(done), 0)


def _raylet_pid() -> int:
    node = ray._private.worker.global_worker.node
    return node.all_processes["raylet"][0].process.pid


def _map_workers(raylet: int) -> list[int]:
    """Our Ray Data actors: children of this session's raylet named ray::MapWorker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid"))
        if ppid == raylet and cmdline.startswith(b"ray::MapWorker"):
            found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc")
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(local_ray, tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = [f"q{i:03d}" for i in range(300)]
    write_prompts(inp, ids, k=2)
    raylet = _raylet_pid()
    earlier = set(_map_workers(raylet))  # idle actors of the module's earlier datasets
    killed: list[int] = []

    def kill_one_worker_mid_run() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if out.exists() and out.read_bytes().count(b"\n") >= 60:
                workers = [pid for pid in _map_workers(raylet) if pid not in earlier]
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    killed.append(workers[0])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_worker_mid_run, daemon=True)
    with FaultInjectingServer(latency=0.05, k=2) as server:
        killer.start()
        summary = run_batch_ray(
            BatchOptions(inp, out, structured="text"),
            client(server.base_url, timeout=5.0),
            RayOptions(workers=2, concurrency_per_worker=4),
        )
        killer.join(timeout=5)
        served = len(server.requests)
    assert killed, "the kill must land while the batch runs"
    done = ids_in(out)
    assert sorted(done) == ids  # every id exactly once
    assert len(done) == len(set(done)) == summary.written
    assert summary.failed == 0
    assert served > len(ids), f"{served} requests: the killed worker's rows must be run again"


def test_duplicate_ids_reach_the_writer_once_and_parquet_round_trips(local_ray, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"id": i, "prompt": f"p{i}", "k": 1 + i % 3} for i in range(40)]
    rows += [{"id": 7, "prompt": "the same id again", "k": 1}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    options = BatchOptions(tmp_path / "in.parquet", out, structured="tool")
    with FaultInjectingServer() as server:
        summary = run_batch_ray(options, client(server.base_url), RayOptions(workers=2))
        # Ray runs both rows of id 7 (they are in different places of the input);
        # the writer keeps the first result and drops the second.
        assert len(server.requests) == sum(1 for _ in rows)
    assert (summary.written, summary.duplicates, summary.failed) == (40, 1, 0)
    table = pq.read_table(out)
    assert sorted(table.column("id").to_pylist()) == list(range(40))
    for row in table.to_pylist():
        assert len(row["candidates"]) == 1 + row["id"] % 3 or row["id"] == 7
        assert row["selected"] in row["candidates"]
    with FaultInjectingServer() as server:  # resume: nothing left to run
        again = run_batch_ray(options, client(server.base_url), RayOptions(workers=1))
        assert not server.requests
    assert (again.written, again.skipped) == (0, 41)


def test_sample_dataset_adds_result_columns_and_keeps_the_others(local_ray):
    rows = [
        {"qid": i, "question": f"Tell joke {i}", "k": 2 if i % 2 else None, "topic": f"t{i}"}
        for i in range(12)
    ]
    rows += [{"qid": 100, "question": "", "k": None, "topic": "empty"}]
    rows += [{"qid": 101, "question": "bad k", "k": 0, "topic": "bad"}]
    with FaultInjectingServer(FaultRates(status_500=0.25), seed=5) as server:
        dataset = ray.data.from_items(rows)
        factory = functools.partial(OpenAICompatClient, server.base_url, "fault", timeout=2.0)
        result = sample_dataset(
            dataset,
            factory,
            defaults={"k": 3, "n": 6, "seed": 7},
            id_column="qid",
            prompt_column="question",
            options=RayOptions(workers=1, concurrency_per_worker=4),
            structured="tool",
            retry=RetryPolicy(max_retries=0),
        ).take_all()
        delivered = server.delivered_texts()
    by_id = {r["qid"]: r for r in result}
    assert sorted(by_id) == [*range(12), 100, 101]
    assert by_id[3]["topic"] == "t3"  # other columns carried through
    assert "missing or empty 'prompt'" in by_id[100]["error"]
    assert "'k'" in by_id[101]["error"] and by_id[101]["candidates"] == []
    some_failed = False
    for i in range(12):
        row = by_id[i]
        k = 2 if i % 2 else 3
        assert json.loads(row["config"])["k"] == k  # the row's own k, else the default
        ok_calls = row["num_calls"] - len(row["failures"])
        some_failed |= bool(row["failures"])
        if row["error"] is None:
            assert len(row["candidates"]) == ok_calls * k
            assert set(row["candidates"]) <= delivered
            assert row["selected"] in row["candidates"]
            assert abs(sum(row["probabilities"]) - 1) < 1e-9
            assert row["prompt_tokens"] > 0
            assert row["shortfall"] >= 0
        else:  # every call failed: recorded, not dropped
            assert row["failures"] and row["candidates"] == []
    assert some_failed, "25% of calls fail without retries: some rows must show failures"


def test_distinct_rows_on_the_ray_engine(local_ray, tmp_path):
    write_prompts(tmp_path / "in.jsonl", ["a", "b", "c"], k=2, n=4, distinct=True, max_calls=3)
    out = tmp_path / "out.jsonl"
    options = BatchOptions(tmp_path / "in.jsonl", out, structured="tool")
    with FaultInjectingServer() as server:
        summary = run_batch_ray(options, client(server.base_url), RayOptions(workers=1))
        assert len(server.requests) == 6  # every answer is new: 2 calls per prompt
    assert (summary.written, summary.failed) == (3, 0)
    for line in out.read_text().splitlines():
        record = json.loads(line)
        stats = record["distinct"]
        assert (stats["wanted"], stats["distinct"], stats["calls"]) == (4, 4, 2)
        assert stats["stop_reason"] == "reached_n"
        assert len(record["candidates"]) == 4
