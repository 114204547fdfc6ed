"""The input schema of a batch: a row becomes a :class:`Job` or a :class:`RowError`.

A :class:`Job` is a prompt, a VSConfig and a selection; a :class:`RowError`
says what is wrong with the row.

A row is ``{"id": ..., "prompt": ...}`` plus optional settings that override the
run's defaults (:data:`CONFIG_KEYS`, :data:`SELECT_KEYS`) and an optional
``meta`` value copied to the output. Both engines (local and Ray) read rows
here, so a row means the same thing whichever runs it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from vs_common.distinct import DistinctPolicy
from vs_common.distribution import Candidate, VerbalizedDistribution
from vs_common.errors import VSConfigError
from vs_common.methods import VSConfig
from vs_common.scale._formats import MAX_LINE_BYTES
from vs_common.selection import STRATEGIES, select

# json.dumps(text, ensure_ascii=False) is this function's result (C-accelerated).
_encode_str: Callable[[str], str] = json.encoder.encode_basestring

__all__ = [
    "CONFIG_KEYS",
    "DISTINCT_KEYS",
    "ROW_KEYS",
    "SELECT_KEYS",
    "Job",
    "RowError",
    "Selection",
    "distinct_policy",
    "id_key",
    "parse_line",
    "parse_row",
    "result_record",
    "row_seed",
]

#: Settings that go into :class:`~vs_common.methods.VSConfig` (options and row keys).
CONFIG_KEYS = (
    "method",
    "k",
    "n",
    "threshold",
    "probability_format",
    "output_format",
    "turns",
    "word_hint",
)
#: Settings of the choice of one candidate.
SELECT_KEYS = ("strategy", "seed", "select_temperature")
#: Settings of distinct N (:mod:`vs_common.distinct`): ``distinct`` (true: keep
#: asking until n distinct candidates) and ``max_calls`` (its call budget).
DISTINCT_KEYS = ("distinct", "max_calls")
#: Every key a row may have.
ROW_KEYS = frozenset({"id", "prompt", "meta", *CONFIG_KEYS, *SELECT_KEYS, *DISTINCT_KEYS})
#: The deepest ``meta`` a row may carry (it is copied to the output as JSON).
MAX_META_DEPTH = 64
_INT64 = 2**63


@dataclass(frozen=True)
class Selection:
    """How one candidate is chosen from a distribution (see :func:`vs_common.select`).

    Attributes:
        strategy: One of :data:`vs_common.STRATEGIES`.
        seed: Seed of the choice (None: fresh randomness).
        threshold: For the ``tail`` strategy (the config's tail threshold).
        temperature: For the ``temperature`` strategy.

    Example:
        >>> dist = VerbalizedDistribution.from_pairs([("a", 0.9), ("b", 0.1)])
        >>> Selection("argmax").choose(dist).text
        'a'
    """

    strategy: str = "weighted"
    seed: int | None = None
    threshold: float | None = None
    temperature: float | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], config: VSConfig) -> Selection:
        """Read strategy, seed and selection temperature; check them early.

        Raises:
            VSConfigError: An unknown strategy, or one that lacks its parameter;
                ``field`` names the setting.
        """
        strategy = settings.get("strategy") or "weighted"
        if strategy not in STRATEGIES:
            msg = f"invalid choice {strategy!r} (choose from {STRATEGIES})"
            raise VSConfigError(msg, field="strategy")
        seed = settings.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            msg = f"must be an integer, got {seed!r}"
            raise VSConfigError(msg, field="seed")
        temperature = settings.get("select_temperature")
        if strategy == "temperature" and temperature is None:
            msg = "the temperature strategy needs it"
            raise VSConfigError(msg, field="select_temperature")
        if strategy == "tail" and config.threshold is None:
            msg = "the tail strategy needs a threshold"
            raise VSConfigError(msg, field="threshold")
        return cls(str(strategy), seed, config.threshold, temperature)

    def choose(self, dist: VerbalizedDistribution) -> Candidate:
        """Choose a candidate of ``dist`` with :func:`vs_common.select`.

        Raises:
            VSConfigError: The strategy cannot choose from ``dist``.
        """
        return select(
            dist,
            self.strategy,  # type: ignore[arg-type]  # checked in from_settings
            seed=self.seed,
            threshold=self.threshold,
            temperature=self.temperature,
        )


def id_key(value: Any) -> str:
    """The identity of an id (``1`` and ``"1"`` are different ids): its JSON text.

    Example:
        >>> id_key(1), id_key("1")
        ('1', '"1"')
    """
    # What json.dumps writes for a str or an int, without a JSONEncoder per call
    # (twice a row; a bool is an int that JSON writes as true or false).
    if type(value) is str:
        return _encode_str(value)
    if type(value) is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def row_seed(seed: int, ident: str | int) -> int:
    """A per-id selection seed derived from the run's seed, stable across runs and machines.

    One shared seed would make every row draw the same random number, so
    the choices of different prompts would be correlated.

    Example:
        >>> row_seed(7, "a") == row_seed(7, "a") != row_seed(7, "b")
        True
    """
    digest = hashlib.sha256(f"{seed}:{id_key(ident)}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Job:
    """One prompt to run.

    Attributes:
        line: Its 1-based line (or row) number, for messages; None when unknown.
        id: The row's id.
        prompt: The task.
        config: Method, k, n... (the row's own settings over the defaults).
        selection: How the one response is chosen.
        meta: Copied to the output as is.
        distinct: Keep asking until n distinct candidates (None: a plain run).
    """

    line: int | None
    id: str | int
    prompt: str
    config: VSConfig
    selection: Selection
    meta: Any = None
    distinct: DistinctPolicy | None = None

    @property
    def key(self) -> str:
        """The :func:`id_key` of its id."""
        return id_key(self.id)


@dataclass(frozen=True)
class RowError:
    """A row that cannot be run, and why."""

    line: int | None
    id: Any
    message: str

    def record(self) -> dict[str, Any]:
        """Its line in the errors file."""
        return {"id": self.id, "line": self.line, "error": "InputError", "message": self.message}


def parse_line(raw: bytes | str, line: int | None, defaults: Mapping[str, Any]) -> Job | RowError:
    """Read one JSONL line into a :class:`Job`, or say what is wrong with it.

    Args:
        raw: The line.
        line: Its 1-based number (for messages), None when unknown.
        defaults: The run's settings; the line's own settings win.

    Returns:
        The job, or a :class:`RowError`.

    Example:
        >>> parse_line(b'{"id": 7, "prompt": "A joke", "k": 3}', 1, {}).config.k
        3
        >>> parse_line(b'{"id": 7, "promt": "A joke"}', 2, {}).message
        "unknown key 'promt' (allowed: id, prompt, meta, k, n, method, ...)"
    """
    if len(raw) > MAX_LINE_BYTES // 4 and len(_as_bytes(raw)) > MAX_LINE_BYTES:
        return RowError(line, None, f"line longer than {MAX_LINE_BYTES} bytes: not read")
    try:
        # orjson: strict UTF-8 (no lone surrogates) and at most 1024 levels of
        # nesting, where json.loads recurses until RecursionError.
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return RowError(line, None, f"not valid JSON: {exc}")
    if not isinstance(data, dict):
        return RowError(line, None, f"expected a JSON object, got {type(data).__name__}")
    ident = data.get("id")
    if isinstance(ident, float) and ident.is_integer() and abs(ident) >= _INT64:
        # orjson reads an integer beyond 64 bits as a float; say so rather than "bad id".
        return RowError(line, None, "an integer 'id' must fit in 64 bits (or use a string)")
    return parse_row(data, line, defaults)


def _as_bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode("utf-8", errors="surrogatepass")


def parse_row(
    data: Mapping[str, Any],
    line: int | None,
    defaults: Mapping[str, Any],
    *,
    strict: bool = True,
) -> Job | RowError:
    """Read one row (a mapping) into a :class:`Job`, or say what is wrong with it.

    A setting that is None (a null, or a missing value in a columnar table)
    is not set: the default applies.

    Args:
        data: The row: ``id``, ``prompt``, optional settings and ``meta``.
        line: Its 1-based number (for messages), None when unknown.
        defaults: The run's settings; the row's own settings win.
        strict: Reject keys that are not in :data:`ROW_KEYS` (a typo must not
            be silently ignored); False ignores them (a table's other columns).

    Returns:
        The job, or a :class:`RowError`.

    Example:
        >>> parse_row({"id": "a", "prompt": "p", "k": None}, 1, {"k": 2}).config.k
        2
    """
    ident = data.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        return RowError(line, ident, "missing or bad 'id' (a non-empty string or an integer)")
    if strict:
        unknown = sorted(set(data) - ROW_KEYS)
        if unknown:
            allowed = "id, prompt, meta, k, n, method, ..."
            return RowError(line, ident, f"unknown key {unknown[0]!r} (allowed: {allowed})")
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return RowError(line, ident, "missing or empty 'prompt'")
    if len(prompt) > MAX_LINE_BYTES:
        return RowError(line, ident, f"'prompt' longer than {MAX_LINE_BYTES} characters")
    meta = data.get("meta")
    if isinstance(meta, dict | list) and _depth(meta) > MAX_META_DEPTH:
        return RowError(line, ident, f"'meta' nested deeper than {MAX_META_DEPTH} levels")
    own = {
        k: data[k] for k in (*CONFIG_KEYS, *SELECT_KEYS, *DISTINCT_KEYS) if data.get(k) is not None
    }
    settings = {**defaults, **own}
    if "seed" not in own and isinstance(defaults.get("seed"), int):
        settings["seed"] = row_seed(defaults["seed"], ident)
    try:
        config = _config({k: v for k, v in settings.items() if k in CONFIG_KEYS and v is not None})
        selection = Selection.from_settings(settings, config)
        distinct = distinct_policy(settings)
    except VSConfigError as exc:
        return RowError(line, ident, f"bad setting {exc.field or 'config'!r}: {exc}")
    return Job(line, ident, prompt, config, selection, meta, distinct)


def _depth(value: Any) -> int:
    """Levels of nesting of lists and dicts (iterative: any depth, no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_META_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _config(settings: dict[str, Any]) -> VSConfig:
    """``VSConfig(**settings)``, shared by the rows that have the same settings.

    Most rows of a batch have the same settings (the run's defaults); a
    VSConfig is immutable, so one is built and validated for them all. The
    key holds each value's type: ``1``, ``1.0`` and ``True`` are different
    settings (``k: true`` is an error).
    """
    try:
        key = tuple(sorted((k, type(v), v) for k, v in settings.items()))
        return _shared_config(key)
    except TypeError:  # an unhashable value (a list...): VSConfig says what is wrong
        return VSConfig(**settings)


@functools.lru_cache(maxsize=256)
def _shared_config(key: tuple[tuple[str, type, Any], ...]) -> VSConfig:
    return VSConfig(**{k: v for k, _, v in key})


@functools.lru_cache(maxsize=256)
def _config_fields(config: VSConfig) -> tuple[tuple[str, Any], ...]:
    """A config as its output record writes it (built once per distinct config)."""
    return tuple(config.model_dump(mode="json", exclude_none=True).items())


def distinct_policy(settings: Mapping[str, Any]) -> DistinctPolicy | None:
    """The distinct-N policy of a row's (or a run's) ``distinct`` and ``max_calls``.

    Raises:
        VSConfigError: ``distinct`` is not a boolean, or ``max_calls`` is
            given without it or is not a positive integer.

    Example:
        >>> distinct_policy({"distinct": True, "max_calls": 9}).max_calls
        9
        >>> distinct_policy({}) is None
        True
    """
    flag = settings.get("distinct")
    max_calls = settings.get("max_calls")
    if flag is not None and not isinstance(flag, bool):
        msg = f"must be true or false, got {flag!r}"
        raise VSConfigError(msg, field="distinct")
    if not flag:
        if max_calls is not None and flag is None:  # an explicit false ignores a default
            msg = "only applies with distinct: true"
            raise VSConfigError(msg, field="max_calls")
        return None
    return DistinctPolicy(max_calls=max_calls)


def result_record(
    dist: VerbalizedDistribution,
    selected: Candidate | None,
    config: VSConfig,
    **extra: Any,
) -> dict[str, Any]:
    """One output record: ``dist.to_dict()`` plus the config, the selection and ``extra``.

    ``VerbalizedDistribution.from_dict`` reads it back (extra keys are ignored).

    Example:
        >>> d = VerbalizedDistribution.from_pairs([("a", 1.0)])
        >>> r = result_record(d, d.candidates[0], VSConfig(k=1), id=3, prompt="x")
        >>> r["id"], r["selected"]["text"], r["config"]["method"]
        (3, 'a', 'vs_standard')
        >>> VerbalizedDistribution.from_dict(r).texts
        ['a']
    """
    record: dict[str, Any] = dict(extra)
    record["config"] = dict(_config_fields(config))
    record["selected"] = selected.model_dump(mode="json") if selected is not None else None
    record.update(dist.to_dict())
    return record
