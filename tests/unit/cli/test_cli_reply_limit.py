"""`--max-reply-bytes` on generate, batch and compare, against a server that sends a gzip bomb."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from vs_common.cli import build_parser, main
from vs_common.testing import RawReplyServer, hostile_replies

BOMB = hostile_replies(huge=8 << 20)["gzip bomb"]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _limit_line(err: str) -> str:
    [line] = [x for x in err.splitlines() if "max_reply_bytes" in x]
    assert line.isprintable() and "\\x00" not in line
    return line


def test_generate_fails_at_once_naming_the_limit_and_asks_once() -> None:
    with RawReplyServer([BOMB] * 8) as server:
        code, _, err = _run(
            "generate", "Joke", "--base-url", server.base_url, "--model", "m",
            "--structured", "text", "--max-reply-bytes", "1048576",
        )  # fmt: skip
        requests = len(server.requests)
    assert code != 0
    assert "1 MiB" in _limit_line(err)
    assert requests == 1  # not retried, not re-asked


def test_the_default_limit_reads_a_reply_under_it() -> None:
    with RawReplyServer([hostile_replies(huge=1 << 20)["two-member gzip"]]) as server:
        code, out, err = _run(
            "generate", "Joke", "--base-url", server.base_url, "--model", "m",
            "--structured", "text", "-k", "1", "--json",
        )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["candidates"][0]["text"] == "Hostile"


def test_batch_records_the_limit_in_the_errors_file(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": 1, "prompt": "Joke"}) + "\n")
    with RawReplyServer([BOMB] * 8) as server:
        code, _, _ = _run(
            "batch", str(inp), "-o", str(tmp_path / "out.jsonl"), "--base-url", server.base_url,
            "--model", "m", "--structured", "text", "--max-reply-bytes", "1048576", "-q",
        )  # fmt: skip
        requests = len(server.requests)
    assert code == 1
    [error] = [json.loads(x) for x in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert "max_reply_bytes" in error["message"]
    assert requests == 1


@pytest.mark.parametrize("command", ["generate", "batch", "compare"])
def test_each_command_takes_the_option(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = [command, "x", *(["-o", "out.jsonl"] if command == "batch" else [])]
    args = build_parser().parse_args([*base, "--max-reply-bytes", "4096"])
    assert args.max_reply_bytes == 4096
    assert build_parser().parse_args(base).max_reply_bytes == 32 * 1024 * 1024
    code, _, err = _run(command, "x", "--max-reply-bytes", "0")
    assert code == 2 and "--max-reply-bytes" in err + capsys.readouterr().err
