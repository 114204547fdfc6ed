"""Envelopes people hand over instead of the reply are unwrapped to what they carry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vs_common import VSParseError, parse_distribution

ARGS = {
    "responses": [
        {"text": "Decaf? Never.", "probability": 0.3},
        {"text": "Espresso yourself.", "probability": 0.7},
    ]
}
ARG_TEXT = json.dumps(ARGS)
REPLY = "1. Decaf? Never. (probability: 0.3)\n2. Espresso yourself. (probability: 0.7)"
TEXTS = ["Decaf? Never.", "Espresso yourself."]


def _tool_call(arguments: Any) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}


ENVELOPES: dict[str, Any] = {
    # The wrong answer: this came back as one candidate, "assistant", p=1.0.
    "openai_message_tool_call": {
        "role": "assistant",
        "content": None,
        "tool_calls": [_tool_call(ARG_TEXT)],
    },
    "openai_message_text": {"role": "assistant", "content": REPLY},
    "openai_message_content_parts": {
        "role": "assistant",
        "content": [{"type": "text", "text": REPLY[:20]}, {"type": "text", "text": REPLY[20:]}],
    },
    "openai_legacy_function_call": {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "f", "arguments": ARG_TEXT},
    },
    "chat_completion": {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}}],
    },
    "chat_completion_tool_call": {
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "tool_calls": [_tool_call(ARG_TEXT)]}}
        ],
    },
    "text_completion": {
        "object": "text_completion",
        "choices": [{"text": REPLY, "index": 0, "finish_reason": "stop"}],
    },
    "stream_chunk_delta": {"choices": [{"index": 0, "delta": {"content": REPLY}}]},
    "content_blocks": [{"type": "text", "text": REPLY}],
    "anthropic_tool_use": [
        {"type": "text", "text": "Here you go."},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": ARGS},
    ],
    "anthropic_message": {
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "1. draft (1.0)"},
            {"type": "text", "text": REPLY},
        ],
    },
    "bare_tool_call": {"name": "f", "arguments": ARG_TEXT},
    "bare_tool_call_decoded": {"name": "f", "arguments": ARGS},
    "llama_parameters": {"name": "f", "parameters": ARGS},
    "langchain_tool_call": {
        "type": "ai",
        "content": "",
        "tool_calls": [{"name": "f", "args": ARGS, "id": "1"}],
    },
    "langchain_serialized": {"lc": 1, "type": "constructor", "kwargs": {"content": REPLY}},
    "gemini_text": {"candidates": [{"content": {"parts": [{"text": REPLY}], "role": "model"}}]},
    "gemini_function_call": {
        "candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": ARGS}}]}}]
    },
    "gemini_content": {"role": "model", "parts": [{"text": REPLY}]},
    "ollama_chat": {
        "model": "qwen",
        "message": {"role": "assistant", "content": REPLY},
        "done": True,
    },
    "ollama_generate": {"model": "llama3", "response": REPLY, "done": True},
    "responses_api_message": {
        "object": "response",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": REPLY}]}],
    },
    "responses_api_function_call": {
        "object": "response",
        "output": [{"type": "function_call", "name": "f", "arguments": ARG_TEXT}],
    },
    "conversation": [
        {"role": "system", "content": "Give 2 jokes with probabilities."},
        {"role": "user", "content": "1. not this (0.5)\n2. nor this (0.5)"},
        {"role": "assistant", "content": REPLY},
    ],
    "tool_calls_list": [{"name": "f", "arguments": ARGS}],
}


@pytest.mark.parametrize("name", sorted(ENVELOPES))
@pytest.mark.parametrize("as_text", [False, True], ids=["decoded", "as_text"])
def test_envelope_is_unwrapped(name: str, as_text: bool) -> None:
    envelope = ENVELOPES[name]
    dist = parse_distribution(json.dumps(envelope) if as_text else envelope)
    assert dist.texts == TEXTS
    assert [round(p, 6) for p in dist.probabilities] == [0.3, 0.7]


@pytest.mark.parametrize(
    "text",
    [
        # Hermes, Qwen
        f"<tool_call>\n{json.dumps({'name': 'f', 'arguments': ARGS})}\n</tool_call>",
        "[TOOL_CALLS] " + json.dumps([{"name": "f", "arguments": ARGS}]),  # Mistral
        "Calling the tool: " + json.dumps({"name": "f", "parameters": ARGS}),  # Llama 3.1
    ],
)
def test_tool_calls_written_as_text_by_open_models(text: str) -> None:
    assert parse_distribution(text).texts == TEXTS


def test_json_string_holding_the_reply_is_decoded() -> None:
    """Regression: some gateways encode tool arguments twice; this raised VSParseError."""
    once = json.dumps(ARGS)
    for payload in (json.dumps(once), json.dumps(json.dumps(once))):
        dist = parse_distribution(payload)
        assert dist.texts == TEXTS
        assert "decoded a reply sent as a JSON string" in dist.repairs
    assert parse_distribution(_tool_call(json.dumps(once))).texts == TEXTS


def test_reasoning_carried_apart_from_the_reply_is_kept() -> None:
    message = {"role": "assistant", "content": REPLY, "reasoning_content": "Weighing puns."}
    assert parse_distribution(message).reasoning == "Weighing puns."
    blocks = ENVELOPES["anthropic_message"]
    assert parse_distribution(blocks).reasoning == "1. draft (1.0)"


def test_several_choices_are_joined_and_the_doubt_recorded() -> None:
    completion = {
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "1. A (0.5)\n2. B (0.5)"}},
            {"index": 1, "message": {"role": "assistant", "content": "1. C (0.5)\n2. D (0.5)"}},
        ],
    }
    dist = parse_distribution(completion)
    assert dist.texts == ["A", "B", "C", "D"]
    assert any("joined the candidates of 2 replies" in r for r in dist.repairs)
    with pytest.raises(VSParseError, match="more than one way"):
        parse_distribution(completion, strict=True)


def test_tool_arguments_win_over_the_prose_around_them() -> None:
    message = {"role": "assistant", "content": "- an aside (0.9)", "tool_calls": [_tool_call(ARGS)]}
    assert parse_distribution(message).texts == TEXTS


@pytest.mark.parametrize(
    "envelope",
    [
        {"role": "assistant", "content": None},
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": None, "tool_calls": []},
        [{"role": "user", "content": "1. a (0.5)\n2. b (0.5)"}],  # no model turn
        {"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant"}}]},
        {"candidates": [{"content": {"parts": [], "role": "model"}, "finishReason": "STOP"}]},
    ],
)
def test_an_empty_envelope_holds_no_candidate(envelope: Any) -> None:
    """Never "assistant", "STOP" or the user's words as a candidate."""
    with pytest.raises(VSParseError) as info:
        parse_distribution(envelope)
    assert type(info.value) is VSParseError


