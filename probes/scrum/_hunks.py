"""Where a finding points in its bundle's diff: the hunk each location falls in, laid out for a
reader who follows the finding there (report.html), with no file opened but the diff itself.

The run keeps the diff it sent (`scrum/<bundle>/bundle.diff`), since a bundle made by `git diff`
at run time cannot be made again later. A location is placed as the tally anchored it: the new
side's line numbers first, then the old side's; a location anchored within the tally's
tolerance just outside a hunk goes to the nearest one of its file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, PatchSet

from ..core import neutralise
from ..core.events import LocationRow
from ._tally import _strip_prefix

BUNDLE_DIFF = "bundle.diff"
HUNK_LINES = 160  # lines shown of one hunk: a longer one is cut to the lines around its findings
AROUND = 20  # lines kept either side of a finding in a hunk that is cut


@dataclass(frozen=True)
class HunkLine:
    mark: str  # "+" added, "-" removed, " " context
    old: int | None
    new: int | None
    text: str
    skipped: int = 0  # lines of the hunk left out just before this one (a long hunk is cut)


@dataclass(frozen=True)
class DiffHunk:
    """One hunk of a bundle's diff and the locations that point into it."""

    path: str
    header: str  # `@@ -12,7 +12,9 @@ fn validate`
    lines: tuple[HunkLine, ...]
    locations: tuple[LocationRow, ...]
    cut: int = 0  # lines of the hunk left out after the last one shown

    def points_at(self, line: HunkLine, loc: LocationRow) -> bool:
        """The location names this line: by its new-side number, or its old-side one when removed."""
        if not loc.start:
            return False
        number = line.new if line.new is not None else line.old
        return number is not None and loc.start <= number <= max(loc.end, loc.start)

    def hit(self, line: HunkLine) -> bool:
        return any(self.points_at(line, loc) for loc in self.locations)

    def line_of(self, loc: LocationRow) -> int | None:
        """The index of the first line shown that the location names (None: a whole-file finding)."""
        return next((i for i, line in enumerate(self.lines) if self.points_at(line, loc)), None)


def read_hunks(run_dir: Path, bundle: str, locations: Iterable[LocationRow]) -> list[DiffHunk]:
    """The hunks of a run's bundle that its locations point into, in the diff's order; none
    when the run kept no diff (recorded before it did, or the bundle was not reviewed)."""
    try:
        text = (run_dir / "scrum" / bundle / BUNDLE_DIFF).read_text(encoding="utf-8", errors="replace")
        patch = PatchSet(text)
    except (OSError, UnidiffParseError):
        return []
    by_path = {_strip_prefix(patched.path): list(patched) for patched in patch}
    placed: dict[tuple[str, int], list[LocationRow]] = {}
    for loc in locations:
        hunks = by_path.get(loc.path)
        if hunks:
            placed.setdefault((loc.path, _nearest(hunks, loc)), []).append(loc)
    order = {path: i for i, path in enumerate(by_path)}
    return [_laid_out(path, by_path[path][index], tuple(locs))
            for (path, index), locs in sorted(placed.items(), key=lambda item: (order[item[0][0]], item[0][1]))]


def _nearest(hunks: list[Hunk], loc: LocationRow) -> int:
    """The hunk a location points into: its new side's range, else its old side's, else the
    nearest new-side range (within the tally's tolerance); a whole-file finding, the first."""
    if not loc.start:
        return 0
    start, end = loc.start, max(loc.end, loc.start)

    def distance(first: int, length: int) -> int:
        last = first + max(length, 1) - 1
        return 0 if start <= last and end >= first else min(abs(start - last), abs(first - end))

    for side in ("target", "source"):
        for i, h in enumerate(hunks):
            if getattr(h, f"{side}_length") and not distance(getattr(h, f"{side}_start"), getattr(h, f"{side}_length")):
                return i
    return min(range(len(hunks)), key=lambda i: distance(hunks[i].target_start, hunks[i].target_length))


def _laid_out(path: str, hunk: Hunk, locations: tuple[LocationRow, ...]) -> DiffHunk:
    header = neutralise(f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@"
                        + (f" {hunk.section_header}" if hunk.section_header else ""))
    lines = [HunkLine(line.line_type if line.line_type in "+- " else " ", line.source_line_no, line.target_line_no,
                      neutralise(line.value.rstrip("\n")))
             for line in hunk if line.line_type in "+- "]
    laid = DiffHunk(path, header, tuple(lines), locations)
    if len(lines) <= HUNK_LINES:
        return laid
    pointed = [i for i, line in enumerate(lines) if laid.hit(line)] or [0]
    kept = [i for i in range(len(lines)) if any(abs(i - p) <= AROUND for p in pointed)][:HUNK_LINES]
    shown = [replace(lines[i], skipped=i - (kept[n - 1] + 1 if n else 0)) for n, i in enumerate(kept)]
    return DiffHunk(path, header, tuple(shown), locations, len(lines) - 1 - kept[-1])
