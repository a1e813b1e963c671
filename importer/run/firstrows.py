"""The first row of every key seen in a file, in 12 bytes a slot, for duplicate-in-file checks.

A dict of a million e-mails holds a million string objects: ~150 MB. This table keeps an 8-byte
BLAKE2b digest of each key and its row number in two flat arrays instead (open addressing,
linear probing, at most half full): ~24-36 MB for a million. The odds that any two of a million
different keys share a digest (and the later one is called a duplicate) are about 1 in 40
million; the digest, unlike ``hash()``, is the same in every process, so a run repeats exactly.
"""

from __future__ import annotations

from array import array
from hashlib import blake2b

_EMPTY = 0
_INITIAL_SLOTS = 1 << 12


class FirstRows:
    """``first(key, row)``: ``row`` the first time ``key`` is seen, later the row it was first
    seen in."""

    def __init__(self) -> None:
        self._digests = array("Q", bytes(8 * _INITIAL_SLOTS))
        self._rows = array("I", bytes(4 * _INITIAL_SLOTS))
        self._mask = _INITIAL_SLOTS - 1
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def first(self, key: str, row: int) -> int:
        digest = int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little") or 1
        digests, mask = self._digests, self._mask
        slot = digest & mask
        while (held := digests[slot]) != _EMPTY:
            if held == digest:
                return self._rows[slot]
            slot = (slot + 1) & mask
        digests[slot] = digest
        self._rows[slot] = row
        self._used += 1
        if self._used * 2 > mask:
            self._grow()
        return row

    def _grow(self) -> None:
        old_digests, old_rows = self._digests, self._rows
        slots = (self._mask + 1) * 2
        digests = array("Q", bytes(8 * slots))
        rows = array("I", bytes(4 * slots))
        mask = slots - 1
        for digest, row in zip(old_digests, old_rows, strict=True):
            if digest != _EMPTY:
                slot = digest & mask
                while digests[slot] != _EMPTY:
                    slot = (slot + 1) & mask
                digests[slot] = digest
                rows[slot] = row
        self._digests, self._rows, self._mask = digests, rows, mask