def test_candidate_objects_are_not_taken_for_envelopes() -> None:
    items = [
        {"type": "text", "text": "a", "probability": 0.4},
        {"name": "b", "probability": 0.6},
    ]
    assert parse_distribution(items).texts == ["a", "b"]


# --- the details of each envelope -------------------------------------------------------


def test_gemini_thought_parts_are_reasoning_and_text_parts_one_reply() -> None:
    content = {
        "role": "model",
        "parts": [
            {"text": "1. draft (0.9)", "thought": True},
            {"text": REPLY[:25]},
            {"text": REPLY[25:]},
            "not a part",
        ],
    }
    dist = parse_distribution(content)
    assert dist.texts == TEXTS
    assert dist.reasoning == "1. draft (0.9)"


def test_gemini_function_call_in_snake_case() -> None:
    content = {"role": "model", "parts": [{"function_call": {"name": "f", "args": ARGS}}]}
    assert parse_distribution(content).texts == TEXTS


@pytest.mark.parametrize(
    "choice",
    [
        {"text": REPLY, "index": 0},
        {"text": REPLY, "finish_reason": "stop"},
        {"delta": {"content": REPLY}},
        {"message": {"role": "assistant", "content": REPLY}},
    ],
)
def test_every_form_of_a_choice(choice: dict[str, Any]) -> None:
    assert parse_distribution({"choices": [choice]}).texts == TEXTS


def test_a_choices_list_of_something_else_is_no_completion() -> None:
    """{"choices": [...]} is also a reply's own key: read as candidates when they are."""
    items = [{"text": "a", "probability": 0.4}, {"text": "b", "probability": 0.6}]
    assert parse_distribution({"choices": items}).texts == ["a", "b"]


@pytest.mark.parametrize("kind", ["ai", "AIMessage", "AIMessageChunk"])
def test_langchain_message_types(kind: str) -> None:
    assert parse_distribution({"type": kind, "content": REPLY}).texts == TEXTS


@pytest.mark.parametrize("role", ["assistant", "model", "ai", "Assistant"])
def test_model_roles(role: str) -> None:
    assert parse_distribution({"role": role, "content": REPLY}).texts == TEXTS


def test_a_user_message_is_no_reply() -> None:
    with pytest.raises(VSParseError):
        parse_distribution({"role": "user", "content": None})


def test_content_as_a_list_of_strings() -> None:
    message = {"role": "assistant", "content": [REPLY[:10], REPLY[10:]]}
    assert parse_distribution(message).texts == TEXTS


def test_responses_api_reasoning_and_message_items() -> None:
    response = {
        "object": "response",
        "output": [
            {"type": "reasoning", "summary": "1. draft (1.0)"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": REPLY}],
            },
        ],
    }
    dist = parse_distribution(response)
    assert dist.texts == TEXTS
    assert dist.reasoning == "1. draft (1.0)"


