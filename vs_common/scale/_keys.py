"""A compact set of id keys, so a batch's memory stays flat in its number of prompts.

A batch must remember every id it has written or claimed (every id exactly
once). A Python ``set`` of the keys costs about 100 bytes a key (the string
and its slot): 10 MB for 100k ids, 1 GB for 10M. :class:`KeySet` keeps each
key as its 128-bit BLAKE2b digest in one sorted numpy array (16 bytes a key),
plus a small set of recent digests that is merged into the array when it
outgrows an eighth of it. Two different keys share a digest with probability
about n^2 / 2^129: 1e-21 for a billion ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

__all__ = ["KeySet"]

#: Recent digests held in a plain set before the first merge into the array.
_MIN_RECENT = 4096


def _digest(key: str) -> bytes:
    # surrogatepass: an id's JSON text may hold a lone surrogate (ensure_ascii=False)
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class KeySet:
    """The id keys of a batch (:func:`~vs_common.scale.id_key`), 16 bytes a key.

    Supports ``in``, ``len`` and :meth:`add`; it cannot list the keys back
    (it keeps their digests only). Picklable, so it can be sent to Ray workers.

    Args:
        keys: Keys to start with.

    Example:
        >>> keys = KeySet(['"a"', '"b"'])
        >>> '"a"' in keys, '"c"' in keys, len(keys)
        (True, False, 2)
        >>> keys.add('"c"'), keys.add('"c"')
        (True, False)
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        import numpy as np

        self._sorted: Any = np.empty(0, dtype="S16")
        self._recent: set[bytes] = set()
        for key in keys:
            self.add(key)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._has(_digest(key))

    def __repr__(self) -> str:
        return f"KeySet(<{len(self)} keys>)"

    def add(self, key: str) -> bool:
        """Add ``key``; True if it was not in the set yet."""
        digest = _digest(key)
        if self._has(digest):
            return False
        self._recent.add(digest)
        if len(self._recent) > max(_MIN_RECENT, len(self._sorted) // 8):
            self._merge()
        return True

    def _has(self, digest: bytes) -> bool:
        if digest in self._recent:
            return True
        keys = self._sorted
        i = int(keys.searchsorted(digest))
        # numpy compares S16 values as 16-byte strings (a trailing NUL is no issue:
        # every digest has 16 bytes); compare the raw bytes to be exact
        return i < len(keys) and keys[i : i + 1].tobytes() == digest

    def _merge(self) -> None:
        import numpy as np

        new = np.array(sorted(self._recent), dtype="S16")
        self._sorted = np.insert(self._sorted, self._sorted.searchsorted(new), new)
        self._recent = set()
