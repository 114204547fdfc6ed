"""Under mutation testing (make mutation), each mutant's tests run fastest first.

mutmut runs, for each mutant, the tests that reach the mutated function and
stops at the first failure; the tests over thousands of generated replies
take seconds, the example tests milliseconds, so the examples go first.
"""

from __future__ import annotations

import os

import pytest

_SLOW = (
    "test_parsing_generated.py",
    "test_parser_snapshot.py",
    "test_parsing_properties.py",
    "test_adversarial.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    items.sort(key=lambda item: item.path.name in _SLOW)  # stable: the rest keep their order
