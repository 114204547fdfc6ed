"""verbalize() / averbalize(): the backend rule of the `vs` command, the tail filter, notebooks."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import ClassVar

import pytest

import vs_common
import vs_common._verbalize as verbalize_module
from vs_common import (
    CallRequest,
    VerbalizedDistribution,
    VSConfigError,
    VSSamplingError,
    averbalize,
    verbalize,
)
from vs_common.backends import resolve
from vs_common.backends.resolve import (
    BackendOptions,
    BackendUnavailable,
    embedded_server,
    shared_backend,
    stop_shared_servers,
)
from vs_common.testing import FaultInjectingServer

SECRET = "sk-verbalize-test-0123456789"
STATED = [0.4, 0.3, 0.2, 0.06, 0.04]


async def five(request: CallRequest) -> str:
    items = [
        {"text": f"Joke {request.call_index}.{i}", "probability": p} for i, p in enumerate(STATED)
    ]
    return json.dumps({"responses": items})


@pytest.fixture
def server():
    with FaultInjectingServer(k=3) as s:
        yield s


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield
    stop_shared_servers()


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_the_one_liner_with_an_injected_call() -> None:
    dist = verbalize("Write a joke about coffee", k=5, call=five)
    assert isinstance(dist, VerbalizedDistribution)
    assert len(dist.candidates) == 5 and dist.history == []
    assert verbalize("Write a joke about coffee", k=5, call=five).sample(seed=7) == dist.sample(
        seed=7
    )


def test_tau_asks_for_the_tail_and_keeps_it_with_a_minimum() -> None:
    seen: list[CallRequest] = []

    async def call(request: CallRequest) -> str:
        seen.append(request)
        return await five(request)

    dist = verbalize("Joke", k=5, tau=0.1, call=call)
    assert "less than 0.1" in seen[0].messages[0]["content"]  # the paper's tail sentence
    assert dist.texts == ["Joke 0.2", "Joke 0.3", "Joke 0.4"]  # 2 below tau, relaxed to keep 3
    assert "tau relaxed to 0.2" in dist.history[-1]
    assert verbalize("Joke", k=5, tau=0.1, min_k_survivors=1, call=five).texts == [
        "Joke 0.3", "Joke 0.4"
    ]  # fmt: skip
    assert verbalize("Joke", k=5, threshold=0.1, min_k_survivors=2, call=five).texts == [
        "Joke 0.3", "Joke 0.4"
    ]  # fmt: skip


def test_tau_and_threshold_are_one_setting() -> None:
    with pytest.raises(VSConfigError, match="one setting") as info:
        verbalize("Joke", tau=0.1, threshold=0.2, call=five)
    assert info.value.field == "tau"
    assert len(verbalize("Joke", tau=0.1, threshold=0.1, min_k_survivors=0, call=five)) == 2


def test_bad_settings_are_named() -> None:
    with pytest.raises(VSConfigError, match="k must be"):
        verbalize("Joke", k=0, call=five)
    with pytest.raises(VSConfigError, match="threshold only applies to VS methods"):
        verbalize("Joke", method="direct", tau=0.1, call=five)
    with pytest.raises(VSConfigError, match="word_hnt"):
        verbalize("Joke", word_hnt=5, call=five)  # a VSConfig field misspelled


def test_verbalize_works_inside_a_running_event_loop() -> None:
    async def notebook_cell() -> tuple[VerbalizedDistribution, VerbalizedDistribution]:
        loop = asyncio.get_running_loop()
        assert loop.is_running()
        return verbalize("Joke", k=5, n=10, call=five), await averbalize("Joke", k=5, call=five)

    inside, awaited = asyncio.run(notebook_cell())
    assert len(inside.candidates) == 10 and inside.num_calls == 2
    assert len(awaited.candidates) == 5


def test_base_url_finds_the_model_and_sends_no_openai_key(server, monkeypatch) -> None:
    dist = verbalize("Joke", k=3, n=6, base_url=server.base_url)
    assert dist.num_calls == 2 and len(dist.candidates) == 6
    assert set(dist.texts) == server.delivered_texts()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    backend = shared_backend(BackendOptions(base_url=server.base_url))
    assert backend.model == "fault-injector"  # the first model GET /models lists
    assert backend.client is not None and SECRET not in repr(backend.client)
    assert "api_key=None" in repr(backend.client)


def test_api_key_env_names_the_key_to_send(monkeypatch) -> None:
    with FaultInjectingServer(k=2, require_api_key=SECRET) as guarded:
        monkeypatch.setenv("MY_KEY", SECRET)
        assert len(verbalize("Joke", k=2, base_url=guarded.base_url, api_key_env="MY_KEY")) == 2
        with pytest.raises(VSSamplingError, match="401"):
            verbalize("Joke", k=2, base_url=guarded.base_url)  # no key without api_key_env
    with pytest.raises(VSConfigError, match="'UNSET_KEY' is not set") as info:
        verbalize("Joke", base_url="http://127.0.0.1:9/v1", api_key_env="UNSET_KEY")
    assert info.value.field == "api_key_env"


def test_openai_key_alone_means_openai(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    target = resolve.plan_remote(BackendOptions())
    assert target is not None
    assert (target.url, target.model) == ("https://api.openai.com/v1", "gpt-4.1-mini")
    assert SECRET not in repr(target)
    assert resolve.plan_remote(BackendOptions(embedded=True)) is None


def test_unreachable_or_bad_urls_fail_at_once_in_one_line() -> None:
    with pytest.raises(BackendUnavailable, match="cannot reach the model server at http://127"):
        verbalize("Joke", base_url=closed_url())
    with pytest.raises(VSConfigError, match="expected an http") as info:
        verbalize("Joke", base_url="ftp://example.com/v1")
    assert info.value.field == "base_url"
    with pytest.raises(VSConfigError, match="unknown embedded model") as info:
        verbalize("Joke", local_model="gpt-5")
    assert info.value.field == "local_model"


def test_seed_goes_to_the_server_and_to_the_jitter(monkeypatch, server) -> None:
    options: list[BackendOptions] = []

    def spy(opts: BackendOptions, **kwargs):
        options.append(opts)
        return shared_backend(opts, **kwargs)

    monkeypatch.setattr(verbalize_module, "shared_backend", spy)
    verbalize("Joke", k=3, base_url=server.base_url, seed=11, temperature=0.3, max_tokens=99)
    assert (options[0].seed, options[0].temperature, options[0].max_tokens) == (11, 0.3, 99)
    client = shared_backend(options[0]).client
    assert client is not None and client.seed == 11


class FakeServer:
    """Stands in for LocalModelServer: 'serves' the fault injector's URL."""

    started: ClassVar[list[str]] = []
    stopped: ClassVar[list[str]] = []
    url = ""

    def __init__(self, name: str) -> None:
        self.model = name
        self.running = False
        self.base_url = FakeServer.url

    @classmethod
    def embedded(cls, name: str) -> FakeServer:
        return cls(name)

    def start(self) -> FakeServer:
        FakeServer.started.append(self.model)
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            FakeServer.stopped.append(self.model)
        self.running = False

    def guard(self, call):
        return call


