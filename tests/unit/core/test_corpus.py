"""The 80 real SmolLM2 replies in tests/data/corpus: each one parses or raises VSParseError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vs_common import VSParseError, parse_distribution

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus" / "smollm2_vs_outputs.jsonl"
ROWS: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line
]


def test_the_whole_corpus_is_shipped() -> None:
    assert len(ROWS) == 80


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['kind']}" for i, r in enumerate(ROWS)])
def test_corpus_reply_parses_or_raises_parse_error(row: dict[str, Any]) -> None:
    raw = row["raw"]
    truncated = row["finish_reason"] == "length"
    try:
        dist = parse_distribution(raw, truncated=truncated)
    except VSParseError as exc:
        assert exc.raw_output == raw
        return
    assert dist.candidates
    assert all(c.text.strip() for c in dist.candidates)
    assert abs(float(dist.probabilities.sum()) - 1.0) < 1e-9
    assert all(0.0 <= c.probability <= 1.0 for c in dist.candidates)


def test_corpus_structured_replies_are_recovered() -> None:
    """Every JSON reply holding a candidate with non-empty text is recovered, not rejected."""
    recovered = 0
    for row in ROWS:
        try:
            payload = json.loads(row["raw"], strict=False)
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        texts = [r.get("text", "").strip() for r in payload.get("responses", [])]
        if not any(texts):
            continue
        dist = parse_distribution(row["raw"])
        assert dist.texts == [t for t in texts if t]
        recovered += 1
    assert recovered >= 10


def test_corpus_absurd_probabilities_are_normalized() -> None:
    raw = next(r["raw"] for r in ROWS if '"probability":25' in r["raw"].replace(" ", ""))
    dist = parse_distribution(raw)
    assert "read probabilities as percentages" in dist.repairs
    assert dist.probabilities.tolist() == pytest.approx([25 / 48, 23 / 48])
