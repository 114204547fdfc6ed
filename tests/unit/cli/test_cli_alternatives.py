"""`vs generate -m ssot|simplestrat` and `vs compare --methods` with the alternatives."""

from __future__ import annotations

import io
import json
from typing import Any

from vs_common import CallRequest
from vs_common.cli import main

STRATA = ["west", "east", "south", "north"]


class Model:
    """Strata for a strata call, the stratum echoed for an answer, a tagged SSoT answer."""

    def __init__(self) -> None:
        self.requests: list[CallRequest] = []

    async def __call__(self, request: CallRequest) -> Any:
        self.requests.append(request)
        system = request.messages[0]["content"]
        if "categories" in system:
            return {"strata": STRATA} if request.structured == "tool" else json.dumps(STRATA)
        if "<random_string>" in system:
            return {"random_string": "a7", "thinking": "a=1", "answer": "4"}
        stratum = request.messages[-1]["content"].rsplit("category: ", 1)[-1]
        return f"A state in the {stratum}"


def run(argv: list[str], call: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, call=call, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_generate_simplestrat_is_seeded_and_makes_two_calls_a_sample() -> None:
    argv = ["generate", "-m", "simplestrat", "-n", "6", "-k", "4", "--seed", "5", "--json", "-q",
            "Name a US state"]  # fmt: skip
    model = Model()
    code, out, err = run(argv, model)
    assert code == 0, err
    first = json.loads(out)
    assert len(model.requests) == 12
    assert sum(c["count"] for c in first["candidates"]) == 6
    assert all(c["text"].startswith("A state in the ") for c in first["candidates"])
    code, out, _ = run(argv, Model())
    assert json.loads(out)["candidates"] == first["candidates"]  # same seed, same strata


def test_generate_ssot_reads_the_answer() -> None:
    code, out, err = run(
        ["generate", "-m", "ssot", "-n", "2", "--json", "-q", "Roll a die"], Model()
    )
    assert code == 0, err
    data = json.loads(out)
    assert [c["text"] for c in data["candidates"]] == ["4"]
    assert data["reasoning"].startswith("random string: a7\nthinking: a=1")


def test_compare_takes_the_alternatives() -> None:
    code, out, err = run(
        ["compare", "Name a US state", "-n", "4", "-k", "2", "--methods", "direct,ssot,simplestrat",
         "--json", "--no-report", "--no-semantic", "-q"],
        Model(),
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert [m["method"] for m in data["methods"]] == ["direct", "ssot", "simplestrat"]
    by = {m["method"]: m for m in data["methods"]}
    assert by["ssot"]["calls"] == 4 and by["simplestrat"]["calls"] == 4
    assert by["simplestrat"]["valid_parse_rate"] == 1.0
    code, out, _ = run(["compare", "x", "--methods", "ssot,nope", "--no-report"], Model())
    assert code == 2


def test_compare_table_labels_the_alternatives() -> None:
    code, out, err = run(
        ["compare", "Name a US state", "-n", "2", "--methods", "ssot,simplestrat", "--no-report",
         "--no-semantic", "-q"],
        Model(),
    )  # fmt: skip
    assert code == 0, err
    assert "SSoT" in out and "SimpleStrat" in out
