"""A bad selection setup is refused when the sampler is built, not after the calls."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from langchain_vs import VerbalizedSampler
from vs_common import VSConfigError


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strategy": "bogus"}, "strategy"),
        ({"strategy": "tail"}, "threshold"),
        ({"strategy": "temperature"}, "temperature"),
        ({"strategy": "temperature", "temperature": -1.0}, "temperature"),
    ],
)
def test_bad_strategy_refused_at_construction(kwargs: dict[str, object], field: str) -> None:
    llm = FakeListChatModel(responses=["[]"])
    with pytest.raises((VSConfigError, ValueError)) as info:
        VerbalizedSampler(llm=llm, **kwargs)
    assert field in str(info.value)


def test_tail_threshold_may_come_from_config() -> None:
    llm = FakeListChatModel(responses=["[]"])
    sampler = VerbalizedSampler(llm=llm, strategy="tail", threshold=0.2)
    assert sampler.strategy == "tail"
