"""Cutting a parity probe into shards that separate machines run: `--shard K/N`.

A case belongs to shard K of N when the CRC-32 of its name, modulo N, is K-1: the same on
every machine and in every process (Python's own `hash()` of a string changes from one
process to the next). Each shard reads every case of the config and probes its part, so
the shards of one config also agree on their digest, what `gauntlet merge` checks before
joining them.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from ..core import InputError

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int  # K, from 1
    count: int  # N

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, case: str) -> bool:
        return zlib.crc32(case.encode("utf-8")) % self.count == self.index - 1

    def survey(self, names: Iterable[str]) -> tuple[str, int]:
        """(every case name of the config, in order, counted and digested: `20,000 cases, sha256
        1a2b…`, the same in each shard of one config; how many of them are this shard's)."""
        digest = hashlib.sha256()
        count = held = 0
        for name in names:
            digest.update(name.encode("utf-8") + b"\n")
            count += 1
            held += self.holds(name)
        return f"{count:,} cases, sha256 {digest.hexdigest()[:16]}", held


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 ≤ K ≤ N; InputError saying what is wrong and what would do."""
    found = _SPEC.fullmatch(text)
    if found is None:
        raise InputError(f"{text!r}: expected K/N, e.g. 2/4 (the second of four shards)")
    index, count = int(found[1]), int(found[2])
    if count < 1:
        raise InputError(f"{text!r}: N, the number of shards, must be at least 1")
    if not 1 <= index <= count:
        raise InputError(f"{text!r}: K must be between 1 and N ({index} is not in 1..{count})")
    return Shard(index, count)
