"""The examples in the CLI's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "vs_common.cli._parser",
    "vs_common.cli._common",
    "vs_common.cli._progress",
    "vs_common.cli._render",
    "vs_common.cli._generate",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
