"""Distinct N: keep asking until n *distinct* candidates are in hand, or the budget is spent.

"Give me 50 different ones": one VS call gives k candidates, and ceil(n/k)
independent calls give n candidates with duplicates among them (often many,
on a small or strongly aligned model). :func:`run_distinct` asks again, in
the VS-Multi style, until it holds n distinct candidates:

* the first round is the method's usual call;
* a follow-up round continues the conversation: the model's previous answer
  as the assistant turn, then "Generate k alternative responses to the
  original input prompt..." with the candidates found so far listed as
  ones to differ from (bounded: all of them while they fit, else the newest
  half and an evenly spread sample of the older ones, see
  :class:`DistinctPolicy`);
* small models tend to copy the list they are told to avoid (SmolLM2-135M
  did: benchmarks/distinct.py), so by default (``adaptive``) each round
  after the second is a follow-up or a fresh independent call, whichever
  kind has found more new candidates per call so far (ties: follow-up);
* a new candidate is a duplicate when its key (:func:`normalize_key` by
  default: case, white space and surrounding punctuation ignored) is already
  held, or, with an embedder, when its cosine similarity to a held candidate
  reaches :attr:`DistinctPolicy.similarity`; duplicates are merged (their
  ``count`` and probability mass added);
* it stops when n distinct candidates are held (``reached_n``), when the
  call budget is spent (``budget``), when ``patience`` rounds in a row added
  nothing new (``repeating``: the model keeps repeating itself) or failed
  (``failing``).

Each round is one :func:`~vs_common.sampling.run_sampling` run, so the calls
get the same retries, re-asks, structured-output fallback and usage totals as
any other run. The result says how many distinct candidates, after how many
calls, and why it stopped (:class:`DistinctStats`). The same loop is the
``distinct=`` option of :func:`~vs_common.sampling.run_sampling`, which returns
the distribution with the stats on it (``dist.distinct``).

Example:
    >>> import asyncio, json
    >>> async def call(request):  # a model with only 7 answers, 3 per call
    ...     seen = request.messages[-1]["content"]
    ...     fresh = [s for s in "ABCDEFG" if f"- {s}" not in seen][:3] or ["A"]
    ...     return json.dumps([{"text": s, "probability": 0.3} for s in fresh])
    >>> result = asyncio.run(run_distinct("Name a letter", VSConfig(k=3, n=10), call))
    >>> result.stats.distinct, result.stats.calls, result.stats.stop_reason
    (7, 5, 'repeating')
    >>> result.distribution.texts
    ['A', 'B', 'C', 'D', 'E', 'F', 'G']
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vs_common._runner import Progress, RetryPolicy, Structured, run_calls
from vs_common.calls import Call, CallRequest, CallResponse, Message, Usage
from vs_common.distribution import (
    CallFailure,
    Candidate,
    DistinctStats,
    StopReason,
    VerbalizedDistribution,
    normalize_key,
)
from vs_common.errors import VSConfigError, VSSamplingError, VSStructuredOutputUnsupported
from vs_common.methods import Method, VSConfig, followup_instruction
from vs_common.metrics import Embedder, embed_texts

__all__ = [
    "SEMANTIC_SIMILARITY",
    "DistinctPolicy",
    "DistinctResult",
    "DistinctStats",
    "StopReason",
    "distinct_followup",
    "distinct_texts",
    "run_distinct",
]

#: Default cosine similarity at or above which two candidates count as the
#: same idea, for the offline MiniLM embedder (:mod:`vs_common.backends.embeddings`).
#: Measured with it on 40 pairs (``python benchmarks/distinct.py
#: --threshold-pairs``): 20 paraphrases of one answer (jokes, haiku, opening
#: lines, names reworded) score 0.66-0.98, median 0.94, and 17 of them 0.87 or
#: more (the 3 below are name variants: "Silverhaven" / "Silver Haven" 0.75);
#: 19 different answers to the same prompt score 0.08-0.74, median 0.41, the
#: highest being short names of the same kind ("France" / "Germany" 0.74,
#: "Ohio" / "Iowa" 0.70). 0.85 sits between the two groups with a margin of
#: 0.1 to the different answers, which matters most: merging two different
#: answers loses one. The embedder mean-pools words, so it cannot tell "The sea
#: is a mirror for the moon" from "The moon is a mirror for the sea" (0.985):
#: no threshold separates a swap of words.
SEMANTIC_SIMILARITY = 0.85

_BUDGET_FACTOR = 3  # default budget: 3x the calls n/k would take without duplicates
_ITEM_CHARS = 300  # a listed candidate is cut to this many characters


@dataclass(frozen=True)
class DistinctPolicy:
    """How hard :func:`run_distinct` tries, and what counts as a duplicate.

    Attributes:
        max_calls: Call budget (retries and re-asks not counted); default
            three times ``ceil(n / k)``.
        patience: Rounds in a row that add nothing new (or all fail) before
            stopping.
        parallel: Calls per round (they share the same list of candidates to
            avoid; more is faster on servers that serve several requests at
            once, but the calls of a round may repeat each other).
        adaptive: After the first follow-up, choose each round's kind by what
            has worked: a follow-up, or a fresh independent call when fresh
            calls have found more new candidates per call; False asks
            follow-ups only.
        max_shown: Candidates listed in a follow-up at most.
        max_shown_chars: Characters of listed candidates at most (each is cut
            to 300 characters first).
        embedder: Also merge candidates by meaning, with this embedder (see
            :data:`vs_common.metrics.Embedder`); None merges by key only.
        similarity: Cosine similarity at or above which two candidates are
            the same (see :data:`SEMANTIC_SIMILARITY`).
        key: Maps a candidate to its identity (default :func:`normalize_key`).

    Example:
        >>> DistinctPolicy(max_calls=12).patience
        2
    """

    max_calls: int | None = None
    patience: int = 2
    parallel: int = 1
    adaptive: bool = True
    max_shown: int = 30
    max_shown_chars: int = 4000
    embedder: Embedder | None = None
    similarity: float = SEMANTIC_SIMILARITY
    key: Callable[[str], str] = field(default=normalize_key)

    def __post_init__(self) -> None:
        """Check the numbers."""
        for name in ("max_calls", "patience", "parallel", "max_shown", "max_shown_chars"):
            value = getattr(self, name)
            if value is None and name == "max_calls":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"DistinctPolicy.{name} must be an integer >= 1, got {value!r}"
                raise VSConfigError(msg, field=name)
        s = self.similarity
        if isinstance(s, bool) or not isinstance(s, int | float) or not 0.0 < s <= 1.0:
            msg = f"DistinctPolicy.similarity must be in (0, 1], got {s!r}"
            raise VSConfigError(msg, field="similarity")

    def budget(self, config: VSConfig) -> int:
        """The call budget for ``config`` (``max_calls`` or its default)."""
        if self.max_calls is not None:
            return self.max_calls
        return _BUDGET_FACTOR * config.num_calls


@dataclass(frozen=True)
class DistinctResult:
    """The distinct candidates and how they were found.

    Attributes:
        distribution: The distinct candidates (at most n, in the order found),
            each with the pooled probability mass of it and its duplicates
            (renormalized), ``count`` = how often it came; usage, failures
            and ``num_calls`` over every round; ``requested`` = n,
            ``shortfall`` = the distinct candidates still missing,
            ``top_up_calls`` = calls beyond the ceil(n/k) of a plain run.
        stats: How many distinct, after how many calls, and why it stopped.

    Example:
        >>> r = DistinctResult(
        ...     VerbalizedDistribution(candidates=[]),
        ...     DistinctStats(wanted=1, distinct=0, calls=0, rounds=0, stop_reason="budget"),
        ... )
        >>> r.stats.stop_reason
        'budget'
    """

    distribution: VerbalizedDistribution
    stats: DistinctStats


@dataclass
class _Held:
    text: str
    raw_probability: float | None
    mass: float = 0.0
    count: int = 0


class _Pool:
    """The distinct candidates held so far, merged by key and (optionally) meaning."""

    def __init__(self, policy: DistinctPolicy) -> None:
        self.policy = policy
        self.by_key: dict[str, int] = {}
        self.held: list[_Held] = []
        self.vectors: npt.NDArray[np.float64] | None = None
        self.duplicates = 0
        self.semantic_duplicates = 0

    def add(self, candidates: Sequence[Candidate], weight: float) -> int:
        """Merge one call's (or round's) candidates; returns how many were new."""
        keyed = [(c, self.policy.key(c.text)) for c in candidates]
        unseen = [i for i, (_, k) in enumerate(keyed) if k not in self.by_key]
        vectors = self._embed([keyed[i][0].text for i in unseen])
        row_of = {i: row for row, i in enumerate(unseen)}
        added = 0
        for i, (c, k) in enumerate(keyed):
            if k in self.by_key:  # held already, or repeated within this round
                self._merge(self.by_key[k], c, weight)
                self.duplicates += c.count
                continue
            self.duplicates += c.count - 1  # repeats a pooled call already merged
            if vectors is not None:
                vector = vectors[row_of[i]]
                match = self._similar(vector)
                if match is not None:
                    self._merge(match, c, weight)
                    self.by_key[k] = match  # the same wording again merges by key
                    self.semantic_duplicates += 1
                    continue
                row = vector[None, :]
                self.vectors = row if self.vectors is None else np.vstack([self.vectors, row])
            self.by_key[k] = len(self.held)
            self.held.append(_Held(c.text, c.raw_probability, c.probability * weight, c.count))
            added += 1
        return added

    def _merge(self, index: int, c: Candidate, weight: float) -> None:
        held = self.held[index]
        held.mass += c.probability * weight
        held.count += c.count

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float64] | None:
        if self.policy.embedder is None:
            return None
        if not texts:  # every candidate is a duplicate by key: nothing to embed
            return np.empty((0, 0), dtype=np.float64)
        vectors = embed_texts(texts, self.policy.embedder)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.where(norms == 0.0, 1.0, norms), dtype=np.float64)

    def _similar(self, vector: npt.NDArray[np.float64]) -> int | None:
        if self.vectors is None:
            return None
        sims = self.vectors @ vector
        best = int(np.argmax(sims))
        return best if float(sims[best]) >= self.policy.similarity else None


def distinct_texts(texts: Sequence[str], policy: DistinctPolicy | None = None) -> list[str]:
    """The distinct texts, in order, by the same rule :func:`run_distinct` merges with.

    Args:
        texts: Any texts (e.g. the candidates of a plain VS run).
        policy: Its ``key``, ``embedder`` and ``similarity`` decide what is a
            duplicate (default: the key only).

    Returns:
        The first text of each group of duplicates.

    Example:
        >>> distinct_texts(["Ohio", "ohio!", "Utah", "OHIO"])
        ['Ohio', 'Utah']
    """
    held = _Pool(policy if policy is not None else DistinctPolicy())
    held.add([Candidate(text=t, probability=1.0) for t in texts], 1.0)
    return [h.text for h in held.held]


# --------------------------------------------------------------------------- prompts


def _ask_more(config: VSConfig) -> str:
    if config.method.is_verbalized:
        multi = VSConfig(
            method=Method.VS_MULTI,
            k=config.k,
            threshold=config.threshold,
            probability_format=config.effective_probability_format,
            output_format=config.output_format,
        )
        text = followup_instruction(multi)
        return text if text is not None else ""  # vs_multi always has one
    if config.method.is_list:
        count = f"{config.k}" if config.k is not None else "as many"
        more = "" if config.k is not None else " as you see fit"
        return f"Generate {count} alternative responses{more} to the original input prompt."
    return "Generate another response to the original input prompt."


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _ITEM_CHARS else flat[: _ITEM_CHARS - 3] + "..."


def _shown(found: Sequence[str], max_shown: int, max_chars: int) -> list[str]:
    """The candidates to list: all that fit, else the newest half and a spread of the rest."""
    items = [_one_line(t) for t in found]
    if len(items) > max_shown:
        newest = max(1, max_shown // 2)
        older, recent = items[:-newest], items[-newest:]
        spread = max_shown - newest
        step = len(older) / spread if spread else 0.0
        items = [older[int(i * step)] for i in range(spread)] + recent
    kept: list[str] = []
    used = 0
    for text in reversed(items):  # the newest are kept first when characters run out
        used += len(text) + 3
        if used > max_chars and kept:
            break
        kept.append(text)
    return kept[::-1]


def distinct_followup(
    config: VSConfig, found: Sequence[str], *, max_shown: int = 30, max_chars: int = 4000
) -> str:
    """The user turn of a later round: more responses, different from those found.

    The request is the VS-Multi follow-up ("Generate k alternative responses
    to the original input prompt.", with the tail sentence of a threshold),
    then the candidates found so far as a bounded list.

    Args:
        config: The method, k, threshold and formats of the run.
        found: The distinct candidates held, oldest first.
        max_shown: Candidates listed at most (the newest half, and an evenly
            spread sample of the older ones, when there are more).
        max_chars: Characters of the list at most (the newest kept first).

    Returns:
        The text of the user turn.

    Example:
        >>> text = distinct_followup(VSConfig(method="sequence", k=2), ["Ohio", "Utah"])
        >>> text.splitlines()[0][:62]
        'Generate 2 alternative responses to the original input prompt.'
        >>> text.splitlines()[1:]
        ['- Ohio', '- Utah']
    """
    shown = _shown(found, max_shown, max_chars)
    note = f" ({len(shown)} of the {len(found)} are listed)" if len(shown) < len(found) else ""
    lines = "\n".join(f"- {text}" for text in shown)
    return (
        f"{_ask_more(config)} Each must be different from every response already"
        f" given{note}:\n{lines}"
    )


def _render_reply(dist: VerbalizedDistribution, config: VSConfig) -> str:
    """The previous round's answer, as the assistant turn of the next round."""
    texts = [_one_line(c.text) for c in dist.candidates]
    if config.method.is_verbalized:
        fmt = config.effective_probability_format
        scale = 100.0 if fmt == "percentage" else 1.0
        stated = [
            c.raw_probability if c.raw_probability is not None else c.probability
            for c in dist.candidates
        ]
        values = [round(p * scale, 4) for p in stated]
        if config.output_format == "xml":
            return "\n".join(
                f"<response><text>{t}</text><{fmt}>{v:g}</{fmt}></response>"
                for t, v in zip(texts, values, strict=True)
            )
        items = [{"text": t, fmt: v} for t, v in zip(texts, values, strict=True)]
        return json.dumps({"responses": items}, ensure_ascii=False)
    if config.method.is_list:
        if config.output_format == "xml":
            return "\n".join(f"<response>{t}</response>" for t in texts)
        return json.dumps(texts, ensure_ascii=False)
    return texts[0]


# --------------------------------------------------------------------------- running


class _RoundCall:
    """The call of every round, numbered over the whole run (not per round).

    It also remembers that the server rejected structured output, so later
    rounds ask for text.
    """

    def __init__(self, call: Call) -> None:
        self.call = call
        self.offset = 0  # calls of the earlier rounds
        self.rejected = False

    async def __call__(
        self, request: CallRequest
    ) -> CallResponse | str | Mapping[str, Any] | Sequence[Any]:
        numbered = dataclasses.replace(request, call_index=request.call_index + self.offset)
        try:
            return await self.call(numbered)
        except VSStructuredOutputUnsupported:
            self.rejected = True
            raise


def _round_config(config: VSConfig, calls: int) -> VSConfig:
    data = config.model_dump()  # k=None (the model decides) must stay None
    if config.method.is_conversation:
        data["turns"] = calls  # n stays: vs_multi announces the total
    elif config.per_call is not None:
        data["n"] = calls * config.per_call
    else:  # the model decides k: n=1 plans one call and no top-up waves (this loop is one)
        data["n"] = 1
    return VSConfig(**data)


_ASSUMED_PER_CALL = 5  # candidates a call gives when the model decides k


def _base_conversation(prompt: str | Sequence[Message]) -> list[Message]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in prompt]


