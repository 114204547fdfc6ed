"""`vs generate` output: the table with bars and the selected marker, --json, progress."""

from __future__ import annotations

import io
import json

from vs_common import VerbalizedDistribution, select
from vs_common.cli import main
from vs_common.cli._render import bar, distribution_payload, render_table
from vs_common.methods import VSConfig


def run(argv, call):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, call=call, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


DIST = VerbalizedDistribution.from_pairs(
    [("Decaf? No thanks.", 0.1), ("Espresso yourself.", 0.6), ("Brew-tiful day.", 0.3)]
)


def test_bar_lengths_follow_the_fraction():
    assert bar(1.0, 10) == "█" * 10
    assert bar(0.0, 10) == " " * 10
    assert bar(0.55, 10).rstrip() == "█████▌"
    assert len(bar(0.37, 20)) == 20
    assert bar(2.0, 4, ascii_only=True) == "####"


def test_table_sorts_by_probability_and_marks_the_selected():
    table = render_table(DIST, DIST.candidates[0], width=80)
    rows = [line for line in table.splitlines() if "%" in line and "selected" not in line]
    assert [r.split("  ")[-1].strip() for r in rows] == [
        "Espresso yourself.", "Brew-tiful day.", "Decaf? No thanks.",
    ]  # fmt: skip
    marked = [r for r in rows if r.startswith("→")]
    assert len(marked) == 1
    assert "Decaf" in marked[0]
    assert "60.0%" in rows[0]
    assert rows[0].count("█") == 20  # the most probable gets the full bar
    assert 2 <= rows[2].count("█") <= 4  # 0.1 / 0.6 of 20 cells
    assert table.endswith("selected (#1, 10.0%): Decaf? No thanks.")


def test_table_falls_back_to_ascii_and_wraps_long_text():
    long = VerbalizedDistribution.from_pairs([("word " * 60, 1.0)])
    table = render_table(long, long.candidates[0], width=70, encoding="ascii")
    table.encode("ascii")  # no block characters
    assert table.splitlines()[1].startswith("*")
    assert all(len(line) <= 70 for line in table.splitlines()[:-1])
    assert len(table.splitlines()) > 4  # wrapped


def test_payload_is_the_distribution_plus_selection():
    chosen = select(DIST, "argmax")
    payload = distribution_payload(DIST, chosen, VSConfig(k=3), prompt="p", model="m")
    assert payload["selected"]["text"] == "Espresso yourself."
    assert payload["candidates"] == DIST.to_dict()["candidates"]
    assert VerbalizedDistribution.from_dict(payload) == DIST
    assert payload["config"] == {"method": "vs_standard", "k": 3, "output_format": "json"}


def test_generate_prints_table_with_marker(fake_call):
    code, out, err = run(["generate", "Write a joke", "-k", "4", "--seed", "1"], fake_call)
    assert code == 0, err
    assert "4 candidates (4 samples) from 1 call(s)" in out
    assert sum(line.startswith("→") for line in out.splitlines()) == 1
    assert "█" in out
    assert "selected (#" in out
    assert "sampling:" not in err  # one call: no progress


def test_generate_json_shape_and_seeded_selection(fake_call):
    argv = ["generate", "Write a joke", "-k", "5", "-n", "10", "--json", "--seed", "3", "-q"]
    code, out, _ = run(argv, fake_call)
    assert code == 0
    data = json.loads(out)
    assert {"prompt", "model", "config", "selected", "candidates", "usage", "num_calls"} <= set(
        data
    )
    assert data["num_calls"] == 2
    assert len(data["candidates"]) == 10
    assert data["usage"] == {"prompt_tokens": 80, "completion_tokens": 120}
    assert data["selected"] in data["candidates"]
    again = json.loads(run(argv, fake_call)[1])
    assert again["selected"] == data["selected"]  # same seed, same choice
    dist = VerbalizedDistribution.from_dict(data)
    assert abs(sum(dist.probabilities) - 1.0) < 1e-9


def test_progress_shows_on_stderr_when_n_exceeds_k(fake_call):
    code, out, err = run(["generate", "x", "-k", "2", "-n", "6"], fake_call)
    assert code == 0
    assert "sampling: call 3/3, 6 candidates, 0 failed" in err
    assert "sampling" not in out


def test_threshold_and_tail_strategy_reach_the_prompt_and_the_choice(fake_call):
    code, out, _ = run(
        ["generate", "x", "-k", "3", "-t", "0.3", "-s", "tail", "--json", "--structured", "text"],
        fake_call,
    )
    assert code == 0
    assert "less than 0.3" in fake_call.requests[0].messages[0]["content"]
    data = json.loads(out)
    assert data["selected"]["raw_probability"] < 0.3


def test_direct_method_runs_n_calls(fake_call):
    code, out, _ = run(["generate", "x", "-m", "direct", "-n", "3", "--json", "-q"], fake_call)
    assert code == 0
    assert len(fake_call.requests) == 3
    data = json.loads(out)
    assert data["candidates"][0]["count"] == 3  # the fake collapses: one answer, 3 times


def test_all_calls_failing_is_one_line(fake_call):
    fake_call.fail_when = "x"
    code, out, err = run(["generate", "x"], fake_call)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "ValueError: refused: x" in err


def test_distinct_keeps_asking_and_says_how_it_ended(fake_call):
    code, out, err = run(
        ["generate", "x", "-k", "3", "-n", "7", "--distinct", "--json", "-q"], fake_call
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["distinct"]["stop_reason"] == "reached_n"
    assert data["distinct"]["distinct"] == len(data["candidates"]) == 7
    assert data["num_calls"] == data["distinct"]["calls"] == 3
    # the later calls were follow-ups listing what had been found
    follow_up = fake_call.requests[1].messages
    assert [m["role"] for m in follow_up] == ["system", "user", "assistant", "user"]
    assert "different from every response already given" in follow_up[-1]["content"]


def test_distinct_budget_and_its_note(fake_call):
    code, out, err = run(
        ["generate", "x", "-k", "2", "-n", "6", "--distinct", "--max-calls", "2", "-q"],
        fake_call,
    )
    assert code == 0, err
    assert len(fake_call.requests) == 2
    assert "4/6 distinct, stopped: budget" in out
    assert "4 distinct of the 6 asked for after 2 call(s): the call budget is spent" in err


def test_max_calls_needs_distinct(fake_call):
    code, _, err = run(["generate", "x", "--max-calls", "3"], fake_call)
    assert code == 2
    assert "--max-calls: only applies with --distinct" in err


def test_a_server_that_cannot_be_reached_is_named_by_exception_type():
    async def down(request):
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            msg = "no answer"  # no telltale text: the type decides
            raise RuntimeError(msg) from exc

    code, _, err = run(["generate", "x", "--retries", "0"], down)
    assert code == 1
    assert err.startswith("vs: error: cannot reach the model server (injected call)")

    async def refuses(request):
        msg = "Could not reach http://x: the words alone do not make it unreachable"
        raise RuntimeError(msg)

    code, _, err = run(["generate", "x", "--retries", "0"], refuses)
    assert code == 1
    assert "cannot reach" not in err
    assert "RuntimeError" in err
