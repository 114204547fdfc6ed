"""The parser against generated replies whose candidates are known (tests/unit/core/replygen.py).

A fixed-seed corpus of 5,000 replies (the same on every run and machine)
pins precision and recall by shape; a hypothesis test draws from the same
space for breadth; the streaming parser must agree with the whole parse.
``benchmarks/parser_corpus.py`` prints the same figures as a table.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from replygen import SHAPES, Reply, Score, corpus, replies, score

from vs_common import StreamingParser, VSParseError, VSParserBug, parse_distribution
from vs_common.parsing._streaming import _said

# Under mutation testing (make mutation) a smaller sample: each surviving mutant runs
# these tests once more, and 800 replies already reach every reader.
MUTATION = "MUTANT_UNDER_TEST" in os.environ
CORPUS_SIZE = 800 if MUTATION else 5000
CORPUS = corpus(CORPUS_SIZE)
MIN_RECALL = 0.99


def read(reply: Reply, *, strict: bool = False) -> Score:
    try:
        dist = parse_distribution(
            reply.output, method=reply.method, truncated=reply.truncated, strict=strict
        )
    except VSParserBug:
        raise  # a bug in the parser is never a miss
    except VSParseError as exc:
        return Score(expected=len(reply.texts), read=0, right=0, error=exc.reason)
    return score(reply, dist.texts, [c.probability for c in dist.candidates])


def _report(failures: list[tuple[Reply, Score]]) -> str:
    lines = []
    for reply, s in failures[:5]:
        lines.append(f"{reply.shape} {reply.extras}: {s}\n  {reply.output!r:.600}")
    return "\n".join(lines)


def test_generator_covers_every_shape_and_surrounding() -> None:
    shapes = {r.shape for r in CORPUS}
    extras = {e for r in CORPUS for e in r.extras}
    assert shapes == set(SHAPES)
    assert len(shapes) >= 20
    for surrounding in ("prose_before", "prose_after", "fenced", "think", "think_unopened",
                        "notes_before", "json_string", "chat_completion", "content_blocks",
                        "openai_message", "anthropic_tool_use", "rationale"):  # fmt: skip
        assert surrounding in extras


def test_precision_is_total_and_recall_high_on_every_shape() -> None:
    by_shape: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # expected, right
    missed: list[tuple[Reply, Score]] = []
    for reply in CORPUS:
        s = read(reply)
        assert not s.wrong, f"read with a wrong candidate:\n{_report([(reply, s)])}"
        by_shape[reply.shape][0] += s.expected
        by_shape[reply.shape][1] += s.right
        if not s.exact:
            missed.append((reply, s))
    for shape, (expected, right) in by_shape.items():
        assert right / expected >= MIN_RECALL, f"{shape}: recall {right / expected:.4f}\n" + (
            _report([m for m in missed if m[0].shape == shape])
        )


def test_strict_reads_clean_replies_the_same() -> None:
    """A clean reply leaves no doubt: strict=True reads it exactly as the default does."""
    for reply in CORPUS[::5]:
        assert read(reply, strict=True) == read(reply), reply.output


@settings(
    max_examples=40 if MUTATION else 300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(replies())
def test_no_generated_reply_is_read_wrong(reply: Reply) -> None:
    s = read(reply)
    assert s.wrong == 0, (reply.shape, reply.extras, reply.output, s)


def _stream(reply: Reply, rnd: random.Random) -> tuple[list[list[tuple[str, float | None]]], int]:
    """Feed the reply in random chunks: what the parser had handed out after each new
    candidate, and how many it handed out before close()."""
    sp = StreamingParser(method=reply.method, thinking="think_unopened" in reply.extras)
    text = reply.output
    snapshots = []
    handed = 0
    pos = 0
    while pos < len(text):
        step = rnd.choice([1, 2, 3, 7, 16, 50])
        new = sp.feed(text[pos : pos + step])
        pos += step
        if new:
            handed += len(new)
            assert sp.distribution is not None
            snapshots.append(_said(sp.distribution))
    return snapshots, handed


# Replies as a model streams them: text, not a whole envelope serialized as JSON.
def _as_streamed(reply: Reply) -> bool:
    encoded = ("as_text", "json_string", "args_double_encoded")
    return isinstance(reply.output, str) and not any(
        e in encoded or e.endswith("_as_text") for e in reply.extras
    )


STREAMED = [r for r in CORPUS[::8] if _as_streamed(r)]


def test_streaming_hands_out_only_the_start_of_the_final_reading() -> None:
    early = late = 0
    for i, reply in enumerate(STREAMED):
        snapshots, handed = _stream(reply, random.Random(i))
        try:
            final = _said(parse_distribution(reply.output, method=reply.method))
        except VSParseError:
            assert not handed, reply.output
            continue
        for snap in snapshots:
            assert final[: len(snap)] == snap, (reply.output, snap, final)
        stated = sum(1 for _, p in final if p is not None)
        if stated >= 2 and not reply.truncated and reply.method != "sequence":
            early += handed > 0
            late += handed == 0
    # Every reply with two complete candidates hands the first out before the end.
    assert early > len(STREAMED) // 2
    assert late == 0


def test_streaming_never_hands_out_a_candidate_without_its_probability() -> None:
    for i, reply in enumerate(STREAMED[:300]):
        if reply.method == "sequence":
            continue
        sp = StreamingParser(method=reply.method, thinking="think_unopened" in reply.extras)
        rnd = random.Random(i)
        pos = 0
        while pos < len(reply.output):
            step = rnd.choice([1, 4, 9])
            for c in sp.feed(reply.output[pos : pos + step]):
                assert c.raw_probability is not None, reply.output
            pos += step
