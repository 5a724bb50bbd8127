"""Scrum: the bundles, and for the selected one each reviewer's text streaming live, the
tally (each finding new or recurring for so many waves, a dismissed one dimmed with its
reason, the previous wave's resolved ones), a bar chart of tokens out, so a thin review is
seen rather than read, and what the wave cost per lineage beside the previous one. `d`
dismisses the highlighted finding into the findings ledger, as `gauntlet finding dismiss`;
the pane tells the app (FindingDismissed), which folds the new ledger and verdict into the
run's model."""

from __future__ import annotations

import functools

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static, TextArea

from probes import GauntletError
from probes.core.events import DismissalRow
from probes.scrum import BundleState, ScrumBoard, seen

from ..keymap import DISMISS_FORM_BINDINGS, SCRUM_BINDINGS, KeysInForce
from ..model import RunModel
from ..widgets import Themed, selected_key, update_static
from ..widgets.form import EntryForm, Field

if TYPE_CHECKING:
    from probes import Judgement


class DismissForm(EntryForm):
    BINDINGS = DISMISS_FORM_BINDINGS


def _check_expiry(answers: dict[str, str]) -> str:
    try:
        if answers["expires"] and date.fromisoformat(answers["expires"]) < date.today():
            return "the expiry is already past"
    except ValueError:
        return f"expires: expected a date like 2026-06-01, got {answers['expires']!r}"
    return ""


def token_bars(bundle: BundleState, reviewers: list[str], min_tokens: int, width: int = 24) -> Text:
    """Tokens out per reviewer as bars on one scale; thin ones marked."""
    counts = {}
    for name in reviewers:
        r = bundle.reviews.get(name)
        counts[name] = r.tokens_out if r is not None and r.status != "error" else 0
    top = max([*counts.values(), min_tokens, 1])
    names = max((len(name) for name in counts), default=0)
    lines = []
    for name, n in counts.items():
        cells = round(n / top * width)
        thin = n < min_tokens
        lines.append(Text.assemble((name.ljust(names), "bold"), " ",
                                   ("█" * cells + "·" * (width - cells), "review.thin" if thin else "tokens.enough"),
                                   " ", (f"{n}" + (" thin" if thin else ""), "review.thin" if thin else "")))
    return Text("\n").join(lines)


class ReviewText(TextArea):
    """The selected review, following its end while the cursor is there: each review is
    loaded with the cursor at its end, and the operator moving it up to read stops it.

    It follows when its wrapped length or its own size changes, not when its text does:
    the pane is often hidden while a review streams, and a hidden area has no size to
    scroll by until it is shown; its height changes as the tables around it fill, and its
    wrapping with its width."""

    def watch_virtual_size(self) -> None:
        self._follow()

    def on_resize(self) -> None:
        self._follow()

    def _follow(self) -> None:
        if self.cursor_location == self.document.end:
            self.scroll_end(animate=False)  # after the next refresh: to the size then


