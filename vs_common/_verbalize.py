"""One call from Python: :func:`verbalize` and :func:`averbalize`.

They resolve the backend as the ``vs`` command does
(:mod:`vs_common.backends.resolve`): ``base_url``; else OpenAI when
``OPENAI_API_KEY`` is set; else the embedded SmolLM2-135M model, started
once and kept for later calls in the process (stopped at exit, or use
:func:`vs_common.backends.resolve.embedded_server` for explicit control).
Then they run :func:`vs_common.sampling.run_sampling` and return the pooled
:class:`~vs_common.distribution.VerbalizedDistribution`.

Where our names differ from the authors' ``verbalized_sampling.verbalize``
(0.1.3): ``tau`` is accepted under both names (``threshold`` is the name of
:class:`~vs_common.methods.VSConfig` and of ``vs --threshold``), and it is a
*tail* threshold, as in the paper's prompt: the model is asked for
probabilities below tau and the result keeps the candidates stated below it
(at least ``min_k_survivors`` of them, tau relaxed if needed). The authors'
function keeps p >= tau, dropping that tail, and filters even when no tail
was asked for (its default tau is 0.12); ours filters only when tau is given.

Example:
    >>> import json
    >>> async def call(request):  # any model; here a stand-in
    ...     stated = [0.4, 0.3, 0.2, 0.06, 0.04]
    ...     return json.dumps(
    ...         [{"text": f"Joke {i}", "probability": p} for i, p in enumerate(stated)]
    ...     )
    >>> dist = verbalize("Write a joke about coffee", k=5, tau=0.1, call=call)
    >>> dist.texts
    ['Joke 2', 'Joke 3', 'Joke 4']
    >>> dist.history[-1]
    'filter: 2 of 5 candidates below tau=0.1, fewer than 3; tau relaxed to 0.2: kept 3'
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from vs_common._logging import logger
from vs_common._runner import RetryPolicy, Structured, run_sync
from vs_common.backends.local_server import DEFAULT_MODEL_ALIAS
from vs_common.backends.resolve import Backend, BackendOptions, shared_backend
from vs_common.calls import Call
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.methods import Method, VSConfig
from vs_common.sampling import run_sampling
from vs_common.types import Message

__all__ = ["averbalize", "verbalize"]

_log = logger("vs_common.verbalize")
DEFAULT_MIN_K_SURVIVORS = 3
"""The fewest tail candidates kept when tau is given (as in the authors' package)."""


def _threshold(tau: float | None, threshold: float | None) -> float | None:
    if tau is not None and threshold is not None and tau != threshold:
        msg = f"tau and threshold are one setting (the tail threshold): got {tau} and {threshold}"
        raise VSConfigError(msg, field="tau")
    return tau if tau is not None else threshold


async def averbalize(
    prompt: str | Sequence[Message],
    *,
    k: int | None = 5,
    n: int | None = None,
    method: Method | str = Method.VS_STANDARD,
    tau: float | None = None,
    threshold: float | None = None,
    min_k_survivors: int = DEFAULT_MIN_K_SURVIVORS,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    embedded: bool = False,
    local_model: str = DEFAULT_MODEL_ALIAS,
    seed: int | None = None,
    temperature: float | None = 0.7,
    max_tokens: int | None = 512,
    timeout: float = 180.0,
    structured: Structured = "auto",
    max_concurrency: int = 8,
    retry: RetryPolicy | None = None,
    call: Call | None = None,
    **config: Any,
) -> VerbalizedDistribution:
    """Sample a verbalized distribution (async); see :func:`verbalize`."""
    tail = _threshold(tau, threshold)
    vs_config = VSConfig(method=method, k=k, n=n, threshold=tail, **config)
    if call is not None:
        backend = Backend(call=call, model=model or "injected", label="injected call")
        client = None
    else:
        options = BackendOptions(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            embedded=embedded,
            local_model=local_model,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout=timeout,
            seed=seed,
        )
        # Probing a server or starting the embedded model blocks: not on the loop.
        backend = await asyncio.to_thread(shared_backend, options, on_status=_log.info)
        client = backend.client
    try:
        dist = await run_sampling(
            prompt,
            vs_config,
            backend.call,
            structured=structured,
            max_concurrency=max_concurrency,
            retry=retry,
            jitter_seed=seed,
        )
    except Exception as exc:
        backend.raise_if_died(exc)  # an embedded model that crashed says so, with its log
        raise
    finally:
        if client is not None:
            await client.aclose()  # this loop's connections (a notebook's loop lives on)
    if tail is not None:
        dist = dist.filter(below=tail, min_k_survivors=min_k_survivors)
    return dist


def verbalize(
    prompt: str | Sequence[Message],
    *,
    k: int | None = 5,
    n: int | None = None,
    method: Method | str = Method.VS_STANDARD,
    tau: float | None = None,
    threshold: float | None = None,
    min_k_survivors: int = DEFAULT_MIN_K_SURVIVORS,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    embedded: bool = False,
    local_model: str = DEFAULT_MODEL_ALIAS,
    seed: int | None = None,
    temperature: float | None = 0.7,
    max_tokens: int | None = 512,
    timeout: float = 180.0,
    structured: Structured = "auto",
    max_concurrency: int = 8,
    retry: RetryPolicy | None = None,
    call: Call | None = None,
    **config: Any,
) -> VerbalizedDistribution:
    """Ask a model for k candidates with their probabilities: the one-line form of VS.

    ``verbalize("Write a joke about coffee", k=5, tau=0.12).sample(seed=7).text``.
    The backend is chosen as the ``vs`` command chooses it; the run is
    :func:`~vs_common.sampling.run_sampling` (n samples over ceil(n/k)
    calls, retries, re-asks, the tool-call/text fallback, failures kept).
    It works from scripts and from running event loops (a notebook): there
    it runs on a worker thread; in async code prefer :func:`averbalize`.

    Args:
        prompt: The task, or a conversation (role/content dicts).
        k: Candidates per call (None: as many as the model sees fit).
        n: Samples in all (default k), over ceil(n/k) calls.
        method: The prompting method (default ``vs_standard``; ``direct_base``
            for a base model over ``/completions``).
        tau: Tail threshold in (0, 1]: the prompt asks for probabilities
            below it and the result keeps the candidates stated below it.
        threshold: The same setting under :class:`VSConfig`'s name.
        min_k_survivors: With tau, keep at least this many candidates,
            relaxing tau (the result's ``history`` says so).
        model: The model name (default: the backend's).
        base_url: An OpenAI-compatible server (vLLM, Ollama, llama.cpp...).
        api_key_env: The environment variable that holds the key to send.
        embedded: Use the embedded model even when ``OPENAI_API_KEY`` is set.
        local_model: Which embedded model (``smollm2-135m-instruct``, or
            ``gemma-3-270m``, a base model, with ``method="direct_base"``).
        seed: The server's sampling seed (call i sends seed + i, so a rerun
            repeats the calls where the server honours it) and the retry
            jitter's seed; choose a candidate with ``.sample(seed=...)``.
        temperature: Sampling temperature sent to the server.
        max_tokens: Reply token limit.
        timeout: Seconds one request may take.
        structured: ``auto`` (tool calling, falling back to text), ``tool``,
            ``json_schema`` or ``text``.
        max_concurrency: Calls in flight at once.
        retry: Retry, re-ask and top-up policy.
        call: A model call to use instead of any server (see :mod:`vs_common.calls`).
        **config: Other :class:`VSConfig` fields (``probability_format``,
            ``output_format``, ``turns``, ``word_hint``).

    Returns:
        The pooled distribution (with ``usage``, ``failures``, ``history``).

    Raises:
        VSConfigError: A bad setting, named.
        VSSamplingError: No call succeeded (the failures are attached).
        BackendUnavailable: The server cannot be reached, or the embedded
            model is not installed (the message names the extra).
        LocalServerDied: The embedded model's process died (the error names
            the signal, says what to do and carries the server's log).
    """
    return run_sync(
        averbalize(
            prompt,
            k=k,
            n=n,
            method=method,
            tau=tau,
            threshold=threshold,
            min_k_survivors=min_k_survivors,
            model=model,
            base_url=base_url,
            api_key_env=api_key_env,
            embedded=embedded,
            local_model=local_model,
            seed=seed,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout=timeout,
            structured=structured,
            max_concurrency=max_concurrency,
            retry=retry,
            call=call,
            **config,
        )
    )
