"""Throughput against a fixed-latency server: is ``--concurrency N`` really N in flight?

The server (``vs_common.testing.FixedLatencyServer``) answers every request
after exactly ``--latency`` seconds and serves any number at once; it runs in
its own process, a fresh one per measurement. The ideal is
``concurrency / latency`` rows (requests) per second; each figure is also
given as a fraction of it.

Sections (``--sections``, all by default):

* ``transports``: bare requests per second at ``--transport-concurrency`` in
  flight, and the CPU each request costs the client, for raw asyncio streams
  (a reference), the previous client (urllib in ``asyncio.to_thread``), the
  core client (on aiohttp), a bare aiohttp session (what the core client
  adds to it: the size bound, errors, JSON), httpx, and the openai SDK on
  httpx and on aiohttp.
* ``batch``: ``vs batch in.jsonl -o out.jsonl --base-url ... --concurrency N``
  run as a user would (k=5, n=5: one call per row), for each N of
  ``--concurrency``. Rows/s is counted from the first row written to the
  last (the command's start-up is reported apart), with the peak memory
  (RSS) of the ``vs`` process and the CPU time each row costs, in steady
  state: of the ``vs`` process (its busy share of one core tells whether it
  is the bottleneck: one process runs on one core) and of the server. Each
  level runs with each ``--processes`` count (1 and 2 by default; workers'
  CPU and memory are counted with the command's). With ``--baseline DIR``
  (a checkout of another version of this project, e.g. ``git archive
  8752336 | tar -x -C /tmp/before``), each measurement runs that version's
  ``vs batch`` too, alternating with this one, at each ``--latency``:
  before and after, in one run.
* ``pipeline``: the CPU a row of ``vs batch`` itself, without a network
  (an instant in-process fake model: read the line, build the messages,
  parse the reply, select, write the record). With ``--baseline``, each
  version runs in its own long-lived process, one run of each in turn for
  ``--repeat`` rounds, and each version's figure is the median of its CPU a
  row divided by this version's in the same round (load that comes and goes
  on a shared machine touches both sides of a ratio alike). This is how the
  per-row micro-optimizations are judged (one is kept only if it saves at
  least 5%).
* ``adapters``: ``VerbalizedSampler.abatch`` over ``ChatOpenAI`` and the
  LlamaIndex ``VerbalizedSamplingWorkflow`` over ``OpenAILike``, with the
  default transport (httpx) and with aiohttp (``DefaultAioHttpClient``).

    python benchmarks/throughput.py [--latency 0.1[,1]] [--concurrency 8,32,128,256]
        [--rows 2000] [--sections transports,batch,adapters] [--baseline DIR]
        [--repeat 1] [--json out.json]

Shared 2-core machines are noisy: the load average is printed with each
section; compare figures from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vs_common import VSConfig  # noqa: E402 - after the path set-up above
from vs_common.backends import OpenAICompatClient  # noqa: E402
from vs_common.calls import CallRequest  # noqa: E402

MESSAGES = [{"role": "user", "content": "Write a joke about coffee"}]


def _env(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


@dataclass
class Server:
    """A running fixed-latency server: its base URL and process id."""

    url: str
    pid: int


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far (Linux); 0.0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux); [] when unknown."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and its live children (``vs batch --processes`` workers)."""
    return _cpu_seconds(pid) + sum(_cpu_seconds(child) for child in _children(pid))


@contextmanager
def fixed_latency_server(latency: float) -> Iterator[Server]:
    """A FixedLatencyServer in its own process."""
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "vs_common.testing", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        url = proc.stdout.readline().strip() if proc.stdout is not None else ""
        if not url.startswith("http"):
            msg = f"the fixed-latency server did not start (got {url!r})"
            raise RuntimeError(msg)
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


async def _drive(
    send: Callable[[], Awaitable[Any]], concurrency: int, total: int
) -> tuple[float, float]:
    """Send ``total`` requests, ``concurrency`` at a time: requests/s, CPU us a request."""
    left = total

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await send()

    await asyncio.gather(*(send() for _ in range(concurrency)))  # warm-up: imports, the pool
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu_us = (time.process_time() - cpu) / total * 1e6  # threads (to_thread) included
    return total / (time.perf_counter() - started), cpu_us


