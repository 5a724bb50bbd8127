"""The scrum's tally over saved reviews, offline: no gateway, no config.

A saved review is a file named by its reviewer (`opus.md`); the bundle is one diff. The
board is filled by the same events a live scrum emits (planned, each review started and
finished, the tally), so the tables shown are the ones a live scrum of replayed reviews
would show, and no face has to invent events of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..core import InputError, read_input
from ..core.events import Event, PlannedBundle, PlannedReviewer, ReviewFinished, ReviewStarted, ScrumPlanned
from ._board import ScrumBoard
from ._run import bundle_event
from ._tally import Review, Tally, estimate_tokens, guess_lineage, parse_review, tally

REPLAY = "replay"


def review_paths(items: Iterable[Path]) -> list[Path]:
    """Files as given; a folder gives its *.md reviews in name order (hidden files left out)."""
    files: list[Path] = []
    for item in items:
        if item.is_dir():
            files += sorted(p for p in item.glob("*.md") if not p.name.startswith("."))
        elif item.is_file():
            files.append(item)
        else:
            raise InputError(f"{item}: no such file or folder")
    if not files:
        raise InputError("no review files given (folders are searched for *.md)")
    return files


def read_review(path: Path, lineage: str | None = None) -> Review:
    """One saved review, its reviewer named by the file; tokens out estimated from its length."""
    text = read_input(path, "a review", errors="replace")
    review = parse_review(text, path.stem, lineage or guess_lineage(path.stem))
    review.tokens_out, review.tokens_estimated = estimate_tokens(text), True
    return review


def tally_files(reviews: Iterable[Path], diff_path: Path, bundle: str | None = None,
                lineages: Mapping[str, str] | None = None, tolerance: int = 3,
                min_tokens_out: int = 100) -> tuple[Tally, ScrumBoard]:
    """Tally saved reviews of one diff; the bundle is named by the diff's file unless given.
    Unreadable inputs raise InputError naming the file."""
    lineages = lineages or {}
    files = review_paths(reviews)
    diff = read_input(diff_path, "a diff", errors="replace")
    parsed = [read_review(path, lineages.get(path.stem)) for path in files]
    name = bundle or diff_path.stem
    result = tally(name, len(diff.encode()) / 1024, diff, parsed, tolerance=tolerance,
                   min_tokens_out=min_tokens_out, source=str(diff_path))
    board = ScrumBoard()
    for event in _events(result):
        board.apply(0.0, event)
    return result, board


def _events(result: Tally) -> list[Event]:
    """What a scrum of replayed reviews emits for this one bundle, in order."""
    kb = round(result.kb, 1)
    events: list[Event] = [ScrumPlanned((PlannedBundle(result.bundle, kb, kb, "ok"),),
                                        tuple(PlannedReviewer(r.reviewer, r.lineage, REPLAY) for r in result.reviews),
                                        result.min_tokens_out)]
    for r in result.reviews:
        events += [ReviewStarted(result.bundle, r.reviewer, REPLAY),
                   ReviewFinished(result.bundle, r.reviewer, r.lineage, "ok", r.tokens_out, r.tokens_estimated,
                                  len(r.findings))]
    events.append(bundle_event(result))
    return events
