"""The llamaindex_vs package: public names, the missing-extra error, docstring examples."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
import textwrap

import pytest

import llamaindex_vs

EXPECTED = [
    "DISTRIBUTION_KEY",
    "SELECTED_KEY",
    "VSDistributionEvent",
    "VSGenerateEvent",
    "VSParseEvent",
    "VSProgressEvent",
    "VSSelectedEvent",
    "VSStartEvent",
    "VSStopEvent",
    "VerbalizedSamplingOutputParser",
    "VerbalizedSamplingQueryEngine",
    "VerbalizedSamplingSteps",
    "VerbalizedSamplingSynthesizer",
    "VerbalizedSamplingToolResult",
    "VerbalizedSamplingWorkflow",
    "get_distribution",
    "make_llm_call",
    "verbalized_sampling_tool",
]


def test_public_names_are_pinned():
    assert llamaindex_vs.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(llamaindex_vs, name) is not None


def test_public_classes_have_a_docstring_example():
    for name in EXPECTED:
        obj = getattr(llamaindex_vs, name)
        if isinstance(obj, type) or callable(obj):
            assert ">>>" in (obj.__doc__ or ""), name


def test_import_without_llama_index_names_the_extra():
    code = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "llama_index" or name.startswith("llama_index."):
                    raise ImportError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, Block())
        try:
            import llamaindex_vs
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert 'pip install "verbalized-sampling-kit[llamaindex]"' in out


def test_core_does_not_import_llama_index():
    code = "import sys, vs_common; print(any(m.startswith('llama_index') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    "module",
    [
        "llamaindex_vs",
        "llamaindex_vs._call",
        "llamaindex_vs._output_parser",
        "llamaindex_vs._query_engine",
        "llamaindex_vs._tool",
        "llamaindex_vs._workflow",
    ],
)
def test_docstring_examples_run(module: str):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