# -- transports -------------------------------------------------------------------


def _urllib_post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL of our own
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=60) as reply:
        data: bytes = reply.read()
        return data


def _transport_clients(base_url: str) -> dict[str, Callable[[], Any]]:
    """name -> factory of an async ``send()`` (and whatever it must close)."""
    url = f"{base_url}/chat/completions"
    body = {"model": "fixed", "messages": MESSAGES}
    data = json.dumps(body).encode()

    def previous() -> Any:
        async def send() -> None:
            json.loads(await asyncio.to_thread(_urllib_post, url, data))

        return send, None

    def raw() -> Any:
        parts = urllib.parse.urlsplit(url)
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

        async def send() -> None:  # keep-alive, Content-Length replies only: a lower bound
            if idle:
                reader, writer = idle.pop()
            else:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(head + data)
            headers = (await reader.readuntil(b"\r\n\r\n")).lower()
            length = int(headers.split(b"content-length:")[1].split(b"\r\n")[0])
            json.loads(await reader.readexactly(length))
            idle.append((reader, writer))

        async def close() -> None:
            for _, writer in idle:
                writer.close()

        return send, close

    def core() -> Any:
        client = OpenAICompatClient(base_url, "fixed")
        request = CallRequest(messages=MESSAGES)

        async def send() -> None:
            await client(request)

        return send, client.aclose

    def aiohttp_session() -> Any:
        import aiohttp

        session: aiohttp.ClientSession | None = None

        async def send() -> None:
            nonlocal session
            if session is None:  # made on the running loop
                session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0),
                    cookie_jar=aiohttp.DummyCookieJar(),
                    headers={"Content-Type": "application/json"},
                )
            async with session.post(url, data=data) as reply:
                json.loads(await reply.read())

        async def close() -> None:
            if session is not None:
                await session.close()

        return send, close

    def httpx_client() -> Any:
        import httpx

        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
            timeout=60,
            trust_env=False,
        )

        async def send() -> None:
            (await client.post(url, json=body)).json()

        return send, client.aclose

    def openai_sdk(aiohttp: bool) -> Callable[[], Any]:
        def make() -> Any:
            import openai

            kwargs: dict[str, Any] = {}
            if aiohttp:
                kwargs["http_client"] = openai.DefaultAioHttpClient()
            client = openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0, **kwargs)

            async def send() -> None:
                await client.chat.completions.create(model="fixed", messages=MESSAGES)  # type: ignore[arg-type]

            return send, client.close

        return make

    return {
        "raw asyncio sockets (reference: no TLS, proxy, chunking)": raw,
        "urllib in to_thread (previous core client)": previous,
        "core OpenAICompatClient (on aiohttp)": core,
        "aiohttp ClientSession, bare": aiohttp_session,
        "httpx AsyncClient": httpx_client,
        "openai SDK on httpx (default)": openai_sdk(False),
        "openai SDK on aiohttp (DefaultAioHttpClient)": openai_sdk(True),
    }


def bench_transports(latency: float, concurrency: int, waves: int) -> list[dict[str, Any]]:
    print(f"\n== transports: {concurrency} in flight, {latency * 1000:.0f} ms server; {_load()}")
    ideal = concurrency / latency
    rows = []
    with fixed_latency_server(latency) as server:
        for name, factory in _transport_clients(server.url).items():

            async def run(factory: Callable[[], Any] = factory) -> float:
                send, close = factory()
                try:
                    return await _drive(send, concurrency, concurrency * waves)
                finally:
                    if close is not None:
                        await close()

            try:
                rate, cpu_us = asyncio.run(run())
            except ImportError as exc:
                print(f"  {name:<56} skipped ({exc.name} not installed)")
                continue
            rows.append(
                {
                    "transport": name,
                    "req_per_s": round(rate, 1),
                    "fraction": rate / ideal,
                    "cpu_us_per_request": round(cpu_us),
                }
            )
            print(
                f"  {name:<56} {rate:7.1f} req/s  ({rate / ideal:.2f} of {ideal:.0f}),"
                f" {cpu_us:4.0f} us CPU a request"
            )
    return rows


