"""Candidates, normalization, pooling, serialization, and the import layering."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import vs_common
from vs_common import CallFailure, Candidate, Usage, VerbalizedDistribution, pool


def test_from_pairs_normalizes_and_keeps_raw() -> None:
    d = VerbalizedDistribution.from_pairs([("a", 30), ("b", 70)])
    assert d.probabilities.tolist() == pytest.approx([0.3, 0.7])
    assert [c.raw_probability for c in d.candidates] == [0.3, 0.7]


def test_top_and_texts() -> None:
    d = VerbalizedDistribution.from_pairs([("a", 0.2), ("b", 0.5), ("c", 0.3)])
    assert [c.text for c in d.top(2)] == ["b", "c"]
    assert d.texts == ["a", "b", "c"]
    assert len(d) == 3


def test_pool_merges_duplicates_and_adds_mass() -> None:
    a = VerbalizedDistribution.from_pairs([("Decaf joke", 0.5), ("Latte joke", 0.5)])
    b = VerbalizedDistribution.from_pairs([("decaf  JOKE!", 0.2), ("Mocha joke", 0.8)])
    p = pool([a, b])
    assert p.texts == ["Decaf joke", "Latte joke", "Mocha joke"]
    assert p.probabilities.tolist() == pytest.approx([0.35, 0.25, 0.4])
    assert [c.count for c in p.candidates] == [2, 1, 1]
    assert p.all_texts() == ["Decaf joke", "Decaf joke", "Latte joke", "Mocha joke"]


def test_pool_sums_usage_and_keeps_failures() -> None:
    fail = CallFailure(call_index=1, attempts=2, error_type="TimeoutError", message="slow")
    a = VerbalizedDistribution.from_pairs([("x", 1)]).model_copy(
        update={"usage": Usage(prompt_tokens=10, completion_tokens=5), "num_calls": 1}
    )
    b = VerbalizedDistribution(
        candidates=[], failures=[fail], usage=Usage(prompt_tokens=1), num_calls=1
    )
    p = pool([a, b])
    assert p.usage == Usage(prompt_tokens=11, completion_tokens=5)
    assert p.failures == [fail]
    assert p.num_calls == 2
    assert p.probabilities.tolist() == [1.0]


def test_round_trip_dict_and_json() -> None:
    d = VerbalizedDistribution.from_pairs([("a", 0.25), ("b", None)], reasoning="r")
    data = json.loads(json.dumps(d.to_dict()))
    assert VerbalizedDistribution.from_dict(data) == d


def test_candidate_is_frozen() -> None:
    c = Candidate(text="a", probability=1.0)
    with pytest.raises(ValueError):
        c.text = "b"  # type: ignore[misc]


def test_public_names_are_pinned() -> None:
    assert sorted(vs_common.__all__) == sorted(
        [
            "STRATEGIES", "StreamingParser", "Call", "CallFailure", "CallRequest", "CallResponse",
            "Candidate",
            "Message", "Method", "OutputFormat", "ProbabilityFormat", "Progress", "RetryPolicy",
            "Strategy", "Structured", "StructuredMode", "Usage", "VSConfig", "VSConfigError",
            "VSError", "VSParseError", "VSParserBug", "VSSamplingError",
            "VSStructuredOutputUnsupported",
            "VSTransientError", "VerbalizedDistribution", "__version__", "build_messages",
            "check_strategy",
            "followup_instruction", "is_transient", "normalize_key", "parse_distribution",
            "pool", "read_reply", "response_schema", "retry_after_seconds", "run_sampling",
            "run_sync", "select", "selection_weights", "streaming_parser", "system_instruction",
            "averbalize", "completion_prompt", "verbalize",
        ]
    )  # fmt: skip
    for name in vs_common.__all__:
        assert hasattr(vs_common, name), name


def test_importing_core_loads_no_framework() -> None:
    code = (
        "import sys, vs_common, vs_common.sampling, vs_common.parsing;"
        "bad = [m for m in sys.modules if m.split('.')[0] in"
        " ('langchain', 'langchain_core', 'llama_index', 'langchain_vs', 'llamaindex_vs',"
        " 'torch')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _pool_by_the_book(dists: list[VerbalizedDistribution]) -> list[tuple[str, float, int, int]]:
    """Pooling as documented: each call weighs the same, duplicates add mass and count."""
    from vs_common.distribution import normalize_key

    nonempty = [d for d in dists if d.candidates]
    mass: dict[str, float] = {}
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for d in nonempty:
        for c in d.candidates:
            key = normalize_key(c.text)
            mass[key] = mass.get(key, 0.0) + c.probability / len(nonempty)
            counts[key] = counts.get(key, 0) + c.count
            first.setdefault(key, c.text)
    import math

    total = math.fsum(mass.values()) or 1.0
    return [(first[k], mass[k] / total, counts[k], i) for i, k in enumerate(first)]


def test_pool_matches_the_documented_arithmetic_bit_for_bit() -> None:
    import random

    rnd = random.Random(5)
    words = ["Tea", "tea!", "Coffee", " coffee ", "Cocoa", "Mate", "Chai", "chai."]
    for _ in range(300):
        dists = [
            VerbalizedDistribution.from_pairs(
                [(rnd.choice(words), rnd.random()) for _ in range(rnd.randint(0, 6))]
            )
            for _ in range(rnd.randint(1, 4))
        ]
        got = [(c.text, c.probability, c.count, c.index) for c in pool(dists).candidates]
        assert got == _pool_by_the_book(dists)


def test_normalize_key_is_the_documented_regular_expressions() -> None:
    # normalize_key uses str methods; the rule it implements is these expressions.
    import re
    import sys

    from vs_common.distribution import normalize_key

    space, edge = re.compile(r"\s"), re.compile(r"[\W_]")
    for code in range(sys.maxunicode + 1):  # the character classes agree everywhere
        c = chr(code)
        assert (space.fullmatch(c) is not None) == c.isspace(), hex(code)
        assert (edge.fullmatch(c) is not None) == (not c.isalnum()), hex(code)

    def by_regex(text: str) -> str:
        folded = re.sub(r"\s+", " ", text.casefold()).strip()
        return re.sub(r"^[\W_]+|[\W_]+$", "", folded) or folded

    samples = ["", " ", "!!", "_a_", "  Why did the Coffee\u00a0file a report?! ", "-",
               "ß\u2028x\x1c", "«Ça va?»", "...", "a", "٣ cats", "\t\nTea\u3000time\u2026",
               "__init__"]  # fmt: skip
    for text in samples:
        assert normalize_key(text) == by_regex(text), text
