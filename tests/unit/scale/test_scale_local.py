"""The local engine: bounded read-ahead, memory that grows only by the ids, Parquet in and out."""

from __future__ import annotations

import asyncio
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from vs_common.calls import CallRequest, CallResponse, Usage
from vs_common.cli import main
from vs_common.scale import BatchOptions, parse_row, run_batch


def reply(request: CallRequest) -> str:
    """k candidates, k read from the VS instruction ("Generate 3 responses...")."""
    words = request.messages[0]["content"].split()
    k = next((int(w) for w in words if w.isdigit()), 5)
    prompt = request.messages[-1]["content"]
    texts = [f"joke {i} about {prompt} " + "x" * 80 for i in range(k)]
    return json.dumps({"responses": [{"text": t, "probability": 1 / k} for t in texts]})


class InstantCall:
    """An instant model that counts requests and how many are in flight."""

    def __init__(self, *, keep_requests: bool = True) -> None:
        self.keep_requests = keep_requests
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[CallRequest] = []

    async def __call__(self, request: CallRequest) -> CallResponse:
        if self.keep_requests:
            self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            usage = Usage(prompt_tokens=4, completion_tokens=6)
            return CallResponse(output=reply(request), usage=usage)
        finally:
            self.in_flight -= 1


def jobs(n: int):
    for i in range(n):
        yield parse_row({"id": f"id-{i:06d}", "prompt": f"prompt {i}"}, i + 1, {"k": 5})


def test_the_reader_never_runs_ahead_of_the_workers(tmp_path):
    concurrency = 4
    finished = 0
    worst = 0

    def counted(n: int):
        nonlocal worst
        for read, job in enumerate(jobs(n), 1):
            worst = max(worst, read - finished)  # rows read but not yet finished
            yield job

    def on_row(summary) -> None:
        nonlocal finished
        finished = summary.written + summary.failed

    call = InstantCall()
    options = BatchOptions(tmp_path / "in.jsonl", tmp_path / "out.jsonl", concurrency=concurrency,
                           structured="text")  # fmt: skip
    summary = asyncio.run(run_batch(options, call, on_row=on_row, jobs=counted(400)))
    assert summary.written == 400
    # a queue of `concurrency` slots and `concurrency` workers, plus the row in hand
    assert 1 < worst <= 2 * concurrency + 1
    assert 1 < call.max_in_flight <= concurrency


def _peak_bytes(folder: Path, n: int) -> int:
    options = BatchOptions(folder / "in.jsonl", folder / f"out{n}.jsonl", concurrency=8,
                           structured="text")  # fmt: skip
    tracemalloc.start()
    try:
        asyncio.run(run_batch(options, InstantCall(keep_requests=False), jobs=jobs(n)))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_only_by_the_ids(tmp_path):
    _peak_bytes(tmp_path, 50)  # warm up: lazy imports and caches
    small, large = _peak_bytes(tmp_path, 300), _peak_bytes(tmp_path, 1300)
    per_row = (large - small) / 1000
    # The ids set costs ~120 bytes per id; keeping each result (a few KB) would fail this.
    assert per_row < 600, f"{per_row:.0f} bytes of peak memory per extra row"


# ---- Parquet in and out (needs pyarrow, from the ray extra)


def test_parquet_input_and_output_resume(tmp_path):
    fake_call = InstantCall()
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"id": i, "prompt": f"p{i}", "k": 1 + i % 2, "meta": None} for i in range(6)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    argv = ["batch", str(tmp_path / "in.parquet"), "-o", str(out), "-q", "--structured", "text"]
    assert main(argv, call=fake_call, stderr=io.StringIO()) == 0
    table = pq.read_table(out)
    assert sorted(table.column("id").to_pylist()) == list(range(6))
    by_id = {r["id"]: r for r in table.to_pylist()}
    assert len(by_id[1]["candidates"]) == 2 and len(by_id[0]["candidates"]) == 1  # per-row k
    assert by_id[1]["selected"] in by_id[1]["candidates"]
    calls = len(fake_call.requests)
    err = io.StringIO()
    assert main(argv, call=fake_call, stderr=err) == 0
    assert len(fake_call.requests) == calls  # resumed: nothing sent again
    assert "6 already done" in err.getvalue()


