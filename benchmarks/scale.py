"""Scale: `vs batch` (local engine) against `--engine ray`, and memory at 10k / 100k prompts.

    python benchmarks/scale.py [--prompts 5000] [--latency 0.1] [--concurrency 16]
                               [--workers 2] [--rss-sizes 10000,100000] [--json out.json]

Throughput: PROMPTS prompts (k=5, n=5: one call each) against a fixed-latency
fake server (every answer after exactly LATENCY seconds, any number at once,
in its own process), with the same total concurrency for both engines (Ray:
WORKERS workers of CONCURRENCY / WORKERS rows each). Each engine runs in a
fresh process. Reported: rows/s from the first result to the last, as a
fraction of the ideal CONCURRENCY / LATENCY, and the start-up (start to first
result; for Ray: starting a local Ray and its workers). Ray's start-up is
also measured alone (ray.init, then one row through one worker).

Memory: peak RSS of `vs batch` (local engine, in a fresh process) over 10k
and 100k prompts with an instant in-process fake model, so only the engine's
own memory is measured (goal: the 100k run within 1.2x of the 10k run).

The fake server is the minimal asyncio server below, which also counts what
it serves (``/stats``): rows/s are its requests over its busy span, the same
measure for both engines (results reach the driver in bursts under Ray).
``--server testing`` uses vs_common.testing.FixedLatencyServer instead, with
rows/s taken from the results' arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPLY_TEXTS = [f"Joke {i}: a barista walks into a bar" for i in range(5)]


# -- the fixed-latency server (fallback until vs_common.testing has one) ---------------------


def _completion(payload: dict[str, Any]) -> bytes:
    content = json.dumps({"responses": [{"text": t, "probability": 0.2} for t in REPLY_TEXTS]})
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": payload.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 60, "total_tokens": 100},
    }
    return json.dumps(body).encode()


class _Stats:
    """What the server saw: requests, their span, and the most in flight at once."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_start: float | None = None
        self.last_end: float | None = None

    def as_dict(self) -> dict[str, Any]:
        span = (self.last_end - self.first_start) if self.first_start and self.last_end else 0
        return {
            "requests": self.count,
            "max_in_flight": self.max_in_flight,
            "span_s": round(span, 3),
            "requests_per_s": round(self.count / span, 1) if span else 0.0,
        }


async def _answer(stats: _Stats, payload: bytes, latency: float) -> bytes:
    stats.count += 1
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    if stats.first_start is None:
        stats.first_start = time.perf_counter()
    try:
        await asyncio.sleep(latency)
    finally:
        stats.in_flight -= 1
        stats.last_end = time.perf_counter()
    return _completion(json.loads(payload or b"{}"))


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float, stats: _Stats
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            method, path = lines[0].split(" ")[:2]
            if method == "POST":
                data = await _answer(stats, body, latency)
            elif path.endswith("/stats"):
                data = json.dumps(stats.as_dict()).encode()
            elif path.endswith("/reset"):
                stats.reset()
                data = b"{}"
            else:
                data = json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(latency: float) -> None:
    stats = _Stats()
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, latency, stats), "127.0.0.1", 0, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    async with server:
        await server.serve_forever()


def serve_forever(latency: float, kind: str) -> None:
    """Serve in this process, print the base URL first (``--serve``).

    ``kind`` "own" is the server above (with ``/stats``); "testing" is
    vs_common.testing.FixedLatencyServer (rows/s are then measured from the
    results' arrival instead, which is burstier under Ray).
    """
    if kind == "own":
        asyncio.run(_serve(latency))
        return
    from vs_common.testing import FixedLatencyServer  # type: ignore[attr-defined]

    with FixedLatencyServer(latency=latency) as server:
        print(server.base_url, flush=True)
        while True:
            time.sleep(3600)


