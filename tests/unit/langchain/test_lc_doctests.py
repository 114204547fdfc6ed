from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "langchain_vs",
    "langchain_vs._parser",
    "langchain_vs._prompts",
    "langchain_vs._sampler",
    "langchain_vs._selector",
    "langchain_vs._tool",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