class ScrumPane(Vertical):
    BINDINGS = SCRUM_BINDINGS

    class FindingDismissed(Message):
        """A finding went into the ledger and the run was judged again: the app's model
        takes the ledger as it now is and the new judgement."""

        def __init__(self, ledger: list[DismissalRow], judgement: Judgement) -> None:
            super().__init__()
            self.ledger, self.judgement = ledger, judgement

    def __init__(self, keys: KeysInForce) -> None:
        super().__init__(id="scrum")
        self.border_title = "Scrum"
        self._model = RunModel()  # the app's, from the first redraw on
        self._reviewer_hint = f"  {keys.label('scrum.previous_reviewer')}/{keys.label('scrum.next_reviewer')} reviewer"
        self._dismiss_hint = f" {keys.label('scrum.dismiss')} dismiss"
        self._bundles: list[str] = []
        self._reviewers: list[str] = []
        self.reviewer_index = 0
        self._tally_for: tuple[str | None, int, int] = (None, -1, 0)  # bundle, its tally, the ledger shown
        self._text_for: tuple[tuple[str, str] | None, int] = (None, 0)  # the review shown, its length
        self._row_findings: list[str] = []  # the finding id of each tally row ("" for the other rows)

    def compose(self) -> ComposeResult:
        yield DataTable(id="bundle-table", cursor_type="row")
        with Horizontal(id="scrum-detail"):
            with Vertical(id="review-side"):
                yield Static(id="review-tabs")
                yield ReviewText(id="review-text", read_only=True, soft_wrap=True, show_line_numbers=False)
            with Vertical(id="tally-side"):
                yield DataTable(id="tally-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="token-bars")
        yield Static(id="scrum-summary")

    def on_mount(self) -> None:
        self.query_one("#tally-table", DataTable).add_columns("Location", "Lineages", "Severity", "Seen", "What")

    def selected(self) -> str | None:
        return selected_key(self.query_one("#bundle-table", DataTable), self._bundles)

    def action_cycle_reviewer(self, step: int) -> None:
        if self._reviewers:
            self.reviewer_index = (self.reviewer_index + step) % len(self._reviewers)
            self.refresh_from(self._model)

    def refresh_from(self, model: RunModel) -> None:
        self._model = model
        board = model.tracker.scrum
        reviewers = [reviewer.name for reviewer in board.reviewers]
        table = self.query_one("#bundle-table", DataTable)
        if list(board.bundles) != self._bundles or reviewers != self._reviewers:
            table.clear(columns=True)
            table.add_columns("Bundle", "KB", *reviewers, "Conv.", "Distinct", "BLOCKs")
            for b in board.bundles.values():
                table.add_row(*self._cells(board, b, reviewers), key=b.name)
            self._bundles, self._reviewers = list(board.bundles), reviewers
        else:
            for b in board.bundles.values():
                for col, value in zip(table.columns, self._cells(board, b, reviewers)):
                    table.update_cell(b.name, col, value, update_width=True)
        self._show_bundle(model)
        self._show_summary()

    @staticmethod
    def _cells(board: ScrumBoard, b: BundleState, reviewers: list[str]) -> tuple[Themed | str, ...]:
        kb = Themed(f"{b.kb:.0f}", "" if b.guard == "ok" else f"bundle.{b.guard}")
        cells: list[Themed | str] = [b.name, kb]
        for name in reviewers:
            if name not in b.reviews:
                cells.append(Themed("refused" if b.guard in ("refused", "error") else "·", "dim"))
                continue
            r = b.reviews[name]
            if r is None:
                cells.append(Themed("streaming…", "review.streaming"))
            else:
                est = "~" if r.tokens_estimated else ""
                cells.append(Themed(f"{est}{r.tokens_out}" if r.status != "error" else "error", f"review.{r.status}"))
        t = b.tally
        blocks = sum(row.blocks for row in t.reviewers) if t else 0
        convergent, distinct = board.counts(b)
        cells += [str(convergent) if t else "", str(distinct) if t else "",
                  Themed(str(blocks), "tally.block" if blocks else "") if t else ""]
        return tuple(cells)

    def _show_bundle(self, model: RunModel) -> None:
        board = model.tracker.scrum
        name = self.selected()
        bundle = board.bundles.get(name or "")
        reviewer = self._reviewers[self.reviewer_index % len(self._reviewers)] if self._reviewers else None
        tabs = Text()
        for r in self._reviewers:
            tabs.append(f" {r} ", style="reverse bold" if r == reviewer else "dim")
        tabs.append(self._reviewer_hint, style="dim")
        update_static(self.query_one("#review-tabs", Static), tabs)
        self._show_review(model, (name or "", reviewer or ""))
        ledger = board.recorded if board.ledger is None else board.ledger
        tally_version = (name, id(bundle.tally) if bundle and bundle.tally else 0, id(ledger))
        if tally_version != self._tally_for:
            self._fill_tally(board, bundle)
            self._tally_for = tally_version
        bars = self.query_one("#token-bars", Static)
        if bundle is None:
            update_static(bars, "")
            return
        tokens = tuple((n, r.tokens_out if r else None) for n, r in bundle.reviews.items())
        spent = Text.assemble(("tokens in/out ", "dim"), board.bundle_tokens(bundle).short())
        update_static(bars, Themed(Text("\n").join([token_bars(bundle, self._reviewers, board.min_tokens_out), spent])),
                      key=(bundle.name, tokens))

    def _show_review(self, model: RunModel, key: tuple[str, str]) -> None:
        """Append what streamed in since the last redraw; reload only for another review,
        its cursor at its end (ReviewText: followed while the cursor is there)."""
        area = self.query_one(ReviewText)
        total = model.review_count.get(key, 0)
        shown_key, shown = self._text_for
        text = model.reviews.get(key, "")
        if key != shown_key or total < shown or total - shown > len(text):
            area.load_text(text)
            area.move_cursor(area.document.end)
        elif total > shown:
            area.insert(text[len(text) - (total - shown):], area.document.end)
        else:
            return
        self._text_for = (key, total)

    def _fill_tally(self, board: ScrumBoard, bundle: BundleState | None) -> None:
        table = self.query_one("#tally-table", DataTable)
        table.clear()
        # Rows of their own height: a DataTable measures its columns once idle, and only for
        # such rows forgets the lines it drew before (a busy app draws first: the columns then
        # stayed at their titles' widths until the tally next changed).
        add_row = functools.partial(table.add_row, height=None)
        rows: list[str] = []
        if bundle is not None and bundle.tally is not None:
            for loc in bundle.tally.locations:
                gone = board.dismissal(loc)
                if gone is not None:
                    add_row(*(Themed(text, "tally.dismissed") for text in (
                        loc.where, " + ".join(loc.lineages), loc.severity, seen(loc),
                        f"dismissed: {gone.reason} ({gone.owner}" + (f", until {gone.expires}" if gone.expires
                                                                      else "") + f") — {loc.what}")))
                    rows.append(loc.id)
                    continue
                severity = Text(loc.severity, style="tally.block" if loc.severity == "BLOCK" else "")
                lineages = Text(" + ".join(loc.lineages), style="tally.convergent" if loc.convergent else "")
                if loc.convergent:
                    lineages.append(" convergent")
                add_row(Themed(loc.where), Themed(lineages), Themed(severity),  # the reviewer's words, never markup
                              Themed(seen(loc), f"tally.{loc.state}" if loc.state else ""), Themed(loc.what))
                rows.append(loc.id)
            for r in bundle.tally.resolved:
                add_row(*(Themed(text, "tally.dismissed") for text in (
                    r.where, " + ".join(r.lineages), r.severity, "resolved", f"gone since the previous wave — {r.what}")))
            for u in bundle.tally.unanchored:
                add_row(Text(u.where, style="dim strike"), Text(u.lineage, style="dim"),
                              Text(u.severity, style="dim"), "", Text(f"unanchored: {u.why}", style="dim"))
            for row in bundle.tally.reviewers:
                if row.retracted_blocks:
                    add_row(Themed(row.reviewer, "tally.retracted"), row.lineage,
                                  Themed("BLOCK (retracted)", "tally.retracted"), "", "retracted in the same response")
                if row.thin:
                    add_row(Themed(row.reviewer, "review.thin"), row.lineage, Themed("thin", "review.thin"), "",
                                  f"{row.tokens_out} tokens out: too little to have read the bundle")
        self._row_findings = rows + [""] * (table.row_count - len(rows))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "tally-table":
            self._show_summary()

    def highlighted_finding(self) -> str | None:
        return selected_key(self.query_one("#tally-table", DataTable), self._row_findings) or None

    def _show_summary(self) -> None:
        """The headline and the highlighted finding's id; then what the wave cost per lineage
        (tokens in/out, ~ estimated) and, in brackets, what the previous wave cost."""
        board = self._model.tracker.scrum
        if not board.bundles:
            update_static(self.query_one("#scrum-summary", Static), Text("no scrum yet", style="bold"))
            return
        head = Text(board.headline(), style="bold")
        finding = self.highlighted_finding()
        if finding:
            head.append_text(Text.assemble("  ", (finding, "bold"), (self._dismiss_hint, "dim")))
        spent = Text("tokens in/out: ", style="dim")
        for i, (lineage, before, now) in enumerate(board.lineage_waves()):
            spent.append_text(Text.assemble(" · " if i else "", (lineage, "bold"), " ", now.short(),
                                            (f" (previous {before.short() if before else '–'})", "dim")
                                            if board.previous_run_id else ""))
        update_static(self.query_one("#scrum-summary", Static), Themed(Text("\n").join([head, spent])))

    def action_dismiss_finding(self) -> None:
        finding, board, run = self.highlighted_finding(), self._model.tracker.scrum, self._model.run
        if finding is None or run is None:
            self.notify("highlight a finding of the tally first", severity="warning")
            return
        if not board.ledger_path:
            self.notify("the run's config names no [scrum] findings_ignore file", severity="error", markup=False)
            return

        def dismiss(answer: dict[str, str] | None) -> None:
            if answer is not None:
                self.run_worker(lambda: self._dismiss(Path(run.run_dir), finding, Path(board.ledger_path), answer),
                                thread=True, group="dismiss", exclusive=True)

        self.app.push_screen(DismissForm(f"Dismiss finding {finding} (it stays shown, dimmed, and stops counting)",
                                         [Field("reason", "reason: how it was answered"), Field("owner", "owner"),
                                          Field("expires", "expires (optional, YYYY-MM-DD): then it counts again",
                                                required=False)],
                                         "Dismiss", _check_expiry), dismiss)

    def _dismiss(self, run_dir: Path, finding: str, ledger: Path, answer: dict[str, str]) -> None:
        """The same function as `gauntlet finding dismiss`; then the run is judged again (on
        this thread: a replay of its events) and the screen shows what its files now say."""
        from probes import judge_run, load_ledger, record_dismissal

        try:
            row = record_dismissal(run_dir, finding, ledger, reason=answer["reason"], owner=answer["owner"],
                                   expires=date.fromisoformat(answer["expires"]) if answer["expires"] else None)
            rows, judgement = load_ledger(ledger), judge_run(run_dir)
        except (GauntletError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10, markup=False)
            return
        self.app.call_from_thread(self._dismissed, row, rows, judgement)

    def _dismissed(self, row: DismissalRow, rows: list[DismissalRow], judgement: Judgement) -> None:
        self.post_message(self.FindingDismissed(rows, judgement))
        self.notify(f"dismissed {row.id}; the run's verdict is now {judgement.verdict.verdict}")

