"""``parse_distribution``: which reader reads a reply, and what it could not read.

A reply is first taken out of what it came in: a think block is set apart
as reasoning, an envelope (a chat message, a completion, content blocks, a
tool call) is unwrapped to the reply or the tool arguments it carries, and a
JSON string holding the reply is decoded. The readers are then tried in a
fixed order (JSON, tags, tables, lists); the first whose candidates all state
a probability reads the reply, else the one whose candidates state the most
(a list of notes loses to the list of candidates). The text it did not
consume is given to the readers after it: if one of them finds candidates
there, the reply may hold more than was read, and ``repairs`` says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from vs_common._logging import logger
from vs_common.distribution import VerbalizedDistribution
from vs_common.errors import VSParseError, VSParserBug
from vs_common.methods import Method
from vs_common.parsing._common import Reading, mask, unread_text
from vs_common.parsing._envelopes import Unwrapped, unwrap
from vs_common.parsing._json import read_json
from vs_common.parsing._lists import read_list
from vs_common.parsing._objects import read_object
from vs_common.parsing._tables import read_tables
from vs_common.parsing._tags import read_tags

_log = logger("vs_common.parsing")

# Reasoning blocks, as reasoning models and prompts that ask for thinking write them.
_THINK_TAGS = ("think", "thinking", "reasoning")
_VALUE_START = ("{", "[", '"')
_MAX_NESTING = 6  # envelope in envelope: completion > message > tool call > string > JSON

Reader = Callable[[str, bool], Reading | None]
_WHOLE_REPLY = (Method.DIRECT, Method.DIRECT_BASE, Method.MULTI_TURN)  # one response: no structure


def coerce_text(output: Any) -> str | None:
    """The output as text (bytes read as UTF-8), or None for anything else."""
    if isinstance(output, str):
        return output
    if isinstance(output, bytes | bytearray):
        return bytes(output).decode("utf-8", errors="replace")
    return None


def split_think(text: str) -> tuple[str | None, str | None]:
    """(reply, reasoning): a leading think block set apart from the reply after it.

    ``<think>``, ``<thinking>`` or ``<reasoning>`` at the start, and also a
    lone ``</think>`` (servers that put the opening tag in the prompt). A
    block that never closes holds no reply: (None, reasoning).
    """
    head = text.lstrip()
    for tag in _THINK_TAGS:
        opener, closer = f"<{tag}>", f"</{tag}>"
        if head.startswith(opener):
            start = len(text) - len(head) + len(opener)
            end = text.find(closer, start)
            if end < 0:
                return None, text[start:].strip() or None
            return text[end + len(closer) :], text[start:end].strip() or None
    if head[:1] in _VALUE_START:  # JSON (an envelope) may quote a think block: not this one
        return text, None
    end = text.find("</think>")
    if end >= 0 and "<think>" not in text[:end]:
        return text[end + len("</think>") :], text[:end].strip() or None
    return text, None


class _Parse:
    """One call of parse_distribution: its settings and how deep envelopes have gone."""

    def __init__(self, method: Method | None, truncated: bool) -> None:
        self.method = method
        self.truncated = truncated

    def read(self, output: Any, depth: int = 0) -> Reading | None:
        if depth > _MAX_NESTING:
            return None
        text = coerce_text(output)
        if text is not None:
            return self.read_reply(text, depth)
        if isinstance(output, Mapping | list | tuple):
            return self.read_value(output, depth)
        msg = f"unsupported output type {type(output).__name__}"
        raise VSParseError(msg, output)

    def read_reply(self, text: str, depth: int) -> Reading | None:
        """A reply text: think block apart, a JSON string decoded, then the readers."""
        reading = self._read_encoded(text, depth)
        if reading is not None:
            return reading
        body, think = split_think(text)
        if body is None:
            return None  # cut off (or never done) thinking: no reply yet
        reading = self.read_text(body, depth)
        if reading is not None and think and not reading.reasoning:
            reading.reasoning = think
        return reading

    def _read_encoded(self, body: str, depth: int) -> Reading | None:
        """A reply that is one JSON string holding the reply (tool arguments encoded twice)."""
        s = body.strip()
        if len(s) < 2 or s[0] != '"' or s[-1] != '"':
            return None
        try:
            inner = json.loads(s)
        except ValueError:
            return None
        if not isinstance(inner, str):
            return None
        reading = self.read(inner, depth + 1)
        if reading is not None:
            reading.repairs.append("decoded a reply sent as a JSON string")
        return reading

    def read_text(self, text: str, depth: int) -> Reading | None:
        if self.method in _WHOLE_REPLY:
            body = text.strip()
            return Reading(pairs=[(body, None)]) if body else None
        readers: tuple[tuple[str, Reader], ...] = (
            ("JSON", partial(read_json, on_value=partial(self.read_json_value, depth=depth))),
            ("tag", lambda t, truncated: read_tags(t)),
            ("table", read_tables),
            ("list", read_list),
        )
        best: tuple[int, Reading] | None = None
        rest = text
        for i, (_, reader) in enumerate(readers):
            reading = reader(rest, self.truncated)
            if reading is None:
                continue
            if not reading.pairs:
                # A reply that is JSON holding no candidate (an envelope still arriving):
                # the text in its strings is not the reply's structure.
                lead = len(rest) - len(rest.lstrip())
                rest = mask(rest, [sp for sp in reading.spans if sp[0] == lead])
                continue
            if best is None or reading.stated > best[1].stated:
                best = (i, reading)
            if reading.stated == len(reading.pairs):
                break  # every candidate states a probability: this is the reply
            rest = mask(rest, reading.spans)  # what it read is not read again
        if best is None:
            if self.method is Method.COT and text.strip():
                return Reading(pairs=[(text.strip(), None)])
            return None
        i, reading = best
        if reading.complete:  # a reader that stopped early has said so already
            _note_unread(text, reading, readers[i][0], readers[i + 1 :])
        return reading

    def read_json_value(self, value: Any, depth: int) -> Reading | None:
        """A JSON value found in a reply: an envelope is unwrapped, else its candidates."""
        envelope = unwrap(value)
        if envelope is not None:
            return self._read_envelope(envelope, depth + 1)
        return read_object(value)

    def read_value(
        self, value: Mapping[Any, Any] | list[Any] | tuple[Any, ...], depth: int
    ) -> Reading | None:
        """A decoded value: an envelope, tool-call arguments, or any decoded JSON."""
        envelope = unwrap(value)
        if envelope is not None:
            return self._read_envelope(envelope, depth + 1)
        reading = read_object(value)
        if reading is not None:
            return reading
        # Tool arguments can hold the reply as a JSON string: {"responses": "[{...}]"}.
        values = value.values() if isinstance(value, Mapping) else value
        strings = [v for v in values if isinstance(v, str) and v.strip()[:1] in ("{", "[")]
        return self._join(
            (self.read(v, depth + 1) for v in strings), "JSON strings in the arguments"
        )

    def _read_envelope(self, envelope: Unwrapped, depth: int) -> Reading | None:
        """Tool arguments first; the reply texts if the arguments hold no candidate."""
        reading = self._join(
            (self.read(a, depth) for a in envelope.arguments), f"tool calls in the {envelope.what}"
        )
        if reading is None:
            reading = self._join(
                (self.read(t, depth) for t in envelope.texts), f"replies in the {envelope.what}"
            )
        if reading is not None:
            reading.envelope = True
            reading.reasoning = reading.reasoning or envelope.reasoning
        return reading

    @staticmethod
    def _join(readings: Any, what: str) -> Reading | None:
        joined: Reading | None = None
        sources = 0
        for inner in readings:
            if inner is None or not inner.pairs:
                continue
            sources += 1
            if joined is None:
                joined = inner
            else:
                joined.extend(inner)
        if joined is not None and sources > 1:
            joined.doubt(f"joined the candidates of {sources} {what}")
        return joined


def _note_unread(
    text: str, reading: Reading, shape: str, others: tuple[tuple[str, Reader], ...]
) -> None:
    """Record candidate-like text of another shape outside what ``reading`` consumed.

    Items that state no probability, beside candidates that do, are notes or
    titles ("### Jokes", "- Tone: light"), not missed candidates.
    """
    rest = unread_text(text, reading.spans)
    if not rest:
        return
    for name, reader in others:
        other = reader(rest, False)
        if other is None or not other.pairs:
            continue
        if other.stated or (not reading.stated and len(other.pairs) > 1):
            reading.doubt(
                f"did not read {len(other.pairs)} {name} item(s) outside the {shape};"
                " they may be more candidates"
            )


def parse_distribution(
    output: Any,
    *,
    method: Method | str | None = None,
    truncated: bool = False,
    strict: bool = False,
) -> VerbalizedDistribution:
    r"""Recover the verbalized distribution from a model's output.

    Every candidate the reply holds is read, in the model's order: several
    JSON values one after another (JSON Lines), several fenced blocks, tag
    groups, tables or lists split by prose. Envelopes are unwrapped to what
    they carry (a chat message or completion, content blocks, a tool call,
    a JSON string holding the reply), and a think block is kept as
    reasoning, never read for candidates. Where the parser cannot be sure it
    read the reply right, ``repairs`` says so.

    Args:
        output: The reply text, or an already-decoded object (tool-call
            arguments, a chat message or completion, content blocks). Bytes
            are read as UTF-8.
        method: The prompting method, if known. ``direct`` and
            ``multi_turn`` read the whole reply as one response; ``cot``
            falls back to the whole reply; other methods (and None) need
            structure.
        truncated: The reply was cut off (finish_reason ``length``): the last
            list item is dropped as well as any unclosed JSON or tag candidate.
        strict: Raise instead of guessing: a reply the parser can read more
            than one way (more candidate-like items outside what it read,
            candidates joined from several sources, a probability missing
            beside stated ones) raises VSParseError naming the doubt.

    Returns:
        The distribution, probabilities normalized, with what was repaired.

    Raises:
        VSParseError: No candidate could be recovered (``raw_output`` holds
            the output), or, with ``strict``, the reading is in doubt. No
            other exception escapes, whatever the input; a failure of the
            parser itself is a :class:`~vs_common.errors.VSParserBug`.

    Example:
        >>> parse_distribution("1. Decaf joke (probability: 0.4)\n2. Espresso joke (0.6)").texts
        ['Decaf joke', 'Espresso joke']
        >>> lines = '{"text": "A", "probability": 0.2}\n{"text": "B", "probability": 0.8}'
        >>> parse_distribution(lines).texts  # JSON Lines: one candidate a line
        ['A', 'B']
    """
    try:
        m = Method(method) if method is not None else None
    except ValueError:
        msg = f"unknown method {method!r}"
        raise VSParseError(msg, output) from None
    try:
        reading = _Parse(m, truncated).read(output)
    except VSParseError:
        raise
    except Exception as exc:  # the parser's own failure: a bug, never "no candidates"
        _log.exception("the parser failed on an output (a bug): %s", type(exc).__name__)
        msg = f"the parser failed ({type(exc).__name__}: {exc}); this is a bug in the parser"
        raise VSParserBug(msg, output) from exc
    if reading is None:
        msg = "no candidate responses found in the model output"
        raise VSParseError(msg, output)
    if strict and reading.unsure:
        msg = f"the reply can be read more than one way: {reading.unsure[0]}"
        raise VSParseError(msg, output)
    dist = VerbalizedDistribution.from_pairs(
        reading.pairs, reasoning=reading.reasoning, repairs=reading.repairs
    )
    if not dist.candidates:
        msg = "every candidate in the model output had empty text"
        raise VSParseError(msg, output)
    if strict:
        guessed = sum(1 for c in dist.candidates if c.raw_probability is None)
        if 0 < guessed < len(dist.candidates):
            msg = f"{guessed} candidate(s) stated no usable probability beside others that did"
            raise VSParseError(msg, output)
    return dist
