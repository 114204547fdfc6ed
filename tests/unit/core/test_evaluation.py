"""vs_common.evaluation: comparisons scored by diversity_report, calibration, reachability."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import urllib.error

import pytest

import vs_common.evaluation as evaluation
from vs_common import (
    CallResponse,
    Method,
    RetryPolicy,
    Usage,
    VerbalizedDistribution,
    VSConfigError,
)
from vs_common.backends import OpenAICompatClient
from vs_common.errors import VSSamplingError, VSTransientError
from vs_common.evaluation import (
    Calibration,
    Comparison,
    MethodResult,
    PromptRun,
    calibrate,
    calibration_from,
    compare_methods,
    is_unreachable,
    score,
)
from vs_common.metrics import diversity_report

D = VerbalizedDistribution


def test_public_names_are_pinned():
    assert sorted(evaluation.__all__) == sorted(
        [
            "DEFAULT_METHODS", "DEFAULT_TAU", "EVAL_METHODS", "METHOD_LABELS",
            "REPORT_EXTRA_HINT", "Calibration", "CalibrationRow", "Comparison", "EvalProgress",
            "Evaluation", "ExperimentResult", "MethodResult", "ProgressFactory",
            "PromptRun", "Reachability", "WrittenReport", "calibrate", "calibration_from",
            "compare_methods", "is_unreachable", "load_embedder", "method_config", "run_eval",
            "score", "score_experiment", "write_eval_report", "write_report",
        ]
    )  # fmt: skip
    for name in evaluation.__all__:
        assert hasattr(evaluation, name), name


# --------------------------------------------------------------------------- calibration


def three_calls():
    # raw sums 1.2, 1.0, 0.5; Ohio in all three, Utah in two, Iowa in one
    return [
        D.from_pairs([("Ohio", 0.6), ("Utah", 0.6)]),
        D.from_pairs([("ohio.", 0.5), ("Iowa", 0.5)]),
        D.from_pairs([("Ohio", 0.25), ("Utah", 0.25)]),
    ]


def test_calibration_hand_computed():
    direct = ["Ohio", "Ohio", "Texas", "Utah"]
    cal = calibration_from(three_calls(), direct, tau=0.3)
    rows = {r.text: r for r in cal.rows}
    assert [r.text for r in cal.rows] == ["Ohio", "Utah", "Iowa", "Texas"]
    # stated: mean of the normalized probabilities, 0 where absent
    assert rows["Ohio"].stated == pytest.approx((0.5 + 0.5 + 0.5) / 3)
    assert rows["Utah"].stated == pytest.approx((0.5 + 0 + 0.5) / 3)
    assert rows["Iowa"].stated == pytest.approx(0.5 / 3)
    assert rows["Texas"].stated == 0.0
    assert [rows[t].recurrence for t in ("Ohio", "Utah", "Iowa", "Texas")] == [
        1.0, pytest.approx(2 / 3), pytest.approx(1 / 3), 0.0,
    ]  # fmt: skip
    assert rows["Ohio"].listed == pytest.approx(3 / 6)
    assert rows["Texas"].listed == 0.0
    assert [rows[t].direct for t in ("Ohio", "Utah", "Iowa", "Texas")] == [0.5, 0.25, 0.0, 0.25]
    gaps = [abs(0.5 - 0.5), abs(1 / 3 - 0.25), abs(1 / 6 - 0.0), abs(0.0 - 0.25)]
    assert cal.gap_direct == pytest.approx(sum(gaps) / 4)
    assert cal.gap == cal.gap_direct
    listed_gaps = [abs(0.5 - 0.5), abs(1 / 3 - 2 / 6), abs(1 / 6 - 1 / 6)]
    assert cal.gap_listed == pytest.approx(sum(listed_gaps) / 3)
    assert cal.raw_sums == pytest.approx((1.2, 1.0, 0.5))
    assert cal.raw_sum_mean == pytest.approx(2.7 / 3)
    stated = [0.5, 1 / 3, 1 / 6]
    assert cal.entropy == pytest.approx(-sum(p * math.log(p) for p in stated))
    assert cal.direct_entropy == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    # raw stated values below 0.3: the two 0.25s of the last call
    assert cal.tail_share == pytest.approx(2 / 6)
    assert cal.tail_mass == pytest.approx(1 / 6)  # only Iowa's mean is below 0.3
    assert (cal.calls, cal.direct_samples) == (3, 4)
    data = json.loads(json.dumps(cal.to_dict()))
    assert data["rows"][0]["text"] == "Ohio"
    assert data["raw_sum_max"] == pytest.approx(1.2)


def test_calibration_without_direct_uses_listed_frequency():
    cal = calibration_from(three_calls())
    assert cal.gap_direct is None
    assert cal.direct_entropy is None
    assert all(r.direct is None for r in cal.rows)
    assert cal.gap == cal.gap_listed
    assert cal.rows[0].observed == cal.rows[0].listed


def test_calibration_skips_empty_calls_and_takes_a_key():
    calls = [D(candidates=[]), D.from_pairs([("Ohio!", 1.0)]), D.from_pairs([("OHIO", 1.0)])]
    cal = calibration_from(calls, ["ohio"], key=lambda t: t.lower().strip("!"))
    assert cal.calls == 2
    assert len(cal.rows) == 1
    assert cal.rows[0].recurrence == 1.0
    assert cal.gap_direct == 0.0


@pytest.mark.parametrize("tau", [0, -0.1, 1.5, True])
def test_calibration_rejects_a_bad_tau(tau):
    with pytest.raises(VSConfigError, match="tau"):
        calibration_from(three_calls(), tau=tau)


def test_calibration_needs_a_call_with_candidates():
    with pytest.raises(VSConfigError, match="at least one VS call"):
        calibration_from([D(candidates=[])])


class StateCall:
    """VS calls list three states; Direct answers cycle through two."""

    def __init__(self) -> None:
        self.requests = []

    async def __call__(self, request):
        self.requests.append(request)
        if request.schema is None and "JSON" not in request.messages[0]["content"]:
            return CallResponse(
                output=["Ohio", "Texas"][len(self.requests) % 2], usage=Usage(prompt_tokens=5)
            )
        items = [
            {"text": "Ohio", "probability": 0.5},
            {"text": "Texas", "probability": 0.3},
            {"text": "Maine", "probability": 0.2},
        ]
        return json.dumps({"responses": items})


def test_calibrate_samples_m_calls_and_direct_with_the_same_samples():
    call = StateCall()
    cal = asyncio.run(calibrate("Name a US state", call, k=3, calls=4, structured="text"))
    vs = [r for r in call.requests if "JSON" in r.messages[0]["content"]]
    assert len(vs) == 4
    assert len(call.requests) - len(vs) == 12  # Direct: calls * k samples by default
    assert cal.calls == 4
    assert cal.direct_samples == 12
    rows = {r.text: r for r in cal.rows}
    assert rows["Ohio"].stated == pytest.approx(0.5)
    assert rows["Ohio"].direct == pytest.approx(0.5)
    assert rows["Maine"].direct == 0.0
    assert cal.gap_direct == pytest.approx((0 + 0.2 + 0.2) / 3)


def test_calibrate_vs_multi_runs_one_conversation():
    call = StateCall()
    cal = asyncio.run(
        calibrate("Name a US state", call, method="vs_multi", k=3, calls=3, direct_samples=0,
                  structured="text")
    )  # fmt: skip
    assert cal.method is Method.VS_MULTI
    assert cal.direct_samples == 0
    assert [len(r.messages) for r in call.requests] == [2, 4, 6]  # the turns of one conversation


def test_calibrate_rejects_a_method_without_probabilities():
    with pytest.raises(VSConfigError, match="VS method"):
        asyncio.run(calibrate("p", StateCall(), method="sequence"))


# --------------------------------------------------------------------------- compare


def test_scores_are_diversity_reports_and_vs_runs_get_calibrated():
    call = StateCall()
    comparison = asyncio.run(
        compare_methods(["Name a US state"], call, methods=["direct", "vs_standard"], n=6, k=3,
                        structured="text", tau=0.25)
    )  # fmt: skip
    direct, vs = comparison.results
    run = vs.runs[0]
    assert run.diversity == diversity_report(run.texts)
    assert vs.distinct_3 == run.diversity.distinct_3
    assert vs.compression_ratio == run.diversity.compression_ratio
    assert len(run.calls) == 2  # each call's own distribution is kept
    assert direct.runs[0].calibration is None  # Direct states no probabilities
    cal = run.calibration
    assert isinstance(cal, Calibration)
    assert cal.direct_samples == 6
    assert cal.tau == 0.25
    assert cal.gap_direct == pytest.approx((0 + 0.2 + 0.2) / 3)
    assert vs.calibration_gap == cal.gap_direct
    assert "VS-Standard calibration: stated vs Direct frequency mean |gap| 0.133" in (
        comparison.table()
    )
    data = comparison.to_dict()
    assert data["methods"][1]["calibration"]["gap_direct"] == pytest.approx(cal.gap_direct)
    assert data["methods"][1]["runs"][0]["calibration"]["rows"][0]["text"] == "Ohio"
    assert data["methods"][0]["calibration"] is None


def test_rescoring_without_direct_falls_back_to_listed_frequencies():
    comparison = asyncio.run(
        compare_methods(["p"], StateCall(), methods=["vs_standard"], n=6, k=3, structured="text")
    )
    cal = comparison.results[0].runs[0].calibration
    assert cal is not None
    assert cal.gap_direct is None
    assert "stated vs listed frequency" in comparison.table()


def test_compare_rejects_empty_inputs():
    with pytest.raises(VSConfigError, match="prompts"):
        asyncio.run(compare_methods([], StateCall()))
    with pytest.raises(VSConfigError, match="methods"):
        asyncio.run(compare_methods(["p"], StateCall(), methods=[]))
    with pytest.raises(VSConfigError, match="embedder"):
        asyncio.run(compare_methods(["p"], StateCall(), embedder="minilm"))


def test_score_accepts_a_list_of_results():
    comparison = asyncio.run(
        compare_methods(["p"], StateCall(), methods=["vs_standard"], n=3, k=3, structured="text",
                        scored=False)
    )  # fmt: skip
    score(comparison.results)
    assert comparison.results[0].rouge_l is not None


# --------------------------------------------------------------------------- reachability


def refused_like_urllib() -> BaseException:
    """What the stdlib client raises for a refused connection: the cause suppressed."""
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as err:
            raise urllib.error.URLError(err) from err
    except urllib.error.URLError:
        try:
            msg = "the server is down"  # no "Could not reach" text
            raise VSTransientError(msg) from None
        except VSTransientError as exc:
            return exc


def test_is_unreachable_reads_exception_types_not_text():
    assert is_unreachable(refused_like_urllib())
    assert is_unreachable(socket.gaierror(-2, "Name or service not known"))
    assert is_unreachable(urllib.error.URLError(ConnectionRefusedError(111, "refused")))
    assert not is_unreachable(VSTransientError("Could not reach http://x: refused"))
    assert not is_unreachable(TimeoutError("timed out"))
    assert not is_unreachable(ConnectionResetError(104, "reset by peer"))  # it was there

    class ConnectorError(Exception):  # aiohttp keeps the socket's error as os_error
        os_error = socket.gaierror(-2, "Name or service not known")

    assert is_unreachable(ConnectorError("cannot connect"))


def test_the_core_client_against_a_closed_port_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenAICompatClient(f"http://127.0.0.1:{port}/v1", "m", timeout=5)
    from vs_common.calls import CallRequest

    with pytest.raises(VSTransientError) as info:
        asyncio.run(client(CallRequest(messages=[{"role": "user", "content": "hi"}])))
    assert is_unreachable(info.value)


def test_compare_stops_after_the_first_run_when_the_server_cannot_be_reached():
    calls = []

    async def down(request):
        calls.append(request)
        raise refused_like_urllib()

    retry = RetryPolicy(max_retries=1, backoff_base=0.0, max_reasks=0)
    with pytest.raises(VSSamplingError, match="cannot reach the model server") as info:
        asyncio.run(compare_methods(["p1", "p2"], down, n=4, k=2, structured="text", retry=retry))
    # Direct on p1 only: 4 calls, each tried twice; no other method or prompt ran
    assert len(calls) == 8
    assert len(info.value.failures) == 4


def test_compare_keeps_going_when_the_server_answers_with_errors():
    async def broken(request):
        msg = "HTTP 400: bad request"
        raise ValueError(msg)

    comparison = asyncio.run(
        compare_methods(["p"], broken, methods=["vs_standard"], n=2, k=2, structured="text")
    )
    assert comparison.results[0].valid_rate == 0.0


# --------------------------------------------------------------------------- unflattered scores


def test_scores_carry_vendi_classes_and_extra_columns(tmp_path):
    def topic(texts):  # "cat" texts one way, everything else the other
        return [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts]

    padded = MethodResult(
        Method.DIRECT,
        [
            PromptRun(
                "p", D.from_pairs([("a cat", 1), ("my cat", 1), ("the cat", 1), ("a dog", 1)]), 1
            )
        ],
    )
    spread = MethodResult(
        Method.VS_STANDARD,
        [PromptRun("p", D.from_pairs([("a cat", 1), ("a dog", 1)]), 1)],
    )
    comparison = Comparison(["p"], 4, 2, [padded, spread])
    score(comparison, topic)
    assert padded.classes == 2.0 and spread.classes == 2.0
    # 3 of 4 alike: one effective sample and a bit; 2 of 2 apart: two
    assert padded.vendi == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    assert spread.vendi == pytest.approx(2.0)
    spread.extra["judge"] = 0.75
    assert comparison.extra_columns == ["judge"]
    data = comparison.to_dict()["methods"]
    assert data[1]["vendi_score"] == pytest.approx(2.0) and data[1]["judge"] == 0.75
    assert data[0]["distinct_classes"] == 2.0
    head, _, direct, vs = comparison.table().splitlines()[:4]
    assert head.split()[4:7] == ["sem.div", "Vendi", "classes"] and head.split()[-1] == "judge"
    assert vs.split()[-1] == "0.750" and direct.split()[-1] == "-"
    page = evaluation.write_report(comparison, tmp_path).html.read_text(encoding="utf-8")
    assert "<th>Vendi score ↑</th>" in page and "<th>judge</th>" in page
    assert "<td>2.00</td>" in page or '<td class="best">2.00</td>' in page
