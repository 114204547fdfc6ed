"""The machinery of a sampling run (private): calls, retries, re-asks, top-ups, pooling.

:func:`vs_common.sampling.run_sampling` is the public entry point; it runs
:func:`run_calls` here, or :func:`vs_common.distinct.run_distinct`, which
builds its rounds on :func:`run_calls` too. Keeping the machinery in its own
module keeps the import graph acyclic (``sampling`` -> ``distinct`` -> here).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from vs_common._logging import logger
from vs_common.alternatives import Context, Output, Reader, alternative
from vs_common.calls import Call, CallRequest, CallResponse, redact_secrets
from vs_common.distribution import VerbalizedDistribution, pool
from vs_common.errors import (
    VSConfigError,
    VSParseError,
    VSSamplingError,
    VSStructuredOutputUnsupported,
)
from vs_common.methods import (
    COMPLETION_STOP,
    Method,
    VSConfig,
    build_messages,
    completion_prompt,
    compose_messages,
    response_schema,
    system_instruction,
    trim_completion,
)
from vs_common.parsing import parse_distribution
from vs_common.providers import is_transient, normalize_finish_reason, retry_after_seconds
from vs_common.types import CallFailure, Message, StructuredMode, Usage

__all__ = [
    "Progress",
    "RetryPolicy",
    "Structured",
    "check_run_args",
    "check_seed",
    "run_calls",
    "run_sync",
]

Structured = Literal["auto", "tool", "json_schema", "text"]
T = TypeVar("T")

_log = logger("vs_common.sampling")  # the public module users configure

# When the model decides k, the plan assumes 5 per call; a model that gives
# fewer needs several times the planned calls (the default top-up budget).
_MODEL_K_TOP_UP_FACTOR = 3


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a call counts as failed.

    Attributes:
        max_retries: Retries of a call after a transient error.
        max_reasks: Re-asks after a reply that could not be parsed.
        backoff_base: First backoff delay in seconds (doubles each retry).
        backoff_max: Longest backoff delay.
        jitter: Random spread of each delay, as a fraction (0.25 = +-25%).
        max_retry_after: Longest Retry-After honoured; longer waits fail the call.
        timeout: Seconds one attempt may take (None: no limit of our own).
        max_top_up_calls: Further calls a run may make, beyond its planned
            ceil(n/k), while it holds fewer than n samples (a reply cut by
            max_tokens, a call that failed after its retries, a model that
            gave fewer than k). None: half the planned calls, rounded up
            (three times the planned calls when the model decides k, since
            the plan then assumes 5 per call); 0: no top-ups.

    Example:
        >>> RetryPolicy(max_retries=5).max_reasks
        1
        >>> (
        ...     RetryPolicy().top_up_budget(planned=20),
        ...     RetryPolicy(max_top_up_calls=0).top_up_budget(20),
        ... )
        (10, 0)
    """

    max_retries: int = 3
    max_reasks: int = 1
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    timeout: float | None = None
    max_top_up_calls: int | None = None

    def __post_init__(self) -> None:
        """Check the numbers."""
        checks = {
            "max_retries": self.max_retries >= 0,
            "max_reasks": self.max_reasks >= 0,
            "backoff_base": self.backoff_base >= 0,
            "backoff_max": self.backoff_max >= 0,
            "jitter": 0 <= self.jitter <= 1,
            "max_retry_after": self.max_retry_after >= 0,
            "timeout": self.timeout is None or self.timeout > 0,
            "max_top_up_calls": self.max_top_up_calls is None or self.max_top_up_calls >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                msg = f"RetryPolicy.{name} is out of range: {getattr(self, name)!r}"
                raise VSConfigError(msg, field=name)

    def top_up_budget(self, planned: int, *, k_known: bool = True) -> int:
        """How many top-up calls a run of ``planned`` calls may make."""
        if self.max_top_up_calls is not None:
            return self.max_top_up_calls
        return math.ceil(planned / 2) if k_known else _MODEL_K_TOP_UP_FACTOR * planned

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based); None to give up."""
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return float(retry_after * (1.0 + self.jitter * rng.random() * 0.1))
        base = min(self.backoff_max, self.backoff_base * 2.0 ** (retry - 1))
        return float(max(0.0, base * (1.0 + self.jitter * (2.0 * rng.random() - 1.0))))


@dataclass(frozen=True)
class Progress:
    """A progress report after each call: calls done of planned, candidates, failures.

    Attributes:
        calls_done: Calls ended so far (successful or not).
        calls_planned: Calls planned in all.
        candidates: Candidates received so far.
        failures: Calls failed so far.
        distribution: The distribution of the call that just ended (None if
            it failed), so a caller can stream the growing pooled result.
    """

    calls_done: int
    calls_planned: int
    candidates: int
    failures: int
    distribution: VerbalizedDistribution | None = None


@dataclass
class _Outcome:
    dist: VerbalizedDistribution | None
    failure: CallFailure | None
    output: str | Mapping[str, Any] | Sequence[Any] | None = None  # what the model replied

    @property
    def reply(self) -> str | None:
        """The text kept in a conversation's history (made only when a conversation asks)."""
        return None if self.output is None else _as_text(self.output)


