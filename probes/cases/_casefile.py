"""Generated parity cases and the cases file they are written to.

Cases made from a contract or from recorded traffic end as `[[case]]` tables with the keys
a config's `cases_file` reads, so a generated file is reviewed, versioned and loaded like
a hand-written one. The text is a pure function of the cases: no date, no absolute path,
so the same input gives the same file and a diff of two generations shows what changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..core import neutralise
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

    def table(self) -> dict[str, Any]:
        """The case as a `[[case]]` table. TOML has no null and no integer past 64 bits: a
        JSON body holding either is sent as the same JSON text in `body` instead."""
        out: dict[str, Any] = {"name": self.name, "method": self.method, "path": self.path}
        headers = dict(self.headers)
        body = self.body
        json_value = self.json
        if json_value is not UNSET and not _toml_safe(json_value):
            body = json.dumps(json_value, ensure_ascii=False, separators=(",", ":"))
            json_value = UNSET
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        if self.query:
            out["query"] = dict(self.query)
        if headers:
            out["headers"] = headers
        if json_value is not UNSET:
            out["json"] = json_value
        elif body is not None:
            out["body"] = body
        if self.expect_status is not None:
            out["expect_status"] = self.expect_status
        if self.template is not None and self.template != self.path:
            out["template"] = self.template
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
        out += [f"{_key(key)} = {_value(value)}" for key, value in case.table().items()]
    return "\n".join(out) + "\n"


def _comment(text: str) -> str:
    return neutralise(text.replace("\n", " "))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL."""
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted.replace("\x7f", "\\u007f") if "\x7f" in quoted else quoted


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
