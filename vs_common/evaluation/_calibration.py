"""Calibration diagnostics: are the verbalized probabilities the model's own?

A VS reply states a probability for each candidate. Asked the same prompt M
times, the model gives M such lists; this module sets, for every distinct
answer (matched through a key, by default :func:`normalize_key`):

* its **stated** probability: the mean, over the M calls, of the normalized
  probability it was given (0 in a call that did not list it), which is the
  pooled verbalized distribution;
* its **recurrence**: the share of the M calls that listed it ("does it come
  back?");
* its **listed** frequency: its share of all the candidates of the M calls;
* its **direct** frequency: its share of the samples of plain Direct
  prompting with the same budget, the model's own distribution when it is
  asked for one answer.

and sums up: the mean absolute gap between stated and direct frequency (0
when the model states exactly how often it answers what) and between stated
and listed frequency; the raw probability sum of each call before
normalization (1.0 when the model's numbers are a distribution); the entropy
of the stated and of the Direct distribution; and the tail: the share of
candidates stated below tau and the stated mass of answers below tau.

:func:`calibration_from` computes it from replies already in hand (``vs
compare`` uses its own runs); :func:`calibrate` samples them first.

Example:
    >>> from vs_common.distribution import VerbalizedDistribution as D
    >>> calls = [D.from_pairs([("Ohio", 0.6), ("Utah", 0.4)]), D.from_pairs([("Ohio", 1.0)])]
    >>> cal = calibration_from(calls, ["Ohio", "ohio", "Texas", "Ohio"], tau=0.5)
    >>> [(r.text, r.stated, r.recurrence, r.direct) for r in cal.rows]
    [('Ohio', 0.8, 1.0, 0.75), ('Utah', 0.2, 0.5, 0.0), ('Texas', 0.0, 0.0, 0.25)]
    >>> round(cal.gap_direct, 4), cal.raw_sum_mean, round(cal.tail_mass, 2)
    (0.1667, 1.0, 0.2)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vs_common.calls import Call
from vs_common.distribution import VerbalizedDistribution, normalize_key
from vs_common.errors import VSConfigError
from vs_common.methods import Method, VSConfig
from vs_common.metrics import entropy, mean_absolute_gap, tail_mass
from vs_common.sampling import Progress, RetryPolicy, Structured, run_sampling

__all__ = ["Calibration", "CalibrationRow", "calibrate", "calibration_from"]

DEFAULT_TAU = 0.1


@dataclass(frozen=True)
class CalibrationRow:
    """One distinct answer: what was stated about it and how often it came.

    Attributes:
        text: The answer, as first written.
        stated: Mean normalized stated probability over the VS calls (0 where
            a call did not list it).
        recurrence: Share of the VS calls that listed it.
        listed: Its share of all the candidates of the VS calls.
        direct: Its share of the Direct samples (None without Direct samples).

    Example:
        >>> CalibrationRow("Ohio", 0.5, 1.0, 0.25, None).direct is None
        True
    """

    text: str
    stated: float
    recurrence: float
    listed: float
    direct: float | None

    @property
    def observed(self) -> float:
        """The frequency to hold ``stated`` against: Direct's if known, else listed."""
        return self.direct if self.direct is not None else self.listed


