"""The HTML report of a comparison (``vs compare``), with PNG charts drawn by matplotlib (Agg).

Charts:

* ``diversity.png``: semantic diversity, the Vendi score and distinct classes
  (with n dashed), lexical diversity (100 x (1 - ROUGE-L)) and distinct-2 per
  method, one panel each;
* ``cost.png``: valid-parse rate and tokens per sample per method;
* ``calibration.png``: for each VS method, every answer's mean stated
  probability against how often it was observed (under Direct sampling of
  the same prompts, else among the VS candidates): calibrated answers lie
  on the diagonal;
* ``answers_<i>.png``: for prompt i, each method's answer distribution (how
  often each distinct answer was sampled): mode collapse is one long bar.

matplotlib comes with the ``report`` extra and is imported only here, lazily.
Without it the HTML is still written (tables and answers, no charts), and
the note says how to install it.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vs_common.distribution import normalize_key
from vs_common.evaluation._compare import Comparison, MethodResult
from vs_common.methods import Method

__all__ = ["REPORT_EXTRA_HINT", "WrittenReport", "write_report"]

REPORT_EXTRA_HINT = 'pip install "verbalized-sampling-kit[report]"'
_MAX_ANSWER_CHARTS = 8
_TOP_ANSWERS = 8
_LABEL_CHARS = 48
_COLORS = {
    Method.DIRECT: "#9aa5b1",
    Method.COT: "#7b8794",
    Method.SEQUENCE: "#f0b429",
    Method.MULTI_TURN: "#de911d",
    Method.VS_STANDARD: "#2186eb",
    Method.VS_COT: "#0b69a3",
    Method.VS_MULTI: "#27ab83",
    Method.DIRECT_BASE: "#52606d",
    Method.SSOT: "#9446ed",
    Method.SIMPLESTRAT: "#e12d39",
}
_OTHER_COLOR = "#486581"  # a method without a color of its own


def _color(method: Method) -> str:
    return _COLORS.get(method, _OTHER_COLOR)


@dataclass
class WrittenReport:
    """What :func:`write_report` wrote.

    Attributes:
        html: The HTML file.
        charts: The PNG files.
        note: A remark for the user (e.g. matplotlib missing), or None.

    Example:
        >>> WrittenReport(Path("r/index.html")).charts
        []
    """

    html: Path
    charts: list[Path] = field(default_factory=list)
    note: str | None = None


def answer_counts(result: MethodResult, run_index: int) -> list[tuple[str, int]]:
    """Distinct answers of one run with how often each was sampled, most first.

    Example:
        >>> from vs_common.evaluation import PromptRun
        >>> from vs_common.distribution import VerbalizedDistribution as D
        >>> run = PromptRun("p", D.pool([D.from_pairs([("Hi!", 1)]), D.from_pairs([("hi", 1)])]), 0)
        >>> answer_counts(MethodResult(Method.DIRECT, [run]), 0)
        [('Hi!', 2)]
    """
    texts = result.runs[run_index].texts
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for text in texts:
        key = normalize_key(text)
        first.setdefault(key, text)
        counts[key] += 1
    return [(first[key], count) for key, count in counts.most_common()]


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "..."


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _diversity_series(comparison: Comparison) -> list[tuple[str, list[float | None], bool]]:
    """(title, value per method, on a 0-100 scale) of each diversity panel."""
    results = comparison.results
    series: list[tuple[str, list[float | None], bool]] = []
    if any(r.semantic is not None for r in results):
        series.append(("Semantic diversity", [r.semantic for r in results], True))
    if any(r.vendi is not None for r in results):
        series.append(
            (f"Vendi score\n(of {comparison.n} samples)", [r.vendi for r in results], False)
        )
    if any(r.classes is not None for r in results):
        series.append(("Distinct classes", [r.classes for r in results], False))
    series.append(
        (
            "Lexical diversity\n100 x (1 - ROUGE-L)",
            [None if r.rouge_l is None else 100.0 * (1.0 - r.rouge_l) for r in results],
            True,
        )
    )
    series.append(
        (
            "Distinct-2 x 100",
            [None if r.distinct_2 is None else 100.0 * r.distinct_2 for r in results],
            True,
        )
    )
    return series


def _diversity_chart(plt: Any, comparison: Comparison, path: Path) -> None:
    results = comparison.results
    series = _diversity_series(comparison)
    fig, axes = plt.subplots(1, len(series), figsize=(3.6 * len(series), 3.8), squeeze=False)
    labels = [r.label for r in results]
    colors = [_color(r.method) for r in results]
    for ax, (title, values, percent) in zip(axes[0], series, strict=True):
        heights = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(labels, heights, color=colors, edgecolor="#334e68", linewidth=0.6)
        for rect, value in zip(bars, values, strict=True):
            text = "n/a" if value is None else f"{value:.1f}"
            ax.annotate(
                text,
                (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                ha="center",
                va="bottom",
                fontsize=9,
                xytext=(0, 2),
                textcoords="offset points",
            )
        ax.set_title(title, fontsize=11)
        top = max(heights) * 1.15 if heights else 1.0
        ax.set_ylim(0, max(100.0, top) if percent else max(top, float(comparison.n) * 1.05))
        if not percent:
            ax.axhline(comparison.n, color="#829ab1", linewidth=1, linestyle="--")
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"Diversity per method (higher = more diverse), n={comparison.n}", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cost_chart(plt: Any, comparison: Comparison, path: Path) -> None:
    results = comparison.results
    labels = [r.label for r in results]
    colors = [_color(r.method) for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    rates = [100.0 * r.valid_rate for r in results]
    left.bar(labels, rates, color=colors)
    left.set_ylim(0, 110)
    left.set_title("Valid-parse rate (%)", fontsize=11)
    for i, v in enumerate(rates):
        left.annotate(f"{v:.0f}%", (i, v), ha="center", va="bottom", fontsize=9)
    tokens = [r.tokens_per_sample or 0.0 for r in results]
    right.bar(labels, tokens, color=colors)
    right.set_title("Tokens per sample", fontsize=11)
    right.set_ylim(0, max([*tokens, 1.0]) * 1.18)
    for i, (v, r) in enumerate(zip(tokens, results, strict=True)):
        text = "n/a" if r.tokens_per_sample is None else f"{v:.0f}"
        right.annotate(text, (i, v), ha="center", va="bottom", fontsize=9)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelrotation=20, labelsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _answers_chart(plt: Any, comparison: Comparison, index: int, path: Path) -> None:
    results = comparison.results
    fig, axes = plt.subplots(
        len(results), 1, figsize=(9.0, 0.5 + 2.3 * len(results)), squeeze=False
    )
    for ax, result in zip(axes[:, 0], results, strict=True):
        counts = answer_counts(result, index)
        total = sum(c for _, c in counts) or 1
        shown = counts[:_TOP_ANSWERS]
        rest = counts[_TOP_ANSWERS:]
        labels = [_short(text) for text, _ in shown]
        values = [100.0 * c / total for _, c in shown]
        if rest:
            labels.append(f"({len(rest)} other answers)")
            values.append(100.0 * sum(c for _, c in rest) / total)
        if not values:
            labels, values = ["(no answer)"], [0.0]
        y = [_TOP_ANSWERS - i for i in range(len(values))]  # top-aligned, same bar height
        colors = [_color(result.method)] * len(shown) + (["#cbd2d9"] if rest else [])
        ax.barh(y, values, color=colors[: len(values)], height=0.7)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(-0.6, _TOP_ANSWERS + 0.6)
        ax.set_xlim(0, 100)
        ax.set_title(
            f"{result.label}: {len(counts)} distinct of {total} samples",
            fontsize=10,
            loc="left",
        )
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("share of samples (%)")
    fig.suptitle(f"Answer distribution: {_short(comparison.prompts[index], 80)}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _calibrated(comparison: Comparison) -> list[MethodResult]:
    return [r for r in comparison.results if r.calibrations]


def _calibration_chart(plt: Any, comparison: Comparison, path: Path) -> None:
    results = _calibrated(comparison)
    fig, axes = plt.subplots(1, len(results), figsize=(4.4 * len(results), 4.2), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        cals = result.calibrations
        against = "Direct" if all(c.gap_direct is not None for c in cals) else "listed"
        xs = [row.stated for c in cals for row in c.rows]
        ys = [row.observed for c in cals for row in c.rows]
        top = max([*xs, *ys, 0.05]) * 1.08
        ax.plot([0, top], [0, top], color="#829ab1", linewidth=1, linestyle="--")
        ax.scatter(xs, ys, s=26, alpha=0.7, color=_color(result.method), edgecolors="#334e68")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("mean stated probability", fontsize=9)
        ax.set_ylabel(f"observed frequency ({against})", fontsize=9)
        gap = result.calibration_gap
        ax.set_title(
            f"{result.label}: mean |gap| {gap:.3f}" if gap is not None else result.label,
            fontsize=10,
        )
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.3)
    fig.suptitle("Stated against observed (on the diagonal = calibrated)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _charts(comparison: Comparison, directory: Path) -> list[Path]:
    plt = _pyplot()
    paths = [directory / "diversity.png", directory / "cost.png"]
    _diversity_chart(plt, comparison, paths[0])
    _cost_chart(plt, comparison, paths[1])
    if _calibrated(comparison):
        paths.append(directory / "calibration.png")
        _calibration_chart(plt, comparison, paths[-1])
    for i in range(min(len(comparison.prompts), _MAX_ANSWER_CHARTS)):
        path = directory / f"answers_{i + 1}.png"
        _answers_chart(plt, comparison, i, path)
        paths.append(path)
    return paths


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1000px;color:#243b53;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d9e2ec}
.meta{color:#627d98}table{border-collapse:collapse;margin:1rem 0}
th,td{padding:.35rem .7rem;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f0f4f8}
.best{font-weight:700;color:#0b69a3}.note{background:#fffbea;padding:.5rem .8rem;
border-left:4px solid #f0b429}img{max-width:100%;margin:.5rem 0}
.headline{font-size:1.2rem;background:#e6f6ff;padding:.6rem 1rem;border-left:4px solid #2186eb}
details{margin:.4rem 0}summary{cursor:pointer}ol{margin:.3rem 0}li small{color:#829ab1}
"""