class _Run:
    """State shared by the calls of one run."""

    def __init__(
        self,
        config: VSConfig,
        call: Call,
        *,
        prompt: str | Sequence[Message],
        structured: Structured,
        retry: RetryPolicy,
        max_concurrency: int,
        sleep: Callable[[float], Awaitable[Any]],
        jitter_seed: int | None,
        seed: int | None,
        on_progress: Callable[[Progress], None] | None,
        planned: int,
        completion: str | None = None,
    ) -> None:
        self.config = config
        # direct_base: the plain-text prompt sent to /completions (no messages)
        self.completion = completion
        self.call = call
        self.prompt = prompt
        self.seed = seed
        self.prompt_digest = _digest(prompt) if seed is not None else 0
        self.retry = retry
        self.sleep = sleep
        self.jitter_seed = jitter_seed
        self._rng: random.Random | None = None
        self.on_progress = on_progress
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.schema = response_schema(config)
        self.mode: StructuredMode = "text"
        if self.schema is not None and structured != "text":
            self.mode = "tool" if structured == "auto" else structured
        self.auto = structured == "auto"
        self.usage = Usage()
        self.usage_seen = False
        self.planned = planned
        self.top_up_budget = retry.top_up_budget(planned, k_known=config.k is not None)
        self.top_ups = 0
        self.done = 0
        self.candidates = 0
        self.failed = 0

    @property
    def rng(self) -> random.Random:
        """The backoff jitter's generator, made at the first retry.

        Unseeded, it reads 2.5 kB of the OS's entropy: most runs never retry.
        """
        if self._rng is None:
            self._rng = random.Random(self.jitter_seed)  # noqa: S311 - jitter, not cryptography
        return self._rng

    def top_up_size(self, outcomes: list[_Outcome], last_wave: list[_Outcome]) -> int:
        """How many more calls to make now: 0 when the run holds n or must stop.

        A wave of top-ups runs only while the run is short of n, budget is
        left, and the previous wave delivered something (when every call of
        a wave failed, more of the same will not help).
        """
        have = _delivered(outcomes)
        missing = self.config.total - have
        left = self.top_up_budget - self.top_ups
        if missing <= 0 or left <= 0 or not any(o.dist for o in last_wave):
            return 0
        per_call = max(1.0, have / sum(1 for o in outcomes if o.dist is not None))
        return min(left, math.ceil(missing / per_call))

    def add_top_ups(self, extra: int, outcomes: list[_Outcome]) -> None:
        """Plan ``extra`` more calls (turns) because the run is short of n."""
        self.planned += extra
        self.top_ups += extra
        _log.info(
            "top-up: %d more call(s), %d of %d samples so far (%d of %d top-up calls used)",
            extra,
            _delivered(outcomes),
            self.config.total,
            self.top_ups,
            self.top_up_budget,
        )

    def report(self, outcome: _Outcome) -> None:
        self.done += 1
        if outcome.dist is not None:
            self.candidates += len(outcome.dist.candidates)
        else:
            self.failed += 1
        if self.on_progress is not None:
            self.on_progress(
                Progress(self.done, self.planned, self.candidates, self.failed, outcome.dist)
            )

    async def one_call(self, index: int, messages: list[Message]) -> _Outcome:
        """One logical call (one sample for a method of several calls): retries and all.

        A method of :mod:`vs_common.alternatives` with a program makes its
        calls through :meth:`request`, so each gets this policy; the sample
        fails when any of them does, after its retries and re-asks.
        """
        attempts = [0]  # attempts over every request of this sample
        alt = alternative(self.config.method)
        try:
            if alt is not None and alt.program is not None:
                dist = await alt.program(self._context(index, attempts))
                return _Outcome(dist=dist.model_copy(update={"num_calls": 1}), failure=None)
            read = alt.read if alt is not None else self._parse
            dist, output = await self.request(index, messages, self.schema, read, attempts)
        except _CallFailed as failed:
            return _Outcome(dist=None, failure=failed.failure)
        # One call's distribution (what on_progress sees); _result sets the run's count.
        dist = dist.model_copy(update={"num_calls": 1})
        return _Outcome(dist=dist, failure=None, output=output)

    def _parse(self, output: Output, truncated: bool) -> VerbalizedDistribution:
        return parse_distribution(output, method=self.config.method, truncated=truncated)

    def _context(self, index: int, attempts: list[int]) -> Context:
        """What a method's program gets for the sample of call ``index``."""

        async def ask(
            messages: list[Message], *, schema: dict[str, Any] | None, read: Reader
        ) -> VerbalizedDistribution:
            dist, _ = await self.request(index, messages, schema, read, attempts)
            return dist

        def compose(instruction: str, *, addendum: str | None = None) -> list[Message]:
            return compose_messages(self.prompt, instruction, addendum=addendum)

        config = self.config
        direct = VSConfig(method=Method.DIRECT, word_hint=config.word_hint)
        return Context(
            ask=ask,
            compose=compose,
            k=config.k,
            word_hint=config.word_hint,
            rng=self.sample_rng(index),
            direct_instruction=system_instruction(direct),
        )

    def sample_rng(self, index: int) -> np.random.Generator:
        """The generator of sample ``index``'s own draws: seed, index and prompt, or fresh."""
        if self.seed is None:
            return np.random.default_rng()
        return np.random.default_rng([self.seed, index, self.prompt_digest])

    async def request(
        self,
        index: int,
        messages: list[Message],
        schema: dict[str, Any] | None,
        read: Reader,
        attempts: list[int],
    ) -> tuple[VerbalizedDistribution, Output]:
        """One request: retries, structured-mode fallback and re-asks; raises _CallFailed."""
        retries = reasks = 0
        msgs = list(messages)
        while True:
            mode = self.mode if schema is not None else "text"
            request = CallRequest(
                messages=msgs,
                structured=mode,
                schema=schema if mode != "text" else None,
                call_index=index,
                attempt=attempts[0],
                prompt=self.completion,
                stop=COMPLETION_STOP if self.completion is not None else (),
            )
            attempts[0] += 1
            try:
                async with self.semaphore:
                    if self.retry.timeout is not None:
                        raw = await asyncio.wait_for(self.call(request), self.retry.timeout)
                    else:
                        raw = await self.call(request)
            except VSStructuredOutputUnsupported as exc:
                if self.auto and mode != "text":
                    if self.mode != "text":
                        _log.info(
                            "call %d: %s mode rejected, falling back to text: %s",
                            index,
                            mode,
                            _brief(exc),
                        )
                    self.mode = "text"  # for this call and every later one
                    continue
                raise self._failure(index, attempts[0], exc) from None
            except Exception as exc:  # noqa: BLE001 - a call may fail any way; we record it
                if is_transient(exc) and retries < self.retry.max_retries:
                    retries += 1
                    wait = self.retry.delay(retries, retry_after_seconds(exc), self.rng)
                    if wait is not None:
                        _log.info(
                            "call %d: %s; retry %d of %d in %.2f s",
                            index,
                            _brief(exc),
                            retries,
                            self.retry.max_retries,
                            wait,
                        )
                        await self.sleep(wait)
                        continue
                raise self._failure(index, attempts[0], exc) from None
            response = _as_response(raw)
            if self.completion is not None and isinstance(response.output, str):
                response.output = trim_completion(response.output)
            if response.usage is not None:
                self.usage = self.usage + response.usage
                self.usage_seen = True
            truncated = normalize_finish_reason(response.finish_reason) == "length"
            try:
                dist = read(response.output, truncated)
            except VSParseError as exc:
                if reasks < self.retry.max_reasks:
                    reasks += 1
                    _log.info(
                        "call %d: unreadable reply (%s); re-ask %d of %d",
                        index,
                        redact_secrets(exc.reason)[:200],
                        reasks,
                        self.retry.max_reasks,
                    )
                    if self.completion is None:  # a completion is simply asked again
                        msgs = [*msgs, *_reask_turns(response.output, exc, mode)]
                    continue
                raw_text = _as_text(response.output)
                raise self._failure(index, attempts[0], exc, raw_output=raw_text) from None
            return dist, response.output

    def _failure(
        self, index: int, attempts: int, exc: BaseException, raw_output: str | None = None
    ) -> _CallFailed:
        _log.info("call %d failed after %d attempts: %s", index, attempts, _brief(exc))
        failure = CallFailure(
            call_index=index,
            attempts=attempts,
            error_type=type(exc).__name__,
            message=redact_secrets(str(exc))[:500],
            raw_output=raw_output,
        )
        return _CallFailed(failure)