@dataclass
class _Totals:
    calls: int = 0
    received: int = 0
    failed: int = 0
    usage: Usage | None = None
    failures: list[CallFailure] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)

    def add(self, dist: VerbalizedDistribution) -> None:
        offset = self.calls
        self.failures += [
            f.model_copy(update={"call_index": f.call_index + offset}) for f in dist.failures
        ]
        self.calls += dist.num_calls
        self.received += len(dist.all_texts())
        self.failed += len(dist.failures)
        if dist.usage is not None:
            self.usage = dist.usage if self.usage is None else self.usage + dist.usage
        self.repairs += dist.repairs
        if dist.reasoning:
            self.reasoning.append(dist.reasoning)


@dataclass
class _Tally:
    """New candidates per call of each kind of round: follow-up (True) or fresh (False)."""

    calls: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    added: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    new_per_round: list[int] = field(default_factory=list)

    def record(self, *, follow_up: bool, calls: int, added: int) -> None:
        self.calls[follow_up] += calls
        self.added[follow_up] += added
        self.new_per_round.append(added)

    def follow_up_next(self, adaptive: bool) -> bool:
        if not adaptive or not self.calls[True] or not self.calls[False]:
            return True  # the first round is fresh; try a follow-up before judging
        fresh = self.added[False] / self.calls[False]
        return self.added[True] / self.calls[True] >= fresh


