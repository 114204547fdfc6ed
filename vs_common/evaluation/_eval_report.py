"""The report of ``vs eval``: one HTML page, every figure beside the paper's, charts and JSON.

``index.html`` has a section per experiment: its table (each figure with the
paper's beside it where the paper gives one), a chart of its figures per
method with the paper's as black diamonds, and, for an experiment that reads
answers, the share of each answer per method (a collapsed method is one long
bar). Each experiment's full comparison report (diversity, cost, calibration
and every sample, :func:`~vs_common.evaluation.write_report`) is written into
a folder of its name and linked. ``eval.json`` holds everything.

The charts are drawn by matplotlib (the ``report`` extra), as the comparison
report's are; without it the pages are written without charts.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

from vs_common.evaluation._eval import Evaluation, ExperimentResult
from vs_common.evaluation._report import (
    _CSS,
    REPORT_EXTRA_HINT,
    WrittenReport,
    _cell,
    _color,
    _pyplot,
    _short,
    write_report,
)

__all__ = ["write_eval_report"]

_TOP_ANSWERS = 8


def _panels(result: ExperimentResult) -> list[tuple[str, list[float | None], list[float | None]]]:
    """(title, ours per method, paper's per method) for each chart panel."""
    exp = result.experiment
    rs = result.results
    panels: list[tuple[str, list[float | None], list[float | None]]] = []
    for m in exp.metrics:
        panels.append(
            (m.label, [r.extra.get(m.name) for r in rs], [m.paper.get(r.method.value) for r in rs])
        )
    none: list[float | None] = [None] * len(rs)
    if exp.semantic:
        panels.append(("Semantic diversity", [r.semantic for r in rs], none))
    panels.append(("Vendi score", [r.vendi for r in rs], none))
    panels.append(
        ("Distinct classes" if exp.semantic else "Distinct answers", [r.classes for r in rs], none)
    )
    if exp.ratio is not None:
        panels.append((f"{exp.ratio.capitalize()} / Direct", [result.ratio(r) for r in rs], none))
    return panels


def _figures_chart(plt: Any, result: ExperimentResult, path: Path) -> None:
    panels = _panels(result)
    rs = result.results
    labels = [r.label for r in rs]
    colors = [_color(r.method) for r in rs]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6), squeeze=False)
    for ax, (title, ours, paper) in zip(axes[0], panels, strict=True):
        heights = [v if v is not None else 0.0 for v in ours]
        xs = list(range(len(labels)))
        ax.bar(xs, heights, color=colors, edgecolor="#334e68", linewidth=0.6)
        for x, value in zip(xs, ours, strict=True):
            text = "n/a" if value is None else f"{value:.2f}"
            ax.annotate(text, (x, value or 0.0), ha="center", va="bottom", fontsize=8)
        marks = [(x, p) for x, p in zip(xs, paper, strict=True) if p is not None]
        if marks:
            ax.scatter(
                [x for x, _ in marks], [p for _, p in marks], marker="D", color="#102a43",
                zorder=3, label="paper",
            )  # fmt: skip
            ax.legend(fontsize=8, loc="upper right")
        band: list[float] = []
        if title.endswith("/ Direct") and result.experiment.paper_ratio:
            low, high = result.experiment.paper_ratio
            ax.axhspan(low, high, color="#829ab1", alpha=0.25)
            ax.annotate("paper", (len(xs) - 0.5, high), ha="right", va="bottom", fontsize=8)
            band = [high]
        top = max([*heights, *(p for _, p in marks), *band, 1e-9])
        ax.set_ylim(0, top * 1.2)
        ax.set_xticks(xs, labels)
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelrotation=35, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{result.experiment.title} (n={result.budget.n})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _answer_shares(result: ExperimentResult) -> list[list[tuple[str, float]]]:
    """Per method: each answer's share of the samples (most first), invalid ones pooled last."""
    reader = result.experiment.answer
    out = []
    for r in result.results:
        counts: Counter[str] = Counter()
        total = 0
        for i, run in enumerate(r.runs):
            for text in run.texts:
                answer = reader(i, text) if reader is not None else None
                counts[answer if answer is not None else "(no valid answer)"] += 1
                total += 1
        invalid = counts.pop("(no valid answer)", 0)
        shares = [(a, c / total) for a, c in counts.most_common()]
        if invalid:
            shares.append(("(no valid answer)", invalid / total))
        out.append(shares)
    return out


