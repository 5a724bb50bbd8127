"""Cut a large diff into component bundles under a size limit, at file boundaries.

One 165 KB diff made two of three reviewers give up; bundles under 60 KB got every
reviewer to engage. Files are grouped by the globs given (first match wins) or else by
top-level folder, and a group over the limit is packed into numbered parts. A single file
over the limit cannot be cut at a file boundary: it gets a bundle of its own, named.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from ..core import InputError

_FILE_START = re.compile(r"^diff --git ", re.MULTILINE)
_PLAIN_START = re.compile(r"^--- .*\n\+\+\+ ", re.MULTILINE)


@dataclass(frozen=True)
class FileDiff:
    path: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode())


@dataclass
class SplitBundle:
    name: str
    files: list[FileDiff] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def text(self) -> str:
        return "".join(f.text for f in self.files)


def file_diffs(diff: str, source: str = "diff") -> list[FileDiff]:
    """The diff cut at each file's header, text kept byte for byte."""
    starts = [m.start() for m in _FILE_START.finditer(diff)] or [m.start() for m in _PLAIN_START.finditer(diff)]
    if not starts:
        raise InputError(f"{source}: no file header (`diff --git` or `---`/`+++`) found: not a unified diff")
    starts[0] = 0  # a preamble (commit message) stays with the first file
    out = []
    for begin, end in zip(starts, starts[1:] + [len(diff)]):
        text = diff[begin:end]
        try:
            patch = PatchSet(text)
        except UnidiffParseError as exc:
            raise InputError(f"{source}: cannot parse the diff near byte {begin}: {exc}") from None
        path = patch[0].path if len(patch) else text.split("\n", 1)[0].split(" b/")[-1]
        out.append(FileDiff(path.removeprefix("b/").removeprefix("a/"), text))
    return out


def _group_of(path: str, groups: Sequence[tuple[str, str]]) -> str:
    for name, pattern in groups:
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.rstrip("/") + "/*"):
            return name
    if groups:
        return "rest"
    return path.split("/", 1)[0] if "/" in path else "root"


def split_diff(diff: str, max_kb: float, groups: Sequence[tuple[str, str]] = (),
          source: str = "diff") -> tuple[list[SplitBundle], list[FileDiff]]:
    """Bundles in first-seen group order; and the files that alone are over the limit."""
    limit = max_kb * 1024
    by_group: dict[str, list[FileDiff]] = {}
    for f in file_diffs(diff, source):
        by_group.setdefault(_group_of(f.path, groups), []).append(f)
    bundles: list[SplitBundle] = []
    too_big: list[FileDiff] = []
    for group, files in by_group.items():
        parts: list[SplitBundle] = []
        current = SplitBundle(group)
        for f in files:
            if f.size > limit:
                too_big.append(f)
                parts.append(SplitBundle(group, [f]))
                continue
            if current.files and current.size + f.size > limit:
                parts.append(current)
                current = SplitBundle(group)
            current.files.append(f)
        if current.files:
            parts.append(current)
        for i, part in enumerate(parts, 1):
            part.name = group if len(parts) == 1 else f"{group}_{i}"
        bundles.extend(parts)
    return bundles, too_big
