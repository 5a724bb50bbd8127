"""Divergence classes: the structure of a divergence without the case.

Fifteen thousand cases that diverge the same way are one class, so a verdict, a report or
a known gap speaks of one thing, not of fifteen thousand. A class is the set of
(kind, normalised path, JSON type of the reference's side, JSON type of the candidate's
side) over the differences that count; array indexes and text line numbers are wildcarded,
values are left out (a status difference keeps its two codes: 422 against 400 is not 200
against 500; a key given twice calls the side that repeats it `repeated`). The same case
diverging another way has another class: that is how a case moving between classes is
caught, never hidden under a gap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core import md_code
from ..core.events import ClassEntry, DivergenceClassFound
from ._compare import DUPLICATE_KEY, SEVERITY, Difference, Repeat, json_type, render_path

REPEATED = "repeated"  # the side of a duplicate-key entry that gives the key twice


def _side(value: Any) -> str:
    return REPEATED if isinstance(value, Repeat) else json_type(value)


def _entry(d: Difference) -> ClassEntry:
    if d.path[:1] == ("@status",):
        return ClassEntry(d.kind, "status", str(d.ref), str(d.cand))
    if d.kind == DUPLICATE_KEY:
        return ClassEntry(d.kind, render_path(d.path, wildcard=True), _side(d.ref), _side(d.cand))
    if d.path[:1] == ("@line",):
        return ClassEntry(d.kind, "line *", json_type(d.ref), json_type(d.cand))
    return ClassEntry(d.kind, render_path(d.path, wildcard=True), json_type(d.ref), json_type(d.cand))


@dataclass(frozen=True)
class DivergenceClass:
    """One way of diverging; `id` is stable across runs and machines (a hash of `entries`)."""

    id: str
    kind: str  # the most severe kind among its entries
    entries: tuple[ClassEntry, ...]

    def describe(self, limit: int = 6) -> str:
        """`$.Schema` absent, `$.Kind` `$.Field` `$.Reason` added (shape)."""
        groups: dict[str, list[str]] = {}
        for kind, path, ref, cand in ((e.kind, e.path, e.ref, e.cand) for e in self.entries):
            if kind == "status":
                phrase = f"status {ref} vs {cand}"
            elif kind == DUPLICATE_KEY:
                phrase = "repeated by " + ("both" if ref == cand == REPEATED else
                                           "the reference" if ref == REPEATED else "the candidate")
            elif ref == "absent":
                phrase = "added"
            elif cand == "absent":
                phrase = "absent"
            elif ref != cand:
                phrase = f"{ref} vs {cand}"
            else:
                phrase = f"{ref} differs"
            groups.setdefault(phrase, []).append(path)
        parts = []
        for phrase, paths in groups.items():
            if phrase.startswith("status "):
                parts.append(phrase)
                continue
            shown = " ".join(md_code(p) for p in paths[:limit]) + (f" +{len(paths) - limit}" if len(paths) > limit else "")
            parts.append(f"{shown} {phrase}")
        return ", ".join(parts) + f" ({self.kind})"


    def event(self) -> DivergenceClassFound:
        return DivergenceClassFound(self.id, self.kind, self.entries, self.describe())


def classify(diffs: Iterable[Difference]) -> DivergenceClass | None:
    """The class of one candidate's differences from the reference, its status code left
    out (a status mismatch blocks on its own; the class is what a known gap may cover);
    None when nothing else counts."""
    return class_of_entries({_entry(d) for d in diffs if d.counts and d.path[:1] != ("@status",)})


def class_of_entries(found: Iterable[ClassEntry]) -> DivergenceClass | None:
    """The class made of these entries (a class judged again once noise is settled keeps
    the entries left to it, and is the class a case diverging in just those would have)."""
    entries = tuple(sorted(set(found), key=lambda e: (e.kind, e.path, e.ref, e.cand)))
    if not entries:
        return None
    kind = min((e.kind for e in entries), key=SEVERITY.__getitem__)
    return DivergenceClass(class_id(entries), kind, entries)


def class_id(entries: Iterable[ClassEntry]) -> str:
    """A hash of the entries (in order): the same way of diverging has the same id everywhere."""
    key = [[e.kind, e.path, e.ref, e.cand] for e in entries]
    return "cls:" + hashlib.sha256(json.dumps(key, separators=(",", ":")).encode()).hexdigest()[:12]
