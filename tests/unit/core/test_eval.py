"""run_eval and its report: figures hand-computed on scripted models, beside the paper's."""

from __future__ import annotations

import importlib.util
import json
import math
from typing import Any

import pytest

from vs_common import CallRequest, Method
from vs_common.errors import VSConfigError
from vs_common.evaluation import (
    EVAL_METHODS,
    Evaluation,
    run_eval,
    write_eval_report,
)
from vs_common.evaluation._eval import answer_vendi
from vs_common.evaluation.experiments import Budget, Experiment, Metric

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FACES = ["1", "2", "3", "4", "5", "6"]


async def dice_model(request: CallRequest) -> Any:
    """Direct always says four in words; Sequence lists the six faces in digits."""
    if request.schema is None:
        return "I rolled a four!"
    k = request.schema["properties"]["responses"]["maxItems"]
    return {"responses": [{"text": FACES[(request.call_index * k + i) % 6]} for i in range(k)]}


def size(n: int, k: int = 6) -> Any:
    return lambda exp: Budget(n=n, k=k, prompts=1)


async def test_dice_figures_beside_the_paper() -> None:
    ev = await run_eval(
        dice_model, experiments=["dice"], methods=["direct", "sequence"], budget=size(12)
    )
    result = ev.get("dice")
    assert result is not None and result.budget.n == 12
    direct, sequence = result.results
    assert direct.calls == 12 and sequence.calls == 2
    assert direct.extra["kl_uniform"] == pytest.approx(math.log(6), abs=1e-4)
    assert direct.extra["valid"] == 1.0
    assert (direct.classes, direct.vendi) == (1.0, pytest.approx(1.0))
    assert sequence.extra["kl_uniform"] == pytest.approx(0.0, abs=1e-4)  # each face twice
    assert (sequence.classes, sequence.vendi) == (6.0, pytest.approx(6.0))
    table = result.table()
    assert "1.792 (0.926)" in table and "0.000 (0.058)" in table
    data = json.loads(json.dumps(ev.to_dict()))
    figures = data["experiments"][0]["methods"][0]
    assert figures["paper"]["kl_uniform"] == 0.926
    assert figures["figures"]["kl_uniform"] == pytest.approx(math.log(6), abs=1e-4)
    samples = data["experiments"][0]["comparison"]["methods"][0]["runs"][0]["candidates"]
    assert samples[0]["text"] == "I rolled a four!"


async def test_open_qa_reads_answers_against_the_ground_truth() -> None:
    async def states(request: CallRequest) -> Any:
        if request.schema is None:
            return "The US state I am thinking of is Ohio."
        return {"responses": [{"text": s} for s in ("Texas", "Utah", "Mars", "Iowa", "Utah")]}

    ev = await run_eval(
        states, experiments=["open_qa"], methods=["direct", "sequence"], budget=size(5, 5)
    )
    direct, sequence = ev.get("open_qa").results
    assert direct.extra["coverage"] == pytest.approx(1 / 50)
    assert direct.extra["precision"] == 1.0
    assert sequence.extra["coverage"] == pytest.approx(3 / 50)
    assert sequence.extra["precision"] == pytest.approx(4 / 5)
    assert sequence.classes == 3.0  # Texas, Utah, Iowa (Mars is no answer)
    assert sequence.vendi == pytest.approx(answer_vendi(["Texas", "Utah", "Iowa", "Utah"]))


async def test_creative_scores_embeddings_and_the_ratio_to_direct() -> None:
    async def jokes(request: CallRequest) -> Any:
        if request.schema is None:
            return "Why did the coffee file a police report? It got mugged."
        return {
            "responses": [
                {"text": t} for t in ("cat joke", "dog joke", "cat pun", "dog pun", "owl")
            ]
        }

    def embed(texts: list[str]) -> list[list[float]]:
        def one(t: str) -> list[float]:
            if "cat" in t:
                return [1.0, 0.0, 0.1]
            return [0.0, 1.0, 0.1] if "dog" in t else [0.1, 0.1, 1.0]

        return [one(t) for t in texts]

    ev = await run_eval(
        jokes,
        experiments=["joke"],
        methods=["direct", "vs_standard"],
        budget=size(5, 5),
        embedder=embed,
    )
    result = ev.get("joke")
    direct, vs = result.results
    assert direct.semantic == pytest.approx(0.0, abs=1e-9) and direct.classes == 1.0
    assert vs.semantic > 50 and vs.classes == 3.0 and 2.5 < vs.vendi < 3.0
    assert result.ratio(direct) is None
    assert result.ratio(vs) is None  # Direct collapsed completely: no ratio
    assert "/ Direct (paper 1.6-2.1x)" in result.table()


async def test_a_users_own_experiment_runs_and_is_reported(tmp_path) -> None:
    coin = Experiment(
        name="coin",
        title="Flip a <b>coin</b>",
        source="a user",
        prompts=("Flip a fair coin.",),
        quick=Budget(4, 2, 1),
        full=Budget(40, 2, 1),
        metrics=(Metric("heads", "Heads", higher_is_better=False, paper={"direct": 0.5}),),
        score=lambda i, texts: {"heads": sum(t == "Heads" for t in texts) / len(texts)},
        answer=lambda i, text: text if text in ("Heads", "Tails") else None,
    )

    async def call(request: CallRequest) -> str:
        return "Heads"

    ev = await run_eval(call, experiments=[coin], methods=["direct", "ssot"], quick=True)
    direct, ssot = ev.get("coin").results
    assert direct.extra["heads"] == 1.0 and direct.calls == 4
    assert ssot.calls == 4 and ssot.valid_rate == 0.0  # "Heads" has no <answer>: unread
    assert ssot.extra["heads"] is None
    written = write_eval_report(ev, tmp_path)
    page = written.html.read_text(encoding="utf-8")
    assert "Flip a &lt;b&gt;coin&lt;/b&gt;" in page and "<b>coin</b>" not in page
    assert '1.000 <small title="the paper">(0.500)</small>' in page
    assert (tmp_path / "coin" / "index.html").is_file()  # the comparison's own report
    data = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    assert data["experiments"][0]["name"] == "coin"
    if importlib.util.find_spec("matplotlib") is None:
        pytest.fail(
            'the report charts need matplotlib: pip install "verbalized-sampling-kit[report]"'
        )
    for name in ("coin_figures.png", "coin_answers.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC, name
        assert f'src="{name}"' in page


async def test_bad_arguments_are_refused_before_any_call() -> None:
    calls: list[CallRequest] = []

    async def call(request: CallRequest) -> str:
        calls.append(request)
        return "4"

    with pytest.raises(VSConfigError, match="unknown experiment"):
        await run_eval(call, experiments=["dice", "nope"])
    with pytest.raises(VSConfigError, match="named twice"):
        await run_eval(call, experiments=["dice", "dice"])
    with pytest.raises(VSConfigError, match="has 1 prompts, not 2"):
        await run_eval(call, experiments=["dice"], budget=lambda e: Budget(2, 2, 2))
    with pytest.raises(ValueError, match="nope"):
        await run_eval(call, experiments=["dice"], methods=["nope"])
    assert not calls


def test_the_default_methods_and_an_empty_evaluation() -> None:
    assert [m.value for m in EVAL_METHODS] == [
        "direct", "sequence", "vs_standard", "vs_cot", "vs_multi", "ssot", "simplestrat",
    ]  # fmt: skip
    assert Evaluation([], [Method.DIRECT], model="m").table().endswith("0 s in all on m")
    assert answer_vendi(["a", "a", "b", "b"]) == pytest.approx(2.0)
    assert answer_vendi([]) is None
