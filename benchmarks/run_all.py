"""Run every benchmark, print one summary table, and write all figures as JSON.

    python benchmarks/run_all.py [--out benchmarks/results/latest.json] [--quick]

Each benchmark runs in its own process, one after another (never in parallel:
these are 2-core machines). Their own full output goes to the terminal too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

BENCHES: list[tuple[str, list[str], list[str]]] = [
    # name, arguments, arguments in --quick mode
    ("startup", ["startup.py"], ["startup.py", "--runs", "5"]),
    ("core", ["core.py"], ["core.py", "--quick"]),
    ("adversarial", ["adversarial.py", "--sizes", "1,2,5,10", "--repeat", "2"],
     ["adversarial.py", "--sizes", "1,2", "--repeat", "1"]),
    ("langchain_overhead", ["langchain_overhead.py"], ["langchain_overhead.py"]),
    ("faults", ["faults.py"], ["faults.py"]),
    ("throughput", ["throughput.py"],
     ["throughput.py", "--concurrency", "8,32", "--rows", "500", "--adapter-rows", "100",
      "--waves", "4"]),
    ("hostile", ["hostile.py"], ["hostile.py", "--huge", str(256 << 20)]),
    ("retries", ["retries.py"], ["retries.py"]),
    ("diversity", ["diversity.py"], ["diversity.py", "--topics", "2", "--n", "10"]),
    # about 7 minutes: 5,000 prompts per engine, then vs batch over 10k and 100k prompts
    ("scale", ["scale.py"], ["scale.py", "--quick"]),
    ("open_qa", ["open_qa.py"], ["open_qa.py", "--prompts", "1", "--n", "10", "--k", "5"]),
    ("distinct", ["distinct.py"], ["distinct.py", "--prompts", "2", "--n", "10"]),
    ("classes", ["classes.py"], ["classes.py"]),  # no model: a second
]  # fmt: skip


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _run(name: str, args: list[str], workdir: Path) -> dict[str, Any]:
    out = workdir / f"{name}.json"
    script = HERE / args[0]
    if not script.exists():
        return {"status": "missing"}
    cmd = [sys.executable, str(script), *args[1:], "--json", str(out)]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False)  # noqa: S603 - our own scripts, fixed arguments
    elapsed = time.perf_counter() - t0
    result: dict[str, Any] = {"status": "ok" if proc.returncode == 0 else f"exit {proc.returncode}"}
    result["seconds"] = round(elapsed, 1)
    if out.exists():
        result["figures"] = json.loads(out.read_text())
    return result


def _summary(results: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    start = results.get("startup", {}).get("figures")
    if start:
        for name in ("import vs_common", "vs --help"):
            rows.append(
                (
                    f"start-up: {name}",
                    f"{start['median_s'][name] * 1000:.0f} ms median,"
                    f" {start['ratio_to_bare'][name]:.1f}x bare python",
                )
            )
    core = results.get("core", {}).get("figures")
    if core:
        for fmt, us in core["parse_us"].items():
            rows.append((f"parse 5-candidate {fmt} reply", f"{us:.0f} us (median)"))
        orch = core["orchestration"]
        rows.append(
            (
                "orchestration n=30 k=5, 200 ms calls",
                f"{orch['wall_s'] * 1000:.0f} ms wall ({orch['wall_s'] / orch['latency_s']:.2f}x"
                " one call)",
            )
        )
    adv = results.get("adversarial", {}).get("figures")
    if adv:
        for name, row in adv.items():
            sizes = list(row)
            first, last = row[sizes[0]], row[sizes[-1]]
            rows.append(
                (
                    f"adversarial {name}",
                    f"{first['seconds']:.3f} s @ {sizes[0]} .. {last['seconds']:.3f} s @"
                    f" {sizes[-1]}, peak {last['peak_mb']:.1f} MB",
                )
            )
    lc = results.get("langchain_overhead", {}).get("figures")
    if lc:
        o, w = lc["overhead"], lc["wall_time"]
        rows.append(("LangChain adapter over core, per run", f"{o['adapter_over_core_us']:.0f} us"))
        rows.append(
            (
                "LangChain n=30 k=5, 200 ms model",
                f"{w['sampler_ainvoke_s']:.2f} s async, {w['sampler_invoke_s']:.2f} s sync,"
                f" {w['sequential_s']:.2f} s sequential loop",
            )
        )
    faults = results.get("faults", {}).get("figures")
    if faults:
        for r in faults:
            rows.append(
                (
                    f"faults 30%: {r['path']}",
                    f"{r['samples']}/{r['n']} samples ({r['top_up_calls']} top-up calls),"
                    f" {r['calls_ok']}/{r['calls']} calls ok, {r['candidates_kept']}/"
                    f"{r['candidates_delivered']} candidates kept, {r['wall_s']:.1f} s",
                )
            )
    tp = results.get("throughput", {}).get("figures")
    if tp:
        for r in tp.get("transports", []):
            rows.append(
                (f"transport {r['transport']}", f"{r['req_per_s']:.0f} req/s ({r['fraction']:.2f})")
            )
        for r in tp.get("batch", []):
            rows.append(
                (
                    f"vs batch --concurrency {r['concurrency']} --processes"
                    f" {r.get('processes', 1)}, {float(r.get('latency_s', 0.1)) * 1000:.0f} ms"
                    " server",
                    f"{r['rows_per_s']:.0f} rows/s ({r['fraction']:.2f} of ideal),"
                    f" peak RSS {r['peak_rss_mb']:.0f} MB",
                )
            )
        for r in tp.get("adapters", []):
            rows.append(
                (
                    f"{r['path'].split(' ')[0]} {r['transport']}, concurrency {r['concurrency']}",
                    f"{r['rows_per_s']:.0f} rows/s ({r['fraction']:.2f} of ideal)",
                )
            )
    div = results.get("diversity", {}).get("figures")
    if isinstance(div, dict):
        for m in div.get("methods", []):
            sem = m.get("semantic_diversity")
            sem_text = f"{sem:.1f}" if isinstance(sem, int | float) else "n/a"
            vendi, classes = m.get("vendi_score"), m.get("distinct_classes")
            unflattered = (
                f", Vendi {vendi:.2f}, classes {classes:.1f}"
                if isinstance(vendi, int | float) and isinstance(classes, int | float)
                else ""
            )
            rows.append(
                (
                    f"diversity {m['method']} (n={div.get('n')}, k={div.get('k')})",
                    f"semantic {sem_text}{unflattered}, ROUGE-L {m['rouge_l']:.3f}, parse"
                    f" {m['valid_parse_rate']:.0%}, {m['tokens_per_sample']:.0f} tokens/sample",
                )
            )
        ratio = div.get("vs_direct_semantic_ratio")
        if isinstance(ratio, int | float):
            rows.append(("diversity VS/Direct (semantic)", f"{ratio:.2f}x"))
    rows += _scale_rows(results.get("scale", {}).get("figures"))
    rows += _open_qa_rows(results.get("open_qa", {}).get("figures"))
    rows += _distinct_rows(results.get("distinct", {}).get("figures"))
    classes = results.get("classes", {}).get("figures")
    if classes:
        for r in classes["rows"]:
            rows.append(
                (
                    f"distinct classes at cosine {r['threshold']:.2f}",
                    f"{r['classes']} of {classes['true_classes']} true classes,"
                    f" {r['merged']} pairs wrongly merged, {r['split']} wrongly split",
                )
            )
    return rows


def _scale_rows(scale: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not scale:
        return []
    rows: list[tuple[str, str]] = []
    tput = scale.get("throughput")
    if tput:
        head = f"{scale['prompts']} prompts, {scale['latency_s'] * 1000:.0f} ms server"
        for engine in ("local", "ray"):
            r = tput[engine]
            rows.append(
                (
                    f"vs batch --engine {engine}, {head}",
                    f"{r['rows_per_s']:.0f} rows/s ({r['fraction_of_ideal']:.0%} of"
                    f" concurrency/latency), start-up {r['startup_s']} s",
                )
            )
        s = tput["ray_startup"]
        rows.append(("Ray start-up (init, first row)", f"{s['init_s']} s, {s['first_row_s']} s"))
    rss = scale.get("rss")
    if rss:
        runs = rss["runs"]
        text = ", ".join(f"{r['prompts']}: {r['peak_rss_mb']} MB" for r in runs)
        if "ratio_last_to_first" in rss:
            text += f" ({rss['ratio_last_to_first']:.2f}x)"
        rows.append(("vs batch peak RSS by prompts", text))
    return rows


def _num(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "n/a"


def _open_qa_rows(qa: Any) -> list[tuple[str, str]]:
    if not isinstance(qa, dict):
        return []
    rows = []
    for m in qa.get("methods", []):
        rows.append(
            (
                f"open QA {m['method']} (N={qa.get('n')}, k={qa.get('k')})",
                f"coverage-N {_num(m.get('coverage'), '.3f')}, KL(uniform)"
                f" {_num(m.get('kl_uniform'), '.2f')}, precision {_num(m.get('precision'), '.3f')},"
                f" {_num(m.get('tokens_per_sample'), '.0f')} tokens/sample, {m['calls']} calls",
            )
        )
    for method, cals in qa.get("calibration", {}).items():
        gaps = [c["gap_direct"] for c in cals if c.get("gap_direct") is not None]
        if gaps:
            rows.append(
                (
                    f"calibration {method} ({len(gaps)} prompts)",
                    f"mean |stated - Direct frequency| {sum(gaps) / len(gaps):.3f}",
                )
            )
    return rows


def _distinct_rows(dn: Any) -> list[tuple[str, str]]:
    if not isinstance(dn, dict):
        return []
    prompts = dn.get("prompts", [])
    return [
        (
            f"distinct-N n={dn.get('n')} k={dn.get('k')} ({len(prompts)} prompts)",
            f"{dn.get('distinct_n_total')}/{dn.get('n', 0) * len(prompts)} distinct in"
            f" {dn.get('calls_total')} calls; VS-Standard same calls:"
            f" {dn.get('vs_standard_total')} distinct",
        )
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--only", help="comma-separated benchmark names")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, full, quick in BENCHES:
            if only and name not in only:
                continue
            results[name] = _run(name, quick if args.quick else full, Path(tmp))
    print("\n=== summary", _machine())
    width = max((len(k) for k, _ in _summary(results)), default=20)
    for key, value in _summary(results):
        print(f"  {key:<{width}}  {value}")
    for name, res in results.items():
        if res["status"] != "ok":
            print(f"  {name}: {res['status']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": _machine(), "results": results}, indent=2))
    print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
