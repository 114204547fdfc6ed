"""A model server that crashes is named as such, everywhere a user meets it.

A stand-in for ``llama_cpp.server`` (tests/stand_in) dies with SIGSEGV at
start, on its first completion (the readiness check), or on the first real
request after it said ready: the way a llama.cpp build for another CPU dies.
The error must name the signal, carry the server's log and say what to do,
never "cannot reach".
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vs_common import VSConfig, VSSamplingError, run_sampling
from vs_common.backends import OpenAICompatClient
from vs_common.backends.local_server import SERVER_MODULE_ENV, LocalModelServer, LocalServerDied
from vs_common.cli import main

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = ROOT / "tests" / "stand_in"


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch):
    """Make every LocalModelServer (here and in child processes) run the stand-in."""

    def use(mode: str) -> None:
        monkeypatch.setenv(SERVER_MODULE_ENV, "stand_in_llama_server")
        monkeypatch.setenv("STAND_IN_CRASH", mode)
        path = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(STAND_IN), path) if p))
        for name in ("OPENAI_API_KEY", "VS_BASE_URL"):
            monkeypatch.delenv(name, raising=False)

    return use


def _assert_names_the_crash(text: str) -> None:
    assert "died with SIGSEGV" in text
    assert "GGML_NATIVE=OFF" in text  # what to do
    assert "crashing the way a native AMX build does" in text  # the server's own log
    assert "cannot reach" not in text.lower()


@pytest.mark.parametrize(
    ("mode", "when"),
    [("start", "while starting"), ("first_request", "while answering its first request")],
)
def test_start_names_a_crash(stand_in, mode: str, when: str):
    stand_in(mode)
    server = LocalModelServer(startup_timeout=30)
    with pytest.raises(LocalServerDied) as info:
        server.start()
    err = info.value
    assert err.signal_name == "SIGSEGV"
    assert err.returncode == -11
    assert when in str(err)
    _assert_names_the_crash(str(err))
    assert "Fatal Python error: Segmentation fault" in err.log_tail  # -X faulthandler
    assert not server.running


def test_start_names_an_exit_code(stand_in):
    stand_in("exit")
    with pytest.raises(LocalServerDied, match="died with exit code 3 while starting") as info:
        LocalModelServer(startup_timeout=30).start()
    assert info.value.signal_name is None
    assert "failed to load model" in str(info.value)


def test_ready_means_a_completion_succeeded(stand_in):
    stand_in("")
    with LocalModelServer(startup_timeout=30) as server:
        server.check_alive()
        assert server.running


async def test_guarded_call_names_a_crash_and_is_not_retried(stand_in):
    stand_in("after_ready")
    server = LocalModelServer(startup_timeout=30)
    with pytest.raises(LocalServerDied, match="while the `with` block ran"):  # noqa: PT012
        async with server:
            call = server.guard(OpenAICompatClient(server.base_url, server.model, timeout=10))
            with pytest.raises(VSSamplingError) as info:
                await run_sampling("Joke", VSConfig(k=5, n=10), call, max_concurrency=1)
            failures = info.value.failures
            assert [f.error_type for f in failures] == ["LocalServerDied", "LocalServerDied"]
            assert all(f.attempts == 1 for f in failures)  # a dead server is not retried
            assert "died with SIGSEGV while answering a request" in failures[0].message


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "Write a joke", "-k", "5", "-n", "5"],
        ["compare", "Write a joke", "-n", "5", "-k", "5", "--methods", "vs_standard"],
    ],
)
@pytest.mark.parametrize("mode", ["first_request", "after_ready"])
def test_cli_names_a_crash(stand_in, argv: list[str], mode: str):
    stand_in(mode)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    assert code == 1
    _assert_names_the_crash(err.getvalue())


@pytest.mark.parametrize("mode", ["first_request", "after_ready"])
def test_cli_batch_names_a_crash(stand_in, tmp_path: Path, mode: str):
    stand_in(mode)
    prompts = tmp_path / "in.jsonl"
    prompts.write_text("".join(json.dumps({"id": i, "prompt": f"p{i}"}) + "\n" for i in range(3)))
    out, err = io.StringIO(), io.StringIO()
    code = main(["batch", str(prompts), "-o", str(tmp_path / "out.jsonl")], stdout=out, stderr=err)
    assert code == 1
    _assert_names_the_crash(err.getvalue())


@pytest.mark.parametrize(
    "example", ["quickstart.py", "langchain_chain.py", "llamaindex_workflow.py"]
)
def test_examples_name_a_crash(stand_in, example: str):
    stand_in("after_ready")
    env = {k: v for k, v in os.environ.items() if k != "VS_OFFLINE"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    _assert_names_the_crash(result.stdout + result.stderr)


def test_pytest_fixture_names_a_crash(stand_in, tmp_path: Path):
    stand_in("after_ready")
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_uses_server.py").write_text(
        "import urllib.request\n\n"
        "def test_one(local_server):\n"
        "    body = b'{\"messages\": []}'\n"
        "    url = local_server.base_url + '/chat/completions'\n"
        "    urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10)\n\n"
        "def test_two(local_server):\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "died with SIGSEGV during this test" in output  # teardown of test_one
    assert "died with SIGSEGV before this test" in output  # test_two errors at set-up
    _assert_names_the_crash(output)
