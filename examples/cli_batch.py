"""Synthetic data with `vs batch` (the paper's section 8), resumable.

Writes a small JSONL of prompts (one per line, with per-line settings) and
runs ``vs batch`` on it. Run it twice: the second run skips every id already
in the output. Kill it at any point (even ``kill -9``) and rerun: nothing is
lost and nothing is duplicated.

    python examples/cli_batch.py [OUTPUT_DIR]

The same from the shell:

    vs batch prompts.jsonl -o data.jsonl -k 5 -n 5

Backend: ``$VS_BASE_URL`` (and ``$VS_MODEL``) if set, else as for ``vs
generate``: OpenAI with ``OPENAI_API_KEY``, or the embedded SmolLM2-135M model
started for the run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from vs_common.cli import main

TOPICS = ["prime numbers", "triangles", "probability", "sequences", "modular arithmetic"]


def write_prompts(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i, topic in enumerate(TOPICS):
            row = {
                "id": f"math-{i}",
                "prompt": f"Write a short competition math question about {topic}.",
                "k": 3,
                "n": 3,
                "meta": {"topic": topic},
            }
            handle.write(json.dumps(row) + "\n")


def run() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("vs-batch-example")
    folder.mkdir(parents=True, exist_ok=True)
    prompts, output = folder / "prompts.jsonl", folder / "data.jsonl"
    write_prompts(prompts)
    args = ["batch", str(prompts), "-o", str(output), "--max-tokens", "300"]
    if os.environ.get("VS_BASE_URL"):  # a server of your own (the tests point this at theirs)
        args += ["--base-url", os.environ["VS_BASE_URL"]]
        args += ["--model", os.environ["VS_MODEL"]] if os.environ.get("VS_MODEL") else []
    code = main(args)
    if output.exists():
        for line in output.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            print(f"{record['id']}: {record['selected']['text'][:100]}")
    return code


if __name__ == "__main__":
    sys.exit(run())