def test_parquet_output_keeps_the_distinct_stats_and_the_top_ups(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {"id": "a", "prompt": "x", "k": 2, "n": 4, "distinct": True},
        {"id": "b", "prompt": "y", "k": 2, "n": 4},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.parquet"
    argv = ["batch", str(tmp_path / "in.jsonl"), "-o", str(out), "-q", "--structured", "text"]
    assert main(argv, call=InstantCall(), stderr=io.StringIO()) == 0
    by_id = {r["id"]: r for r in pq.read_table(out).to_pylist()}
    stats = json.loads(by_id["a"]["distinct"])
    assert (stats["distinct"], stats["stop_reason"]) == (4, "reached_n")
    assert by_id["b"]["distinct"] is None  # not a distinct-N row
    assert by_id["a"]["requested"] == by_id["b"]["requested"] == 4
    assert by_id["b"]["top_up_calls"] == 0


def test_parquet_input_with_an_unknown_column_is_refused_before_any_work(tmp_path):
    fake_call = InstantCall()
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"id": [1], "prompt": ["p"], "promt": ["typo"]}),
                   tmp_path / "in.parquet")  # fmt: skip
    err = io.StringIO()
    argv = ["batch", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.jsonl"), "-q"]
    assert main(argv, call=fake_call, stderr=err) == 1
    assert "unknown column 'promt'" in err.getvalue()
    assert not fake_call.requests


def test_rows_with_the_same_settings_share_one_config_and_types_still_count() -> None:
    from vs_common import VSConfig
    from vs_common.scale import Job, RowError, result_record
    from vs_common.scale._rows import _config_fields

    defaults = {"k": 3, "n": 6, "threshold": None}
    a = parse_row({"id": 1, "prompt": "p"}, 1, defaults)
    b = parse_row({"id": 2, "prompt": "q", "n": 6}, 2, defaults)
    c = parse_row({"id": 3, "prompt": "r", "n": 6.0}, 3, defaults)  # 6.0 is not 6
    assert isinstance(a, Job) and isinstance(b, Job) and isinstance(c, Job)
    assert a.config is b.config and a.config == VSConfig(k=3, n=6)
    assert c.config is not a.config
    one = parse_row({"id": 4, "prompt": "p", "k": 1}, 4, {})
    yes = parse_row({"id": 5, "prompt": "p", "k": True}, 5, {})  # True == 1, but not a k
    assert isinstance(one, Job) and one.config.k == 1
    assert isinstance(yes, RowError) and "'k'" in yes.message
    bad = parse_row({"id": 6, "prompt": "p", "k": [1]}, 6, {})  # unhashable: still checked
    assert isinstance(bad, RowError) and "'k'" in bad.message
    # The record's config is the config's own dump, and a record's copy is its own.
    from vs_common import VerbalizedDistribution

    dist = VerbalizedDistribution.from_pairs([("x", 1.0)])
    first = result_record(dist, dist.candidates[0], a.config)
    assert first["config"] == a.config.model_dump(mode="json", exclude_none=True)
    first["config"]["k"] = 99
    assert result_record(dist, None, a.config)["config"]["k"] == 3
    assert _config_fields.cache_info().hits >= 1


def test_a_seeded_row_draws_the_same_strata_on_every_run() -> None:
    """SimpleStrat's stratum draws follow the row's seed, so a rerun repeats them."""
    from vs_common.scale import JobSettings, run_job

    strata = [f"stratum {i}" for i in range(8)]
    drawn: list[str] = []

    async def call(request: CallRequest) -> str:
        said = request.messages[-1]["content"]
        if "category" in said and "stratum" in said:  # the second call: answer within one
            drawn.append(next(s for s in strata if s in said))
            return "An answer."
        return json.dumps({"strata": strata})

    job = parse_row(
        {"id": 1, "prompt": "Name a US state", "method": "simplestrat"}, 1, {"n": 6, "seed": 3}
    )
    runs = []
    for _ in range(2):
        drawn.clear()
        asyncio.run(run_job(job, call, JobSettings(max_concurrency=1)))
        runs.append(sorted(drawn))
    assert len(runs[0]) == 6 and runs[0] == runs[1]
    assert len(set(runs[0])) > 1  # drawn, not the same stratum every time