def _forward(
    on_progress: Callable[[Progress], None] | None, totals: _Totals, budget: int
) -> Callable[[Progress], None] | None:
    if on_progress is None:
        return None
    callback = on_progress

    def forward(p: Progress) -> None:
        callback(
            Progress(
                calls_done=totals.calls + p.calls_done,
                calls_planned=budget,
                candidates=totals.received + p.candidates,
                failures=totals.failed + p.failures,
                distribution=p.distribution,
            )
        )

    return forward


async def run_distinct(
    prompt: str | Sequence[Message],
    config: VSConfig,
    call: Call,
    policy: DistinctPolicy | None = None,
    *,
    structured: Structured = "auto",
    max_concurrency: int = 8,
    retry: RetryPolicy | None = None,
    min_successes: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    jitter_seed: int | None = None,
    seed: int | None = None,
) -> DistinctResult:
    """Ask until ``config.total`` distinct candidates are held, or the budget is spent.

    Args:
        prompt: The user's task, or a conversation (role/content dicts).
        config: Method, k (per call), n (distinct candidates wanted),
            threshold and formats.
        call: The async model call (see :mod:`vs_common.calls`).
        policy: Budget, patience, listing bounds and semantic merging.
        structured: As for :func:`~vs_common.sampling.run_sampling`; once the
            server rejects structured output, later rounds ask for text.
        max_concurrency: Calls in flight at once (with ``policy.parallel``).
        retry: Retry, re-ask and timeout policy of each call.
        min_successes: Fewest successful calls to accept; below it the run
            raises :class:`VSSamplingError` (0 accepts an empty result).
        on_progress: Called after each call ends (calls counted over the
            whole run, planned = the budget).
        sleep: The coroutine used to wait between retries.
        jitter_seed: Seed of the backoff jitter.
        seed: Seed of a method's own draws (see
            :func:`~vs_common.sampling.run_sampling`).

    Returns:
        The distinct candidates and :class:`DistinctStats`.

    Raises:
        VSConfigError: A bad argument.
        VSSamplingError: Fewer than ``min_successes`` calls succeeded.
    """
    policy = policy if policy is not None else DistinctPolicy()
    # this loop is the top-up: a round is exactly the calls it plans
    round_retry = dataclasses.replace(retry or RetryPolicy(), max_top_up_calls=0)
    wanted = config.total
    budget = policy.budget(config)
    if isinstance(min_successes, bool) or not 0 <= min_successes <= budget:
        msg = (
            f"min_successes must be between 0 and the budget of {budget} calls, got {min_successes}"
        )
        raise VSConfigError(msg, field="min_successes")
    per_call = config.per_call or _ASSUMED_PER_CALL
    base = _base_conversation(prompt)
    watch = _RoundCall(call)
    held = _Pool(policy)
    totals = _Totals()
    forward = _forward(on_progress, totals, budget)
    last: VerbalizedDistribution | None = None
    tally = _Tally()
    repeating = failing = 0
    stop: StopReason = "budget"
    while True:
        if len(held.held) >= wanted:
            stop = "reached_n"
            break
        if totals.calls >= budget:
            stop = "budget"
            break
        if repeating >= policy.patience or failing >= policy.patience:
            stop = "repeating" if repeating >= policy.patience else "failing"
            break
        need = math.ceil((wanted - len(held.held)) / per_call)
        calls = max(1, min(policy.parallel, need, budget - totals.calls))
        if config.per_call is None and not config.method.is_conversation:
            calls = 1  # see _round_config
        follow_up = last is not None and tally.follow_up_next(policy.adaptive)
        round_prompt: str | Sequence[Message] = prompt
        if follow_up and last is not None:
            follow = distinct_followup(
                config,
                [h.text for h in held.held],
                max_shown=policy.max_shown,
                max_chars=policy.max_shown_chars,
            )
            round_prompt = [
                *base,
                {"role": "assistant", "content": _render_reply(last, config)},
                {"role": "user", "content": follow},
            ]
        watch.offset = totals.calls
        dist = await run_calls(
            round_prompt,
            _round_config(config, calls),
            watch,
            structured="text" if structured == "auto" and watch.rejected else structured,
            max_concurrency=max_concurrency,
            retry=round_retry,
            min_successes=0,
            on_progress=forward,
            sleep=sleep,
            jitter_seed=jitter_seed,
            seed=seed,
        )
        successes = dist.num_calls - len(dist.failures)
        totals.add(dist)
        added = held.add(dist.candidates, float(successes)) if dist.candidates else 0
        tally.record(follow_up=follow_up, calls=dist.num_calls, added=added)
        if dist.candidates:
            last = dist
        if added:
            repeating = failing = 0
        elif successes == 0:
            failing += 1
        else:
            repeating += 1
    return _result(held, totals, tally, config, stop, min_successes)


