"""The methods people compare VS with, beyond the paper's seven: one module each.

* ``ssot`` (:mod:`vs_common.alternatives.ssot`): String Seed of Thought, one
  call per sample: a random string, then the answer derived from it.
* ``simplestrat`` (:mod:`vs_common.alternatives.simplestrat`): SimpleStrat,
  two calls per sample: strata of the answer space, then an answer within a
  drawn one.

Each is a :class:`~vs_common.methods.Method` like the paper's, so it works
wherever a method does (``VSConfig``, ``run_sampling``, both adapters'
samplers, ``vs generate -m``, ``vs compare --methods``, ``vs eval``).

To add one: write a module here that declares an :class:`Alternative`
(instruction, schema, reader, and a program if it makes several calls per
sample), list it in :data:`ALTERNATIVES`, and add its value to ``Method`` and
to the CLI's ``METHOD_CHOICES`` (a test checks the two agree).

Example:
    >>> alternative("ssot").label, alternative("vs_standard") is None
    ('SSoT', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from vs_common.alternatives._base import (
    Alternative,
    Ask,
    Compose,
    Context,
    Output,
    Program,
    Reader,
)
from vs_common.alternatives.simplestrat import SIMPLESTRAT
from vs_common.alternatives.ssot import SSOT

__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "Ask",
    "Compose",
    "Context",
    "Output",
    "Program",
    "Reader",
    "alternative",
]

#: Every method beyond the paper's seven, by its ``Method`` value, in display order.
ALTERNATIVES: Mapping[str, Alternative] = MappingProxyType({a.name: a for a in (SSOT, SIMPLESTRAT)})


def alternative(method: str) -> Alternative | None:
    """The declaration of ``method`` if it is one of :data:`ALTERNATIVES`, else None."""
    return ALTERNATIVES.get(str(method))