def _answers_chart(plt: Any, result: ExperimentResult, path: Path) -> None:
    rs = result.results
    shares = _answer_shares(result)
    fig, axes = plt.subplots(1, len(rs), figsize=(2.6 * len(rs), 3.4), squeeze=False, sharey=False)
    for ax, r, rows in zip(axes[0], rs, shares, strict=True):
        shown = rows[:_TOP_ANSWERS]
        labels = [_short(a, 18) for a, _ in shown] or ["(none)"]
        values = [100.0 * s for _, s in shown] or [0.0]
        colors = ["#cbd2d9" if a == "(no valid answer)" else _color(r.method) for a, _ in shown]
        ys = [_TOP_ANSWERS - 1 - i for i in range(len(values))]  # top-aligned, same height
        ax.barh(ys, values, color=colors or ["#cbd2d9"], height=0.7)
        ax.set_yticks(ys, labels, fontsize=7)
        ax.set_ylim(-0.6, _TOP_ANSWERS - 0.4)
        ax.set_xlim(0, 100)
        ax.set_title(r.label, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Answers: share of samples (%)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _table(result: ExperimentResult) -> str:
    exp = result.experiment
    head = ["Method", "Calls", "Parsed %"]
    head += [f"{m.label} {'↑' if m.higher_is_better else '↓'}" for m in exp.metrics]
    if exp.semantic:
        head.append("Semantic diversity ↑")
    head += ["Vendi ↑", "Distinct classes ↑" if exp.semantic else "Distinct answers ↑"]
    if exp.ratio is not None:
        head.append(f"{exp.ratio.capitalize()} / Direct")
    head.append("Tokens / sample")
    rows = []
    for r in result.results:
        cells = [
            f"<td>{html.escape(r.label)}</td><td>{r.calls}</td>",
            _cell(100 * r.valid_rate, ".0f"),
        ]
        for m in exp.metrics:
            ours = r.extra.get(m.name)
            paper = m.paper.get(r.method.value)
            text = "&ndash;" if ours is None else format(ours, m.fmt)
            if paper is not None:
                text += f' <small title="the paper">({format(paper, m.fmt)})</small>'
            cells.append(f"<td>{text}</td>")
        if exp.semantic:
            cells.append(_cell(r.semantic, ".1f"))
        cells += [_cell(r.vendi, ".2f"), _cell(r.classes, ".1f")]
        if exp.ratio is not None:
            cells.append(_cell(result.ratio(r), ".2f"))
        cells.append(_cell(r.tokens_per_sample, ".0f"))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
    return f"<table>{header}{''.join(rows)}</table>"


def _section(result: ExperimentResult, charts: dict[str, Path]) -> str:
    exp = result.experiment
    b = result.budget
    parts = [
        f'<h2 id="{html.escape(exp.name)}">{html.escape(exp.title)}</h2>',
        f'<p class="meta">{html.escape(exp.source)} · n = {b.n} samples per method and prompt'
        f" · k = {b.k} per call · {b.prompts} prompt(s) · {result.seconds:.0f} s ·"
        f' <a href="{html.escape(exp.name)}/index.html">every sample, calibration and cost</a></p>',
        _table(result),
        '<p class="meta">In parentheses: the paper\'s figure, where it gives one.</p>',
    ]
    notes = dict.fromkeys(m.paper_note for m in exp.metrics if m.paper_note)
    if exp.paper_ratio is not None:
        low, high = exp.paper_ratio
        notes[f"the paper: VS gives {low:g}-{high:g}x the semantic diversity of Direct"] = None
    parts += [f'<p class="note">{html.escape(note)}</p>' for note in notes]
    for name in (f"{exp.name}_figures.png", f"{exp.name}_answers.png"):
        if name in charts:
            parts.append(f'<img src="{name}" alt="{html.escape(name[:-4])}">')
    return "\n".join(parts)


def write_eval_report(evaluation: Evaluation, directory: Path) -> WrittenReport:
    """Write ``index.html``, ``eval.json``, the charts and each experiment's comparison report.

    Args:
        evaluation: A scored evaluation.
        directory: Where to write (created if needed).

    Returns:
        The paths written, and a note when the charts could not be drawn.
    """
    directory.mkdir(parents=True, exist_ok=True)
    note: str | None = None
    charts: dict[str, Path] = {}
    try:
        plt = _pyplot()
        for result in evaluation.results:
            path = directory / f"{result.experiment.name}_figures.png"
            _figures_chart(plt, result, path)
            charts[path.name] = path
            if result.experiment.answer is not None:
                path = directory / f"{result.experiment.name}_answers.png"
                _answers_chart(plt, result, path)
                charts[path.name] = path
    except ImportError:
        note = f"the report has no charts: matplotlib is not installed ({REPORT_EXTRA_HINT})"
    for result in evaluation.results:
        sub = write_report(result.comparison, directory / result.experiment.name)
        charts.update({f"{result.experiment.name}/{p.name}": p for p in sub.charts})
    size = "quick" if evaluation.quick else "full"
    methods = (
        ", ".join(r.label for r in evaluation.results[0].results) if evaluation.results else ""
    )
    body = [
        "<h1>Verbalized Sampling: the paper's experiments on your model</h1>",
        f'<p class="meta">model <b>{html.escape(evaluation.model)}</b> · {size} size ·'
        f" {html.escape(methods)} · {evaluation.seconds:.0f} s in all</p>",
    ]
    if evaluation.semantic_note:
        body.append(f'<p class="note">{html.escape(evaluation.semantic_note)}</p>')
    if note:
        body.append(f'<p class="note">{html.escape(note)}</p>')
    body += [_section(result, charts) for result in evaluation.results]
    body.append(
        '<p class="meta">Vendi score: the effective number of distinct samples (1 to n): for'
        " experiments that read answers, of the valid answers (exp of their entropy); for free"
        " text, of the embeddings. Distinct answers / classes: different valid answers, or"
        " samples merged into classes of equivalent meaning (NoveltyBench's partition, cosine"
        " at least 0.85). Each figure is computed per prompt and averaged.</p>"
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Verbalized Sampling evaluation</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    index = directory / "index.html"
    index.write_text(page, encoding="utf-8")
    data = json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=2)
    (directory / "eval.json").write_text(data + "\n", encoding="utf-8")
    return WrittenReport(html=index, charts=list(charts.values()), note=note)
