"""`vs compare`: the methods on one budget, metrics, table, JSON and the HTML report."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json

import pytest

from vs_common.cli import main
from vs_common.evaluation import compare_methods, load_embedder, score
from vs_common.methods import Method

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def needs_matplotlib() -> None:
    """Fail, naming the missing extra, where a test draws charts (never a silent skip)."""
    if importlib.util.find_spec("matplotlib") is None:
        pytest.fail(
            "this test draws the report's charts and needs matplotlib: pip install"
            ' "verbalized-sampling-kit[report]" (make install installs it)'
        )


def run(argv, call):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, call=call, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def bag_of_letters(texts):
    """A tiny deterministic embedder: letter counts."""
    return [[t.count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz0123456789"] for t in texts]


def test_same_budget_for_every_method(fake_call):
    comparison = asyncio.run(
        compare_methods(["p1", "p2"], fake_call, n=6, k=3,
                        methods=[Method.DIRECT, Method.SEQUENCE, Method.VS_STANDARD],
                        embedder=bag_of_letters)
    )  # fmt: skip
    results = comparison.results
    assert [r.samples for r in results] == [12, 12, 12]
    assert [r.calls for r in results] == [12, 4, 4]  # direct: one sample per call
    direct, sequence, vs = results
    assert direct.rouge_l == 1.0  # the fake collapses: the same answer each time
    assert direct.semantic == pytest.approx(0.0, abs=1e-9)
    assert vs.rouge_l < 1.0
    assert vs.semantic > direct.semantic
    assert sequence.distinct_1 > direct.distinct_1
    assert direct.valid_rate == vs.valid_rate == 1.0
    assert direct.tokens_per_sample == 100.0  # 100 tokens per call, 1 sample per call
    assert vs.tokens_per_sample == pytest.approx(100.0 / 3)


def test_valid_parse_rate_counts_failed_calls(fake_call):
    fake_call.fail_when = "bad"
    results = asyncio.run(
        compare_methods(["good", "bad"], fake_call, methods=[Method.VS_STANDARD], n=4, k=2)
    ).results
    assert results[0].calls == 4
    assert results[0].valid_rate == 0.5
    assert results[0].semantic is None


def test_ratio_and_table():
    comparison = asyncio.run(
        compare_methods(["p"], _two_answer_call(), methods=["direct", "vs_standard"], n=4, k=2,
                        scored=False)
    )  # fmt: skip
    results = comparison.results
    assert results[0].semantic is None  # not scored yet
    score(comparison, bag_of_letters)
    table = comparison.table().splitlines()
    assert table[2].startswith("Direct")
    assert table[3].startswith("VS-Standard")
    direct, vs = results
    ratio = comparison.ratio("semantic")
    assert ratio == pytest.approx(vs.semantic / direct.semantic)
    assert ratio > 1
    assert comparison.ratio("rouge_l") == pytest.approx((1 - vs.rouge_l) / (1 - direct.rouge_l))
    assert f"VS-Standard / Direct: semantic diversity {ratio:.2f}x" in "\n".join(table)


def test_no_ratio_when_direct_collapses_completely(fake_call):
    comparison = asyncio.run(
        compare_methods(["p"], fake_call, methods=[Method.DIRECT, Method.VS_STANDARD], n=4, k=2,
                        embedder=bag_of_letters)
    )  # fmt: skip
    assert comparison.ratio("semantic") is None
    assert comparison.ratio("rouge_l") is None
    assert "VS-Standard / Direct" not in comparison.table()


def _two_answer_call():
    from vs_common.calls import CallResponse

    async def call(request):
        if request.schema is None:  # direct: two near-identical answers
            return CallResponse(
                output=["coffee joke aaa", "coffee joke aab"][request.call_index % 2]
            )
        texts = ["zebra xylophone", "quantum kettle 42", "moon bakery"][:2]
        return CallResponse(output={"responses": [{"text": t, "probability": 1} for t in texts]})

    return call


def test_load_embedder_notes_the_missing_extra(monkeypatch):
    import vs_common.backends.embeddings as emb

    def missing():
        msg = 'the embedder needs onnxruntime: pip install "verbalized-sampling-kit[metrics]"'
        raise ImportError(msg)

    monkeypatch.setattr(emb, "default_embedder", missing)
    embedder, note = load_embedder()
    assert embedder is None
    assert 'pip install "verbalized-sampling-kit[metrics]"' in note
    assert load_embedder(False) == (None, "semantic diversity skipped (--no-semantic)")


def test_compare_command_prints_table_and_writes_report(tmp_path, fake_call, monkeypatch):
    needs_matplotlib()
    monkeypatch.setattr(
        "vs_common.cli._compare.load_embedder", lambda enabled=True: (bag_of_letters, None)
    )
    report = tmp_path / "report"
    code, out, err = run(
        ["compare", "Write a joke about coffee", "Write a haiku", "-n", "6", "-k", "3",
         "--report", str(report)],
        fake_call,
    )  # fmt: skip
    assert code == 0, err
    for label in ("Direct", "Sequence", "VS-Standard"):
        assert label in out
    html = (report / "index.html").read_text(encoding="utf-8")
    for name in ("diversity.png", "cost.png", "calibration.png", "answers_1.png",
                 "answers_2.png"):  # fmt: skip
        assert (report / name).read_bytes()[:8] == PNG_MAGIC
        assert f'src="{name}"' in html
    assert "Write a haiku" in html
    assert "are the stated probabilities real?" in html
    assert "VS-Standard calibration: stated vs Direct frequency" in out
    assert "report written to" in err


def test_compare_escapes_model_text_in_html(tmp_path, fake_call):
    report = tmp_path / "r"
    code, _, _ = run(
        ["compare", "<script>alert(1)</script>", "-n", "2", "-k", "2", "--no-semantic",
         "--report", str(report), "--methods", "vs_standard"],
        fake_call,
    )  # fmt: skip
    assert code == 0
    html = (report / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_compare_json_and_other_methods(fake_call):
    code, out, _ = run(
        ["compare", "p", "-n", "4", "-k", "2", "--methods", "direct,vs_cot", "--json",
         "--no-report", "--no-semantic", "-q"],
        fake_call,
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [m["method"] for m in data["methods"]] == ["direct", "vs_cot"]
    assert data["semantic_note"] == "semantic diversity skipped (--no-semantic)"
    assert data["methods"][1]["valid_parse_rate"] == 1.0
    assert len(data["methods"][1]["runs"][0]["candidates"]) == 4
    calibration = data["methods"][1]["calibration"]
    assert calibration["gap_direct"] is not None  # VS-CoT stated against Direct's answers
    assert calibration["tau"] == 0.1
    assert data["methods"][1]["runs"][0]["calibration"]["direct_samples"] == 4
    assert data["methods"][0]["calibration"] is None


def test_compare_tau_option(fake_call, capsys):
    code, out, _ = run(
        ["compare", "p", "-n", "2", "-k", "2", "--tau", "0.3", "--json", "--no-report",
         "--no-semantic", "-q"],
        fake_call,
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["methods"][2]["calibration"]["tau"] == 0.3
    code, _, _ = run(["compare", "p", "--tau", "0", "--no-report"], fake_call)
    assert code == 2
    assert "argument --tau: expected a number in (0, 1], got 0" in capsys.readouterr().err


def test_compare_stops_when_the_injected_call_cannot_reach_its_server():
    calls = []

    async def down(request):
        calls.append(request)
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            msg = "the model server did not answer"
            raise RuntimeError(msg) from exc

    code, out, err = run(
        ["compare", "p1", "p2", "-n", "2", "-k", "2", "--retries", "0", "--no-report", "-q"],
        down,
    )  # fmt: skip
    assert code == 1
    assert out == ""
    assert err.startswith("vs: error: cannot reach the model server")
    assert len(err.strip().splitlines()) == 1
    assert len(calls) == 2  # Direct on the first prompt only


def test_report_without_matplotlib_still_writes_html(tmp_path, fake_call, monkeypatch):
    def no_matplotlib():
        msg = "No module named 'matplotlib'"
        raise ImportError(msg)

    monkeypatch.setattr("vs_common.evaluation._report._pyplot", no_matplotlib)
    code, _, err = run(
        ["compare", "p", "-n", "2", "-k", "2", "--no-semantic", "--report", str(tmp_path / "r")],
        fake_call,
    )  # fmt: skip
    assert code == 0
    assert 'pip install "verbalized-sampling-kit[report]"' in err
    assert (tmp_path / "r" / "index.html").exists()
    assert not list((tmp_path / "r").glob("*.png"))


def test_compare_unreachable_server_is_one_line(closed_port_url):
    code, _, err = run(["compare", "p", "--base-url", closed_port_url, "--model", "m"], None)
    assert code == 1
    assert closed_port_url in err
    assert len(err.strip().splitlines()) == 1


# --- the base-model reference line (direct_base) --------------------------------------


class BaseAwareCall:
    """Completion requests get varied texts (a base model); chat requests the fake's replies."""

    def __init__(self, chat) -> None:
        self.chat = chat
        self.completions: list = []

    async def __call__(self, request):
        if request.is_completion:
            self.completions.append(request)
            return f"Base text {len(self.completions)} {'xyz' * len(self.completions)}"
        return await self.chat(request)


