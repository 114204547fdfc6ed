"""KeySet: the ids a batch remembers, 16 bytes an id, exact in practice."""

from __future__ import annotations

import hashlib
import pickle
import random
import tracemalloc

from vs_common.scale import KeySet, _keys, id_key


def test_it_answers_like_a_set_through_many_merges(monkeypatch):
    monkeypatch.setattr(_keys, "_MIN_RECENT", 16)  # merge often
    keys, ref = KeySet(), set()
    rnd = random.Random(3)
    for _ in range(3000):
        key = id_key(f"row-{rnd.randrange(2000)}")
        assert keys.add(key) == (key not in ref)
        ref.add(key)
        probe = id_key(f"row-{rnd.randrange(4000)}")
        assert (probe in keys) == (probe in ref)
    assert len(keys) == len(ref)
    assert len(keys._sorted) > len(keys._recent)  # most keys went to the array
    assert all(k in keys for k in ref)
    assert 1 not in keys  # only str keys are held


def test_digests_ending_in_a_nul_byte_are_found():
    # numpy's S16 drops trailing NULs when it hands a value back: compare raw bytes
    ending = [str(i) for i in range(100_000) if _keys._digest(str(i)).endswith(b"\0")][:20]
    assert len(ending) == 20
    keys = KeySet(str(i) for i in range(5000))
    keys._merge()
    for key in ending:
        assert (key in keys) == (int(key) < 5000)
        keys.add(key)
        keys._merge()
        assert key in keys


def test_it_survives_pickling_as_ray_sends_it():
    keys = KeySet([id_key(1), id_key("1")])
    keys._merge()
    keys.add(id_key(2))
    copy = pickle.loads(pickle.dumps(keys))  # noqa: S301 - our own bytes
    assert len(copy) == 3
    assert all(k in copy for k in (id_key(1), id_key("1"), id_key(2)))
    assert id_key(3) not in copy


def test_it_holds_lone_surrogates_and_long_ids():
    weird = [id_key("\ud800"), id_key("x" * 10_000), id_key({"a": [1, 2]})]
    keys = KeySet(weird)
    assert all(k in keys for k in weird)
    assert hashlib.blake2b(b"", digest_size=16).digest_size == 16


def test_memory_is_a_fraction_of_a_set_of_the_keys():
    ids = [id_key(f"prompt-{i:07d}") for i in range(50_000)]
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        as_set = set(ids)
        set_bytes = tracemalloc.get_traced_memory()[0] - base
        del as_set
        base = tracemalloc.get_traced_memory()[0]
        keys = KeySet(ids)
        key_bytes = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert len(keys) == 50_000
    # the strings themselves are not counted for the set (the list holds them),
    # so this compares the set's slots alone with 16 bytes a key plus the recent set
    assert key_bytes < set_bytes
    assert key_bytes / 50_000 < 40
