"""`vs batch`: streaming, resume after a kill, errors file retried, per-line settings."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from vs_common.cli import main
from vs_common.scale import (
    BatchOptions,
    Job,
    KeySet,
    RowError,
    errors_path_for,
    parse_line,
    recover_output,
    row_seed,
    run_batch,
)


def holds(keys: KeySet, expected: set[str]) -> bool:
    """``keys`` holds exactly ``expected`` (a KeySet cannot list its keys)."""
    return len(keys) == len(expected) and all(k in keys for k in expected)


def write_input(path: Path, rows: list[object]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def batch(tmp_path: Path, call, *extra: str):
    out, err = io.StringIO(), io.StringIO()
    argv = ["batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), *extra]
    code = main(argv, call=call, stdout=out, stderr=err)
    return code, err.getvalue()


def test_parse_line_accepts_settings_and_rejects_typos():
    job = parse_line(b'{"id": "a", "prompt": "p", "k": 2, "n": 4, "method": "sequence"}', 1, {})
    assert isinstance(job, Job)
    assert (job.config.k, job.config.total, job.config.method.value) == (2, 4, "sequence")
    inherited = parse_line(b'{"id": 1, "prompt": "p"}', 1, {"k": 3, "threshold": 0.2})
    assert isinstance(inherited, Job)
    assert (inherited.config.k, inherited.config.threshold) == (3, 0.2)
    for raw, needle in [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"prompt": "p"}', "'id'"),
        (b'{"id": true, "prompt": "p"}', "'id'"),
        (b'{"id": 1, "prompt": ""}', "'prompt'"),
        (b'{"id": 1, "prompt": "p", "thresold": 0.1}', "'thresold'"),
        (b'{"id": 1, "prompt": "p", "k": 0}', "'k'"),
        (b'{"id": 1, "prompt": "p", "method": "direct", "threshold": 0.1}', "'threshold'"),
        (b'{"id": 1, "prompt": "p", "strategy": "best"}', "'strategy'"),
    ]:
        result = parse_line(raw, 9, {})
        assert isinstance(result, RowError), raw
        assert needle in result.message, (raw, result.message)
        assert result.line == 9


def test_writes_one_line_per_id_with_distribution_and_selection(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [
        {"id": 1, "prompt": "alpha"},
        {"id": "b", "prompt": "beta", "k": 2, "n": 4, "meta": {"topic": "t"}},
        "",
        {"id": 3, "prompt": "gamma", "method": "direct", "n": 2},
    ])  # fmt: skip
    code, err = batch(tmp_path, fake_call, "--seed", "5")
    assert code == 0, err
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert sorted(str(r["id"]) for r in rows) == ["1", "3", "b"]
    by_id = {r["id"]: r for r in rows}
    assert len(by_id["b"]["candidates"]) == 4
    assert by_id["b"]["num_calls"] == 2
    assert by_id["b"]["meta"] == {"topic": "t"}
    assert by_id["b"]["config"]["k"] == 2
    assert by_id[3]["config"]["method"] == "direct"
    assert by_id[1]["selected"] in by_id[1]["candidates"]
    assert "3 written" in err
    assert not read_jsonl(errors_path_for(tmp_path / "out.jsonl"))


def test_restart_skips_ids_already_written(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": i, "prompt": f"p{i}", "k": 1} for i in range(5)])
    assert batch(tmp_path, fake_call)[0] == 0
    assert len(fake_call.requests) == 5
    code, err = batch(tmp_path, fake_call)
    assert code == 0
    assert len(fake_call.requests) == 5  # nothing sent again
    assert "0 written" in err
    assert "5 already done" in err
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 5


def test_partial_trailing_line_is_truncated_then_redone(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": i, "prompt": f"p{i}", "k": 1} for i in range(4)])
    assert batch(tmp_path, fake_call)[0] == 0
    out = tmp_path / "out.jsonl"
    data = out.read_bytes()
    lines = data.splitlines(keepends=True)
    killed = b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2]  # killed mid-write of line 3
    out.write_bytes(killed)
    lost_id = json.loads(lines[2])["id"]
    fake_call.requests.clear()
    code, _ = batch(tmp_path, fake_call)
    assert code == 0
    rows = read_jsonl(out)  # every line valid JSON
    assert sorted(r["id"] for r in rows) == [0, 1, 2, 3]
    assert len(fake_call.requests) == 2  # the cut-off id and the one never written
    assert lost_id in [json.loads(line)["id"] for line in out.read_bytes().splitlines()[2:]]


def test_recover_output_truncates_and_returns_ids(tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_bytes(b'{"id": 1}\n{"id": "x"}\n{"id": 2, "cand')
    assert holds(recover_output(out), {"1", '"x"'})
    assert out.read_bytes() == b'{"id": 1}\n{"id": "x"}\n'
    assert len(recover_output(tmp_path / "missing.jsonl")) == 0


def test_recover_output_drops_bad_and_duplicate_lines(tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_bytes(b'{"id": 1}\ngarbage\n{"id": 1, "again": true}\n[3]\n{"id": 2}\n{"id"')
    assert holds(recover_output(out), {"1", "2"})
    assert out.read_bytes() == b'{"id": 1}\n{"id": 2}\n'
    assert not (tmp_path / "o.jsonl.tmp").exists()


def test_failures_go_to_errors_file_and_are_retried(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [
        {"id": 1, "prompt": "fine", "k": 1},
        {"id": 2, "prompt": "FAIL me", "k": 1},
        "{broken",
        {"id": 4, "prompt": "fine too", "k": 1},
    ])  # fmt: skip
    fake_call.fail_when = "FAIL"
    code, err = batch(tmp_path, fake_call)
    assert code == 1
    errors = read_jsonl(errors_path_for(tmp_path / "out.jsonl"))
    assert sorted((e["line"], e["id"]) for e in errors) == [(2, 2), (3, None)]
    failed = next(e for e in errors if e["id"] == 2)
    assert failed["error"] == "VSSamplingError"
    assert failed["failures"][0]["message"] == "refused: FAIL me"
    assert "2 failed" in err
    assert sorted(r["id"] for r in read_jsonl(tmp_path / "out.jsonl")) == [1, 4]

    # Next run: the server is fixed and the input line repaired; only those are retried.
    fake_call.fail_when = None
    fake_call.requests.clear()
    write_input(tmp_path / "in.jsonl", [
        {"id": 1, "prompt": "fine", "k": 1},
        {"id": 2, "prompt": "FAIL me", "k": 1},
        {"id": 3, "prompt": "repaired", "k": 1},
        {"id": 4, "prompt": "fine too", "k": 1},
    ])  # fmt: skip
    code, err = batch(tmp_path, fake_call)
    assert code == 0, err
    assert sorted(r.messages[-1]["content"] for r in fake_call.requests) == ["FAIL me", "repaired"]
    assert sorted(r["id"] for r in read_jsonl(tmp_path / "out.jsonl")) == [1, 2, 3, 4]
    assert read_jsonl(errors_path_for(tmp_path / "out.jsonl")) == []


def test_duplicate_ids_in_input_are_written_once(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [
        {"id": 1, "prompt": "a", "k": 1},
        {"id": 1, "prompt": "b", "k": 1},
        {"id": "1", "prompt": "c", "k": 1},
    ])  # fmt: skip
    code, err = batch(tmp_path, fake_call)
    assert code == 0
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] in ([1, "1"], ["1", 1])
    assert "1 duplicate id(s)" in err


def test_in_flight_is_bounded(tmp_path, fake_call):
    call = fake_call
    call.delay = 0.01
    source = write_input(
        tmp_path / "in.jsonl", [{"id": i, "prompt": f"p{i}", "k": 1} for i in range(40)]
    )
    options = BatchOptions(input=source, output=tmp_path / "out.jsonl", concurrency=3)
    summary = asyncio.run(run_batch(options, call))
    assert summary.written == 40
    assert 1 < call.max_in_flight <= 3


def test_progress_reports_rate_and_eta(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": i, "prompt": f"p{i}", "k": 1} for i in range(3)])
    _, err = batch(tmp_path, fake_call)
    assert "batch: 3/3 (3 written, 0 failed, 0 already done)" in err
    assert "prompts/s" in err
    assert "ETA" in err


def test_output_must_differ_from_input(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "p"}])
    out, err = io.StringIO(), io.StringIO()
    argv = ["batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "in.jsonl")]
    assert main(argv, call=fake_call, stdout=out, stderr=err) == 2
    assert "--output" in err.getvalue()


def test_stops_when_the_server_keeps_failing_and_resumes_later(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": i, "prompt": f"p{i}", "k": 1} for i in range(50)])
    fake_call.fail_when = "p"
    code, err = batch(tmp_path, fake_call, "--max-consecutive-failures", "5", "--concurrency", "1")
    assert code == 1
    assert "stopped after 5 prompts in a row failed" in err
    assert len(fake_call.requests) == 5  # it did not burn through the other 45
    assert len(read_jsonl(errors_path_for(tmp_path / "out.jsonl"))) == 5
    fake_call.fail_when = None
    code, _ = batch(tmp_path, fake_call)
    assert code == 0
    assert sorted(r["id"] for r in read_jsonl(tmp_path / "out.jsonl")) == list(range(50))


def test_seed_gives_each_line_its_own_reproducible_seed():
    a = parse_line(b'{"id": "a", "prompt": "p"}', 1, {"seed": 7})
    b = parse_line(b'{"id": "b", "prompt": "p"}', 2, {"seed": 7})
    own = parse_line(b'{"id": "c", "prompt": "p", "seed": 3}', 3, {"seed": 7})
    unseeded = parse_line(b'{"id": "a", "prompt": "p"}', 1, {})
    assert isinstance(a, Job) and isinstance(b, Job) and isinstance(own, Job)
    assert isinstance(unseeded, Job)
    assert a.selection.seed == row_seed(7, "a")
    assert a.selection.seed != b.selection.seed
    assert own.selection.seed == 3
    assert unseeded.selection.seed is None


def test_a_second_concurrent_run_on_the_same_output_is_refused(tmp_path, fake_call):
    fcntl = pytest.importorskip("fcntl")
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "p", "k": 1}])
    errors = errors_path_for(tmp_path / "out.jsonl")
    with errors.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as if another `vs batch` were running
        code, err = batch(tmp_path, fake_call)
        assert code == 1
        assert "another `vs batch` is writing" in err
        assert not fake_call.requests
    code, _ = batch(tmp_path, fake_call)
    assert code == 0
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == [1]


def test_engine_ray_without_ray_names_the_extra(tmp_path, fake_call, monkeypatch):
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "p", "k": 1}])
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if not installed
    code, err = batch(tmp_path, fake_call, "--engine", "ray")
    assert code == 1
    assert 'pip install "verbalized-sampling-kit[ray]"' in err
    assert "Traceback" not in err
    assert not fake_call.requests


def test_workers_must_be_positive(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "p"}])
    code, err = batch(tmp_path, fake_call, "--engine", "ray", "--workers", "0")
    assert code == 2
    assert "--workers" in err


def test_processes_must_be_positive_and_belong_to_the_local_engine(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "p"}])
    code, err = batch(tmp_path, fake_call, "--processes", "0")
    assert code == 2
    assert "--processes: expected a positive integer, got 0" in err
    code, err = batch(tmp_path, fake_call, "--engine", "ray", "--processes", "2")
    assert code == 2
    assert "with --engine ray use --workers" in err
    assert not fake_call.requests


def test_null_settings_in_a_line_take_the_command_default(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "p", "k": None, "n": None}])
    code, err = batch(tmp_path, fake_call, "-k", "2", "-n", "4")
    assert code == 0, err
    (row,) = read_jsonl(tmp_path / "out.jsonl")
    assert (row["config"]["k"], len(row["candidates"])) == (2, 4)


@pytest.mark.parametrize(("top_up", "calls", "short"), [(None, 4, 0), ("0", 2, 2)])
def test_batch_tops_up_and_reports_what_is_short(tmp_path, top_up, calls, short):
    requests = []

    async def three_of_five(request):  # every reply holds 3 of the 5 asked for
        requests.append(request)
        n = len(requests)
        return json.dumps({"responses": [{"text": f"r{n}.{i}"} for i in range(3)]})

    write_input(tmp_path / "in.jsonl", [{"id": "a", "prompt": "p"}, {"id": "b", "prompt": "q"}])
    extra = ["-k", "5", "-n", "5", "-q"] + (["--max-top-up", top_up] if top_up else [])
    code, err = batch(tmp_path, three_of_five, *extra)
    assert code == 0
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "out.jsonl")}
    assert len(requests) == calls  # one call each, and one top-up each unless --max-top-up 0
    assert sum(1 for r in rows.values() if r["shortfall"]) == short
    for r in rows.values():
        samples = sum(c["count"] for c in r["candidates"])
        assert r["shortfall"] == max(0, 5 - samples)
        assert r["requested"] == 5
    if short:
        assert "2 written short of their n (4 samples missing" in err
    else:
        assert "short of their n" not in err


def test_distinct_per_row_and_as_a_run_default(tmp_path, fake_call):
    write_input(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "prompt": "x", "k": 2, "n": 5, "distinct": True, "max_calls": 2},
            {"id": "b", "prompt": "y", "k": 2, "n": 4},
            {"id": "c", "prompt": "z", "k": 2, "n": 4, "distinct": False},
        ],
    )
    code, err = batch(tmp_path, fake_call, "--distinct", "-q")
    assert code == 0, err
    records = {r["id"]: r for r in read_jsonl(tmp_path / "out.jsonl")}
    assert records["a"]["distinct"]["stop_reason"] == "budget"  # its own budget of 2 calls
    assert records["a"]["distinct"]["calls"] == 2
    assert records["a"]["shortfall"] == 1  # 4 distinct of the 5 asked for
    assert records["b"]["distinct"]["stop_reason"] == "reached_n"  # the run's --distinct
    assert records["c"]["distinct"] is None  # the row turned it off


def test_distinct_row_settings_are_checked():
    assert isinstance(parse_line('{"id": 1, "prompt": "x", "distinct": "yes"}', 1, {}), RowError)
    bad = parse_line('{"id": 1, "prompt": "x", "max_calls": 3}', 2, {})
    assert isinstance(bad, RowError)
    assert "max_calls" in bad.message
    job = parse_line('{"id": 1, "prompt": "x", "distinct": true, "max_calls": 3}', 3, {})
    assert isinstance(job, Job)
    assert job.distinct.max_calls == 3
    assert parse_line('{"id": 1, "prompt": "x"}', 4, {}).distinct is None


def test_max_calls_needs_distinct_on_the_command_line(tmp_path, fake_call):
    write_input(tmp_path / "in.jsonl", [{"id": 1, "prompt": "x"}])
    code, err = batch(tmp_path, fake_call, "--max-calls", "3")
    assert code == 2
    assert "--max-calls: only applies with --distinct" in err


def test_parquet_input_without_pyarrow_names_the_parquet_extra(tmp_path, fake_call, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [1], "prompt": ["p"]}), tmp_path / "in.parquet")
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(__import__("sys").modules, name, None)  # as if not installed
    out, err = io.StringIO(), io.StringIO()
    argv = ["batch", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.jsonl")]
    code = main(argv, call=fake_call, stdout=out, stderr=err)
    assert code == 1
    assert 'pip install "verbalized-sampling-kit[parquet]"' in err.getvalue()
    assert "[ray]" not in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not fake_call.requests


def test_parse_line_bounds_nesting_size_and_64_bit_ids():
    from vs_common.scale._formats import MAX_LINE_BYTES

    for raw, needle in [
        (b"[" * 100_000, "not valid JSON"),
        (b'{"id": 1, "prompt": "p", "meta": ' + b"[" * 65 + b"]" * 65 + b"}", "'meta' nested"),
        (b'{"id": 123456789012345678901234567890, "prompt": "p"}', "64 bits"),
        (b'{"id": 1, "prompt": "\\ud800"}', "not valid JSON"),
        (b'{"id": 1, "prompt": "caf\xff"}', "not valid JSON"),
        (b'{"id": 1, "prompt": "' + b"x" * MAX_LINE_BYTES + b'"}', "longer than"),
    ]:
        result = parse_line(raw, 3, {})
        assert isinstance(result, RowError), raw[:60]
        assert needle in result.message, (raw[:60], result.message)
    deep_enough = b'{"id": 1, "prompt": "p", "meta": ' + b"[" * 64 + b"]" * 64 + b"}"
    assert isinstance(parse_line(deep_enough, 1, {}), Job)
    assert parse_line(b'{"id": 18446744073709551615, "prompt": "p"}', 1, {}).id == 2**64 - 1