class _CallFailed(Exception):
    """A request failed for good (retries and re-asks spent); the sample fails."""

    def __init__(self, failure: CallFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _digest(prompt: str | Sequence[Message]) -> int:
    """64 bits of the prompt's sha256: the same prompt, the same draws for one seed."""
    text = prompt if isinstance(prompt, str) else json.dumps(list(prompt), default=str)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


def _brief(exc: BaseException) -> str:
    """An exception for a log line, keys redacted."""
    return f"{type(exc).__name__}: {redact_secrets(str(exc))[:200]}"


def _as_response(raw: CallResponse | str | Mapping[str, Any] | Sequence[Any]) -> CallResponse:
    if isinstance(raw, CallResponse):
        return raw
    return CallResponse(output=raw)


def _as_text(output: str | Mapping[str, Any] | Sequence[Any]) -> str:
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(output)


def _reask_turns(
    output: str | Mapping[str, Any] | Sequence[Any], error: VSParseError, mode: StructuredMode
) -> list[Message]:
    reply = _as_text(output)[:2000]
    fix = (
        f"Your reply could not be read ({error.reason}). Answer again, in exactly the"
        " format asked for, with no other text."
    )
    if mode != "text":
        fix += " Put the responses in the tool call's arguments."
    return [{"role": "assistant", "content": reply}, {"role": "user", "content": fix}]


def check_seed(seed: int | None) -> None:
    """A method's draw seed is a non-negative integer or None."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        msg = f"seed must be a non-negative integer or None, got {seed!r}"
        raise VSConfigError(msg, field="seed")


def check_run_args(
    config: VSConfig, max_concurrency: int, min_successes: int, planned: int
) -> None:
    if isinstance(max_concurrency, bool) or max_concurrency < 1:
        msg = f"max_concurrency must be at least 1, got {max_concurrency}"
        raise VSConfigError(msg, field="max_concurrency")
    if min_successes < 0 or min_successes > planned:
        msg = (
            f"min_successes must be between 0 and the {planned} planned calls"
            f" ({config.method.value}, n={config.total}, k={config.k}), got {min_successes}"
        )
        raise VSConfigError(msg, field="min_successes")


async def run_calls(
    prompt: str | Sequence[Message],
    config: VSConfig,
    call: Call,
    *,
    structured: Structured = "auto",
    max_concurrency: int = 8,
    retry: RetryPolicy | None = None,
    min_successes: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    jitter_seed: int | None = None,
    seed: int | None = None,
) -> VerbalizedDistribution:
    """One run: ceil(n/k) calls (or the turns of a conversation) and top-ups, pooled.

    The arguments are :func:`vs_common.sampling.run_sampling`'s, without ``distinct``.
    """
    policy = retry if retry is not None else RetryPolicy()
    planned = config.num_calls
    check_run_args(config, max_concurrency, min_successes, planned)
    check_seed(seed)
    completion = completion_prompt(prompt, config) if config.method.is_completion else None
    base: list[Message] = [] if completion is not None else build_messages(prompt, config)
    run = _Run(
        config,
        call,
        prompt=prompt,
        structured=structured,
        retry=policy,
        max_concurrency=max_concurrency,
        sleep=sleep,
        jitter_seed=jitter_seed,
        seed=seed,
        on_progress=on_progress,
        planned=planned,
        completion=completion,
    )
    if config.method.is_conversation:
        outcomes = await _conversation(run, prompt, planned)
    else:
        outcomes = await _independent(run, base, planned)
    return _result(run, outcomes, min_successes)


async def _tracked(run: _Run, index: int, messages: list[Message]) -> _Outcome:
    outcome = await run.one_call(index, messages)
    run.report(outcome)
    return outcome


def _delivered(outcomes: list[_Outcome]) -> int:
    """Samples the successful calls hold (a pooled duplicate counts each time)."""
    return sum(o.dist.num_samples for o in outcomes if o.dist is not None)


async def _wave(run: _Run, messages: list[Message], start: int, count: int) -> list[_Outcome]:
    """Calls ``start`` to ``start + count - 1``, all at once."""
    if count == 1:  # a lone call (k >= n) runs in the caller's task: no task of its own
        return [await _tracked(run, start, messages)]
    return list(await asyncio.gather(*(_tracked(run, start + i, messages) for i in range(count))))


async def _independent(run: _Run, messages: list[Message], planned: int) -> list[_Outcome]:
    wave = await _wave(run, messages, 0, planned)
    outcomes = list(wave)
    while extra := run.top_up_size(outcomes, wave):
        start = len(outcomes)
        run.add_top_ups(extra, outcomes)
        wave = await _wave(run, messages, start, extra)
        outcomes += wave
    return outcomes


async def _conversation(run: _Run, prompt: str | Sequence[Message], turns: int) -> list[_Outcome]:
    history: list[str] = []
    outcomes: list[_Outcome] = []

    async def turn() -> _Outcome:
        messages = build_messages(prompt, run.config, history=history)
        outcome = await _tracked(run, len(outcomes), messages)
        outcomes.append(outcome)
        if outcome.reply is not None:
            history.append(outcome.reply)
        return outcome

    for _ in range(turns):
        await turn()
    wave = list(outcomes)
    while run.top_up_size(outcomes, wave):  # further turns of the same conversation
        run.add_top_ups(1, outcomes)
        wave = [await turn()]
    return outcomes


def _result(run: _Run, outcomes: list[_Outcome], min_successes: int) -> VerbalizedDistribution:
    dists = [o.dist for o in outcomes if o.dist is not None]
    failures = [o.failure for o in outcomes if o.failure is not None]
    pooled = pool(dists).model_copy(
        update={
            "usage": run.usage if run.usage_seen else None,
            "failures": failures,
            "num_calls": len(outcomes),
            "requested": run.config.total,
            "shortfall": max(0, run.config.total - _delivered(outcomes)),
            "top_up_calls": run.top_ups,
        }
    )
    if len(dists) < min_successes:
        msg = (
            f"only {len(dists)} of {len(outcomes)} calls succeeded (at least {min_successes}"
            f" needed); first failure: {failures[0].error_type}: {failures[0].message[:200]}"
            if failures
            else f"only {len(dists)} of {len(outcomes)} calls succeeded"
        )
        raise VSSamplingError(msg, partial=pooled if dists else None, failures=failures)
    return pooled


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop.

    With no loop running in this thread it uses :func:`asyncio.run`; inside a
    running loop (a notebook, an async framework calling sync code) it runs
    the coroutine on a fresh loop in a worker thread and waits for it.

    Example:
        >>> async def two() -> int:
        ...     return 2
        >>> run_sync(two())
        2
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="vs-run-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["value"]
    return result
