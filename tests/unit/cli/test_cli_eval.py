"""`vs eval`: options, sizes, tables, JSON and the report, over an injected model."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from vs_common import CallRequest
from vs_common.cli import _parser, main
from vs_common.evaluation import EVAL_METHODS
from vs_common.evaluation.experiments import EXPERIMENTS


class Model:
    """Rolls in words for Direct, digits for list methods, tags for SSoT, strata for SimpleStrat."""

    def __init__(self) -> None:
        self.requests: list[CallRequest] = []
        self.rnd = random.Random(3)

    async def __call__(self, request: CallRequest) -> Any:
        self.requests.append(request)
        face = str(self.rnd.randint(1, 6))
        if request.schema is None:
            return f"I rolled a {face}!"
        props = request.schema["properties"]
        if "strata" in props:
            return {"strata": ["low", "high"]}
        if "answer" in props:
            return {"random_string": "x9", "answer": face}
        if "responses" in props:
            k = props["responses"]["maxItems"]
            items = [{"text": str(self.rnd.randint(1, 6)), "probability": 0.2} for _ in range(k)]
            return {"reasoning": "r", "responses": items}
        return {"reasoning": "r", "response": face}


def run(argv: list[str], call: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, call=call, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_choice_lists_are_the_cores() -> None:
    assert tuple(m.value for m in EVAL_METHODS) == _parser.EVAL_METHOD_CHOICES
    assert tuple(EXPERIMENTS) == _parser.EXPERIMENT_CHOICES


def test_quick_dice_prints_the_table_beside_the_paper(tmp_path) -> None:
    model = Model()
    code, out, err = run(
        ["eval", "--quick", "--experiments", "dice", "--report", str(tmp_path / "r"), "-q"], model
    )
    assert code == 0, err
    assert "dice: Random number generation" in out and "(n=12, k=4, 1 prompt(s)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line[:1].isupper()}
    assert set(lines) >= {"Direct", "Sequence", "VS-Standard", "VS-CoT", "VS-Multi", "SSoT"}
    assert "(0.926)" in lines["Direct"] and "(0.027)" in lines["VS-Standard"]
    assert "SimpleStrat" in out
    # quick: 12 samples each; Direct and SSoT one call a sample, SimpleStrat two
    assert len(model.requests) == 12 + 3 + 3 + 3 + 3 + 12 + 24
    assert (tmp_path / "r" / "index.html").is_file() and (tmp_path / "r" / "eval.json").is_file()
    assert "report written to" in err


def test_sizes_methods_and_json() -> None:
    code, out, err = run(
        ["eval", "--experiments", "dice,open_qa", "--methods", "direct,simplestrat", "-n", "4",
         "-k", "2", "--prompts", "2", "--seed", "3", "--json", "--no-report", "-q"],
        Model(),
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert [e["name"] for e in data["experiments"]] == ["dice", "open_qa"]
    dice, qa = data["experiments"]
    assert (dice["n"], dice["k"], len(dice["prompts"])) == (4, 2, 1)  # dice has one prompt
    assert (qa["n"], len(qa["prompts"])) == (4, 2)
    assert [m["method"] for m in dice["methods"]] == ["direct", "simplestrat"]
    assert data["quick"] is False and data["settings"]["seed"] == 3
    assert dice["methods"][0]["paper"]["kl_uniform"] == 0.926


def test_creative_is_poem_story_and_joke(monkeypatch) -> None:
    code, out, err = run(
        ["eval", "--quick", "--experiments", "creative", "--methods", "direct,vs_standard",
         "--no-report", "--no-semantic", "-q"],
        Model(),
    )  # fmt: skip
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines() if ": Creative" in line] == [
        "poem", "story", "joke",
    ]  # fmt: skip
    assert "semantic diversity skipped (--no-semantic)" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["eval", "--experiments", "dice,nope"], "unknown experiment 'nope'"),
        (["eval", "--methods", "direct,nope"], "unknown method 'nope'"),
        (["eval", "-n", "0"], "expected a positive integer"),
        (["eval", "-k", "101"], "k must be an integer between 1 and 100"),
    ],
)
def test_bad_options_are_usage_errors(argv: list[str], words: str, capsys) -> None:
    model = Model()
    code, _, err = run(argv, model)
    assert code == 2
    assert words in err + capsys.readouterr().err  # argparse writes to sys.stderr
    assert not model.requests
