"""The result store: claims, exactly-once writes, repair after a kill, Parquet parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vs_common.scale import (
    BatchError,
    KeySet,
    ParquetSink,
    ResultStore,
    StoreLocked,
    errors_path_for,
    id_key,
)


def holds(keys: KeySet, expected: set[str]) -> bool:
    """``keys`` holds exactly ``expected`` (a KeySet cannot list its keys)."""
    return len(keys) == len(expected) and all(k in keys for k in expected)


def record(ident: object, text: str = "a") -> dict:
    return {
        "id": ident,
        "prompt": "p",
        "config": {"method": "vs_standard", "k": 1, "n": 1},
        "selected": {"text": text, "probability": 1.0, "index": 0},
        "candidates": [{"text": text, "probability": 1.0, "raw_probability": 0.9, "index": 0}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
        "num_calls": 1,
    }


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_claims_tell_new_done_and_duplicate_apart(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps(record(1)) + "\n")
    with ResultStore(out) as store:
        assert holds(store.done, {id_key(1)})
        assert store.claim(id_key(1)) == "done"
        assert store.claim(id_key("1")) == "new"  # "1" and 1 are different ids
        assert store.claim(id_key("1")) == "duplicate"


def test_a_second_result_for_an_id_is_dropped_whichever_file_it_targets(tmp_path):
    out = tmp_path / "out.jsonl"
    with ResultStore(out) as store:
        assert store.add_result(id_key("a"), record("a", "first"))
        assert not store.add_result(id_key("a"), record("a", "again"))  # a retried task
        assert not store.add_error(id_key("a"), {"id": "a", "error": "late failure"})
        assert store.add_error(id_key("b"), {"id": "b", "error": "x"})
        assert not store.add_result(id_key("b"), record("b"))  # already failed in this run
        assert store.add_error(None, {"id": None, "error": "no id"})  # no id: always kept
        assert (store.written, store.failed) == (1, 2)
    assert [r["selected"]["text"] for r in lines(out)] == ["first"]
    assert [e["id"] for e in lines(errors_path_for(out))] == ["b", None]


def test_encoded_lines_are_written_as_they_are(tmp_path):
    out = tmp_path / "out.jsonl"
    raw = json.dumps(record(7), ensure_ascii=False).encode()
    with ResultStore(out) as store:
        store.add_result(id_key(7), raw)
    assert out.read_bytes() == raw + b"\n"


def test_errors_file_is_emptied_and_counted_by_the_next_run(tmp_path):
    out = tmp_path / "out.jsonl"
    with ResultStore(out) as store:
        store.add_error(id_key(1), {"id": 1})
        store.add_error(id_key(2), {"id": 2})
    with ResultStore(out) as store:
        assert store.previous_errors == 2
        assert len(store.done) == 0  # failures are not done: they are retried
    assert errors_path_for(out).read_text() == ""


def test_a_second_store_on_the_same_output_is_refused(tmp_path):
    pytest.importorskip("fcntl")
    out = tmp_path / "out.jsonl"
    with ResultStore(out), pytest.raises(StoreLocked, match="another `vs batch`"):
        ResultStore(out).open()
    with ResultStore(out) as store:  # released on close
        assert len(store.done) == 0


def test_writing_to_a_closed_store_fails_clearly(tmp_path):
    store = ResultStore(tmp_path / "out.jsonl")
    with pytest.raises(BatchError, match="not open"):
        store.write_result(record(1))


def test_errors_path_for_parquet_output(tmp_path):
    assert errors_path_for(tmp_path / "data.parquet").name == "data.errors.jsonl"


# ---- Parquet output: a directory of whole part files

pq = pytest.importorskip("pyarrow.parquet")


def test_parquet_parts_are_whole_and_resume_by_id(tmp_path):
    folder = tmp_path / "out.parquet"
    sink = ParquetSink(folder, flush_rows=2)
    assert len(sink.open()) == 0
    for i in range(5):
        sink.write(record(i, f"t{i}"))
    assert len(list(folder.glob("*.parquet"))) == 2  # 4 results flushed, 1 buffered
    (folder / ".part-x.parquet.tmp").write_bytes(b"half a part, the kill came mid-write")
    assert sorted(pq.read_table(folder).column("id").to_pylist()) == [0, 1, 2, 3]  # tmp skipped
    sink.close()
    table = pq.read_table(folder)
    assert sorted(table.column("id").to_pylist()) == [0, 1, 2, 3, 4]
    row = {r["id"]: r for r in table.to_pylist()}[3]
    assert row["selected"] == "t3"
    assert row["candidates"] == ["t3"] and row["probabilities"] == [1.0]
    assert row["raw_probabilities"] == [0.9]
    assert (row["prompt_tokens"], row["completion_tokens"], row["num_calls"]) == (3, 4, 1)
    assert json.loads(row["config"])["method"] == "vs_standard"
    reopened = ParquetSink(folder)
    assert holds(reopened.open(), {id_key(i) for i in range(5)})
    assert not list(folder.glob("*.tmp"))  # the half-written part is gone


def test_a_kill_loses_only_the_buffered_results(tmp_path):
    folder = tmp_path / "out.parquet"
    sink = ParquetSink(folder, flush_rows=3)
    sink.open()
    for i in range(4):
        sink.write(record(i))
    # killed here: no close(), the fourth result was only buffered
    assert holds(ParquetSink(folder).open(), {id_key(0), id_key(1), id_key(2)})


def test_parquet_ids_must_keep_one_type(tmp_path):
    sink = ParquetSink(tmp_path / "out.parquet")
    sink.open()
    sink.write(record(1))
    with pytest.raises(BatchError, match="ids of one type"):
        sink.write(record("two"))


def test_parquet_output_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "out.parquet"
    target.write_text("not a directory")
    with pytest.raises(BatchError, match="directory of part files"):
        ParquetSink(target).open()


def test_store_with_parquet_output_dedupes_like_jsonl(tmp_path):
    out = tmp_path / "out.parquet"
    with ResultStore(out) as store:
        assert store.add_result(id_key("a"), json.dumps(record("a")).encode())
        assert not store.add_result(id_key("a"), record("a"))
    with ResultStore(out) as store:
        assert holds(store.done, {id_key("a")})
    assert pq.read_table(out).column("id").to_pylist() == ["a"]


@pytest.mark.parametrize(
    "ident",
    [0, 7, -3, 10**30, "a", "", "é \" \\ \n \u2028 \x00", "\ud800", True, False, None, 1.5,
     [2, "x"], {"b": 1, "a": 2}],
)  # fmt: skip
def test_id_key_is_the_ids_json_text(ident: object) -> None:
    # id_key writes str and int ids itself (twice a row): the same text as json.dumps.
    assert id_key(ident) == json.dumps(ident, ensure_ascii=False, sort_keys=True)


def test_a_lone_surrogate_from_a_reply_is_written_escaped_and_the_run_ends(tmp_path):
    # A server may send "\ud800" in its JSON; the record must still be one valid line.
    import asyncio

    from vs_common.calls import CallResponse
    from vs_common.scale import BatchOptions, run_batch

    reply = '{"responses": [{"text": "caf\\ud800", "probability": 1.0}]}'

    async def call(request):
        return CallResponse(output=json.loads(json.dumps(reply)), finish_reason="stop")

    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text('{"id": 1, "prompt": "p"}\n{"id": 2, "prompt": "q"}\n')
    summary = asyncio.run(run_batch(BatchOptions(inp, out, {"k": 1}, structured="text"), call))
    assert summary.written == 2
    records = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["candidates"][0]["text"] for r in records] == ["caf\ud800"] * 2
