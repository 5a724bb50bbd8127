"""Scrum: the bundles, and for the selected one each reviewer's text streaming live, the
tally and a bar chart of tokens out, so a thin review is seen rather than read."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static, TextArea

from probes.scrum_report import BundleState

from ..keymap import SCRUM_BINDINGS
from ..model import RunModel
from ..widgets import Themed, selected_key, update_static

if TYPE_CHECKING:
    from ..app import GauntletApp


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


class ScrumPane(Vertical):
    BINDINGS = SCRUM_BINDINGS
    DEFAULT_CSS = """
    ScrumPane { height: 1fr; }
    ScrumPane #bundle-table { height: auto; max-height: 8; }
    ScrumPane #scrum-detail { height: 1fr; }
    ScrumPane #review-side { width: 1fr; }
    ScrumPane #review-text { height: 1fr; }
    ScrumPane #review-tabs { height: 1; }
    ScrumPane #tally-side { width: 1fr; }
    ScrumPane #tally-table { height: 1fr; }
    ScrumPane #token-bars { height: auto; padding: 0 1; }
    ScrumPane #scrum-summary { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="scrum")
        self.border_title = "Scrum"
        self._bundles: list[str] = []
        self._reviewers: list[str] = []
        self.reviewer_index = 0
        self._tally_for: tuple[str | None, int] = (None, -1)
        self._text_for: tuple[tuple[str, str] | None, int] = (None, 0)  # the review shown, its length

    def compose(self) -> ComposeResult:
        yield DataTable(id="bundle-table", cursor_type="row")
        with Horizontal(id="scrum-detail"):
            with Vertical(id="review-side"):
                yield Static(id="review-tabs")
                yield TextArea(id="review-text", read_only=True, soft_wrap=True, show_line_numbers=False)
            with Vertical(id="tally-side"):
                yield DataTable(id="tally-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="token-bars")
        yield Static(id="scrum-summary")

    def on_mount(self) -> None:
        self.query_one("#tally-table", DataTable).add_columns("Location", "Lineages", "Severity", "What")

    def selected(self) -> str | None:
        return selected_key(self.query_one("#bundle-table", DataTable), self._bundles)

    def action_cycle_reviewer(self, step: int) -> None:
        if self._reviewers:
            self.reviewer_index = (self.reviewer_index + step) % len(self._reviewers)
            self.refresh_from(cast("GauntletApp", self.app).model)

    def refresh_from(self, model: RunModel) -> None:
        board = model.tracker.scrum
        reviewers = [reviewer.name for reviewer in board.reviewers]
        table = self.query_one("#bundle-table", DataTable)
        if list(board.bundles) != self._bundles or reviewers != self._reviewers:
            table.clear(columns=True)
            table.add_columns("Bundle", "KB", *reviewers, "Conv.", "Distinct", "BLOCKs")
            for b in board.bundles.values():
                table.add_row(*self._cells(b, reviewers), key=b.name)
            self._bundles, self._reviewers = list(board.bundles), reviewers
        else:
            for b in board.bundles.values():
                for col, value in zip(table.columns, self._cells(b, reviewers)):
                    table.update_cell(b.name, col, value, update_width=True)
        update_static(self.query_one("#scrum-summary", Static),
                      Text(board.headline() if board.bundles else "no scrum yet", style="bold"))
        self._show_bundle(model)

    @staticmethod
    def _cells(b: BundleState, reviewers: list[str]) -> tuple[Themed | str, ...]:
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
        cells += [str(t.convergent) if t else "", str(t.distinct) if t else "",
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
        tabs.append("  ←/→ reviewer", style="dim")
        update_static(self.query_one("#review-tabs", Static), tabs)
        self._show_review(model, (name or "", reviewer or ""))
        tally_version = (name, id(bundle.tally) if bundle and bundle.tally else 0)
        if tally_version != self._tally_for:
            self._fill_tally(bundle)
            self._tally_for = tally_version
        bars = self.query_one("#token-bars", Static)
        if bundle is None:
            update_static(bars, "")
            return
        tokens = tuple((n, r.tokens_out if r else None) for n, r in bundle.reviews.items())
        update_static(bars, Themed(token_bars(bundle, self._reviewers, board.min_tokens_out)),
                      key=(bundle.name, tokens))

    def _show_review(self, model: RunModel, key: tuple[str, str]) -> None:
        """Append what streamed in since the last redraw; reload only for another review."""
        area = self.query_one("#review-text", TextArea)
        total = model.review_count.get(key, 0)
        shown_key, shown = self._text_for
        text = model.reviews.get(key, "")
        if key != shown_key or total < shown or total - shown > len(text):
            area.load_text(text)
        elif total > shown:
            area.insert(text[len(text) - (total - shown):], area.document.end)
        else:
            return
        area.scroll_end(animate=False)
        self._text_for = (key, total)

    def _fill_tally(self, bundle: BundleState | None) -> None:
        table = self.query_one("#tally-table", DataTable)
        table.clear()
        if bundle is None or bundle.tally is None:
            return
        for loc in bundle.tally.locations:
            severity = Text(loc.severity, style="tally.block" if loc.severity == "BLOCK" else "")
            lineages = Text(" + ".join(loc.lineages), style="tally.convergent" if loc.convergent else "")
            if loc.convergent:
                lineages.append(" convergent")
            table.add_row(loc.where, Themed(lineages), Themed(severity), loc.what)
        for u in bundle.tally.unanchored:
            table.add_row(Text(u.where, style="dim strike"), Text(u.lineage, style="dim"),
                          Text(u.severity, style="dim"), Text(f"unanchored: {u.why}", style="dim"))
        for row in bundle.tally.reviewers:
            if row.retracted_blocks:
                table.add_row(Themed(row.reviewer, "tally.retracted"), row.lineage,
                              Themed("BLOCK (retracted)", "tally.retracted"), "retracted in the same response")
            if row.thin:
                table.add_row(Themed(row.reviewer, "review.thin"), row.lineage, Themed("thin", "review.thin"),
                              f"{row.tokens_out} tokens out: too little to have read the bundle")

