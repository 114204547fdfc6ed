"""`vs batch` against the fault-injecting server: nothing lost, nothing duplicated.

30% of requests are faulted (every kind at least once). Each prompt either
lands in OUTPUT exactly once with all its candidates, or in the errors file;
a rerun against a healthy server completes the rest, still exactly once each.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from vs_common.cli import main
from vs_common.testing import ALL_FAULTS, FaultInjectingServer, FaultRates

N_PROMPTS = 40


def _write_prompts(path: Path) -> set[str]:
    ids = {f"p{i}" for i in range(N_PROMPTS)}
    path.write_text(
        "".join(json.dumps({"id": i, "prompt": f"Joke number {i}"}) + "\n" for i in sorted(ids))
    )
    return ids


def _batch(inp: Path, out: Path, base_url: str) -> int:
    args = ["batch", str(inp), "-o", str(out), "--base-url", base_url, "--model", "fault"]
    args += ["-k", "5", "-n", "5", "--retries", "1", "--timeout", "1", "--concurrency", "4"]
    args += ["--structured", "tool", "-q", "--max-consecutive-failures", "0"]
    return main(args, stdout=io.StringIO(), stderr=io.StringIO())


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_batch_under_faults_then_resume(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    errors = tmp_path / "out.errors.jsonl"
    ids = _write_prompts(inp)
    server = FaultInjectingServer(
        FaultRates.uniform(0.3), seed=8, hang_seconds=3.0, retry_after=0.1, schedule=ALL_FAULTS
    )
    with server:
        code = _batch(inp, out, server.base_url)
        delivered = server.delivered_texts()
        assert set(server.fault_counts()) == {"ok", *ALL_FAULTS}
    done = _records(out)
    done_ids = [str(r["id"]) for r in done]
    failed_ids = {str(r["id"]) for r in _records(errors)}
    assert len(done_ids) == len(set(done_ids))  # exactly once
    assert set(done_ids) | failed_ids == ids  # every prompt accounted for
    assert not set(done_ids) & failed_ids
    assert failed_ids, "with one retry some prompts should fail and be recorded"
    assert code == 1
    kept = {c["text"] for r in done for c in r["candidates"]}  # type: ignore[attr-defined]
    assert kept <= delivered  # nothing invented
    # every successful prompt kept every candidate its answer carried (4 when cut at
    # max_tokens, and then a top-up call asked for more), and says what is missing
    for r in done:
        samples = sum(c["count"] for c in r["candidates"])  # type: ignore[attr-defined]
        assert r["shortfall"] == max(0, 5 - samples)
        if r["top_up_calls"] == 0:
            assert len(r["candidates"]) in (4, 5)  # type: ignore[arg-type]

    with FaultInjectingServer() as healthy:  # rerun: only the missing ids are sent
        assert _batch(inp, out, healthy.base_url) == 0
        assert len(healthy.requests) == len(failed_ids)
    final = [str(r["id"]) for r in _records(out)]
    assert sorted(final) == sorted(ids)
    assert final[: len(done_ids)] == done_ids