def test_a_base_call_adds_the_reference_line_and_the_shares(fake_call):
    base = BaseAwareCall(fake_call)
    comparison = asyncio.run(
        compare_methods(["p1"], fake_call, n=4, k=2, methods=[Method.DIRECT, Method.VS_STANDARD],
                        embedder=bag_of_letters, base_call=base, base_model="gemma-3-270m")
    )  # fmt: skip
    assert [r.method for r in comparison.results] == [
        Method.DIRECT, Method.VS_STANDARD, Method.DIRECT_BASE
    ]  # fmt: skip
    assert len(base.completions) == 4  # the base line ran on the base call only
    assert not any(r.is_completion for r in fake_call.requests)
    shares = comparison.base_shares()
    base_sem = comparison.get(Method.DIRECT_BASE).semantic
    assert shares["VS-Standard"] == pytest.approx(
        comparison.get(Method.VS_STANDARD).semantic / base_sem
    )
    assert shares["Direct"] == pytest.approx(0.0, abs=1e-9)
    table = comparison.table()
    assert "Direct (base)" in table
    assert "share of the base model's semantic diversity (gemma-3-270m): Direct 0%" in table
    data = comparison.to_dict()
    assert data["base_model"] == "gemma-3-270m" and set(data["share_of_base_semantic"]) == {
        "Direct", "VS-Standard"
    }  # fmt: skip


