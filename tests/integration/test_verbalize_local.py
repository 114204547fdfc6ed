"""verbalize() with no key and no URL: the embedded SmolLM2 model, started once per process."""

from __future__ import annotations

import asyncio

import pytest

from vs_common import VerbalizedDistribution, averbalize, verbalize
from vs_common.backends import resolve
from vs_common.backends.resolve import embedded_server, stop_shared_servers

MODEL = "smollm2-135m-instruct"


@pytest.fixture(autouse=True)
def embedded_only(monkeypatch, _local_server_session):  # the session fixture checks the extra
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    stop_shared_servers()
    yield
    stop_shared_servers()


def test_one_line_starts_the_model_once_reuses_it_and_repeats_with_a_seed() -> None:
    first = verbalize("Write a joke about coffee", k=3, seed=3, max_tokens=200)
    server = resolve._shared[MODEL]
    assert server.running
    again = verbalize("Write a joke about coffee", k=3, seed=3, max_tokens=200)
    assert resolve._shared[MODEL] is server and server.running  # the same process, reused
    assert 1 <= len(first.candidates) <= 3
    assert again.texts == first.texts  # llama.cpp honours the seed: the same calls again
    assert first.sample(seed=7) == again.sample(seed=7)
    stop_shared_servers()
    assert not server.running


def test_from_a_running_event_loop_and_async() -> None:
    async def notebook_cell() -> tuple[VerbalizedDistribution, VerbalizedDistribution]:
        sync = verbalize("Name a fruit", k=3, max_tokens=120)  # a worker thread runs it
        return sync, await averbalize("Name a fruit", k=3, max_tokens=120)

    sync, awaited = asyncio.run(notebook_cell())
    assert sync.candidates and awaited.candidates
    assert len(resolve._shared) == 1  # both calls used the one shared server


def test_tau_keeps_the_tail_with_at_least_the_minimum() -> None:
    dist = verbalize("Write a joke about coffee", k=5, tau=0.12, seed=5, max_tokens=300)
    assert len(dist.candidates) >= min(3, len(dist.candidates))
    stated = [c.raw_probability or c.probability for c in dist.candidates]
    relaxed = any("tau relaxed" in h for h in dist.history)
    assert relaxed or all(p < 0.12 for p in stated)
    assert dist.history and dist.history[-1].startswith("filter:")
    assert dist.sample(seed=7).text in dist.texts


def test_embedded_server_block_stops_the_model_at_its_end() -> None:
    with embedded_server() as server:
        dist = verbalize("Name a color", k=3, max_tokens=100)
        assert resolve._shared[MODEL] is server
        assert dist.candidates
    assert not server.running and MODEL not in resolve._shared
