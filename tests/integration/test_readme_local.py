"""The README's snippets that need a model run against the embedded SmolLM2 (no key, no URL)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from vs_common.backends.resolve import stop_shared_servers

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "readme_blocks", ROOT / "tests/unit/docs/test_readme.py"
)
assert _spec is not None and _spec.loader is not None
readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme)
EMBEDDED = readme.blocks("embedded-model")


def test_the_readme_opens_with_the_one_liner() -> None:
    assert EMBEDDED and "verbalize(" in EMBEDDED[0]
    assert readme.README.read_text().index(EMBEDDED[0]) < readme.README.read_text().index("## ")


@pytest.mark.usefixtures("_local_server_session")  # fails in CI when the local extra is missing
@pytest.mark.parametrize("index", range(len(EMBEDDED)))
def test_embedded_model_snippet_runs(index: int, monkeypatch, capsys) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    try:
        exec(compile(EMBEDDED[index], f"README.md embedded-model snippet {index}", "exec"), {})  # noqa: S102
    finally:
        stop_shared_servers()
    assert capsys.readouterr().out.strip()  # it printed a sampled candidate
