"""The Python snippets in README.md run as written (so they cannot rot).

Blocks marked ``<!-- no-run -->`` are not run; blocks marked
``<!-- embedded-model -->`` need a model and run in
``tests/integration/test_readme_local.py`` against the embedded SmolLM2.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
BLOCK = re.compile(r"(<!-- (no-run|embedded-model) -->\s*)?```python\n(.*?)```", re.S)


def blocks(marker: str | None = None) -> list[str]:
    """The README's Python blocks with this marker (None: unmarked, run here)."""
    return [m.group(3) for m in BLOCK.finditer(README.read_text()) if m.group(2) == marker]


def _blocks() -> list[str]:
    return blocks()


def test_readme_has_runnable_snippets() -> None:
    assert len(_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_snippet_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = _blocks()[index]
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(code, f"README.md snippet {index}", "exec"), namespace)  # noqa: S102 - our own docs
    out = capsys.readouterr().out
    for expected in re.findall(r"print\(.*\)  # -> (.+)", code):
        assert expected.strip() in out, (expected, out)
