"""SSoT and SimpleStrat: their readers, and their runs under the one orchestration policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vs_common import (
    CallRequest,
    CallResponse,
    Method,
    RetryPolicy,
    Usage,
    VSConfig,
    VSConfigError,
    VSParseError,
    VSStructuredOutputUnsupported,
    VSTransientError,
    build_messages,
    read_reply,
    response_schema,
    run_sampling,
    streaming_parser,
    system_instruction,
)
from vs_common.alternatives import ALTERNATIVES, alternative
from vs_common.alternatives.simplestrat import read_strata
from vs_common.alternatives.ssot import read_answer
from vs_common.methods import compose_messages

# --------------------------------------------------------------------------- SSoT reader


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("<random_string>aX9</random_string><thinking>a=1</thinking><answer>4</answer>", "4"),
        ("<answer>3</answer> and later <answer>5</answer>", "5"),  # the last one
        ("<random_string>q</random_string>\n<answer>\nOhio\n", "Ohio"),  # open at the end
        ("I made a string qz7.\nAnswer: 6", "6"),
        ("**Final answer:** six", "six"),
        ("blah\n- answer = Texas\n", "Texas"),
        ('{"random_string": "k2", "answer": "2"}', "2"),
        ('{ "random_string": ");\n","thinking":"x\ny" ,"answer":"The answer is four."}', None),
    ],
)
def test_ssot_answer_from_text(reply: str, answer: str | None) -> None:
    dist = read_answer(reply, False)
    assert dist.texts == ["The answer is four." if answer is None else answer]


def test_ssot_keeps_the_string_and_derivation_as_reasoning() -> None:
    dist = read_answer("<random_string>aX9</random_string><thinking>a=1</thinking><answer>4", False)
    assert dist.reasoning == "random string: aX9\nthinking: a=1"
    decoded = read_answer({"random_string": "k", "thinking": "sum 3", "answer": 3}, False)
    assert decoded.texts == ["3"] and decoded.reasoning == "random string: k\nthinking: sum 3"


@pytest.mark.parametrize(
    ("reply", "truncated", "words"),
    [
        ("<random_string>abc</random_string><answer>The quick br", True, "cut off"),
        ("I rolled a 4!", False, "no answer"),
        ("<answer>   </answer>", False, "no answer"),
        ({"random_string": "x", "thinking": "y"}, False, "no answer"),
        ({"answer": ""}, False, "no answer"),
        (["4"], False, "text or an object"),
        ("[" * 200_000, False, "no answer"),
        ("<answer>" * 50_000, False, "no answer"),  # the last tag is empty
    ],
)
def test_ssot_without_an_answer_is_a_parse_error(reply: Any, truncated: bool, words: str) -> None:
    with pytest.raises(VSParseError, match=words):
        read_answer(reply, truncated)


# --------------------------------------------------------------------------- SimpleStrat reader


@pytest.mark.parametrize(
    ("reply", "strata"),
    [
        ('["even numbers", "odd numbers"]', ["even numbers", "odd numbers"]),
        ("Sure:\n['low (1-3)', 'high (4-6)',]", ["low (1-3)", "high (4-6)"]),
        ('{"strata": ["a\nb", "c"]}', ["a b", "c"]),  # raw newline inside a string
        ("Here are the categories:\n1. North\n2) South\n- East\n* West",
         ["North", "South", "East", "West"]),
        ({"strata": ["west", " ", "east"]}, ["west", "east"]),
        ({"categories": [{"name": "west"}, {"name": "east"}]}, ["west", "east"]),
        (["x", 3, "y"], ["x", "y"]),
    ],
)  # fmt: skip
def test_strata_from_replies(reply: Any, strata: list[str]) -> None:
    dist = read_strata(reply, False)
    assert dist.texts == strata
    assert dist.probabilities.tolist() == pytest.approx([1 / len(strata)] * len(strata))


def test_strata_are_bounded() -> None:
    many = json.dumps([f"stratum {i}" for i in range(500)])
    assert len(read_strata(many, False).texts) == 100
    assert len(read_strata(json.dumps(["x" * 5000]), False).texts[0]) == 300
    with pytest.raises(VSParseError, match="no strata"):
        read_strata("", False)
    with pytest.raises(VSParseError, match="no strata"):
        read_strata({"strata": []}, False)
    # A megabyte of brackets never reaches json-repair's recursion: read as lines.
    assert read_strata("[" * 1_000_000 + "]", False).texts


# --------------------------------------------------------------------------- the method contract


def test_the_alternatives_are_methods_with_their_own_prompts() -> None:
    assert [Method(name) for name in ALTERNATIVES] == [Method.SSOT, Method.SIMPLESTRAT]
    ssot = system_instruction(VSConfig(method="ssot", word_hint=20))
    assert "<random_string>" in ssot and "<answer>" in ssot and "approximately 20 words" in ssot
    strat = system_instruction(VSConfig(method="simplestrat", k=4))
    assert "4 distinct categories" in strat and "JSON list" in strat
    assert response_schema(VSConfig(method="simplestrat", k=4))["properties"]["strata"][
        "maxItems"
    ] == 4  # fmt: skip
    assert list(response_schema(VSConfig(method="ssot"))["required"])[-1] == "answer"
    assert VSConfig(method="ssot", n=7).num_calls == 7
    for alt in ALTERNATIVES.values():
        assert alt.source and alt.cost and alt.label
    with pytest.raises(VSConfigError, match="threshold only applies"):
        VSConfig(method="ssot", threshold=0.1)


def test_read_reply_chooses_the_reader() -> None:
    assert read_reply("<answer>4</answer>", method="ssot").texts == ["4"]
    assert read_reply('["a", "b"]', method=Method.SIMPLESTRAT).texts == ["a", "b"]
    assert read_reply('[{"text": "x", "probability": 1}]', method="vs_standard").texts == ["x"]
    with pytest.raises(VSParseError):
        read_reply(object(), method="ssot")
    assert streaming_parser("ssot").method is Method.DIRECT
    assert streaming_parser("vs_standard").method == "vs_standard"
    assert alternative("direct") is None


def test_compose_puts_the_addendum_on_the_last_user_turn() -> None:
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a state"},
        {"role": "assistant", "content": "Ohio"},
        {"role": "user", "content": "Another"},
    ]
    messages = compose_messages(conversation, "INSTRUCTION", addendum="West only.")
    assert messages[0]["content"] == "Be brief.\n\nINSTRUCTION"
    assert messages[-1]["content"] == "Another\n\nWest only."
    assert messages[1]["content"] == "Name a state"
    assert build_messages("x", VSConfig(method="direct")) == compose_messages(
        "x", system_instruction(VSConfig(method="direct"))
    )


# --------------------------------------------------------------------------- runs


class Model:
    """A fake model: strata calls get ``strata``, answer calls echo the stratum they got."""

    def __init__(self, strata: list[str], fail: dict[tuple[int, str], list[Any]] | None = None):
        self.strata = strata
        self.fail = fail or {}
        self.requests: list[CallRequest] = []

    async def __call__(self, request: CallRequest) -> Any:
        self.requests.append(request)
        step = "strata" if "categories" in request.messages[0]["content"] else "answer"
        queued = self.fail.get((request.call_index, step))
        if queued:
            error = queued.pop(0)
            raise error
        usage = Usage(prompt_tokens=10, completion_tokens=1 if step == "strata" else 2)
        if step == "strata":
            output: Any = (
                {"strata": self.strata} if request.structured == "tool" else json.dumps(self.strata)
            )
            return CallResponse(output=output, usage=usage, finish_reason="stop")
        stratum = request.messages[-1]["content"].rsplit("category: ", 1)[1]
        return CallResponse(output=f"answer in {stratum}", usage=usage, finish_reason="stop")


async def test_simplestrat_makes_two_calls_per_sample_and_sums_usage() -> None:
    model = Model(["east", "west", "north"])
    dist = await run_sampling("Name a US state", VSConfig(method="simplestrat", n=4, k=3), model)
    assert dist.num_calls == 4 and not dist.failures
    assert len(model.requests) == 8
    strata_calls = [r for r in model.requests if r.schema is not None]
    assert len(strata_calls) == 4 and all(r.structured == "tool" for r in strata_calls)
    answers = [r for r in model.requests if r.schema is None]
    assert all(r.structured == "text" for r in answers)
    assert all(r.messages[0]["content"].startswith("Generate a response") for r in answers)
    assert all("Additional instructions" in r.messages[-1]["content"] for r in answers)
    assert dist.usage == Usage(prompt_tokens=80, completion_tokens=4 * 1 + 4 * 2)
    assert all(t.startswith("answer in ") for t in dist.all_texts())


async def test_simplestrat_draws_are_seeded() -> None:
    def picks(seed: int | None) -> list[str]:
        return [t.removeprefix("answer in ") for t in dist_texts[seed]]

    dist_texts: dict[int | None, list[str]] = {}
    strata = [f"s{i}" for i in range(10)]
    for seed in (1, 2):
        for _ in range(2):
            dist = await run_sampling(
                "Q", VSConfig(method="simplestrat", n=12, k=10), Model(strata), seed=seed
            )
            texts = dist.all_texts()
            assert dist_texts.setdefault(seed, texts) == texts  # same seed, same draws
    assert picks(1) != picks(2)
    assert len(set(picks(1))) > 1  # each sample draws anew
    other = await run_sampling(
        "Another Q", VSConfig(method="simplestrat", n=12, k=10), Model(strata), seed=1
    )
    assert other.all_texts() != dist_texts[1]  # the prompt is mixed in
    with pytest.raises(VSConfigError, match="seed"):
        await run_sampling("Q", VSConfig(method="simplestrat"), Model(strata), seed=-1)


async def test_simplestrat_retries_each_call_and_fails_the_sample_not_the_run() -> None:
    model = Model(
        ["a", "b"],
        fail={
            (0, "answer"): [VSTransientError("503")],  # retried
            (1, "strata"): [ValueError("boom")],  # not transient: sample 1 fails
        },
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    dist = await run_sampling(
        "Q", VSConfig(method="simplestrat", n=3, k=2), model, min_successes=1, sleep=sleep
    )
    assert [f.call_index for f in dist.failures] == [1]
    assert dist.failures[0].error_type == "ValueError"
    # the failed sample is made up by a top-up call (3), as for any method
    assert dist.num_calls == 4 and dist.top_up_calls == 1 and dist.num_samples == 3
    assert len(sleeps) == 1
    # call 0: strata, answer (503), answer again; call 1: strata only; calls 2, 3: two each
    assert sorted(r.call_index for r in model.requests) == [0, 0, 0, 1, 2, 2, 3, 3]
    assert [r.attempt for r in model.requests if r.call_index == 0] == [0, 1, 2]


async def test_simplestrat_unreadable_strata_are_re_asked() -> None:
    replies = iter(["", '["x", "y"]'])
    seen: list[CallRequest] = []

    async def call(request: CallRequest) -> Any:
        seen.append(request)
        return next(replies) if request.schema is None and len(seen) < 3 else "fine"

    dist = await run_sampling(
        "Q",
        VSConfig(method="simplestrat", n=1, k=2),
        call,
        structured="text",
        retry=RetryPolicy(max_reasks=1),
    )
    assert dist.texts == ["fine"]
    assert dist.candidates and dist.reasoning is not None
    assert dist.reasoning.startswith("stratum ") and dist.reasoning.split(": ")[1] in ("x", "y")
    assert "could not be read" in seen[1].messages[-1]["content"]  # the re-ask
    assert [r.attempt for r in seen] == [0, 1, 2]


async def test_ssot_falls_back_to_text_and_reads_the_answer_tag() -> None:
    seen: list[CallRequest] = []

    async def call(request: CallRequest) -> Any:
        seen.append(request)
        if request.structured == "tool":
            msg = "no tools here"
            raise VSStructuredOutputUnsupported(msg)
        return "<random_string>zq81</random_string><thinking>z=26</thinking><answer>2</answer>"

    dist = await run_sampling("Roll a die", VSConfig(method="ssot", n=3), call)
    assert dist.all_texts() == ["2", "2", "2"]
    assert seen[0].structured == "tool" and seen[0].schema is not None
    assert {r.structured for r in seen[1:]} == {"text"}


async def test_ssot_distinct_rounds_run() -> None:
    answers = iter(["<answer>1</answer>", "<answer>1</answer>", "<answer>2</answer>"] * 5)

    async def call(request: CallRequest) -> str:
        return next(answers)

    dist = await run_sampling(
        "Roll a die", VSConfig(method="ssot", n=2), call, structured="text", distinct=True
    )
    assert sorted(dist.texts) == ["1", "2"]
