"""direct_base in the LangChain adapter: a completion model (BaseLLM) serves it; mismatches
are refused when the sampler is made."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import FakeListChatModel
from langchain_core.language_models.llms import LLM
from lc_fakes import vs_json
from pydantic import Field

from langchain_vs import VerbalizedSampler
from vs_common import VSConfig, VSConfigError


class RecordingLLM(LLM):
    """A completion model that answers with numbered jokes and records prompts and stops."""

    calls: list[tuple[str, list[str] | None]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        self.calls.append((prompt, stop))
        return f" Joke {len(self.calls)}.\n### User: and another\n### Assistant: ..."


def test_a_completion_model_serves_direct_base_sync_and_async() -> None:
    llm = RecordingLLM()
    sampler = VerbalizedSampler(llm=llm, method="direct_base", n=2, max_concurrency=1)
    dist = sampler.invoke("Write a joke")
    assert sorted(dist.texts) == ["Joke 1.", "Joke 2."]  # cut at the invented turn
    assert llm.calls[0] == (
        "### User: Write a joke\n### Assistant: ",
        ["### User:", "### Assistant:"],
    )
    again = asyncio.run(sampler.ainvoke("Write a joke"))
    assert sorted(again.texts) == ["Joke 3.", "Joke 4."]


def test_a_chat_model_is_refused_for_direct_base() -> None:
    chat = FakeListChatModel(responses=["never"])
    with pytest.raises(VSConfigError, match="completion model") as info:
        VerbalizedSampler(llm=chat, method="direct_base")
    assert info.value.field == "llm"


def test_a_completion_model_is_refused_for_chat_methods() -> None:
    with pytest.raises(VSConfigError, match="serves only method='direct_base'"):
        VerbalizedSampler(llm=RecordingLLM(), config=VSConfig(k=2))


def test_chat_methods_still_use_the_chat_model() -> None:
    chat = FakeListChatModel(responses=[vs_json([("A", 0.5), ("B", 0.5)])])
    assert VerbalizedSampler(llm=chat, k=2, structured="text").invoke("x").texts == ["A", "B"]
