"""`vs batch --engine ray` and sample_dataset against the real SmolLM2 server (a few rows)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vs_common.cli import main

if not os.environ.get("CI"):
    pytest.importorskip("ray", reason='needs pip install "verbalized-sampling-kit[ray]"')

pytestmark = pytest.mark.timeout(900)

TOPICS = ["coffee", "cats", "rain", "trains"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ray_dataset.py"


def test_vs_batch_with_ray_against_the_local_model(local_server, tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": f"joke-{t}", "prompt": f"Write a short joke about {t}.", "meta": {"topic": t}}
            for t in TOPICS]  # fmt: skip
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["batch", str(source), "-o", str(target), "--engine", "ray", "--workers", "2",
            "--concurrency", "2", "-k", "3", "--base-url", local_server.base_url,
            "--model", local_server.model, "--max-tokens", "300", "-q"]  # fmt: skip
    err = io.StringIO()
    code = main(argv, stderr=err)
    assert code in (0, 1), err.getvalue()  # 1: a reply the parser could not use, recorded
    done = [json.loads(line) for line in target.read_text().splitlines()]
    errors_file = tmp_path / "out.errors.jsonl"
    failed = [json.loads(line)["id"] for line in errors_file.read_text().splitlines()]
    assert sorted([r["id"] for r in done] + failed) == sorted(r["id"] for r in rows)
    assert done, err.getvalue()
    for record in done:
        assert record["candidates"] and record["selected"] in record["candidates"]
        assert record["model"] == local_server.model
        assert record["meta"]["topic"] in TOPICS
        assert record["usage"]["completion_tokens"] > 0


def test_ray_dataset_example_against_the_local_model(local_server, tmp_path):
    env = {**os.environ, "VS_BASE_URL": local_server.base_url, "VS_MODEL": local_server.model}
    env.pop("OPENAI_API_KEY", None)
    env.pop("RAY_ADDRESS", None)
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = ray_rows(tmp_path / "out")
    assert sorted(r["id"] for r in rows) == [0, 1, 2, 3]
    good = [r for r in rows if r["error"] is None]
    assert good, [r["error"] for r in rows]
    for row in good:
        assert row["selected"] in row["candidates"]
        assert abs(sum(row["probabilities"]) - 1) < 1e-9
        assert row["completion_tokens"] > 0
        assert json.loads(row["config"])["k"] == (2 if row["id"] == 0 else 3)
    for row in rows:
        assert f"{row['id']} ({row['topic']}):" in run.stdout


def ray_rows(folder):
    import pyarrow.parquet as pq

    return pq.read_table(folder).to_pylist()
