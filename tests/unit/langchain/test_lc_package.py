from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import langchain_vs

EXPECTED = [
    "BrainstormInput",
    "SamplerInput",
    "SamplerOutput",
    "SelectorInput",
    "VerbalizedSampler",
    "VerbalizedSamplingParser",
    "VerbalizedSamplingTool",
    "VerbalizedSelector",
    "add_vs_instructions",
    "create_vs_tool",
    "escape_braces",
    "format_options",
    "vs_prompt",
]


def test_public_names_are_pinned():
    assert langchain_vs.__all__ == EXPECTED
    objects = {name: getattr(langchain_vs, name) for name in EXPECTED}
    own = {n: o for n, o in objects.items() if inspect.isclass(o) or inspect.isfunction(o)}
    assert len(own) >= 9  # the rest are type aliases (SamplerInput, ...)
    for name, obj in own.items():  # each name is wired to the object of that name
        assert obj.__name__ == name
        assert obj.__module__.startswith(("langchain_vs.", "vs_common.")), name


def test_import_without_langchain_core_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["langchain_core"] = None  # as if not installed
        try:
            import langchain_vs
        except ImportError as exc:
            print("ERR", exc)
        else:
            print("imported")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ERR" in out.stdout
    assert 'pip install "verbalized-sampling-kit[langchain]"' in out.stdout


def test_core_import_pulls_in_no_langchain():
    code = "import vs_common, sys; print(any(m.startswith('langchain') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
