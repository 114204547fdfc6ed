"""`vs` argument parsing, usage errors and backend resolution."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from vs_common.cli import build_parser, main
from vs_common.cli._backend import (
    DEFAULT_OPENAI_BASE_URL,
    DEFAULT_OPENAI_MODEL,
    BackendOptions,
    display_url,
    open_backend,
)
from vs_common.cli._common import CLIError, UsageError

SECRET = "sk-test-very-secret-key-0123456789"


def run(argv, call=None):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, call=call, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_generate_options_parse():
    args = build_parser().parse_args(
        [
            "generate", "Write a joke", "-k", "3", "-n", "9", "--method", "vs_cot",
            "--threshold", "0.2", "--probability-format", "percentage", "--output-format", "xml",
            "--strategy", "tail", "--seed", "7", "--model", "m", "--base-url", "http://h:1/v1",
            "--temperature", "1.1", "--max-tokens", "99", "--json",
        ]
    )  # fmt: skip
    assert (args.prompt, args.k, args.n, args.method, args.threshold) == (
        "Write a joke", 3, 9, "vs_cot", 0.2,
    )  # fmt: skip
    assert (args.probability_format, args.output_format, args.strategy, args.seed) == (
        "percentage", "xml", "tail", 7,
    )  # fmt: skip
    assert (args.model, args.base_url, args.temperature, args.max_tokens, args.json) == (
        "m", "http://h:1/v1", 1.1, 99, True,
    )  # fmt: skip


def test_every_method_is_accepted():
    from vs_common import Method

    for method in Method:
        assert build_parser().parse_args(["generate", "x", "-m", method.value]).method == method


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["generate", "x", "-k", "0"], "-k"),
        (["generate", "x", "-n", "0"], "-n"),
        (["generate", "x", "-k", "three"], "-k"),
        (["generate", "x", "--threshold", "1.5"], "--threshold"),
        (["generate", "x", "--method", "direct", "--threshold", "0.1"], "--threshold"),
        (["generate", "x", "--method", "nope"], "--method"),
        (["generate", "x", "--strategy", "tail"], "--threshold"),
        (["generate", "x", "--strategy", "temperature"], "--select-temperature"),
        (["generate", "x", "--temperature", "5"], "--temperature"),
        (["generate", "x", "--max-tokens", "0"], "--max-tokens"),
        (["generate", "x", "--turns", "3"], "--turns"),
        (["generate", "x", "--bogus"], "--bogus"),
        (["compare", "x", "--methods", "direct,bogus"], "--methods"),
        (["compare", "x", "-k", "0"], "-k"),
        (["batch", "missing.jsonl", "-o", "out.jsonl"], "INPUT.jsonl"),
    ],
)
def test_bad_option_exits_2_naming_it(argv, named, capsys, fake_call):
    code, _, err = run(argv, call=fake_call)
    captured = capsys.readouterr()  # argparse's own errors go to sys.stderr
    message = err + captured.err
    assert code == 2
    assert named in message
    assert "error:" in message
    assert "Traceback" not in message
    assert not fake_call.requests  # nothing was sent


def test_help_and_version_exit_0(capsys):
    assert main(["--help"]) == 0
    assert "generate" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("vs ")


def test_unreachable_server_is_one_line_exit_1(closed_port_url):
    code, out, err = run(["generate", "x", "--base-url", closed_port_url, "--model", "m"])
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert closed_port_url in lines[0]
    assert "cannot reach" in lines[0]


def test_unreachable_server_in_a_subprocess_has_no_traceback(closed_port_url):
    result = subprocess.run(
        [sys.executable, "-m", "vs_common.cli", "generate", "x", "--base-url", closed_port_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert closed_port_url in result.stderr


def test_bad_base_url_is_a_usage_error():
    code, _, err = run(["generate", "x", "--base-url", "ftp://example.com"])
    assert code == 2
    assert "--base-url" in err


def test_api_key_env_unset_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("VS_TEST_KEY", raising=False)
    code, _, err = run(
        ["generate", "x", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "VS_TEST_KEY"]
    )
    assert code == 2
    assert "VS_TEST_KEY" in err


def test_api_key_is_sent_but_never_printed(monkeypatch, fake_openai):
    monkeypatch.setenv("VS_TEST_KEY", SECRET)
    code, out, err = run(
        [
            "generate",
            "Tell a joke",
            "--base-url",
            fake_openai.url,
            "--api-key-env",
            "VS_TEST_KEY",
            "--json",
        ]
    )
    assert code == 0, err
    assert fake_openai.headers[-1]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in out
    assert SECRET not in err
    assert json.loads(out)["model"] == "fake-model"  # discovered via GET /models


def test_error_replies_do_not_leak_the_key(monkeypatch, fake_openai):
    monkeypatch.setenv("VS_TEST_KEY", SECRET)
    fake_openai.fail_when = "Tell"
    code, out, err = run(
        ["generate", "Tell a joke", "--base-url", fake_openai.url, "--api-key-env", "VS_TEST_KEY"]
    )
    assert code == 1
    assert "HTTP 400" in err
    assert SECRET not in out + err
    assert len(err.strip().splitlines()) == 1


def test_a_key_with_a_line_break_is_one_clear_line_that_does_not_show_it(monkeypatch, fake_openai):
    monkeypatch.setenv("VS_TEST_KEY", SECRET + "\n")
    code, out, err = run(
        ["generate", "Tell a joke", "--base-url", fake_openai.url, "--api-key-env", "VS_TEST_KEY"]
    )
    assert code != 0
    assert "api_key" in err
    assert "line break" in err
    assert SECRET not in out + err
    assert len(err.strip().splitlines()) == 1
    assert not fake_openai.headers  # nothing was sent


def test_openai_key_is_not_sent_to_another_base_url(monkeypatch, fake_openai):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    code, _, err = run(["generate", "Tell a joke", "--base-url", fake_openai.url, "--model", "m"])
    assert code == 0, err
    assert "Authorization" not in fake_openai.headers[-1]


def test_openai_key_without_base_url_means_openai(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setattr("vs_common.backends.resolve.check_reachable", lambda url: None)
    with open_backend(BackendOptions(), io.StringIO()) as backend:
        assert backend.model == DEFAULT_OPENAI_MODEL
        assert backend.label == DEFAULT_OPENAI_BASE_URL
        assert SECRET not in repr(backend)
        assert backend.call.base_url == DEFAULT_OPENAI_BASE_URL  # type: ignore[attr-defined]


def test_no_key_no_url_starts_the_embedded_model(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    events = []

    class FakeServer:
        base_url = "http://127.0.0.1:1/v1"
        model = "smollm2-135m-instruct"

        @classmethod
        def embedded(cls, name):
            events.append(f"embedded {name}")
            return cls()

        def start(self):
            events.append("start")
            return self

        def stop(self):
            events.append("stop")

        def guard(self, call):
            events.append("guard")
            return call

        def check_alive(self, when=""):
            events.append("check_alive")

    monkeypatch.setattr("vs_common.backends.resolve.LocalModelServer", FakeServer)
    err = io.StringIO()
    with open_backend(BackendOptions(), err) as backend:
        assert events == ["embedded smollm2-135m-instruct", "start", "guard"]
        assert backend.model == "smollm2-135m-instruct"
    assert events[3:] == ["check_alive", "stop"]
    assert "embedded SmolLM2" in err.getvalue()


def test_missing_local_extra_gives_the_pip_hint(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def start(self):
        msg = "The local model server needs llama-cpp-python[server]"
        raise ImportError(msg, name="llama_cpp")

    monkeypatch.setattr("vs_common.backends.local_server.LocalModelServer.start", start)
    code, _, err = run(["generate", "x"])
    assert code == 1
    assert 'pip install "verbalized-sampling-kit[local]"' in err
    assert "Traceback" not in err


def test_display_url_hides_credentials():
    assert display_url("https://u:pw@host:8443/v1") == "https://host:8443/v1"


def test_cli_errors_have_exit_codes():
    assert CLIError("x").exit_code == 1
    assert UsageError("x").exit_code == 2


def test_importing_the_cli_stays_light():
    code = (
        "import sys, vs_common.cli, vs_common.cli._batch, vs_common.cli._compare,"
        " vs_common.evaluation, vs_common.distinct;"
        "heavy = [m for m in ('matplotlib', 'onnxruntime', 'langchain_core', 'llama_index',"
        " 'torch', 'tokenizers') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