# -- vs batch ------------------------------------------------------------------------


def _write_prompts(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        for i in range(rows):
            fh.write(json.dumps({"id": i, "prompt": f"Write a joke about topic {i}"}) + "\n")


def _vm_hwm_kib(pid: int) -> int:
    """Peak resident memory of a running process (Linux), in KiB; 0 when unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _run_batch(
    server: Server,
    workdir: Path,
    rows: int,
    concurrency: int,
    processes: int = 1,
    root: Path = ROOT,
) -> dict[str, Any]:
    inp, out = workdir / "in.jsonl", workdir / f"out-{concurrency}.jsonl"
    if not inp.exists() or sum(1 for _ in inp.open()) != rows:
        _write_prompts(inp, rows)
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "vs_common.cli", "batch", str(inp), "-o", str(out)]
    cmd += ["--base-url", server.url, "--model", "fixed", "--concurrency", str(concurrency)]
    cmd += ["-k", "5", "-n", "5", "--seed", "1", "--processes", str(processes)]
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(root)
    )
    # (time, rows written, CPU seconds of vs, of the server) when the count changes
    marks: list[tuple[float, int, float, float]] = []
    peak_kib = [0]
    stop = threading.Event()

    def watch() -> None:  # when each row lands: steady throughput without start-up
        seen = 0
        while not stop.is_set():
            if out.exists():
                count = out.read_bytes().count(b"\n")
                if count != seen:
                    seen = count
                    cpu = (_tree_cpu_seconds(proc.pid), _cpu_seconds(server.pid))
                    marks.append((time.perf_counter(), count, *cpu))
            tree = [proc.pid, *_children(proc.pid)]
            peak_kib[0] = max(peak_kib[0], sum(_vm_hwm_kib(pid) for pid in tree))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    done = out.read_bytes().count(b"\n") if out.exists() else 0
    marks.append((time.perf_counter(), done, 0.0, 0.0))
    first = next((m for m in marks if m[1] > 0), marks[-1])
    last = next(m for m in marks if m[1] == done)
    steady = (done - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0
    # The last mark taken while vs still ran (the final one reads an exited process).
    sampled = [m for m in marks if m[1] > first[1] and m[2] > 0]
    cpu_rows = sampled[-1][1] - first[1] if sampled else 0
    per_row = (
        [(sampled[-1][i] - first[i]) / cpu_rows * 1e6 for i in (2, 3)] if cpu_rows else [0.0, 0.0]
    )
    return {
        "concurrency": concurrency,
        "processes": processes,
        "rows": done,
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        "startup_s": round(first[0] - started, 2),
        "rows_per_s": round(steady, 1),
        "wall_rows_per_s": round(done / wall, 1),
        # VmHWM of the vs process itself; wait4's ru_maxrss would also count this
        # script's memory, copied at fork time (Linux keeps the larger of the two).
        "peak_rss_mb": round((peak_kib[0] or usage.ru_maxrss) / 1024, 1),
        # Steady state, start-up excluded: CPU time per row of vs and of the server.
        "vs_cpu_us_per_row": round(per_row[0]),
        "server_cpu_us_per_row": round(per_row[1]),
        # How busy the vs processes were, in cores (1.0: one core saturated, the most
        # one process can use; with --processes P, up to P).
        "vs_busy": round(steady * per_row[0] / 1e6, 2),
    }


def bench_batch(
    latency: float,
    levels: list[int],
    rows: int,
    processes: list[int],
    baseline: list[tuple[str, Path]] | None = None,
    repeat: int = 1,
) -> list[dict[str, Any]]:
    print(f"\n== vs batch, k=5 n=5 (one call a row), {latency * 1000:.0f} ms server; {_load()}")
    versions = [("after", ROOT)] if baseline is None else [*baseline, ("after", ROOT)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in levels:
            for count in processes:
                n_rows = max(rows, 16 * concurrency)
                for turn in range(repeat):
                    # Alternate which version goes first: drift in the machine's load
                    # then favours neither.
                    order = versions if turn % 2 == 0 else versions[::-1]
                    for label, root in order:
                        with fixed_latency_server(latency) as server:
                            r = _run_batch(server, Path(tmp), n_rows, concurrency, count, root)
                        ideal = concurrency / latency
                        r["fraction"] = round(r["rows_per_s"] / ideal, 3)
                        r["latency_s"] = latency
                        r["version"] = label
                        results.append(r)
                        _print_batch(r, ideal, label if baseline is not None else "")
    if baseline is not None:
        _print_versions(results)
    return results


def _print_versions(results: list[dict[str, Any]]) -> None:
    """Each version's median rows/s and CPU a row, and the ratio to this version's."""
    by: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in results:
        by.setdefault((r["latency_s"], r["concurrency"], r["processes"], r["version"]), []).append(
            r
        )

    def median(rows: list[dict[str, Any]], key: str) -> float:
        values = sorted(float(r[key]) for r in rows)
        return values[len(values) // 2]

    print("  medians (ratio to after):")
    for (latency, concurrency, processes, label), rows in by.items():
        after = by[(latency, concurrency, processes, "after")]
        rate, cpu = median(rows, "rows_per_s"), median(rows, "vs_cpu_us_per_row")
        print(
            f"    {latency * 1000:.0f} ms, {concurrency} in flight, {processes} process(es),"
            f" {label:<12} {rate:7.1f} rows/s ({rate / median(after, 'rows_per_s'):.3f}),"
            f" vs CPU {cpu:5.0f} us a row ({cpu / median(after, 'vs_cpu_us_per_row'):.3f})"
            f" [{len(rows)} runs]"
        )


def _print_batch(r: dict[str, Any], ideal: float, label: str = "") -> None:
    print(
        f"  {label + ' ' if label else ''}--concurrency {r['concurrency']:>3}"
        f" --processes {r['processes']}:"
        f" {r['rows_per_s']:7.1f} rows/s"
        f" ({r['fraction']:.2f} of {ideal:.0f}); {r['rows']} rows in {r['wall_s']} s"
        f" (start-up {r['startup_s']} s, {r['wall_rows_per_s']} rows/s overall);"
        f" peak RSS {r['peak_rss_mb']} MB; exit {r['exit']}\n"
        f"{'':20}CPU a row: vs {r['vs_cpu_us_per_row']} us (busy"
        f" {r['vs_busy']:.2f} cores), server {r['server_cpu_us_per_row']} us"
    )


# -- the pipeline's CPU, no network ------------------------------------------------

_PIPELINE_CHILD = """
import asyncio, io, json, sys, time
from pathlib import Path
from vs_common.calls import CallResponse
from vs_common.cli import main

reply = json.dumps({"responses": [
    {"text": f"Answer {i} about coffee", "probability": 0.2} for i in range(5)]})

async def call(request):
    return CallResponse(output=reply, finish_reason="stop")

inp, out = Path(sys.argv[1]), Path(sys.argv[2])
argv = ["batch", str(inp), "-o", str(out), "-k", "5", "-n", "5", "--seed", "1",
        "--concurrency", "32", "--structured", "text", "-q"]
for _ in sys.stdin:  # one run a line: the driver alternates the versions' runs
    out.unlink(missing_ok=True)
    started = time.process_time()
    code = main(argv, call=call, stdout=io.StringIO(), stderr=io.StringIO())
    cpu = time.process_time() - started
    rows = out.read_bytes().count(b"\\n")
    print(json.dumps({"exit": code, "cpu_s": cpu, "rows": rows}), flush=True)
"""


def bench_pipeline(
    rows: int, baseline: list[tuple[str, Path]] | None, rounds: int
) -> list[dict[str, Any]]:
    """Each version in its own long-lived process; one run of each per round, in turn.

    The figure is the median over rounds of each version's CPU a row divided
    by this version's in the same round: load that comes and goes on a shared
    machine then touches both sides of each ratio alike.
    """
    print(f"\n== vs batch pipeline CPU a row, no network, {rows} rows a run; {_load()}")
    versions = [*(baseline or []), ("after", ROOT)]
    runs: dict[str, list[float]] = {label: [] for label, _ in versions}
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in.jsonl"
        _write_prompts(inp, rows)
        children = {
            label: subprocess.Popen(  # noqa: S603 - our own code, fixed arguments
                [sys.executable, "-c", _PIPELINE_CHILD, str(inp), str(Path(tmp) / f"{i}.jsonl")],
                env=_env(root),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i, (label, root) in enumerate(versions)
        }
        try:
            for turn in range(rounds + 1):  # the first round warms up and is dropped
                order = list(children.items())
                for label, child in order if turn % 2 else order[::-1]:
                    if child.stdin is None or child.stdout is None:  # made with PIPE
                        msg = "the pipeline child has no pipes"
                        raise RuntimeError(msg)
                    child.stdin.write("run\n")
                    child.stdin.flush()
                    result = json.loads(child.stdout.readline())
                    if result["exit"] != 0 or result["rows"] != rows:
                        msg = f"{label}: exit {result['exit']}, {result['rows']} of {rows} rows"
                        raise RuntimeError(msg)
                    if turn:
                        runs[label].append(result["cpu_s"] / rows * 1e6)
        finally:
            for child in children.values():
                if child.stdin is not None:
                    child.stdin.close()
                child.wait(timeout=30)
    figures = []
    for label, values in runs.items():
        ratios = sorted(v / a for v, a in zip(values, runs["after"], strict=True))
        ratio = ratios[len(ratios) // 2]
        median = sorted(values)[len(values) // 2]
        figures.append(
            {"version": label, "median_cpu_us_per_row": round(median, 1), "ratio": ratio}
        )
        print(
            f"  {label:<20} {median:6.1f} us a row (median of {len(values)} runs);"
            f" {ratio:.3f} x after (median of the paired ratios;"
            f" middle half {ratios[len(ratios) // 4]:.3f}-{ratios[3 * len(ratios) // 4]:.3f})"
        )
    return figures


# -- adapters ----------------------------------------------------------------------


def _http_client(aiohttp: bool) -> Any:
    """The openai SDK's own default async client (httpx), or its aiohttp one."""
    import openai

    return openai.DefaultAioHttpClient() if aiohttp else openai.DefaultAsyncHttpxClient()


async def _langchain_rate(base_url: str, concurrency: int, rows: int, aiohttp: bool) -> float:
    from langchain_openai import ChatOpenAI

    from langchain_vs import VerbalizedSampler

    http = _http_client(aiohttp)
    llm = ChatOpenAI(
        model="fixed", base_url=base_url, api_key="k", max_retries=0, http_async_client=http
    )
    sampler = VerbalizedSampler(llm=llm, config=VSConfig(k=5, n=5), strategy="weighted", seed=1)
    prompts = [f"Write a joke about topic {i}" for i in range(rows)]
    await sampler.ainvoke("warm-up")
    started = time.perf_counter()
    out = await sampler.abatch(prompts, config={"max_concurrency": concurrency})
    rate = len(out) / (time.perf_counter() - started)
    await http.aclose()
    return rate


async def _llamaindex_rate(base_url: str, concurrency: int, rows: int, aiohttp: bool) -> float:
    from llama_index.llms.openai_like import OpenAILike

    from llamaindex_vs import VerbalizedSamplingWorkflow

    http = _http_client(aiohttp)
    llm = OpenAILike(
        model="fixed",
        api_base=base_url,
        api_key="k",
        is_chat_model=True,
        is_function_calling_model=True,
        max_retries=0,
        async_http_client=http,
    )
    workflow = VerbalizedSamplingWorkflow(llm=llm, config=VSConfig(k=5, n=5), seed=1, timeout=600)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with semaphore:
            return await workflow.run(prompt=f"Write a joke about topic {i}")

    await workflow.run(prompt="warm-up")
    started = time.perf_counter()
    out = await asyncio.gather(*(one(i) for i in range(rows)))
    rate = len(out) / (time.perf_counter() - started)
    await http.aclose()
    return rate


def bench_adapters(latency: float, levels: list[int], rows: int) -> list[dict[str, Any]]:
    print(f"\n== adapters, k=5 n=5 (one call a prompt), {latency * 1000:.0f} ms; {_load()}")
    results = []
    paths = {
        "LangChain VerbalizedSampler.abatch (ChatOpenAI)": _langchain_rate,
        "LlamaIndex workflow (OpenAILike)": _llamaindex_rate,
    }
    for name, fn in paths.items():
        for aiohttp in (False, True):
            for concurrency in levels:
                n_rows = max(rows, 8 * concurrency)
                with fixed_latency_server(latency) as server:
                    try:
                        rate = asyncio.run(fn(server.url, concurrency, n_rows, aiohttp))
                    except ImportError as exc:
                        print(f"  {name}: skipped ({exc.name} not installed)")
                        break
                ideal = concurrency / latency
                transport = "aiohttp" if aiohttp else "httpx (default)"
                results.append(
                    {
                        "path": name,
                        "transport": transport,
                        "concurrency": concurrency,
                        "rows_per_s": round(rate, 1),
                        "fraction": round(rate / ideal, 3),
                    }
                )
                print(
                    f"  {name}, {transport:<15} concurrency {concurrency:>3}:"
                    f" {rate:7.1f} rows/s ({rate / ideal:.2f} of {ideal:.0f})"
                )
    return results


def _baselines(text: str) -> list[tuple[str, Path]]:
    """``DIR`` or ``LABEL=DIR,LABEL=DIR``: the versions to measure beside this one."""
    out = []
    for item in text.split(","):
        label, _, folder = item.rpartition("=")
        out.append((label or "before", Path(folder)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--latency", default="0.1", help="server latency, seconds (a list for batch: 0.1,1)"
    )
    ap.add_argument(
        "--baseline",
        type=_baselines,
        help="batch: also run these checkouts' vs batch: DIR (labelled before) or LABEL=DIR,...",
    )
    ap.add_argument("--repeat", type=int, default=1, help="batch: runs of each measurement")
    ap.add_argument("--concurrency", default="8,32,128,256", help="levels for batch and adapters")
    ap.add_argument(
        "--adapter-concurrency", help="levels for the adapters (default: --concurrency)"
    )
    ap.add_argument("--rows", type=int, default=2000, help="rows per batch run (at least 16 x N)")
    ap.add_argument("--processes", default="1,2", help="vs batch --processes, for each level")
    ap.add_argument("--adapter-rows", type=int, default=500, help="prompts per adapter run")
    ap.add_argument("--transport-concurrency", type=int, default=64)
    ap.add_argument("--waves", type=int, default=10, help="requests per transport run / in flight")
    ap.add_argument("--sections", default="transports,batch,adapters")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    adapter_levels = (
        [int(x) for x in args.adapter_concurrency.split(",")]
        if args.adapter_concurrency
        else levels
    )
    sections = set(args.sections.split(","))
    latencies = [float(x) for x in args.latency.split(",")]
    latency = latencies[0]
    figures: dict[str, Any] = {"latency_s": latencies, "load": _load()}
    if "transports" in sections:
        figures["transports"] = bench_transports(latency, args.transport_concurrency, args.waves)
    if "batch" in sections:
        counts = [int(x) for x in args.processes.split(",")]
        figures["batch"] = [
            r
            for each in latencies
            for r in bench_batch(each, levels, args.rows, counts, args.baseline, args.repeat)
        ]
    if "pipeline" in sections:
        figures["pipeline"] = bench_pipeline(args.rows, args.baseline, args.repeat)
    if "adapters" in sections:
        figures["adapters"] = bench_adapters(latency, adapter_levels, args.adapter_rows)
    figures["max_rss_mb_self"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
