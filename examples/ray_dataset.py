"""Verbalized Sampling over a Ray Dataset (the paper's section 7: synthetic data).

Each Ray worker holds one client and runs its rows concurrently through the
same sampling policy as everywhere else (retries, re-asks, partial results).
The result is a Dataset with the candidates, their probabilities, the selected
response, failures, shortfall and token usage per row; write it anywhere Ray
can (``write_parquet``, ``write_json``...).

    pip install "verbalized-sampling-kit[ray]"
    python examples/ray_dataset.py [OUTPUT_DIR]

Backend: ``$VS_BASE_URL`` (and ``$VS_MODEL``), e.g. a vLLM server, else the
embedded SmolLM2-135M model started for the run. Ray: the cluster
``RAY_ADDRESS`` names, else a local Ray started for the run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import ray

from vs_common.backends import OpenAICompatClient
from vs_common.scale import RayOptions, ray_session, sample_dataset

TOPICS = ["prime numbers", "triangles", "probability", "sequences"]


@contextlib.contextmanager
def model_server() -> Iterator[tuple[str, str]]:
    """(base URL, model): ``$VS_BASE_URL`` or the embedded SmolLM2 model."""
    if os.environ.get("VS_BASE_URL"):
        yield os.environ["VS_BASE_URL"], os.environ.get("VS_MODEL", "default")
        return
    from vs_common.backends.local_server import LocalModelServer

    with LocalModelServer() as server:
        yield server.base_url, server.model


def run() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("vs-ray-example")
    with model_server() as (url, model), ray_session(num_cpus=2, quiet=True):
        rows = [
            {"id": i, "prompt": f"Write a short competition math question about {t}.", "topic": t}
            for i, t in enumerate(TOPICS)
        ]
        rows[0]["k"] = 2  # per-row settings: a column named like the setting
        # One client per worker, made in the worker: any picklable zero-argument callable.
        client = functools.partial(OpenAICompatClient, url, model, max_tokens=300)
        result = sample_dataset(
            ray.data.from_items(rows),
            client,
            defaults={"k": 3, "n": 3, "seed": 7},
            options=RayOptions(workers=2, concurrency_per_worker=2),
            structured="tool",
        )
        # Runs the pipeline; reading the files back does not run it again.
        result.write_parquet(str(folder.resolve()), mode="overwrite")
        done = ray.data.read_parquet(str(folder.resolve())).take_all()
    failed = 0
    for row in sorted(done, key=lambda r: r["id"]):
        if row["error"] is None:
            print(f"{row['id']} ({row['topic']}): {row['selected'][:100]}")
        else:
            failed += 1
            print(f"{row['id']} ({row['topic']}): failed: {row['error'][:100]}")
    return 1 if failed == len(done) else 0


if __name__ == "__main__":
    sys.exit(run())