def _result(
    held: _Pool,
    totals: _Totals,
    tally: _Tally,
    config: VSConfig,
    stop: StopReason,
    min_successes: int,
) -> DistinctResult:
    wanted = config.total
    kept = held.held[:wanted]
    mass = math.fsum(h.mass for h in kept) or 1.0
    stats = DistinctStats(
        wanted=wanted,
        distinct=len(kept),
        calls=totals.calls,
        rounds=len(tally.new_per_round),
        stop_reason=stop,
        duplicates=held.duplicates,
        semantic_duplicates=held.semantic_duplicates,
        dropped=len(held.held) - len(kept),
        follow_up_calls=tally.calls[True],
        new_per_round=tally.new_per_round,
    )
    dist = VerbalizedDistribution(
        candidates=[
            Candidate(
                text=h.text,
                probability=h.mass / mass,
                raw_probability=h.raw_probability,
                index=i,
                count=h.count,
            )
            for i, h in enumerate(kept)
        ],
        reasoning="\n\n".join(totals.reasoning) if totals.reasoning else None,
        repairs=totals.repairs,
        usage=totals.usage,
        failures=totals.failures,
        num_calls=totals.calls,
        requested=wanted,
        shortfall=wanted - len(kept),
        top_up_calls=max(0, totals.calls - config.num_calls),
        distinct=stats,
    )
    successes = totals.calls - len(totals.failures)
    if successes < min_successes:
        first = totals.failures[0] if totals.failures else None
        detail = f"; first failure: {first.error_type}: {first.message[:200]}" if first else ""
        msg = f"only {successes} of {totals.calls} calls succeeded{detail}"
        raise VSSamplingError(msg, partial=dist if kept else None, failures=totals.failures)
    return DistinctResult(dist, stats)
