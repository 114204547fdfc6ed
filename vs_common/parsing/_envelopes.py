"""Envelopes people hand over instead of the reply: what they carry, unwrapped.

A chat message (``{"role": "assistant", "content": ..., "tool_calls": [...]}``),
an OpenAI chat completion or completion, LangChain and Anthropic content
blocks, a tool call (OpenAI, Anthropic ``tool_use``, Llama ``parameters``,
Gemini ``functionCall``, the Responses API's ``function_call``), a Gemini or
Ollama response. Each is recognized by its structure, never by one key, so a
candidate object is never taken for one: ``{"text": ..., "probability": ...}``
is no envelope, and an envelope's ``"role": "assistant"`` is never a candidate.

Tool-call arguments come before text: when a message holds both, the text is
the model's prose around the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from vs_common.parsing._common import PROB_SET, key_of

_ASSISTANT_ROLES = frozenset({"assistant", "model", "ai"})
_AI_TYPES = frozenset({"ai", "aimessage", "aimessagechunk"})
_TEXT_BLOCKS = frozenset({"text", "output_text"})
_TOOL_BLOCKS = frozenset({"tool_use", "function_call", "tool_call", "server_tool_use"})
_THINKING_BLOCKS = frozenset({"thinking", "reasoning", "redacted_thinking"})
_OTHER_BLOCKS = frozenset({"image", "image_url", "document", "refusal", "input_text", "citation"})
_BLOCK_TYPES = _TEXT_BLOCKS | _TOOL_BLOCKS | _THINKING_BLOCKS | _OTHER_BLOCKS
_ARG_KEYS = ("arguments", "parameters", "args", "input")
_TOOL_CALL_KEYS = frozenset({"name", "id", "type", "index", "call_id", "status", *_ARG_KEYS})
_REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")


@dataclass
class Unwrapped:
    """What an envelope carries: tool arguments first, else reply texts.

    Attributes:
        what: The kind of envelope, for the repair notes.
        arguments: Tool-call arguments (decoded objects, or JSON text).
        texts: Reply texts (message contents, completion texts).
        reasoning: Reasoning the envelope carried apart from the reply.
        parts: How many replies it joins (several choices or tool calls).
    """

    what: str
    arguments: list[Any] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    reasoning: str | None = None

    def add(self, other: Unwrapped) -> None:
        self.arguments.extend(other.arguments)
        self.texts.extend(other.texts)
        self.reasoning = self.reasoning or other.reasoning


def unwrap(value: Any) -> Unwrapped | None:
    """What ``value`` carries, if it is an envelope; None for anything else."""
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list | tuple) and value:
        return _sequence(value)
    return None


# Every envelope has one of these keys: a mapping with none (a reply's own JSON) is
# passed over at once.
_ENVELOPE_KEYS = frozenset(
    {"choices", "role", "type", "lc", "object", "candidates", "parts", "model", "function",
     "functionCall", "name"}
)  # fmt: skip


def _mapping(obj: Mapping[Any, Any]) -> Unwrapped | None:
    if _ENVELOPE_KEYS.isdisjoint(obj.keys()):
        return None
    choices = obj.get("choices")
    if _is_list_of_mappings(choices) and all(_is_choice(c) for c in choices):
        return _join("chat completion", [_choice(c) for c in choices])
    if _is_message(obj):
        return _message(obj, "chat message")
    kwargs = obj.get("kwargs")
    if obj.get("lc") == 1 and isinstance(kwargs, Mapping) and "content" in kwargs:
        return _message(kwargs, "LangChain message")
    output = obj.get("output")
    if obj.get("object") == "response" and _is_list_of_mappings(output):
        return _blocks(output, "Responses API output")
    candidates = obj.get("candidates")
    if _is_list_of_mappings(candidates) and all(_is_gemini_candidate(c) for c in candidates):
        return _join("Gemini response", [_parts(c["content"]["parts"]) for c in candidates])
    if isinstance(obj.get("parts"), list) and isinstance(obj.get("role"), str):
        return _parts(obj["parts"])
    if isinstance(obj.get("model"), str) and "done" in obj:  # Ollama
        message = obj.get("message")
        if isinstance(message, Mapping):
            return _message(message, "Ollama response")
        if isinstance(obj.get("response"), str):
            return Unwrapped("Ollama response", texts=[obj["response"]])
    return _tool_call(obj)


def _sequence(items: Sequence[Any]) -> Unwrapped | None:
    if not all(isinstance(it, Mapping) for it in items):
        return None
    if all(_is_block(it) for it in items):
        return _blocks(items, "content blocks")
    calls = [_tool_call(it) for it in items]
    if all(c is not None for c in calls):
        return _join("tool calls", [c for c in calls if c is not None])
    if all(isinstance(it.get("role"), str) and "content" in it for it in items):
        replies = [it for it in items if _is_message(it)]  # a conversation: the model's turns
        return _message(replies[-1], "conversation") if replies else Unwrapped("conversation")
    return None


def _is_list_of_mappings(value: Any) -> TypeGuard[list[Mapping[Any, Any]]]:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _is_choice(c: Mapping[Any, Any]) -> bool:
    if isinstance(c.get("message"), Mapping) or isinstance(c.get("delta"), Mapping):
        return True
    return isinstance(c.get("text"), str) and ("finish_reason" in c or "index" in c)


def _choice(c: Mapping[Any, Any]) -> Unwrapped:
    message = c.get("message")
    if not isinstance(message, Mapping):
        message = c.get("delta")
    if isinstance(message, Mapping):
        return _message(message, "chat completion")
    return Unwrapped("completion", texts=[c["text"]])


def _is_message(obj: Mapping[Any, Any]) -> bool:
    role = obj.get("role")
    kind = obj.get("type")
    has_body = any(k in obj for k in ("content", "tool_calls", "function_call"))
    if isinstance(role, str) and role.lower() in _ASSISTANT_ROLES and has_body:
        return True
    if isinstance(kind, str) and key_of(kind) in _AI_TYPES and "content" in obj:
        return True
    return kind == "message" and isinstance(obj.get("content"), list)


def _message(obj: Mapping[Any, Any], what: str) -> Unwrapped:
    found = Unwrapped(what, reasoning=_reasoning(obj))
    calls = obj.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            inner = _tool_call(call) if isinstance(call, Mapping) else None
            if inner is not None:
                found.add(inner)
    legacy = obj.get("function_call")
    if isinstance(legacy, Mapping) and (inner := _tool_call(legacy)) is not None:
        found.add(inner)
    content = obj.get("content")
    if isinstance(content, str):
        found.texts.append(content)
    elif _is_list_of_mappings(content):
        found.add(_blocks(content, what))
    elif isinstance(content, list) and all(isinstance(c, str) for c in content):
        found.texts.append("".join(content))
    return found


def _reasoning(obj: Mapping[Any, Any]) -> str | None:
    for k in _REASONING_KEYS:
        v = obj.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _is_block(it: Mapping[Any, Any]) -> bool:
    kind = it.get("type")
    if not isinstance(kind, str) or kind not in _BLOCK_TYPES:
        return False
    return not any(isinstance(k, str) and key_of(k) in PROB_SET for k in it)


def _blocks(items: Sequence[Mapping[Any, Any]], what: str) -> Unwrapped:
    """Content blocks: text blocks make one reply text; tool blocks carry arguments."""
    found = Unwrapped(what)
    texts: list[str] = []
    for it in items:
        kind = it.get("type")
        if kind in _TEXT_BLOCKS and isinstance(it.get("text"), str):
            texts.append(it["text"])
        elif kind in _TOOL_BLOCKS and (inner := _tool_call(it)) is not None:
            found.add(inner)
        elif kind == "message" and isinstance(it.get("content"), list):
            found.add(_message(it, what))
        elif kind in _THINKING_BLOCKS:
            thought = it.get("thinking") or it.get("text") or it.get("summary")
            if isinstance(thought, str) and thought.strip():
                found.reasoning = found.reasoning or thought.strip()
    if texts:
        found.texts.append("".join(texts))
    return found


def _is_gemini_candidate(c: Mapping[Any, Any]) -> bool:
    content = c.get("content")
    return isinstance(content, Mapping) and isinstance(content.get("parts"), list)


def _parts(parts: list[Any]) -> Unwrapped:
    """Gemini parts: text parts make one reply; ``functionCall`` parts carry arguments."""
    found = Unwrapped("Gemini content")
    texts: list[str] = []
    for p in parts:
        if not isinstance(p, Mapping):
            continue
        call = p.get("functionCall") or p.get("function_call")
        if isinstance(call, Mapping) and (inner := _tool_call(call)) is not None:
            found.add(inner)
        elif isinstance(p.get("text"), str):
            if p.get("thought") is True:
                found.reasoning = found.reasoning or p["text"].strip() or None
            else:
                texts.append(p["text"])
    if texts:
        found.texts.append("".join(texts))
    return found


def _tool_call(obj: Mapping[Any, Any]) -> Unwrapped | None:
    """A tool call's arguments, in any family's form; None if ``obj`` is no tool call."""
    function = obj.get("function")
    if isinstance(function, Mapping) and "arguments" in function:
        return Unwrapped("tool call", arguments=[function["arguments"]])
    call = obj.get("functionCall")
    if isinstance(call, Mapping):
        return _tool_call(call)
    if not isinstance(obj.get("name"), str) or not set(obj) <= _TOOL_CALL_KEYS:
        return None
    for k in _ARG_KEYS:
        if k in obj and isinstance(obj[k], Mapping | list | str):
            return Unwrapped("tool call", arguments=[obj[k]])
    return None


def _join(what: str, parts: list[Unwrapped]) -> Unwrapped:
    found = Unwrapped(what)
    for p in parts:
        found.add(p)
    return found