def _cell(value: float | None, spec: str, best: bool = False) -> str:
    text = "&ndash;" if value is None else format(value, spec)
    return f'<td class="best">{text}</td>' if best else f"<td>{text}</td>"


def _metrics_table(comparison: Comparison) -> str:
    results = comparison.results

    def best(values: list[float | None], high: bool) -> float | None:
        present = [v for v in values if v is not None]
        if len(present) < 2:
            return None
        return max(present) if high else min(present)

    sem_best = best([r.semantic for r in results], high=True)
    vendi_best = best([r.vendi for r in results], high=True)
    classes_best = best([r.classes for r in results], high=True)
    extra = comparison.extra_columns
    rouge_best = best([r.rouge_l for r in results], high=False)
    d2_best = best([r.distinct_2 for r in results], high=True)
    rows = []
    for r in results:
        rows.append(
            f"<tr><td>{html.escape(r.label)}</td><td>{r.samples}</td><td>{r.calls}</td>"
            + _cell(100.0 * r.valid_rate, ".0f")
            + _cell(r.semantic, ".1f", r.semantic is not None and r.semantic == sem_best)
            + _cell(r.vendi, ".2f", r.vendi is not None and r.vendi == vendi_best)
            + _cell(r.classes, ".1f", r.classes is not None and r.classes == classes_best)
            + _cell(r.rouge_l, ".3f", r.rouge_l is not None and r.rouge_l == rouge_best)
            + _cell(r.distinct_1, ".3f")
            + _cell(r.distinct_2, ".3f", r.distinct_2 is not None and r.distinct_2 == d2_best)
            + _cell(r.tokens_per_sample, ".0f")
            + _cell(r.seconds, ".1f")
            + "".join(_cell(r.extra.get(name), ".3f") for name in extra)
            + "</tr>"
        )
    head = (
        "<tr><th>Method</th><th>Samples</th><th>Calls</th><th>Valid parse %</th>"
        "<th>Semantic diversity ↑</th><th>Vendi score ↑</th><th>Distinct classes ↑</th>"
        "<th>ROUGE-L ↓</th><th>Distinct-1 ↑</th>"
        "<th>Distinct-2 ↑</th><th>Tokens / sample</th><th>Seconds</th>"
        + "".join(f"<th>{html.escape(name)}</th>" for name in extra)
        + "</tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _calibration_section(comparison: Comparison, chart: Path | None) -> str:
    results = _calibrated(comparison)
    if not results:
        return ""
    rows = []
    for r in results:
        cal = r.metrics()["calibration"]
        against = "Direct" if cal["gap_direct"] is not None else "listed"
        rows.append(
            f"<tr><td>{html.escape(r.label)}</td><td>{against}</td>"
            + _cell(r.calibration_gap, ".3f")
            + _cell(cal["raw_sum_mean"], ".2f")
            + _cell(cal["entropy"], ".2f")
            + _cell(cal["direct_entropy"], ".2f")
            + _cell(None if cal["tail_share"] is None else 100.0 * cal["tail_share"], ".0f")
            + _cell(None if cal["tail_mass"] is None else 100.0 * cal["tail_mass"], ".0f")
            + "</tr>"
        )
    tau = f"{comparison.tau:g}"
    head = (
        "<tr><th>Method</th><th>Observed under</th><th>Mean |stated &minus; observed|</th>"
        "<th>Raw probability sum</th><th>Entropy (nats)</th><th>Direct entropy</th>"
        f"<th>Candidates stated &lt; {tau} (%)</th><th>Stated mass &lt; {tau} (%)</th></tr>"
    )
    parts = [
        "<h2>Calibration: are the stated probabilities real?</h2>",
        '<p class="meta">For each distinct answer: its mean stated probability over the'
        " calls, against how often it was observed: under Direct prompting of the same"
        " prompt with the same budget when Direct ran (the model's own distribution), else"
        " among the listed candidates. Raw probability sum: what each call's stated"
        " probabilities add up to before normalization (1 = a distribution).</p>",
        f"<table>{head}{''.join(rows)}</table>",
    ]
    if chart is not None:
        parts.append(f'<img src="{chart.name}" alt="stated against observed">')
    return "\n".join(parts)


def _answers_section(comparison: Comparison, index: int, chart: Path | None) -> str:
    parts = [f"<h2>Prompt {index + 1}: {html.escape(comparison.prompts[index])}</h2>"]
    if chart is not None:
        parts.append(f'<img src="{chart.name}" alt="answer distribution, prompt {index + 1}">')
    for result in comparison.results:
        counts = answer_counts(result, index)
        total = sum(c for _, c in counts)
        items = "".join(
            f"<li>{html.escape(text)} <small>&times;{count}</small></li>" for text, count in counts
        )
        failures = len(result.runs[index].dist.failures)
        extra = f", {failures} failed call(s)" if failures else ""
        parts.append(
            f"<details><summary><b>{html.escape(result.label)}</b>: {len(counts)} distinct"
            f" of {total} samples{extra}</summary><ol>{items}</ol></details>"
        )
    return "\n".join(parts)


def _headline(comparison: Comparison) -> str:
    sem = comparison.ratio("semantic")
    lex = comparison.ratio("rouge_l")
    if sem is None and lex is None:
        return ""
    parts = []
    if sem is not None:
        parts.append(f"<b>{sem:.2f}&times;</b> the semantic diversity")
    if lex is not None:
        parts.append(f"<b>{lex:.2f}&times;</b> the lexical diversity")
    return f'<p class="headline">VS-Standard gives {" and ".join(parts)} of Direct prompting.</p>'


def write_report(comparison: Comparison, directory: Path) -> WrittenReport:
    """Write ``index.html`` and its charts into ``directory`` (created if needed).

    Args:
        comparison: A scored comparison.
        directory: Where to write.

    Returns:
        The paths written, and a note when the charts could not be drawn.
    """
    directory.mkdir(parents=True, exist_ok=True)
    note: str | None = None
    try:
        charts = _charts(comparison, directory)
    except ImportError:
        charts = []
        note = f"the report has no charts: matplotlib is not installed ({REPORT_EXTRA_HINT})"
    by_name = {p.name: p for p in charts}
    body = [
        "<h1>Verbalized Sampling: method comparison</h1>",
        f'<p class="meta">model <b>{html.escape(comparison.model)}</b> · n = {comparison.n}'
        f" samples per method and prompt · k = {comparison.k} per call ·"
        f" {len(comparison.prompts)} prompt(s)</p>",
        _headline(comparison),
        _metrics_table(comparison),
    ]
    base = comparison.base_note()
    if base:
        body.append(f'<p class="note">{html.escape(base)}</p>')
    if comparison.semantic_note:
        body.append(f'<p class="note">{html.escape(comparison.semantic_note)}</p>')
    if note:
        body.append(f'<p class="note">{html.escape(note)}</p>')
    for name in ("diversity.png", "cost.png"):
        if name in by_name:
            body.append(f'<img src="{name}" alt="{name[:-4]} chart">')
    body.append(
        '<p class="meta">Semantic diversity: 100 &times; (1 &minus; mean pairwise cosine'
        " similarity) of the samples' embeddings (all-MiniLM-L6-v2); Vendi score: exp of the"
        " entropy of the eigenvalues of the cosine-similarity matrix over n, the effective"
        " number of distinct samples (1 to n); distinct classes: samples merged into classes"
        " of equivalent meaning as NoveltyBench does (cosine at least 0.85 to a class's first"
        " sample, or the same text); ROUGE-L: mean pairwise"
        " longest-common-subsequence F1; distinct-n: unique n-grams / n-grams; valid parse:"
        " calls whose reply could be read / calls. Diversity is computed per prompt and"
        " averaged.</p>"
    )
    calibration = _calibration_section(comparison, by_name.get("calibration.png"))
    if calibration:
        body.append(calibration)
    for i in range(len(comparison.prompts)):
        body.append(_answers_section(comparison, i, by_name.get(f"answers_{i + 1}.png")))
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Verbalized Sampling comparison</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return WrittenReport(html=path, charts=charts, note=note)