@contextlib.contextmanager
def latency_server(latency: float, kind: str) -> Iterator[str]:
    """A fixed-latency server in its own process; yields its base URL."""
    cmd = [sys.executable, __file__, "--serve", str(latency), "--server", kind]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)  # noqa: S603 - this script
    try:
        url = proc.stdout.readline().strip() if proc.stdout is not None else ""
        if not url.startswith("http"):
            msg = f"the {kind} fixed-latency server did not start"
            raise RuntimeError(msg)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_stats(url: str, action: str = "stats") -> dict[str, Any] | None:
    """The own server's figures (None from a server without ``/stats``)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/{action}", timeout=5) as reply:  # noqa: S310 - ours
            data: dict[str, Any] = json.loads(reply.read())
    except (OSError, ValueError):
        return None
    return data if action == "reset" or "requests" in data else None


# -- children: one engine run in a fresh process ---------------------------------------------


def _client(url: str, timeout: float = 60.0) -> Any:
    from vs_common.backends import OpenAICompatClient

    return OpenAICompatClient(url, "fake", timeout=timeout)


def _write_prompts(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = {"id": f"prompt-{i:07d}", "prompt": f"Write a joke about topic number {i}"}
            handle.write(json.dumps(row) + "\n")


def child_throughput(engine: str, url: str, prompts: int, concurrency: int, workers: int) -> None:
    from vs_common.scale import (
        BatchOptions,
        RayOptions,
        client_factory,
        run_batch,
        run_batch_ray,
    )

    folder = Path(tempfile.mkdtemp(prefix="vs-scale-"))
    source = folder / "in.jsonl"
    _write_prompts(source, prompts)
    options = BatchOptions(
        source, folder / "out.jsonl", {"k": 5, "n": 5}, concurrency=concurrency, structured="text"
    )
    stamps: list[float] = []
    start = time.perf_counter()

    def on_row(_: object) -> None:
        stamps.append(time.perf_counter())

    if engine == "local":
        summary = asyncio.run(run_batch(options, _client(url), on_row=on_row))
    else:
        per_worker = max(1, math.ceil(concurrency / workers))
        ray_options = RayOptions(workers=workers, concurrency_per_worker=per_worker)
        summary = run_batch_ray(
            options, client_factory(_client(url)), ray_options, on_row=on_row, quiet=True
        )
    end = time.perf_counter()
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    print(
        json.dumps(
            {
                "engine": engine,
                "written": summary.written,
                "failed": summary.failed,
                "wall_s": round(end - start, 2),
                "startup_s": round(stamps[0] - start, 2) if stamps else None,
                "rows_per_s": round(steady, 1),  # from the results' arrival
            }
        )
    )


def child_ray_startup(url: str) -> None:
    import ray

    from vs_common.scale import RayOptions, client_factory, sample_dataset

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    t1 = time.perf_counter()
    ray.data.DataContext.get_current().enable_progress_bars = False
    ds = ray.data.from_items([{"id": 1, "prompt": "Write a joke"}])
    out = sample_dataset(
        ds,
        client_factory(_client(url)),
        defaults={"k": 5},
        options=RayOptions(workers=1),
        structured="text",
    ).take_all()
    t2 = time.perf_counter()
    ray.shutdown()
    t3 = time.perf_counter()
    if not out[0]["selected"]:
        msg = f"no selection: {out}"
        raise RuntimeError(msg)
    print(
        json.dumps(
            {
                "init_s": round(t1 - t0, 2),
                "first_row_s": round(t2 - t1, 2),
                "shutdown_s": round(t3 - t2, 2),
            }
        )
    )


def child_rss(prompts: int) -> None:
    from vs_common.calls import CallRequest, CallResponse, Usage
    from vs_common.cli import main

    folder = Path(tempfile.mkdtemp(prefix="vs-rss-"))
    source = folder / "in.jsonl"
    _write_prompts(source, prompts)
    reply = json.dumps({"responses": [{"text": t, "probability": 0.2} for t in REPLY_TEXTS]})

    async def instant(request: CallRequest) -> CallResponse:
        await asyncio.sleep(0)
        return CallResponse(output=reply, usage=Usage(prompt_tokens=40, completion_tokens=60))

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    argv = ["batch", str(source), "-o", str(folder / "out.jsonl"), "-k", "5", "-q"]
    argv += ["--structured", "text", "--concurrency", "16"]
    code = main(argv, call=instant, stderr=io.StringIO())
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    lines = (folder / "out.jsonl").read_bytes().count(b"\n")
    print(
        json.dumps(
            {
                "prompts": prompts,
                "exit": code,
                "written": lines,
                "seconds": round(seconds, 1),
                "rows_per_s": round(prompts / seconds),
                "rss_before_mb": round(before / 1024, 1),
                "peak_rss_mb": round(peak / 1024, 1),
            }
        )
    )


def _child(*args: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if out.returncode != 0 or not last.startswith("{"):
        msg = f"child {args} failed ({out.returncode}):\n{out.stderr[-3000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(last)
    return result


# -- the parent -------------------------------------------------------------------------------


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    ideal = args.concurrency / args.latency
    results: dict[str, Any] = {"ideal_rows_per_s": round(ideal, 1)}
    with latency_server(args.latency, args.server) as url:
        common = [url, str(args.prompts), str(args.concurrency), str(args.workers)]
        for engine in ("local", "ray"):
            server_stats(url, "reset")
            row = _child("throughput", engine, *common)
            seen = server_stats(url)
            if seen is not None:  # the server's count over its busy span: not bursty
                row["server"] = seen
                row["rows_per_s"] = seen["requests_per_s"]
            row["fraction_of_ideal"] = round(row["rows_per_s"] / ideal, 3)
            results[engine] = row
            print(
                f"{engine:>5}: {row['written']} written, {row['rows_per_s']:.1f} rows/s"
                f" ({row['fraction_of_ideal']:.0%} of {ideal:.0f}), start-up"
                f" {row['startup_s']} s, wall {row['wall_s']} s",
                flush=True,
            )
        startup = _child("ray-startup", url)
        results["ray_startup"] = startup
        print(
            f"Ray start-up alone: ray.init {startup['init_s']} s, first row through one worker"
            f" {startup['first_row_s']} s, shutdown {startup['shutdown_s']} s",
            flush=True,
        )
    return results


def rss(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.rss_sizes.split(",") if s]
    rows = [_child("rss", str(n)) for n in sizes]
    for row in rows:
        print(
            f"vs batch, {row['prompts']} prompts: peak RSS {row['peak_rss_mb']} MB"
            f" ({row['rows_per_s']} rows/s with an instant fake model)",
            flush=True,
        )
    result: dict[str, Any] = {"runs": rows}
    if len(rows) >= 2:
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        result["ratio_last_to_first"] = round(ratio, 3)
        print(f"peak RSS {rows[-1]['prompts']} / {rows[0]['prompts']}: {ratio:.2f}x", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rss-sizes", default="10000,100000")
    parser.add_argument("--sections", default="throughput,rss")
    parser.add_argument("--quick", action="store_true", help="1000 prompts; RSS at 2k and 20k")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--server",
        choices=["own", "testing"],
        default="own",
        help="own: the asyncio server in this script; testing: vs_common.testing's",
    )
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_forever(args.serve, args.server)
        return
    if args.child:
        kind, *rest = args.child
        if kind == "throughput":
            child_throughput(rest[0], rest[1], int(rest[2]), int(rest[3]), int(rest[4]))
        elif kind == "ray-startup":
            child_ray_startup(rest[0])
        else:
            child_rss(int(rest[0]))
        return
    if args.quick:
        args.prompts, args.rss_sizes = 1000, "2000,20000"
    figures: dict[str, Any] = {
        "prompts": args.prompts,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "workers": args.workers,
    }
    sections = args.sections.split(",")
    if "throughput" in sections:
        figures["throughput"] = throughput(args)
    if "rss" in sections:
        figures["rss"] = rss(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
