"""Recovering the candidates from whatever a model emits.

:func:`parse_distribution` reads JSON (objects, bare lists, JSON Lines,
fenced, between prose, malformed and repaired), XML-like tags, numbered or
bulleted lists, labelled blocks, markdown headings and tables, and
already-decoded objects (tool arguments); it unwraps the envelopes people hand
over instead of the reply (chat messages and completions, content blocks,
tool calls) and keeps think blocks as reasoning. :class:`StreamingParser`
does the same on a stream and hands out each candidate once it is complete.

One private module per reply shape: ``_json`` (JSON in text), ``_objects``
(decoded values and tool arguments), ``_envelopes``, ``_tags``, ``_lists``,
``_tables``, ``_prose`` (probabilities stated in prose), with ``_parse``
choosing among them and ``_streaming`` feeding them a stream.

Precision first: a candidate the reply does not hold is worse than a miss.
Where a reading is in doubt, ``repairs`` says so and ``strict=True`` raises.
Every function here runs in time linear in its input (no backtracking
regular expression on unbounded input), never evaluates model text as code,
and raises nothing but :class:`~vs_common.errors.VSParseError` on bad output;
a failure of the parser itself is a :class:`~vs_common.errors.VSParserBug`.

Example:
    >>> dist = parse_distribution(
    ...     '{"responses": [{"text": "A", "probability": 0.3},'
    ...     ' {"text": "B", "probability": "70%"}]}'
    ... )
    >>> dist.texts, [round(c.probability, 2) for c in dist.candidates]
    (['A', 'B'], [0.3, 0.7])
"""

from vs_common.parsing._parse import parse_distribution
from vs_common.parsing._streaming import StreamingParser

__all__ = ["StreamingParser", "parse_distribution"]
