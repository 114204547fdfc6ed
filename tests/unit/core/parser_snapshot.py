"""What the parser reads, pinned: the snapshot in tests/data/parser_snapshot.jsonl.

One line per reply: 2,000 generated replies (a fixed seed, see replygen.py)
and the 80 real SmolLM2 replies of tests/data/corpus. Each line holds a
digest of the input (so a diff tells a changed input from a changed
reading), the texts (a long one as its start, length and digest), the
normalized probabilities and the repairs, or the error.
``test_parser_snapshot.py`` fails on any difference and prints it.

A change in what the parser reads is a decision, reviewed in the diff of this
file. To accept one, regenerate the file and commit it with the change:

    .venv/bin/python tests/unit/core/parser_snapshot.py     # or: make parser-snapshot
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replygen import corpus

from vs_common import VSParseError, parse_distribution

ROOT = Path(__file__).resolve().parents[3]
SNAPSHOT = ROOT / "tests" / "data" / "parser_snapshot.jsonl"
REAL = ROOT / "tests" / "data" / "corpus" / "smollm2_vs_outputs.jsonl"
GENERATED = 2000
SEED = 1818  # not the seed of the recall test: a second sample of the same space
_LONG = 96
_HEAD = 60


def _digest(output: Any) -> str:
    raw = output if isinstance(output, str) else json.dumps(output, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _short(text: str) -> str:
    """A long text as its start, its length and a digest of the whole: any change shows."""
    if len(text) <= _LONG:
        return text
    return f"{text[:_HEAD]}... [{len(text)} chars, {_digest(text)}]"


def _reading(output: Any, method: str | None, truncated: bool) -> dict[str, Any]:
    try:
        dist = parse_distribution(output, method=method, truncated=truncated)
    except VSParseError as exc:
        return {"error": exc.reason}
    return {
        "texts": [_short(t) for t in dist.texts],
        "p": [round(c.probability, 6) for c in dist.candidates],
        "repairs": dist.repairs,
    }


def entries(generated: int = GENERATED) -> list[dict[str, Any]]:
    """The snapshot's lines, computed by the parser as it is now (the first
    ``generated`` generated replies, then the real ones)."""
    out: list[dict[str, Any]] = []
    for i, reply in enumerate(corpus(generated, seed=SEED)):
        head = {"id": f"gen-{i:04d}", "shape": reply.shape, "in": _digest(reply.output)}
        out.append(head | _reading(reply.output, reply.method, reply.truncated))
    for i, line in enumerate(REAL.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        truncated = row["finish_reason"] == "length"
        head = {"id": f"smollm2-{i:02d}", "shape": row["kind"], "in": _digest(row["raw"])}
        out.append(head | _reading(row["raw"], None, truncated))
    return out


def dumps(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def main() -> None:
    lines = [dumps(e) for e in entries()]
    SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} readings to {SNAPSHOT.relative_to(ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main()
