"""Generated parity cases and the cases file they are written to.

Cases made from a contract or from recorded traffic end as `[[case]]` tables with the keys
a config's `cases_file` reads, so a generated file is reviewed, versioned and loaded like
a hand-written one. The text is a pure function of the cases: no date, no absolute path,
so the same input gives the same file and a diff of two generations shows what changed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from json.encoder import encode_basestring  # the C encoder, not ASCII-only
from pathlib import Path
from typing import Any

from ..core import InputError, neutralise
from ._case import UNSET

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_TOML_INT = range(-(2**63), 2**63)


@dataclass(frozen=True)
class GeneratedCase:
    name: str
    method: str
    path: str
    query: Mapping[str, str | list[str]] = field(default_factory=dict)  # a list: the name repeated, once per item
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = UNSET
    body: str | None = None
    expect_status: int | None = None
    why: str = ""  # one line for the person reading the file: what this case sends and breaks
    template: str | None = None  # the endpoint's path template when the path fills one in (noise is pooled by it)
    kind: str = ""  # the class it is counted in: `valid`, the constraint broken (`minLength`), `recorded`

    def identity(self) -> str:
        """What goes on the wire: two cases with the same identity probe the same thing."""
        return json.dumps([self.method, self.path, sorted(self.query.items()), sorted(self.headers.items()),
                           None if self.json is UNSET else ["json", self.json], self.body],
                          sort_keys=True, ensure_ascii=False)

    def record(self) -> dict[str, Any]:
        """The case with the keys of `[[parity.case]]`, as a JSON Lines cases file holds it."""
        out: dict[str, Any] = {"name": self.name, "method": self.method, "path": self.path}
        if self.query:
            out["query"] = dict(self.query)
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.json is not UNSET:
            out["json"] = self.json
        elif self.body is not None:
            out["body"] = self.body
        if self.expect_status is not None:
            out["expect_status"] = self.expect_status
        if self.template is not None and self.template != self.path:
            out["template"] = self.template
        return out

    def table(self) -> dict[str, Any]:
        """The case as a `[[case]]` table. TOML has no null and no integer past 64 bits: a
        JSON body holding either is sent as the same JSON text in `body` instead."""
        out = self.record()
        if "json" in out and not _toml_safe(out["json"]):
            body = json.dumps(out.pop("json"), ensure_ascii=False, separators=(",", ":"))
            headers = out.get("headers", {})
            if not any(k.lower() == "content-type" for k in headers):
                headers = {**headers, "Content-Type": "application/json"}
            out = {**{k: v for k, v in out.items() if k not in ("headers", "expect_status", "template")},
                   "headers": headers, "body": body,
                   **{k: out[k] for k in ("expect_status", "template") if k in out}}
        return out


def _toml_safe(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in _TOML_INT
    if isinstance(value, dict):
        return all(_toml_safe(v) for v in value.values())
    if isinstance(value, list):
        return all(_toml_safe(v) for v in value)
    return True


def safe_name(text: str, fallback: str = "case") -> str:
    """A case name the config accepts (it names files): letters, digits, '_', '.', '-'."""
    cleaned = _UNSAFE.sub("_", text).strip("_.-")
    return cleaned or fallback


def distinct(names: Iterable[str]) -> list[str]:
    """Later names already taken get `-2`, `-3`…: stable for the same input order."""
    seen: set[str] = set()
    out = []
    for base in names:
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}-{n}"
        seen.add(name)
        out.append(name)
    return out


def unique_names(cases: Sequence[GeneratedCase]) -> list[GeneratedCase]:
    return [case if name == case.name else replace(case, name=name)
            for case, name in zip(cases, distinct(c.name for c in cases))]


def shape(value: Any) -> Any:
    """The structure of a JSON value without its values: keys, nesting and JSON types.

    Arrays are the set of their items' shapes, so `["a", "b"]` and `["c"]` are one shape
    and `[]` another: two requests of one shape exercise the same code path.
    """
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, shape(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("array", tuple(sorted({repr(shape(v)) for v in value})))
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def cases_toml(header: Sequence[str], cases: Sequence[GeneratedCase]) -> str:
    """The cases file: comment lines, then one `[[case]]` per case with its `why` beside it,
    bodies, queries and headers on one line each as a person writes a case by hand.
    Comments quote the input (names, patterns), so its control characters are made visible:
    TOML allows none in a comment. Written directly rather than through a TOML document
    model: the text is simple, and a document model takes minutes over 10,000 cases."""
    out = [f"# {_comment(line)}" for line in header]
    for case in cases:
        out += ["", f"[[case]] # {_comment(case.why)}" if case.why else "[[case]]"]
        try:
            lines = [f"{_key(key)} = {toml_value(value)}" for key, value in case.record().items()]
        except _NotToml:
            lines = [f"{_key(key)} = {toml_value(value)}" for key, value in case.table().items()]
        out += lines
    return "\n".join(out) + "\n"


FORMATS = {".toml": "toml", ".jsonl": "jsonl", ".ndjson": "jsonl"}  # as a config's `cases_file` reads them


def output_format(out: Path | None, forced: str | None) -> str:
    """The format a cases file is written in: the one its extension says, as a config will
    read it (`--format` may only agree); `forced`, else TOML, on stdout. InputError for an
    extension that says neither, or says the other."""
    if out is None:
        return forced or "toml"
    said = FORMATS.get(out.suffix.lower())
    if said is None:
        raise InputError(f"--out {out}: a cases file ends in .toml or .jsonl (.ndjson), which is how a config's "
                         "cases_file knows how to read it")
    if forced is not None and forced != said:
        raise InputError(f"--out {out}: --format {forced}, but a config reads a {out.suffix} file as {said}; "
                         f"name it .{'jsonl' if forced == 'jsonl' else 'toml'}")
    return said


def cases_jsonl(cases: Sequence[GeneratedCase]) -> str:
    """The cases as JSON Lines, one case a line: JSON keeps null and big integers, and a
    config reads the file a line at a time, however many cases it holds. It has no comments:
    what the cases file would say of itself is said on the terminal."""
    return "".join(json.dumps(case.record(), ensure_ascii=False, separators=(",", ":")) + "\n" for case in cases)


def _comment(text: str) -> str:
    return neutralise(text.replace("\n", " "))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class _NotToml(ValueError):
    """A value TOML cannot hold: null, or an integer past 64 bits."""


@functools.lru_cache(maxsize=4096)  # the same few keys recur in every case
def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL."""
    quoted: str = encode_basestring(text)
    return quoted.replace("\x7f", "\\u007f") if "\x7f" in quoted else quoted


def toml_value(value: Any) -> str:
    """A value as TOML writes it on one line (tables inline); _NotToml for what TOML cannot hold."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        if value not in _TOML_INT:
            raise _NotToml(value)
        return repr(value)
    if kind is float:
        return repr(value)
    if kind is list:
        return "[" + ", ".join([toml_value(v) for v in value]) + "]"
    if kind is dict:
        return "{" + ", ".join([f"{_key(k)} = {toml_value(v)}" for k, v in value.items()]) + "}"
    if isinstance(value, (str, int, float, list, dict)):  # a subclass: as the plain value JSON makes of it
        return toml_value(json.loads(json.dumps(value)))
    raise _NotToml(value)
