"""`vs --help` and `import vs_common` load no heavy module; the parser's choices are the core's."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

from vs_common import STRATEGIES, Method
from vs_common.backends.openai_compat import DEFAULT_MAX_REPLY_BYTES
from vs_common.cli import _parser
from vs_common.evaluation import DEFAULT_METHODS, DEFAULT_TAU
from vs_common.methods import OutputFormat, ProbabilityFormat
from vs_common.sampling import Structured

HEAVY = ("numpy", "pydantic", "asyncio", "aiohttp", "json_repair")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in out.split()}


def test_the_parser_choices_are_the_cores():
    assert tuple(m.value for m in Method) == _parser.METHOD_CHOICES
    assert _parser.STRATEGY_CHOICES == STRATEGIES
    assert get_args(Structured) == _parser.STRUCTURED_CHOICES
    assert get_args(ProbabilityFormat) == _parser.PROBABILITY_FORMAT_CHOICES
    assert get_args(OutputFormat) == _parser.OUTPUT_FORMAT_CHOICES
    assert tuple(m.value for m in DEFAULT_METHODS) == _parser.DEFAULT_METHOD_CHOICES
    assert _parser.DEFAULT_TAU_VALUE == DEFAULT_TAU
    assert _parser.MAX_REPLY_BYTES == DEFAULT_MAX_REPLY_BYTES


def test_import_vs_common_loads_nothing_heavy():
    loaded = _loaded_after("import vs_common")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_help_loads_nothing_heavy():
    loaded = _loaded_after(
        "from vs_common.cli import build_parser\n"
        "build_parser().format_help()\n"
        "[p.format_help() for p in build_parser()._subparsers._group_actions[0].choices.values()]"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_names_load_on_first_use_only_what_they_need():
    loaded = _loaded_after("import vs_common\nvs_common.VSConfig\nvs_common.build_messages")
    assert "pydantic" in loaded
    assert "numpy" not in loaded  # prompts need no numpy
    loaded = _loaded_after("import vs_common\nvs_common.parse_distribution")
    assert "numpy" in loaded