@pytest.fixture
def fake_embedded(monkeypatch, server):
    FakeServer.started, FakeServer.stopped, FakeServer.url = [], [], server.base_url
    monkeypatch.setattr(resolve, "LocalModelServer", FakeServer)
    return FakeServer


def test_no_key_no_url_starts_the_embedded_model_once_and_reuses_it(fake_embedded) -> None:
    verbalize("Joke", k=3)
    verbalize("Another joke", k=3)
    assert fake_embedded.started == ["smollm2-135m-instruct"]  # one start for both calls
    resolve._shared["smollm2-135m-instruct"].running = False  # it died meanwhile
    verbalize("Joke", k=3)
    assert fake_embedded.started == ["smollm2-135m-instruct"] * 2  # started again
    stop_shared_servers()
    assert fake_embedded.stopped == ["smollm2-135m-instruct"]
    assert resolve._shared == {}


def test_embedded_server_block_gives_explicit_control(fake_embedded) -> None:
    with embedded_server() as running:
        assert running.running
        verbalize("Joke", k=3)
        assert fake_embedded.started == ["smollm2-135m-instruct"]  # the block's server is used
    assert not running.running and fake_embedded.stopped == ["smollm2-135m-instruct"]
    assert "smollm2-135m-instruct" not in resolve._shared


def test_a_missing_extra_names_the_install_command(monkeypatch) -> None:
    def start(self):
        msg = "The local model server needs llama-cpp-python[server]"
        raise ImportError(msg, name="llama_cpp")

    monkeypatch.setattr("vs_common.backends.local_server.LocalModelServer.start", start)
    with pytest.raises(BackendUnavailable, match=r'pip install "verbalized-sampling-kit\[local\]"'):
        verbalize("Joke")
    with pytest.raises(BackendUnavailable, match=r"verbalized-sampling-kit\[local,base\]"):
        verbalize("Joke", method="direct_base", local_model="gemma-3-270m")


def test_verbalize_and_its_backends_load_on_first_use() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vs_common; assert callable(vs_common.verbalize);"
        "print(sorted(m for m in sys.modules if m.startswith('vs_common')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "vs_common.backends.resolve" in out.stdout  # loaded on first use of verbalize
    lazy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, vs_common; print('vs_common._verbalize' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert lazy.stdout.strip() == "False"
    assert "verbalize" in vs_common.__all__ and "averbalize" in vs_common.__all__
