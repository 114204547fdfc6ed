"""The examples in the core's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "vs_common.types",
    "vs_common.calls",
    "vs_common.providers",
    "vs_common.sampler",
    "vs_common.backends",
    "vs_common.backends.openai_compat",
    "vs_common.openai_compat",
    "vs_common.embeddings",
    "vs_common.errors",
    "vs_common.methods",
    "vs_common.distribution",
    "vs_common.parsing",
    "vs_common.parsing._parse",
    "vs_common.parsing._streaming",
    "vs_common.selection",
    "vs_common.sampling",
    "vs_common._runner",
    "vs_common._logging",
    "vs_common.testing",
    "vs_common.metrics",
    "vs_common.local_server",
    "vs_common.backends.local_server",
    "vs_common.backends.resolve",
    "vs_common._verbalize",
    "vs_common.distinct",
    "vs_common.evaluation",
    "vs_common.evaluation._calibration",
    "vs_common.evaluation._compare",
    "vs_common.evaluation._reachability",
    "vs_common.evaluation._report",
    "vs_common.evaluation._eval",
    "vs_common.evaluation.experiments",
    "vs_common.evaluation.experiments._base",
    "vs_common.evaluation.experiments.dice",
    "vs_common.evaluation.experiments.open_qa",
    "vs_common.evaluation.experiments.creative",
    "vs_common.alternatives",
    "vs_common.alternatives._base",
    "vs_common.alternatives.ssot",
    "vs_common.alternatives.simplestrat",
    "vs_common.replies",
    "vs_common",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name != "vs_common.errors":
        assert result.attempted > 0
