"""A hostile server against `vs generate`: each bad reply, its outcome, time and memory.

Every case of ``vs_common.testing.hostile_replies`` at full size (a gzip body
that inflates to 2 GiB, a 2 GiB plain body, a chunked one, a 244 KiB head,
bad chunk sizes, Transfer-Encoding with Content-Length...), plus a gzip bomb
of 10 GiB, is served by ``RawReplyServer`` (in this process) to ``vs generate
--base-url ...`` (a fresh process each, as a user runs it, with the default
32 MiB reply limit and 3 retries): the exit code, the error line it printed,
the seconds it took, its peak RSS (``wait4``), and how many requests the
server got (1: not retried; 4: retried 3 times).

    python benchmarks/hostile.py [--huge 2147483648] [--proxy] [--json out.json]

``--proxy`` sends every request through ``vs_common.testing.ForwardProxy``
(``HTTP_PROXY``), the other code path of a client.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vs_common.testing import (  # noqa: E402 - after the path set-up above
    ForwardProxy,
    RawReply,
    RawReplyServer,
    gzip_bomb,
    hostile_replies,
)


def _cases(huge: int) -> dict[str, RawReply]:
    cases = hostile_replies(huge=huge)
    bomb = gzip_bomb(10 << 30)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb)
    cases["gzip bomb of 10 GiB"] = RawReply(head + bomb, expect="too_large")
    return cases


def _run(base_url: str, env: dict[str, str]) -> tuple[int, str, float, float]:
    cmd = [sys.executable, "-m", "vs_common.cli", "generate", "Tell me a joke"]
    cmd += ["--base-url", base_url, "--model", "m", "--structured", "text", "-k", "1"]
    cmd += ["--timeout", "60", "--json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)  # noqa: S603 - ours
        _, status, usage = os.wait4(proc.pid, 0)  # its own peak RSS, not this script's
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read().decode("utf-8", "replace")
    lines = [x for x in stderr.splitlines() if x.strip()]
    if proc.returncode == 0:
        message = f"ok: {json.loads(stdout)['candidates'][0]['text']!r}"
    else:
        message = lines[-1] if lines else "(no message)"
    return proc.returncode, message, seconds, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--huge", type=int, default=2 << 30, help="size of the oversized bodies")
    ap.add_argument("--proxy", action="store_true", help="through a loopback forward proxy")
    ap.add_argument("--json", type=Path, help="write the table here")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        env.pop(name, None)
    rows: list[dict[str, Any]] = []
    print(
        f"== hostile replies to `vs generate` (reply limit 32 MiB, 3 retries); proxy: {args.proxy}"
    )
    with RawReplyServer() as server:
        base_url = server.base_url
        proxy = None
        if args.proxy:
            port = int(base_url.rsplit(":", 1)[1].split("/")[0])
            proxy = ForwardProxy(upstream=("127.0.0.1", port)).start()
            env["HTTP_PROXY"] = proxy.url
            base_url = base_url.replace("127.0.0.1", "hostile.invalid")
        try:
            for name, reply in _cases(args.huge).items():
                server.reply(*[reply] * 8)  # as many as a retrying client could ask for
                before = len(server.requests)
                code, message, seconds, rss = _run(base_url, env)
                asked = len(server.requests) - before
                server._script.replies.clear()  # what was not asked for
                rows.append(
                    {
                        "case": name,
                        "expected": reply.expect,
                        "exit": code,
                        "message": message,
                        "seconds": round(seconds, 2),
                        "peak_rss_mb": round(rss, 1),
                        "requests": asked,
                    }
                )
                print(
                    f"  {name:<38} exit {code}  {seconds:5.2f} s  {rss:6.1f} MB"
                    f"  {asked} request(s)  {message[:150]}"
                )
        finally:
            if proxy is not None:
                proxy.stop()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