def test_thinking_block_text_and_redacted_thinking() -> None:
    blocks = [
        {"type": "redacted_thinking", "data": "xyz"},
        {"type": "thinking", "thinking": "  weighing puns  "},
        {"type": "image", "source": {}},
        {"type": "text", "text": REPLY},
    ]
    dist = parse_distribution(blocks)
    assert dist.texts == TEXTS
    assert dist.reasoning == "weighing puns"


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning", "thinking"])
def test_reasoning_keys_of_a_message(key: str) -> None:
    message = {"role": "assistant", "content": REPLY, key: " why "}
    assert parse_distribution(message).reasoning == "why"


def test_ollama_without_a_message_or_response_is_no_envelope() -> None:
    reply = {"model": "m", "done": True, "responses": ARGS["responses"]}
    assert parse_distribution(reply).texts == TEXTS


def test_several_tool_calls_are_joined_and_named_in_the_note() -> None:
    other = {"responses": [{"text": "Mocha.", "probability": 0.5}]}
    message = {"role": "assistant", "tool_calls": [_tool_call(ARG_TEXT), _tool_call(other)]}
    dist = parse_distribution(message)
    assert dist.texts == [*TEXTS, "Mocha."]
    assert "joined the candidates of 2 tool calls in the chat message" in dist.repairs
    completion = {"object": "chat.completion", "choices": [{"message": message}]}
    assert "joined the candidates of 2 tool calls in the chat completion" in (
        parse_distribution(completion).repairs
    )


def test_a_tool_call_has_no_keys_but_a_tool_calls() -> None:
    """{"name": ..., "arguments": ...} is a tool call; with a key of its own it is not."""
    call = {"name": "f", "arguments": ARGS, "id": "1", "type": "function", "index": 0}
    assert parse_distribution(call).texts == TEXTS
    not_a_call = {"name": "Decaf?", "probability": 0.3, "input": "x"}
    with pytest.raises(VSParseError):
        parse_distribution([not_a_call, {"name": 5}])


@pytest.mark.parametrize("key", ["arguments", "parameters", "args", "input"])
def test_every_arguments_key(key: str) -> None:
    assert parse_distribution({"name": "f", key: ARGS}).texts == TEXTS
    assert parse_distribution({"name": "f", key: ARG_TEXT}).texts == TEXTS


def test_a_tool_call_with_unusable_arguments_is_no_candidate() -> None:
    with pytest.raises(VSParseError):
        parse_distribution({"name": "f", "arguments": 5})


def test_envelopes_and_encodings_nest_a_bounded_number_of_times() -> None:
    """Up to six levels are unwrapped (completion > message > call > string > ...), then none."""
    reply = ARG_TEXT
    for _ in range(6):
        reply = json.dumps(reply)
    assert parse_distribution(reply).texts == TEXTS
    with pytest.raises(VSParseError):
        parse_distribution(json.dumps(reply))
    args: Any = ARGS
    for _ in range(6):
        args = {"name": "f", "arguments": args}
    assert parse_distribution(args).texts == TEXTS
    with pytest.raises(VSParseError):
        parse_distribution({"name": "f", "arguments": args})


def test_a_cut_envelope_keeps_the_reply_it_read() -> None:
    cut = '{"role": "assistant", "content": "1. a (0.5)\\n2. b (0.5)'
    dist = parse_distribution(cut)
    assert dist.texts == ["a", "b"]
    assert "repaired malformed JSON" in dist.repairs
    listed = '[{"role": "assistant", "content": "1. a (0.5)\\n2. b (0.5)"}, {"role": "as'
    assert parse_distribution(listed).texts == ["a", "b"]


def test_arguments_holding_json_strings_are_read_and_joined() -> None:
    args = {"responses": json.dumps(ARGS["responses"]), "more": json.dumps([{"text": "c", "p": 1}])}
    dist = parse_distribution(args)
    assert dist.texts == [*TEXTS, "c"]
    assert "joined the candidates of 2 JSON strings in the arguments" in dist.repairs


def test_items_sent_as_json_strings() -> None:
    items = [
        '{"text": "a\nb", "probability": 0.5}',  # a raw line break inside: read anyway
        '{"note": "x", "probability": 0.3}',  # no text key: a text that looks like JSON
        '{"text": "c", "probability": ' + "9" * 5000 + "}",  # an absurd number: unusable
    ]
    dist = parse_distribution({"responses": items})
    assert dist.texts == ["a\nb", '{"note": "x", "probability": 0.3}', "c"]
    assert dist.candidates[0].raw_probability == 0.5
    assert dist.candidates[2].raw_probability is None


def test_a_list_of_lists_skips_the_ones_without_candidates() -> None:
    assert parse_distribution([[1, 2], [{"text": "a", "probability": 1}]]).texts == ["a"]
    assert parse_distribution({"x": {"y": 1}, "r": {"text": "b", "p": 1}}).texts == ["b"]
