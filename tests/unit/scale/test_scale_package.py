"""vs_common.scale: public names pinned, docstring examples hold, importing it stays light."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import vs_common.scale

EXPECTED = [
    "CONFIG_KEYS", "DISTINCT_KEYS", "RAY_EXTRA_HINT", "RESULT_COLUMNS", "ROW_KEYS", "SELECT_KEYS",
    "BatchAborted", "BatchError", "BatchOptions", "BatchSummary", "ClientFactory",
    "FailureStreak", "Job", "JobSettings", "JsonlSink", "KeySet", "ParquetSink", "RayOptions",
    "ResultSink", "ResultStore", "RowError", "Selection", "StoreLocked", "client_factory",
    "count_lines", "count_rows", "distinct_policy", "errors_path_for", "failure_record",
    "id_key", "import_ray",
    "is_parquet", "parse_line", "parse_row", "ray_session", "read_jobs", "recover_output",
    "result_record", "result_row", "result_schema", "row_seed", "run_batch",
    "run_batch_processes", "run_batch_ray", "run_job", "sample_dataset",
]  # fmt: skip

MODULES = [
    "vs_common.scale",
    "vs_common.scale._rows",
    "vs_common.scale._store",
    "vs_common.scale._jobs",
    "vs_common.scale._local",
    "vs_common.scale._processes",
    "vs_common.scale._formats",
    "vs_common.scale._parquet",
    "vs_common.scale._ray",
]


def test_public_names_are_pinned():
    assert sorted(vs_common.scale.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert hasattr(vs_common.scale, name), name


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name.endswith(("_parquet", "_ray")):
        pytest.importorskip("pyarrow")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_importing_vs_common_and_the_scale_layer_does_not_import_ray():
    code = (
        "import sys, vs_common, vs_common.scale, vs_common.cli, vs_common.cli._batch;"
        "heavy = [m for m in ('ray', 'pyarrow', 'pandas') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_ray_the_engine_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ImportError, match=r"verbalized-sampling-kit\[ray\]"):
        vs_common.scale.import_ray()


def test_bad_defaults_of_the_ray_engine_fail_before_any_work():
    pytest.importorskip("ray")
    from vs_common.errors import VSConfigError
    from vs_common.scale._ray import _check_defaults

    _check_defaults({"k": 3, "n": 6, "strategy": "tail", "threshold": 0.2})
    for settings, field in [
        ({"k": 0}, "k"),
        ({"strategy": "best"}, "strategy"),
        ({"strategy": "tail"}, "threshold"),
        ({"temperature": 0.7}, "temperature"),  # not a setting of a row
    ]:
        with pytest.raises(VSConfigError) as caught:
            _check_defaults(settings)
        assert caught.value.field == field, settings
