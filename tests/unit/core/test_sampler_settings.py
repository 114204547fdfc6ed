"""vs_common.sampler: one meaning of seed, min_successes and validation for every adapter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vs_common import RetryPolicy, VerbalizedDistribution, VSConfig, VSConfigError
from vs_common.sampler import SamplerSettings, format_options, selection_seed

TEN = VerbalizedDistribution.from_pairs([(f"c{i}", 0.1) for i in range(10)])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"config": {"k": 0}}, "k"),
        ({"config": {"k": 3, "bogus": 1}}, "bogus"),
        ({"config": "k=3"}, "config"),
        ({"retry": {"max_retries": -1}}, "max_retries"),
        ({"retry": {"tries": 3}}, "retry"),
        ({"structured": "xml"}, "structured"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": "8"}, "max_concurrency"),
        ({"max_concurrency": True}, "max_concurrency"),
        ({"min_successes": -1}, "min_successes"),
        ({"config": {"k": 5, "n": 10}, "min_successes": 3}, "min_successes"),  # 2 calls planned
        ({"seed": -1}, "seed"),
        ({"seed": "7"}, "seed"),
        ({"strategy": "best"}, "strategy"),
        ({"strategy": "tail"}, "threshold"),
        ({"strategy": "temperature"}, "temperature"),
        ({"threshold": float("nan")}, "threshold"),
    ],
)
def test_every_bad_setting_is_a_config_error_naming_the_field(kwargs: dict[str, Any], field: str):
    with pytest.raises(VSConfigError) as info:
        SamplerSettings(**kwargs)
    assert info.value.field == field, info.value


def test_settings_given_as_dicts_become_the_core_types():
    s = SamplerSettings(config={"k": 3, "n": 9}, retry={"max_retries": 1})
    assert s.config == VSConfig(k=3, n=9)
    assert s.retry == RetryPolicy(max_retries=1)
    assert SamplerSettings(retry=None).retry == RetryPolicy()  # type: ignore[arg-type]
    assert SamplerSettings(strategy="tail", config={"threshold": 0.2}).tail_threshold() == 0.2


def test_same_seed_and_prompt_same_choice_different_prompts_independent():
    s = SamplerSettings(strategy="weighted", seed=3)
    assert len({s.choose(TEN, "same prompt").text for _ in range(10)}) == 1
    # one seed over a batch of prompts: the draws differ (not one number for all)
    assert len({s.choose(TEN, f"prompt {i}").text for i in range(30)}) >= 5
    # a per-run seed replaces the settings' one
    assert s.choose(TEN, "p", seed=9) == SamplerSettings(strategy="weighted", seed=9).choose(
        TEN, "p"
    )
    # conversations hash the same whether given as dicts in any key order
    a = [{"role": "user", "content": "hi"}]
    b = [{"content": "hi", "role": "user"}]
    assert selection_seed(3, a) == selection_seed(3, b) != selection_seed(3, "hi")


def test_without_a_seed_each_choice_is_fresh():
    s = SamplerSettings(strategy="uniform")
    assert len({s.choose(TEN, "p").text for _ in range(40)}) > 1


def test_no_prompt_means_the_seed_as_it_is():
    from vs_common import select

    s = SamplerSettings(strategy="weighted", seed=5)
    assert s.choose(TEN) == select(TEN, "weighted", seed=5)


def test_min_successes_is_never_lowered_for_a_run_that_plans_fewer_calls():
    async def call(request: Any) -> str:
        return '[{"text": "a", "probability": 0.5}, {"text": "b", "probability": 0.5}]'

    s = SamplerSettings(config={"k": 2, "n": 6}, min_successes=3)
    assert asyncio.run(s.run("p", call)).num_calls == 3
    with pytest.raises(VSConfigError) as info:
        asyncio.run(s.run("p", call, config=VSConfig(k=2, n=2)))
    assert info.value.field == "min_successes"


def test_format_options():
    d = VerbalizedDistribution.from_pairs([("line one\nline two", 0.996), ("rare", 0.004)])
    assert format_options(d).splitlines() == [
        "1. line one",
        "   line two (p=1.00)",
        "2. rare (p=0.004)",
    ]
    many = VerbalizedDistribution.from_pairs([(f"c{i}", 1.0) for i in range(25)])
    lines = format_options(many, many.candidates[3]).splitlines()
    assert lines[0] == "Sampled response: c3"
    assert lines[-1] == "... and 5 more"
    assert len(lines) == 2 + 20 + 1


def test_distinct_setting_accepts_true_a_dict_or_a_policy():
    from vs_common.distinct import DistinctPolicy

    assert SamplerSettings(distinct=True).distinct == DistinctPolicy()  # type: ignore[arg-type]
    policy = SamplerSettings(distinct={"max_calls": 4}).distinct  # type: ignore[arg-type]
    assert isinstance(policy, DistinctPolicy)
    assert policy.max_calls == 4
    assert SamplerSettings(distinct=False).distinct is None  # type: ignore[arg-type]
    for bad, field in (("yes", "distinct"), ({"patience": 0}, "patience"), ({"x": 1}, "distinct")):
        with pytest.raises(VSConfigError) as info:
            SamplerSettings(distinct=bad)  # type: ignore[arg-type]
        assert info.value.field == field


def test_a_run_with_distinct_keeps_asking():
    replies = iter(["Ohio", "Utah", "Ohio", "Iowa"])

    async def call(request):
        return next(replies)

    settings = SamplerSettings(config={"method": "direct", "n": 3}, distinct=True)
    dist = asyncio.run(settings.run("Name a US state", call))
    assert dist.texts == ["Ohio", "Utah", "Iowa"]
    assert dist.distinct is not None
    assert (dist.distinct.calls, dist.distinct.duplicates) == (4, 1)