@dataclass(frozen=True)
class Calibration:
    """Stated against observed, for one prompt and one VS method.

    Attributes:
        prompt: The prompt (may be empty when unknown).
        method: The VS method of the calls.
        calls: VS calls with candidates (failed calls are not counted).
        direct_samples: Direct samples compared against (0 when none).
        tau: The tail threshold.
        rows: One per distinct answer, the most stated first (ties: the most
            frequent under Direct first, then first seen).
        gap_direct: Mean ``|stated - direct|`` over every answer either side
            gave (None without Direct samples).
        gap_listed: Mean ``|stated - listed|`` over the listed answers.
        raw_sums: The raw probability sum of each call that stated
            probabilities, before normalization.
        entropy: Entropy of the stated distribution, in nats.
        direct_entropy: Entropy of the Direct frequencies (None without them).
        tail_share: Share of the candidates whose stated probability (as the
            model wrote it, else normalized) is below tau.
        tail_mass: Stated mass of the answers whose stated probability is
            below tau.

    Example:
        >>> from vs_common.distribution import VerbalizedDistribution as D
        >>> cal = calibration_from([D.from_pairs([("a", 0.5), ("b", 0.7)])])
        >>> cal.raw_sum_mean, cal.gap_direct is None
        (1.2, True)
    """

    prompt: str
    method: Method
    calls: int
    direct_samples: int
    tau: float
    rows: tuple[CalibrationRow, ...]
    gap_direct: float | None
    gap_listed: float
    raw_sums: tuple[float, ...]
    entropy: float
    direct_entropy: float | None
    tail_share: float
    tail_mass: float

    @property
    def gap(self) -> float:
        """The headline gap: against Direct when known, else against the listed frequency."""
        return self.gap_direct if self.gap_direct is not None else self.gap_listed

    @property
    def raw_sum_mean(self) -> float | None:
        """Mean raw probability sum per call (None when no call stated any)."""
        if not self.raw_sums:
            return None
        return math.fsum(self.raw_sums) / len(self.raw_sums)

    def summary(self) -> dict[str, Any]:
        """The headline numbers, JSON-ready (no rows)."""
        return {
            "method": self.method.value,
            "calls": self.calls,
            "direct_samples": self.direct_samples,
            "tau": self.tau,
            "answers": len(self.rows),
            "gap_direct": self.gap_direct,
            "gap_listed": self.gap_listed,
            "raw_sum_mean": self.raw_sum_mean,
            "raw_sum_min": min(self.raw_sums) if self.raw_sums else None,
            "raw_sum_max": max(self.raw_sums) if self.raw_sums else None,
            "entropy": self.entropy,
            "direct_entropy": self.direct_entropy,
            "tail_share": self.tail_share,
            "tail_mass": self.tail_mass,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: the summary, the prompt and every row."""
        return {
            "prompt": self.prompt,
            **self.summary(),
            "rows": [
                {
                    "text": r.text,
                    "stated": r.stated,
                    "recurrence": r.recurrence,
                    "listed": r.listed,
                    "direct": r.direct,
                }
                for r in self.rows
            ],
        }


def _check_tau(tau: float) -> None:
    if isinstance(tau, bool) or not (isinstance(tau, int | float) and 0.0 < tau <= 1.0):
        msg = f"tau must be in (0, 1], got {tau!r}"
        raise VSConfigError(msg, field="tau")


def calibration_from(
    calls: Sequence[VerbalizedDistribution],
    direct: Sequence[str] | VerbalizedDistribution | None = None,
    *,
    tau: float = DEFAULT_TAU,
    key: Callable[[str], str] = normalize_key,
    prompt: str = "",
    method: Method = Method.VS_STANDARD,
) -> Calibration:
    """Calibration diagnostics from VS replies (and Direct samples) already in hand.

    Args:
        calls: Each VS call's own distribution (not a pooled one: the
            per-call probabilities and raw sums are what is measured). Calls
            without candidates are skipped.
        direct: The Direct samples of the same prompt (texts, or a pooled
            distribution whose duplicates count ``count`` times), or None.
        tau: Tail threshold in ``(0, 1]``.
        key: Maps an answer to its identity (default :func:`normalize_key`;
            pass a stricter matcher for answers with a ground truth).
        prompt: The prompt, kept on the result.
        method: The VS method of the calls, kept on the result.

    Returns:
        The :class:`Calibration`.

    Raises:
        VSConfigError: No call has candidates, or tau is out of range.
    """
    _check_tau(tau)
    used = [d for d in calls if d.candidates]
    if not used:
        msg = "calibration needs at least one VS call with candidates"
        raise VSConfigError(msg, field="calls")
    first: dict[str, str] = {}
    stated: dict[str, float] = {}
    seen_in: Counter[str] = Counter()
    listed: Counter[str] = Counter()
    raw_sums: list[float] = []
    below = total_candidates = 0
    for dist in used:
        in_call: set[str] = set()
        raws = [c.raw_probability for c in dist.candidates if c.raw_probability is not None]
        if raws:
            raw_sums.append(math.fsum(raws))
        for c in dist.candidates:
            k = key(c.text)
            first.setdefault(k, c.text)
            stated[k] = stated.get(k, 0.0) + c.probability / len(used)
            listed[k] += c.count
            in_call.add(k)
            own = c.raw_probability if c.raw_probability is not None else c.probability
            below += c.count if own < tau else 0
            total_candidates += c.count
        seen_in.update(in_call)
    direct_freq: dict[str, float] | None = None
    direct_samples = 0
    if direct is not None:
        texts = direct.all_texts() if isinstance(direct, VerbalizedDistribution) else list(direct)
        direct_samples = len(texts)
        counts = Counter(key(t) for t in texts)
        for t in texts:
            first.setdefault(key(t), t)
        direct_freq = {k: c / direct_samples for k, c in counts.items()} if texts else None
    n_listed = sum(listed.values())
    listed_freq = {k: c / n_listed for k, c in listed.items()}
    rows = [
        CalibrationRow(
            text=first[k],
            stated=stated.get(k, 0.0),
            recurrence=seen_in[k] / len(used),
            listed=listed_freq.get(k, 0.0),
            direct=None if direct_freq is None else direct_freq.get(k, 0.0),
        )
        for k in first
    ]
    order = {k: i for i, k in enumerate(first)}
    rows.sort(key=lambda r: (-r.stated, -(r.direct or 0.0), order[key(r.text)]))
    return Calibration(
        prompt=prompt,
        method=method,
        calls=len(used),
        direct_samples=direct_samples,
        tau=float(tau),
        rows=tuple(rows),
        gap_direct=None if direct_freq is None else mean_absolute_gap(stated, direct_freq),
        gap_listed=mean_absolute_gap(stated, listed_freq),
        raw_sums=tuple(raw_sums),
        entropy=entropy(stated),
        direct_entropy=None if direct_freq is None else entropy(direct_freq),
        tail_share=below / total_candidates,
        tail_mass=tail_mass(stated, tau),
    )


def _collector(into: list[VerbalizedDistribution]) -> Callable[[Progress], None]:
    def on_progress(p: Progress) -> None:
        if p.distribution is not None:
            into.append(p.distribution)

    return on_progress


async def calibrate(
    prompt: str,
    call: Call,
    *,
    method: Method | str = Method.VS_STANDARD,
    k: int = 5,
    calls: int = 10,
    direct_samples: int | None = None,
    tau: float = DEFAULT_TAU,
    key: Callable[[str], str] = normalize_key,
    structured: Structured = "auto",
    max_concurrency: int = 4,
    retry: RetryPolicy | None = None,
) -> Calibration:
    """Sample M VS calls and the Direct samples, then :func:`calibration_from`.

    Args:
        prompt: The prompt.
        call: The async model call (see :mod:`vs_common.calls`).
        method: A VS method (``vs_standard``, ``vs_cot`` or ``vs_multi``; for
            ``vs_multi`` the M calls are the turns of one conversation).
        k: Candidates per call.
        calls: M, the number of VS calls.
        direct_samples: Direct samples to compare against (one call each);
            default ``calls * k``, the same number of samples as the VS
            calls give; 0 for none.
        tau: Tail threshold in ``(0, 1]``.
        key: Maps an answer to its identity.
        structured: Structured-output mode of the VS calls.
        max_concurrency: Calls in flight at once.
        retry: Retry policy (default: no re-asks and no top-up calls: M calls
            are M calls).

    Returns:
        The :class:`Calibration`.

    Raises:
        VSConfigError: A bad argument, or no VS call returned candidates.

    Example:
        >>> import asyncio, json
        >>> async def call(request):
        ...     if request.schema is None:
        ...         return "Ohio"
        ...     return json.dumps(
        ...         [{"text": "Ohio", "probability": 0.9}, {"text": "Utah", "probability": 0.1}]
        ...     )
        >>> cal = asyncio.run(calibrate("Name a US state", call, k=2, calls=3))
        >>> cal.rows[0].text, round(cal.rows[0].stated, 2), cal.rows[0].direct
        ('Ohio', 0.9, 1.0)
    """
    vs_method = Method(method)
    if not vs_method.is_verbalized:
        msg = f"method must be a VS method (vs_standard, vs_cot, vs_multi), got {vs_method.value}"
        raise VSConfigError(msg, field="method")
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        msg = f"calls must be an integer >= 1, got {calls!r}"
        raise VSConfigError(msg, field="calls")
    _check_tau(tau)
    policy = retry if retry is not None else RetryPolicy(max_reasks=0, max_top_up_calls=0)
    turns = {"turns": calls} if vs_method.is_conversation else {}
    config = VSConfig(method=vs_method, k=k, n=calls * k, **turns)
    per_call: list[VerbalizedDistribution] = []
    await run_sampling(
        prompt,
        config,
        call,
        structured=structured,
        max_concurrency=max_concurrency,
        retry=policy,
        min_successes=0,
        on_progress=_collector(per_call),
    )
    wanted = calls * k if direct_samples is None else direct_samples
    direct: list[str] | None = None
    if wanted:
        dist = await run_sampling(
            prompt,
            VSConfig(method=Method.DIRECT, n=wanted),
            call,
            max_concurrency=max_concurrency,
            retry=policy,
            min_successes=0,
        )
        direct = dist.all_texts()
    return calibration_from(per_call, direct, tau=tau, key=key, prompt=prompt, method=vs_method)
