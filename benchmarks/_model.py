"""The model the benchmarks talk to: the embedded SmolLM2 server, Gemma 3 270M, or a URL.

Shared by diversity.py, open_qa.py and distinct.py; only public names of the
project are used (:mod:`vs_common.backends.resolve`).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

from vs_common.backends.local_server import BASE_MODEL_ALIAS, DEFAULT_MODEL_ALIAS
from vs_common.backends.resolve import BackendOptions, open_backend
from vs_common.calls import Call
from vs_common.sampling import Progress


def base_options(
    *,
    base_url: str | None = None,
    model: str | None = None,
    gemma: bool = False,
    max_tokens: int = 512,
    temperature: float = 0.7,
    timeout: float = 600.0,
) -> BackendOptions:
    """The backend of a benchmark: ``base_url``, else an embedded model (never OpenAI by accident).

    Args:
        base_url: An OpenAI-compatible server; None starts an embedded model here.
        model: The model name to send (default: the server's).
        gemma: Serve the pretrained Gemma 3 270M instead of SmolLM2-135M-Instruct.
        max_tokens: Reply token limit.
        temperature: Sampling temperature.
        timeout: Seconds one request may take (the embedded server queues).
    """
    return BackendOptions(
        base_url=base_url,
        model=model,
        embedded=base_url is None,
        local_model=BASE_MODEL_ALIAS if gemma else DEFAULT_MODEL_ALIAS,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=timeout,
    )


@contextlib.contextmanager
def open_model(
    *,
    base_url: str | None = None,
    model: str | None = None,
    gemma: bool = False,
    max_tokens: int = 512,
    temperature: float = 0.7,
    timeout: float = 600.0,
) -> Iterator[tuple[Call, str]]:
    """A ``call`` and the model's name; starts (and stops) an embedded server when needed.

    The core's backend rule (:func:`vs_common.backends.resolve.open_backend`),
    as the ``vs`` command and ``verbalize()`` use it; see :func:`base_options`.
    """
    options = base_options(
        base_url=base_url,
        model=model,
        gemma=gemma,
        max_tokens=max_tokens,
        temperature=temperature,
        timeout=timeout,
    )
    with open_backend(options, on_status=lambda text: print(text, file=sys.stderr)) as backend:
        yield backend.call, backend.model


class Ticker:
    """Progress on stderr at most every ``interval`` seconds (benchmarks run for minutes)."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self.last = 0.0

    def show(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            print(text, file=sys.stderr, flush=True)

    def progress(self, label: str) -> Callable[[Progress], None]:
        def report(p: Progress) -> None:
            self.show(f"  {label}: call {p.calls_done}/{p.calls_planned}")

        return report
