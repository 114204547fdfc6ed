"""Start-up time: `vs --help` and `import vs_common` against bare Python, in one run.

    python benchmarks/startup.py [--runs 15] [--json out.json]

Each command runs ``--runs`` times, interleaved (so a load spike hits all of
them alike); the table gives the median wall time and its ratio to
``python -c pass``. Also counts the modules each one imports.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
VS = shutil.which("vs", path=str(Path(PY).parent)) or "vs"

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [PY, "-c", "pass"],
    "import vs_common": [PY, "-c", "import vs_common"],
    "vs --help": [VS, "--help"],
    "vs generate --help": [VS, "generate", "--help"],
    "import vs_common; VSConfig": [PY, "-c", "import vs_common; vs_common.VSConfig"],
    "from vs_common import run_sampling": [PY, "-c", "from vs_common import run_sampling"],
}
COUNT = "import sys; {code}; print(len(sys.modules))"
COUNTED = {
    "python -c pass": "pass",
    "import vs_common": "import vs_common",
    "vs --help": "from vs_common.cli import build_parser; build_parser().format_help()",
    "from vs_common import run_sampling": "from vs_common import run_sampling",
}


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # noqa: S603
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for cmd in COMMANDS.values():  # warm the file cache
        _time(cmd)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            samples[name].append(_time(cmd))
    medians = {name: statistics.median(v) for name, v in samples.items()}
    base = medians["python -c pass"]
    modules = {
        name: int(
            subprocess.run(  # noqa: S603
                [PY, "-c", COUNT.format(code=code)], capture_output=True, text=True, check=True
            ).stdout
        )
        for name, code in COUNTED.items()
    }
    print(f"{'command':<38} {'median':>9} {'x bare':>7} {'modules':>8}")
    for name, value in medians.items():
        count = modules.get(name)
        shown = f"{count:>8}" if count is not None else f"{'':>8}"
        print(f"{name:<38} {value * 1000:>7.1f}ms {value / base:>6.1f}x {shown}")
    figures = {
        "runs": args.runs,
        "median_s": medians,
        "ratio_to_bare": {n: v / base for n, v in medians.items()},
        "modules": modules,
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