def test_vs_compare_base_model_embedded_with_an_injected_call(fake_call):
    call = BaseAwareCall(fake_call)
    code, out, err = run(
        ["compare", "Write a joke", "--methods", "direct,vs_standard", "--base-model", "embedded",
         "-n", "2", "-k", "2", "--no-report", "--no-semantic", "--json"],
        call,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert [m["method"] for m in data["methods"]] == ["direct", "vs_standard", "direct_base"]
    assert len(call.completions) == 2


def test_base_model_options_name_the_backend():
    from vs_common.cli import build_parser
    from vs_common.cli._backend import BackendOptions
    from vs_common.cli._compare import _base_options

    main_options = BackendOptions(base_url="http://main:1/v1", model="m", api_key_env="KEY",
                                  temperature=0.5)  # fmt: skip
    args = build_parser().parse_args(
        ["compare", "x", "--base-model", "embedded", "--base-max-tokens", "80"]
    )
    embedded = _base_options(args, main_options)
    assert embedded is not None
    assert (embedded.embedded, embedded.local_model, embedded.base_url) == (
        True, "gemma-3-270m", None
    )  # fmt: skip
    assert (embedded.api_key_env, embedded.temperature, embedded.max_tokens) == (None, 0.5, 80)
    args = build_parser().parse_args(
        ["compare", "x", "--base-model", "http://base:2/v1", "--base-model-name", "llama-base"]
    )
    url = _base_options(args, main_options)
    assert url is not None
    assert (url.base_url, url.model, url.api_key_env) == ("http://base:2/v1", "llama-base", None)
    assert url.max_tokens == main_options.max_tokens  # --max-tokens when not given


@pytest.mark.parametrize("bad", ["gemma", "ftp://x/v1", "http://:80/v1", "http://h:99999/v1"])
def test_a_bad_base_model_is_a_usage_error_naming_the_option(fake_call, bad, capsys):
    code, _, err = run(["compare", "x", "--base-model", bad], fake_call)
    message = err + capsys.readouterr().err  # argparse's own errors go to sys.stderr
    assert code == 2
    assert "--base-model" in message and "expected 'embedded' or an http(s) URL" in message
    assert not fake_call.requests


def test_an_unreachable_base_model_is_one_line(fake_openai, closed_port_url):
    code, _, err = run(
        ["compare", "x", "--base-url", fake_openai.url, "--model", "m", "--base-model",
         closed_port_url, "-n", "2", "--no-report", "--quiet"],
        None,
    )  # fmt: skip
    assert code == 1, err
    assert "cannot reach the model server" in err
    assert len(err.strip().splitlines()) == 1
