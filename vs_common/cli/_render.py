"""Rendering a distribution: a table with probability bars, and the JSON payload."""

from __future__ import annotations

import shutil
import textwrap
from typing import Any

from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.methods import VSConfig
from vs_common.scale import result_record

__all__ = ["bar", "distribution_payload", "render_table"]

_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"
_BAR_WIDTH = 20
_MARK = "→"


def bar(fraction: float, width: int = _BAR_WIDTH, *, ascii_only: bool = False) -> str:
    """A horizontal bar of ``width`` cells filled to ``fraction`` (eighth-cell precision).

    Example:
        >>> bar(0.5, 10)
        '█████     '
        >>> bar(0.25, 8, ascii_only=True)
        '##      '
    """
    frac = min(1.0, max(0.0, fraction))
    if ascii_only:
        filled = round(frac * width)
        return "#" * filled + " " * (width - filled)
    eighths = round(frac * width * 8)
    full, rest = divmod(eighths, 8)
    cells = _FULL * full + (_EIGHTHS[rest] if rest else "")
    return cells + " " * (width - len(cells))


def _can_encode(text: str, encoding: str | None) -> bool:
    try:
        text.encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def render_table(
    dist: VerbalizedDistribution,
    selected: Candidate | None,
    *,
    width: int | None = None,
    encoding: str | None = "utf-8",
    header: str | None = None,
) -> str:
    """The candidates as a table, most probable first, with bars; ``selected`` marked.

    Args:
        dist: The distribution to show.
        selected: The chosen candidate (marked with an arrow, or ``*``).

    Bars are scaled to the most probable candidate (the percentage is exact).
        width: Line width (default: the terminal's, at least 60).
        encoding: The output's encoding; bars fall back to ``#`` if it lacks
            block characters.
        header: A first line to print above the table.

    Returns:
        The table, ending with the selected text.

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("Decaf?", 0.75), ("Bean there.", 0.25)])
        >>> print(render_table(d, d.candidates[1], width=60, encoding="ascii"))
               #    prob  distribution          response
               1   75.0%  ####################  Decaf?
        *      2   25.0%  #######               Bean there.
        <BLANKLINE>
        selected (#2, 25.0%): Bean there.
    """
    fancy = _can_encode(_FULL + _EIGHTHS + _MARK, encoding)
    mark = _MARK if fancy else "*"
    if width is None:
        width = max(60, shutil.get_terminal_size((100, 24)).columns)
    lines = [header] if header else []
    lines.append(f"     {'#':>3}  {'prob':>6}  {'distribution':<{_BAR_WIDTH}}  response")
    top = max((c.probability for c in dist.candidates), default=1.0) or 1.0
    text_width = max(20, width - (5 + 3 + 2 + 6 + 2 + _BAR_WIDTH + 2))
    indent = " " * (width - text_width)
    for cand in dist.top(len(dist.candidates)):
        is_selected = selected is not None and cand.index == selected.index
        prefix = f"{mark if is_selected else ' '}    {cand.index + 1:>3}  {cand.probability:6.1%}"
        cells = bar(cand.probability / top, ascii_only=not fancy)
        text = cand.text if cand.count == 1 else f"{cand.text} (x{cand.count})"
        wrapped = textwrap.wrap(" ".join(text.split()), text_width) or [""]
        lines.append(f"{prefix}  {cells}  {wrapped[0]}")
        lines.extend(indent + more for more in wrapped[1:])
    if selected is not None:
        lines.append("")
        lines.append(
            f"selected (#{selected.index + 1}, {selected.probability:.1%}): {selected.text}"
        )
    return "\n".join(lines)


def distribution_payload(
    dist: VerbalizedDistribution,
    selected: Candidate | None,
    config: VSConfig,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON document for scripts: ``dist.to_dict()`` plus the selection.

    ``VerbalizedDistribution.from_dict`` reads it back (extra keys are ignored).

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("a", 1.0)])
        >>> p = distribution_payload(d, d.candidates[0], VSConfig(k=1), prompt="x")
        >>> p["selected"]["text"], p["prompt"], p["config"]["method"]
        ('a', 'x', 'vs_standard')
        >>> VerbalizedDistribution.from_dict(p).texts
        ['a']
    """
    return result_record(dist, selected, config, **extra)
