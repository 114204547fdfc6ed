"""The Python snippets in README.md run as written (so they cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
BLOCK = re.compile(r"(<!-- no-run -->\s*)?```python\n(.*?)```", re.S)


def _blocks() -> list[str]:
    return [m.group(2) for m in BLOCK.finditer(README.read_text()) if not m.group(1)]


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
