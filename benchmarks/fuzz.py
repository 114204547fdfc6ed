"""A longer fuzz run of every parser: only the documented errors may escape.

Drives ``parse_distribution``, ``StreamingParser``, the LangChain parser and
the LlamaIndex parser with hypothesis-generated text (arbitrary unicode, and a
grammar of the tokens real replies are made of: brackets, tags, quotes,
numbers, markdown) and decoded JSON-like objects. Reports how many inputs
each target tried and any input that raised something undocumented.

    python benchmarks/fuzz.py [--examples 20000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vs_common import StreamingParser, VSParseError, VSParserBug, parse_distribution

TOKENS = [
    *"{}[]<>/\"':,.%|*#-_\\\n\t 0123456789eE+",
    *["response", "text", "probability", "<response>", "</response>", "<text>", "</text>"],
    *["<probability>", "</probability>", "```json", "```", "1. ", "- ", "**", "NaN"],
    *["responses", "Response 1:", '"text": "', '"probability": ', "\x00", "\ud800", "%"],
    *["<think>", "</think>", "| a | 0.5 |", "|---|", "### Response", "Probability:"],
]
TEXT = st.one_of(
    st.text(max_size=600),
    st.lists(st.sampled_from(TOKENS), max_size=200).map("".join),
)
OBJECTS = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["text", "probability", "responses", "p", "reasoning", "response", "x"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


def _core(x: Any) -> None:
    try:
        parse_distribution(x)
    except VSParserBug:
        raise  # the parser's own failure is what a fuzzer is for
    except VSParseError:
        pass


def _stream(text: str) -> None:
    sp = StreamingParser()
    for i in range(0, len(text), 7):
        sp.feed(text[i : i + 7])
    try:
        sp.close()
    except VSParserBug:
        raise
    except VSParseError:
        pass


def _langchain() -> Callable[[str], None] | None:
    try:
        from langchain_core.exceptions import OutputParserException

        from langchain_vs import VerbalizedSamplingParser
    except ImportError:
        return None
    parser = VerbalizedSamplingParser()

    def run(text: str) -> None:
        try:
            parser.parse(text)
        except OutputParserException as exc:
            if isinstance(exc.__cause__, VSParserBug):
                raise  # the core's own failure, passed on as LangChain's parse error

    return run


def _llamaindex() -> Callable[[str], None] | None:
    try:
        from llamaindex_vs import VerbalizedSamplingOutputParser
    except ImportError:
        return None
    parser = VerbalizedSamplingOutputParser()

    def run(text: str) -> None:
        try:
            parser.parse(text)
        except VSParserBug:
            raise
        except VSParseError:
            pass

    return run


def fuzz(name: str, target: Callable[[Any], None], strategy: Any, examples: int) -> dict[str, Any]:
    tried = 0
    found: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop(x: Any) -> None:
        nonlocal tried
        tried += 1
        try:
            target(x)
        except Exception as exc:
            found.append(f"{type(exc).__name__}: {exc!s:.200} on {x!r:.200}")
            raise

    t0 = time.perf_counter()
    try:
        prop()
    except Exception:  # noqa: BLE001 - hypothesis re-raises the shrunk failure; it is reported
        found.append(traceback.format_exc(limit=3))
    return {
        "target": name,
        "inputs": tried,
        "seconds": time.perf_counter() - t0,
        "undocumented_errors": len(found),
        "first": found[0] if found else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=20_000, help="inputs per target")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    targets: list[tuple[str, Callable[[Any], None] | None, Any]] = [
        ("parse_distribution(text)", _core, TEXT),
        ("parse_distribution(object)", _core, OBJECTS),
        ("StreamingParser", _stream, TEXT),
        ("langchain VerbalizedSamplingParser", _langchain(), TEXT),
        ("llamaindex VerbalizedSamplingOutputParser", _llamaindex(), TEXT),
    ]
    rows = []
    for name, target, strategy in targets:
        if target is None:
            print(f"{name:<44} skipped (framework not installed)")
            continue
        row = fuzz(name, target, strategy, args.examples)
        rows.append(row)
        print(
            f"{name:<44} {row['inputs']:>7} inputs {row['seconds']:7.1f} s"
            f"  undocumented errors: {row['undocumented_errors']}"
        )
        if row["first"]:
            print("   first:", row["first"])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
